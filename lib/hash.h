/*
 * FNV-1a, 64 bits: a hash of bytes for hash tables and for inode numbers
 * that must stay the same from one run to the next.
 */
#ifndef HASH_H
#define HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT	UINT64_C(0xcbf29ce484222325)

/* h (FNV1A_INIT to start) continued over p[0..n). */
uint64_t	fnv1a(uint64_t, const void *, size_t);

#endif
