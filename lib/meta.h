/*
 * rdiff-backup's mirror_metadata records: parsing, writing, comparing,
 * and the component-wise path order that all repository files share.
 */
#ifndef META_H
#define META_H

#include <sys/stat.h>
#include <stdint.h>
#include <stddef.h>

struct gzr;
struct gzw;

enum rtype { RT_NONE, RT_REG, RT_DIR, RT_SYM, RT_DEV, RT_FIFO, RT_SOCK };

struct rec {
	char		*path;		/* unquoted, "" for the root "." */
	size_t		 pathlen;
	int		 type;		/* enum rtype */
	uint64_t	 size;
	int		 has_mtime;
	int64_t		 mtime;
	uint64_t	 uid, gid;
	char		*uname;		/* NULL: absent (":") */
	char		*gname;
	unsigned	 perms;		/* st_mode & 07777 */
	uint64_t	 nlink;		/* 0 unless NumHardLinks was given */
	uint64_t	 ino, devloc;
	char		 sha1[41];	/* "" when absent */
	char		*symdata;	/* symlink target, unquoted */
	size_t		 symlen;
	char		 devtype;	/* 'c' or 'b' */
	uint64_t	 major, minor;
	char		*altmirror;	/* AlternateMirrorName, or NULL */
	char		*altinc;	/* AlternateIncrementName, or NULL */
	size_t		 pathcap;	/* bytes at path when meta_parse made
					   it, else 0 (code that sets path
					   sets pathcap to 0 or rec_frees) */
};

struct meta_reader;

/* Reads records from r (which it then owns).  */
struct meta_reader	*meta_open(struct gzr *);
/*
 * Next record: 1 with *rec (valid until the next call), 0 at the end, -1
 * on a malformed record or read error: meta_error() says what (with the
 * line number); after a malformed record the next call goes on with the
 * following one, after a read error it returns -1 again.
 */
int			 meta_next(struct meta_reader *, struct rec **);
const char		*meta_error(struct meta_reader *);
/* 1 when the reader hit a read error (every later call fails too). */
int			 meta_ioerror(struct meta_reader *);
/*
 * The text of record r as it was read (lines ending in "\n"), when r is
 * the record meta_next returned last, else NULL: what meta_write would
 * write for it unchanged, or more (fields of other rdiff-backup
 * versions), so it is copied as is.
 */
const char		*meta_text(struct meta_reader *, const struct rec *,
			    size_t *);
int			 meta_close(struct meta_reader *);

/*
 * Parse one record from text ("File ..." and its field lines) into rec,
 * whose old strings are freed.  Returns 0, or -1 with a message in err.
 */
int			 meta_parse(const char *, size_t, struct rec *, char *, size_t);

/*
 * Write record r; 0, or -1 with errno (EOVERFLOW: too large to format).
 * Formats into a static buffer: one thread only.
 */
int	meta_write(struct gzw *, const struct rec *);
/* Compare two paths in rdiff-backup's order: by components, bytewise. */
int	pathcmp(const char *, size_t, const char *, size_t);
/* Equal for change detection (everything but SHA1 and long names). */
int	rec_same(const struct rec *, const struct rec *);
/* Equal in every field, as rdiff-backup compares them for diffs. */
int	rec_identical(const struct rec *, const struct rec *);
/* Deep copy of src into dst; dst's old strings are freed. */
void	rec_copy(struct rec *, const struct rec *);
/*
 * What differs between records a and b of one path, as words joined by
 * ", " into buf (len bytes): "type file to directory", or content,
 * target, device, mode, owner, mtime, links; "" when nothing that
 * rdiff-backup compares does (not ctime or the link count, nor the
 * hard-link identity of files with one link, nor a symlink's owner).
 */
void	rec_changes(const struct rec *, const struct rec *, char *, size_t);
/* The st_mode r describes: its type's S_IF* bits and its permissions. */
mode_t	rec_mode(const struct rec *);
/* Free the strings of a record and zero it. */
void	rec_free(struct rec *);
/* Fill type, size, mtime, owner, permissions, ... from a stat. */
void	rec_from_stat(struct rec *, const struct stat *);
const char *rtype_name(int);
/* The record type of a stat mode. */
int	rtype_of_mode(mode_t);

#endif
