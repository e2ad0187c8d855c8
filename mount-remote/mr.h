/*
 * mount-remote's internal interfaces between main (options, ssh, mount
 * life cycle) and the FUSE operations.
 */
#ifndef MR_H
#define MR_H

#include <sys/stat.h>
#include <stddef.h>

#define FUSE_USE_VERSION 34
#include <fuse3/fuse_lowlevel.h>

#include "sftp.h"

struct mr_opts {
	const char	*root;		/* absolute remote path of the mount root */
	double		 cache_timeout;	/* entry and attribute validity, seconds */
	double		 neg_timeout;	/* validity of "no such file" answers */
	int		 timeout;	/* -t: seconds of silence that kill */
};

extern const struct fuse_lowlevel_ops mr_ops;

/* Set up the node table for the remote root whose attributes are given. */
void	fs_init(const struct mr_opts *, const struct sftp_attrs *);
/* The session to notify the kernel through; NULL before it goes away. */
void	fs_session(struct fuse_session *);
/* Turn SFTP attributes into a struct stat for path. */
void	attr_to_stat(const struct sftp_attrs *, const char *, size_t,
	    struct stat *);

#endif
