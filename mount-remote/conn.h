/*
 * The SFTP connection: requests are queued by any thread holding mr_lock
 * and written by a writer thread; a reader thread matches replies to
 * requests by id and runs each request's callback with mr_lock held.
 * A watchdog declares the connection dead when requests are pending and
 * nothing has arrived for the timeout; then every pending callback runs
 * with a NULL reply and every later request fails with EIO.
 */
#ifndef CONN_H
#define CONN_H

#include <sys/types.h>
#include <pthread.h>
#include <stdint.h>

#include "sftp.h"

/* r is NULL when the connection is gone. */
typedef void conn_cb(void *arg, struct sftp_reply *r);

extern pthread_mutex_t mr_lock;

struct conn_info {
	struct sftp_limits limits;
	int		 has_limits;
	int		 has_statvfs;
	uint32_t	 readlen;	/* bytes per READ we ask for */
};
extern struct conn_info conn_info;

/* Start the threads on fd (ssh's stdin/stdout); sets the hook run on death. */
void	conn_start(int, pid_t, int, void (*)(void));
/* INIT/VERSION and limits, synchronously (without mr_lock held). */
int	conn_handshake(void);
/* Is the connection dead?  (the reason is in conn_reason()) */
int	conn_dead(void);
const char *conn_reason(void);
/* Declare the connection dead (with mr_lock held). */
void	conn_fail(const char *, ...);
/* Stop ssh (SIGTERM, then SIGKILL after a while) and reap it. */
void	conn_stop(void);
pid_t	conn_pid(void);

/* Requests: 0, or -1 with errno (EIO when the connection is dead). */
int	conn_path(uint8_t, const char *, size_t, conn_cb *, void *);
int	conn_handle(uint8_t, const void *, size_t, conn_cb *, void *);
int	conn_open(const char *, size_t, conn_cb *, void *);
int	conn_read(const void *, size_t, uint64_t, uint32_t, conn_cb *, void *);
int	conn_ext(const char *, const char *, size_t, conn_cb *, void *);
/* CLOSE whose answer nobody waits for (it may wait for company). */
void	conn_close_handle(const void *, size_t);
/*
 * While conn_batch is set, requests are ones nobody waits for yet: they
 * may wait a moment to share a write (and an ssh packet) with others.
 * conn_flush() sends them now, once someone does wait; a request
 * queued when conn_gen() said g is still unsent while it says g.
 */
extern int conn_batch;
void	conn_flush(void);
unsigned long conn_gen(void);

/*
 * Send one request built by conn_path and wait for its reply (without
 * mr_lock held).  Returns a copy of the packet (free it) parsed into *r,
 * or NULL with errno set when the connection failed.
 */
unsigned char *conn_call_path(uint8_t, const char *, size_t,
	    struct sftp_reply *);
unsigned char *conn_call_ext(const char *, const char *, size_t,
	    struct sftp_reply *);

#endif
