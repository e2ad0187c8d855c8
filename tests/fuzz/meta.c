/*
 * libFuzzer target: the mirror_metadata record parser and writer, and
 * the splitting of a file into records (gzr_record, meta_next).
 */
#define _GNU_SOURCE	/* memfd_create */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "gz.h"
#include "meta.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A gzr over a copy of data in memory (plain, not gzip); NULL if none. */
static struct gzr *
reader(const uint8_t *data, size_t size)
{
	struct gzr *g;
	int fd;

	if ((fd = memfd_create("fuzz", 0)) == -1)
		return NULL;
	if ((size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) != 0 || (g = gzr_open(fd, 0)) == NULL) {
		close(fd);
		return NULL;
	}
	return g;
}

/*
 * The records gzr_record hands out are the input, cut before each line
 * that starts "File ", every byte once, in order (a "\n" added at the
 * end), with every "\n" counted; meta_next over them never crashes.
 */
static void
records(const uint8_t *data, size_t size)
{
	struct gzr *g;
	struct meta_reader *m;
	struct rec *rp;
	char *rec;
	size_t len, at = 0, i;
	unsigned long lines, all = 0, want = 0;
	int rv;

	if ((g = reader(data, size)) == NULL)
		return;
	while ((rv = gzr_record(g, "File ", &rec, &len, SIZE_MAX,
	    &lines)) == 1) {
		if (len == 0 || rec[len - 1] != '\n')
			abort();
		if (at + len <= size) {
			if (memcmp(rec, data + at, len) != 0)
				abort();
		} else if (at + len != size + 1 ||
		    memcmp(rec, data + at, len - 1) != 0 || data[size - 1] == '\n')
			abort();
		for (i = 1; i + 5 < len; i++)
			if (rec[i - 1] == '\n' && memcmp(rec + i, "File ", 5) == 0)
				abort();
		at += len;
		all += lines;
	}
	if (rv != 0 || at < size)
		abort();
	for (i = 0; i < size; i++)
		want += data[i] == '\n';
	if (all != want)
		abort();
	gzr_close(g);

	if ((g = reader(data, size)) == NULL)
		return;
	m = meta_open(g);
	for (i = 0; i < 100000 && (rv = meta_next(m, &rp)) != 0; i++)
		if (rv == -1 && meta_ioerror(m))
			break;
	meta_close(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec r = { 0 }, c = { 0 };
	char err[256];
	int fd[2];
	struct gzw *w;

	if (meta_parse((const char *)data, size, &r, err, sizeof err) == 0) {
		rec_copy(&c, &r);
		if (!rec_same(&r, &c))
			abort();
		/* what parses must also be writable */
		if ((fd[1] = open("/dev/null", 1)) != -1) {
			w = gzw_open(fd[1], 1);
			meta_write(w, &r);
			gzw_close(w, 0);
		}
	} else if (strlen(err) == 0)
		abort();
	rec_free(&r);
	rec_free(&c);
	(void)fd[0];
	records(data, size);
	return 0;
}
