/*
 * Buffered readers and writers for the repository's files, which may be
 * gzip-compressed or plain: as the format says, only a ".gz" suffix of
 * the name tells (a plain snapshot of a gzip file starts with gzip's
 * magic), so callers say which; the writer compresses at a level > 0.  Errors return -1 with errno
 * set (EIO for corrupt or truncated gzip data).
 */
#ifndef GZ_H
#define GZ_H

#include <sys/types.h>

#include <stdint.h>

struct gzr;
struct gzw;

/* Both take ownership of fd and close it in *_close. */
struct gzr	*gzr_open(int, int);
ssize_t		 gzr_read(struct gzr *, void *, size_t);
/*
 * Next line without its "\n", NUL-terminated, valid until the next call:
 * 1 with *line and *len set, 0 at end of file, -1 on error (a line over
 * max bytes is EFBIG).
 */
int		 gzr_line(struct gzr *, char **, size_t *, size_t);
/*
 * Next record: the text up to the next line that starts with lead (or
 * to the end), its last line ended by "\n"; valid until the next call,
 * most often in place.  1 with *rec, *len and *lines (the "\n"s in it)
 * set, 0 at end of file, -1 on error (a record over max bytes is
 * EFBIG).  Not to be mixed with gzr_line on one reader.
 */
int		 gzr_record(struct gzr *, const char *, char **, size_t *,
		    size_t, unsigned long *);
int		 gzr_close(struct gzr *);
/*
 * Background mode: a thread decodes (or compresses) ahead, so the caller
 * only parses (or formats).  A reader in it is read by gzr_line or
 * gzr_record only.
 * -1 when no thread could be started (the stream works as before).
 */
int		 gzr_background(struct gzr *);
int		 gzw_background(struct gzw *);

struct gzw	*gzw_open(int, int);
int		 gzw_write(struct gzw *, const void *, size_t);
int		 gzw_puts(struct gzw *, const char *);
/* Bytes written so far, before compression. */
off_t		 gzw_count(struct gzw *);
/*
 * Seekable gzip files: the writer begins a new gzip member at some of
 * the places the caller marks (gzw_mark, before a record, with the
 * record's key: its members hold 64 KiB or more) and ends the file with
 * an empty member whose extra field lists each member's offset and
 * first key.  Any gzip reader reads the file as before; gzindex_read
 * finds the list, and gzr_open_at reads from one member on.  Keys are
 * the caller's to order.
 */
void		 gzw_seekable(struct gzw *);
int		 gzw_mark(struct gzw *, const void *, size_t);

struct gzindex;
/*
 * The member list of the seekable file at fd: NULL with errno ENOENT
 * when it has none, EBADMSG when it is malformed (offsets not rising
 * from 0, past the file's end, a bad length).
 */
struct gzindex	*gzindex_read(int);
size_t		 gzindex_count(const struct gzindex *);
/* Entry i: the member's offset and first key (valid while ix is). */
void		 gzindex_entry(const struct gzindex *, size_t, uint64_t *,
		    const char **, size_t *);
void		 gzindex_free(struct gzindex *);
/* gzr_open of fd from offset off on (a member's start). */
struct gzr	*gzr_open_at(int, int, off_t);
/* Flush and close; with sync, fsync before closing.  -1 on any error. */
int		 gzw_close(struct gzw *, int);

#endif
