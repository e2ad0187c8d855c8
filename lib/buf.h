/*
 * Big-endian byte buffers for wire formats: a reader that never reads
 * past its end (every get returns -1 when too few bytes remain) and a
 * growing writer.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const unsigned char	*p;
	size_t			 len;
	size_t			 off;
};

struct wbuf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

void	rbuf_init(struct rbuf *, const void *, size_t);
size_t	rbuf_left(const struct rbuf *);
int	buf_get_u8(struct rbuf *, uint8_t *);
int	buf_get_u32(struct rbuf *, uint32_t *);
int	buf_get_u64(struct rbuf *, uint64_t *);
/* A uint32-length-prefixed string: *s points into the buffer. */
int	buf_get_string(struct rbuf *, const unsigned char **, size_t *);
int	buf_skip(struct rbuf *, size_t);

void	wbuf_reserve(struct wbuf *, size_t);
void	buf_put_u8(struct wbuf *, uint8_t);
void	buf_put_u32(struct wbuf *, uint32_t);
void	buf_put_u64(struct wbuf *, uint64_t);
void	buf_put_bytes(struct wbuf *, const void *, size_t);
void	buf_put_string(struct wbuf *, const void *, size_t);
/* Overwrite 4 bytes at off (which must already be written). */
void	buf_set_u32(struct wbuf *, size_t, uint32_t);
void	wbuf_free(struct wbuf *);

#endif
