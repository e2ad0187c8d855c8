/*
 * Block signatures for the agent's wire: what snap tells snap --server
 * of its copy of a file so that the server can send a delta.  The same
 * rsync idea as librsync's signatures, with sums that cost a fraction
 * of librsync's (its per-byte rolling sum and BLAKE2 made most of the
 * time of a big file): a Rabin-Karp rolling sum computed eight bytes at
 * a step, and UMAC-128 (nettle, vectorised) under a key drawn for each
 * signature.  Never stored: the deltas that come of it are librsync's
 * format, and increments are made from them as before.
 *
 * The stream: u32 BSIG_MAGIC, u32 block length, u32 strong sum length
 * (16), 16 bytes of key, u64 size of the file signed, then for each
 * block in order (the last may be short) a u32 weak sum and the strong
 * sum; integers big-endian.
 */
#ifndef BSIG_H
#define BSIG_H

#include <stddef.h>
#include <stdint.h>

#define BSIG_MAGIC	0x626b7331u	/* "bks1" */
#define BSIG_HEAD	36		/* magic .. size */
#define BSIG_STRONG	16

struct bsig;

/*
 * The signature of the size bytes of fd (read with pread from offset
 * 0), blocks as librsync would choose for size; large files in two
 * threads.  Malloc'd, its length in *len; NULL with errno (ESTALE: the
 * file is shorter than size).
 */
unsigned char	*bsig_file(int, uint64_t, size_t *);
/* A signature stream made ready to scan against; NULL (EINVAL): bad. */
struct bsig	*bsig_load(const void *, size_t);
void		 bsig_free(struct bsig *);
/* The block length of a loaded signature. */
uint32_t	 bsig_blen(const struct bsig *);

/* Where a scan's findings go, in the order of the data. */
struct bsig_out {
	int	(*copy)(void *, uint64_t, uint64_t);	/* basis off, len */
	int	(*literal)(void *, const char *, size_t);
	void	*arg;
};

/*
 * Scan the bytes [from, to) of fd (to 0: to its end, as far as it goes)
 * against the signature: copies of the basis's blocks where they occur,
 * literal data between.  A block is taken only when both sums agree.
 * 0, or -1 with errno (or what an output function left there).
 */
int		 bsig_scan(const struct bsig *, int, uint64_t, uint64_t,
		    const struct bsig_out *);
/*
 * The block length, the length of a block's sums (weak and strong) and
 * where they start, of a signature stream; -1 (EINVAL) if it is not one.
 */
int		 bsig_sums(const void *, size_t, uint32_t *, size_t *,
		    const unsigned char **, size_t *);

#endif
