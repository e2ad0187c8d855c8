/*
 * ssh destinations, [user@]host, as mount-remote and snap's agent give
 * them to ssh.
 */
#ifndef SSHDEST_H
#define SSHDEST_H

/*
 * Does the destination's host name this machine (localhost, 127.*, ::1)?
 * By its spelling only: an ssh_config alias is not looked up.
 */
int	sshdest_loopback(const char *);

#endif
