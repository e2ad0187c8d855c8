/*
 * gz.c: the readers and writers, in plain and background mode, over
 * more than a few of the chunks handed between threads; truncated and
 * unwritable streams fail with an error instead of hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gz.h"
#include "tap.h"
#include "xalloc.h"

#define NLINES	200000

static char path[] = "/tmp/unit-gz.XXXXXX";

/* Line k: its number, then k % 97 letters (some lines empty after it). */
static size_t
line_of(unsigned k, char *buf)
{
	size_t n = (size_t)snprintf(buf, 32, "%u", k);

	memset(buf + n, 'a' + k % 26, k % 97);
	return n + k % 97;
}

static int
write_lines(int level, int bg, const char *longline, size_t longlen)
{
	struct gzw *w;
	char buf[160];
	unsigned k;
	int fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    (w = gzw_open(fd, level)) == NULL)
		return -1;
	if (bg && gzw_background(w) == -1)
		return -1;
	for (k = 0; k < NLINES; k++) {
		size_t n = line_of(k, buf);

		buf[n++] = '\n';
		if (gzw_write(w, buf, n) == -1)
			return -1;
		if (k == NLINES / 2 && (gzw_write(w, longline, longlen) == -1 ||
		    gzw_write(w, "\n", 1) == -1))
			return -1;
	}
	return gzw_close(w, 0);
}

/* 1 when the file reads back as written, line by line. */
static int
read_lines(int gzip, int bg, const char *longline, size_t longlen)
{
	struct gzr *r;
	char want[160], *line;
	size_t len, n;
	unsigned k;
	int ok = 1;

	if ((r = gzr_open(open(path, O_RDONLY), gzip)) == NULL)
		return 0;
	if (bg && gzr_background(r) == -1)
		return 0;
	for (k = 0; k < NLINES && ok; k++) {
		n = line_of(k, want);
		ok = gzr_line(r, &line, &len, 1 << 20) == 1 && len == n &&
		    memcmp(line, want, n) == 0 && line[n] == '\0';
		if (ok && k == NLINES / 2)
			ok = gzr_line(r, &line, &len, 1 << 20) == 1 &&
			    len == longlen && memcmp(line, longline, len) == 0;
	}
	if (ok)
		ok = gzr_line(r, &line, &len, 1 << 20) == 0;
	return gzr_close(r) == 0 && ok;
}

int
main(void)
{
	struct gzr *r;
	struct gzw *w;
	char *line, *longline;
	size_t len, longlen = 700000;
	off_t size;
	int fd, rv, level, bg;

	if ((fd = mkstemp(path)) == -1)
		return 1;
	close(fd);
	longline = xmalloc(longlen);
	memset(longline, 'L', longlen);

	for (level = 0; level <= 1; level++)
		for (bg = 0; bg <= 1; bg++) {
			ok(write_lines(level, bg, longline, longlen) == 0,
			    "write %d lines, level %d, %s", NLINES, level,
			    bg ? "background" : "in line");
			ok(read_lines(level, 0, longline, longlen),
			    "  ... read back in line");
			ok(read_lines(level, 1, longline, longlen),
			    "  ... read back in background, over chunks");
		}

	/* cut the gzip stream in the middle: lines, then EIO, no hang */
	write_lines(1, 1, longline, longlen);
	fd = open(path, O_RDWR);
	size = lseek(fd, 0, SEEK_END);
	ok(ftruncate(fd, size / 2) == 0, "truncate the stream to half");
	close(fd);
	r = gzr_open(open(path, O_RDONLY), 1);
	gzr_background(r);
	while ((rv = gzr_line(r, &line, &len, 1 << 20)) == 1)
		;
	ok(rv == -1 && errno == EIO, "background reader: a cut stream is EIO");
	ok(gzr_line(r, &line, &len, 1 << 20) == -1, "  ... and stays an error");
	gzr_close(r);

	/* an empty plain file, in background mode */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	r = gzr_open(open(path, O_RDONLY), 0);
	gzr_background(r);
	ok(gzr_line(r, &line, &len, 100) == 0, "background reader: empty file");
	gzr_close(r);

	/* a device without room: the writer thread's error reaches close */
	if ((fd = open("/dev/full", O_WRONLY)) != -1) {
		w = gzw_open(fd, 1);
		gzw_background(w);
		rv = 0;
		for (len = 0; len < 64 && rv == 0; len++)
			rv = gzw_write(w, longline, longlen);
		ok((rv == -1 && errno == ENOSPC) ||
		    (gzw_close(w, 0) == -1 && errno == ENOSPC),
		    "background writer: ENOSPC is reported");
		if (rv == -1)
			gzw_close(w, 0);
	}
	unlink(path);
	free(longline);
	return tap_done();
}
