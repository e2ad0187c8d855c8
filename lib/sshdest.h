/*
 * ssh destinations, [user@]host, as mount-remote and snap's agent give
 * them to ssh.
 */
#ifndef SSHDEST_H
#define SSHDEST_H

/*
 * Will ssh, run as argv (an ssh command line with its options, ending in
 * the destination, NULL-terminated), connect to this machine (localhost,
 * 127.*, ::1) with no proxy in between?  Asks "ssh -G" so that ssh_config
 * aliases count; where that fails, judges the destination's spelling.
 * Compression pays on a real link and costs CPU on this one.
 */
int	sshdest_loopback(char *const []);

#endif
