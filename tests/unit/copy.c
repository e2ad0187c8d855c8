/* Unit tests for copy.c's hash tap and sparse.c's writer. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy.h"
#include "sparse.h"
#include "tap.h"
#include "xalloc.h"

/*
 * The threaded tap gives the inline tap's SHA-1 and count, for pieces of
 * odd sizes that fill the thread's slots unevenly, and for nothing.
 */
static void
threaded(size_t total, size_t piece)
{
	unsigned char *p = xmalloc(total + 1);
	struct hashtap a, b;
	struct copyres ra, rb;
	size_t i, k;

	for (i = 0; i < total; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 9));
	hashtap_init(&a, 0);
	hashtap_init(&b, 0);
	hashtap_thread(&b);
	ok(b.q != NULL, "%zu bytes in %zu-byte pieces: a hashing thread",
	    total, piece);
	for (i = 0; i < total; i += k) {
		k = total - i < piece ? total - i : piece;
		hashtap(&a, p + i, k);
		hashtap(&b, p + i, k);
	}
	hashtap_end(&a, &ra);
	hashtap_end(&b, &rb);
	ok(strcmp(ra.sha1, rb.sha1) == 0 && ra.bytes == total &&
	    rb.bytes == total, "... the same SHA-1 and count as inline (%s)",
	    rb.sha1);
	free(p);
}

/* A threaded tap given up halfway (a failed patch) ends cleanly. */
static void
abandoned(void)
{
	static unsigned char p[300000];
	struct hashtap t;

	hashtap_init(&t, 0);
	hashtap_thread(&t);
	hashtap(&t, p, sizeof p);
	hashtap(&t, p, sizeof p);
	hashtap_end(&t, NULL);
	ok(t.q == NULL, "a threaded tap ended without a result is freed");
}

/*
 * With writeback asked for, the sparse writer still writes the same
 * bytes and the same holes.
 */
static void
writeback(void)
{
	char path[] = "/tmp/unit-copy.XXXXXX";
	static char zero[1 << 20];
	char *data = xmalloc(1 << 20), *back = xmalloc(1 << 20);
	struct sparse sp;
	struct stat st;
	int fd, i, same = 1;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp: %s", strerror(errno));
		return;
	}
	unlink(path);
	memset(data, 'w', 1 << 20);
	sparse_writeback(1);
	sparse_init(&sp, fd);
	for (i = 0; i < 24; i++)
		if (sparse_write(&sp, i % 3 == 1 ? zero : data, 1 << 20) == -1)
			break;
	ok(i == 24 && sparse_finish(&sp) == 0 && fstat(fd, &st) == 0 &&
	    st.st_size == 24 << 20, "24 MiB written with writeback asked for");
	for (i = 0; i < 24; i++) {
		if (pread(fd, back, 1 << 20, (off_t)i << 20) != 1 << 20 ||
		    memcmp(back, i % 3 == 1 ? zero : data, 1 << 20) != 0)
			same = 0;
	}
	ok(same, "... the bytes read back");
	ok((off_t)st.st_blocks * 512 <= (off_t)17 << 20,
	    "... the zero MiBs stay holes (%lld KiB allocated)",
	    (long long)st.st_blocks / 2);
	sparse_writeback(0);
	close(fd);
	free(data);
	free(back);
}

int
main(void)
{
	threaded(0, 1);
	threaded(1, 1);
	threaded(256 * 1024, 256 * 1024);
	threaded(3 * 1024 * 1024 + 17, 65536);
	threaded(5 * 1024 * 1024 + 1, 100003);
	threaded(2 * 1024 * 1024, 1 << 20);
	abandoned();
	writeback();
	return tap_done();
}
