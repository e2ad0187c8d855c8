/*
 * librsync in memory-bounded streaming form: a signature built while a
 * file is copied, a delta of another file against it (rdiff-backup's
 * .diff increments: patch(new, delta) = old), and patch application.
 */
#ifndef DELTA_H
#define DELTA_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct gzr;
struct gzw;
struct sigmaker;

/*
 * Start a signature for about size bytes of data, with full strong sums
 * (32 bytes: a false block match would corrupt history).
 */
struct sigmaker	*sig_begin(uint64_t);
/*
 * The same with strong sums of the least length librsync holds safe
 * against chance matches for size, but at least the given length: for
 * signatures that cross a network.
 */
struct sigmaker	*sig_begin_strong(uint64_t, size_t);
int		 sig_update(struct sigmaker *, const void *, size_t);
/* sig_update for copy_fd's tap: sig_tap(sig, p, n). */
int		 sig_tap(void *, const void *, size_t);
/*
 * Delta of the file in fd (read from its current offset to the end)
 * against the signature, written to w.  Frees nothing; 0 or -1.
 */
int		 sig_delta(struct sigmaker *, int, struct gzw *);
/* sig_delta, the delta going to out(arg, bytes, n) (-1 stops it). */
int		 sig_delta_to(struct sigmaker *, int,
		    int (*)(void *, const char *, size_t), void *);
/*
 * The finished signature stream (librsync's format), to send: valid
 * until sig_free; the sigmaker is then good for nothing else.  NULL
 * with errno when building it failed.
 */
const void	*sig_stream(struct sigmaker *, size_t *);
/*
 * The delta of all of fd against the signature stream sig, librsync's
 * (sig_delta_to of sig_load(sig)) or a block signature (bsig.h); large
 * files in two threads, in segments (at most two blocks more of literal
 * data at each cut).  0, or -1 with errno.
 */
int		 sig_delta_file(const void *, size_t, int,
		    int (*)(void *, const char *, size_t), void *);
/*
 * Chunks read so far by the delta and signature functions, in any
 * thread: a long delta that shows no output yet is making progress.
 */
uint64_t	 delta_progress(void);
/* Are files of this size signed and diffed in two threads here? */
int		 delta_parallel(uint64_t);
/* Count a chunk read towards delta_progress (lib/bsig.c's too). */
void		 delta_tick(void);
/*
 * The delta that copies all len bytes of the basis, to out: the
 * increment of a file whose content did not change.  0 or -1.
 */
int		 delta_copy_all(uint64_t, int (*)(void *, const char *, size_t),
		    void *);
/* A signature received as a stream, ready for sig_delta; NULL: bad. */
struct sigmaker	*sig_load(const void *, size_t);
void		 sig_free(struct sigmaker *);

/* Called with every byte patch_apply produces. */
typedef void	 patch_tap(void *, const void *, size_t);
/*
 * Apply the delta read from d to the basis file basisfd (read with
 * pread), writing the result to outfd when it is not -1 and handing it to
 * tap when that is not NULL.  Output past limit bytes stops it (EFBIG):
 * a few bytes of delta can copy the basis over and over.  Returns 0, or
 * -1 (EIO for a bad delta).
 */
int		 patch_apply(int, struct gzr *, int, uint64_t, patch_tap *,
		    void *);
/*
 * patch_apply of the delta read(arg, buf, n) gives (up to n bytes, 0 at
 * its end, -1 with errno), which also gives, in *rev, the way back: sig_delta(*rev,
 * fd, w) with fd the basis again (the same file, unchanged; else
 * ESTALE) writes the delta from the output to the basis, made from the
 * copies the patch did (copied back from the output, the rest of the
 * basis literal), without hashing or reading either file whole.
 */
typedef ssize_t	 delta_read(void *, void *, size_t);
int		 patch_apply_rev(int, delta_read *, void *, int, uint64_t,
		    patch_tap *, void *, struct sigmaker **);
/*
 * patch_apply_rev of a delta that leaves every byte it copies where it
 * was (a copy from offset k to offset k; literal data between), with no
 * output: what it would write goes to tap only.  -1 with EXDEV as soon
 * as a copy moves data.  Such a delta can be applied to the basis
 * itself (patch_in_place), once the way back is kept.
 */
int		 patch_scan_still(int, delta_read *, void *, uint64_t,
		    patch_tap *, void *, struct sigmaker **);
/*
 * Apply such a delta to fd, the basis, in place: its literal data are
 * written at their offsets and fd is cut where the output ends; copies
 * read nothing.  A delta that moves data is refused (EXDEV) before it
 * writes past the first move.  0, or -1 with errno.
 */
int		 patch_in_place(int, delta_read *, void *, uint64_t);
/*
 * Give the way back patch_apply_rev made the signature stream of the
 * basis (any librsync signature, or a block signature): stretches the patch did not copy that
 * equal ones it did (repeated blocks, zeros) are then copied back from
 * the output too, each checked against the basis byte for byte.  0, or
 * -1 (EINVAL) when the stream is not a signature; the way back works
 * without it.
 */
int		 rev_basis_sig(struct sigmaker *, const void *, size_t);

#endif
