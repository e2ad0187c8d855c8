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

#define NKEYS	40000

/*
 * A seekable file of NKEYS records "File kNNNNNNNN" with padding of
 * pad bytes each (keys of keypad bytes more), marked before each.
 */
static int
write_seekable(int bg, size_t pad, size_t keypad)
{
	struct gzw *w;
	char key[2048], rec[4096];
	size_t kl, n;
	unsigned k;
	int fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    (w = gzw_open(fd, 1)) == NULL)
		return -1;
	gzw_seekable(w);
	if (bg && gzw_background(w) == -1)
		return -1;
	for (k = 0; k < NKEYS; k++) {
		kl = (size_t)snprintf(key, 32, "k%08u", k);
		memset(key + kl, 'p', keypad);
		kl += keypad;
		n = (size_t)snprintf(rec, sizeof rec, "File %.*s\n  Pad ",
		    (int)kl, key);
		memset(rec + n, 'a' + k % 26, pad);
		n += pad;
		rec[n++] = '\n';
		if (gzw_mark(w, key, kl) == -1 || gzw_write(w, rec, n) == -1)
			return -1;
	}
	return gzw_close(w, 0);
}

/*
 * Every listed member of the file begins with the record its key names
 * and reads from there to the last record; members are listed in order.
 */
static int
check_members(size_t *count, size_t keypad)
{
	struct gzindex *ix;
	struct gzr *r;
	const char *key;
	char want[2048], *rec;
	size_t i, kl, len, n;
	unsigned long lines;
	uint64_t off;
	unsigned k, first;
	int fd, ok = 1;

	fd = open(path, O_RDONLY);
	ix = gzindex_read(fd);
	close(fd);
	if (ix == NULL)
		return 0;
	*count = gzindex_count(ix);
	for (i = 0; i < *count && ok; i += 1 + *count / 7) {
		gzindex_entry(ix, i, &off, &key, &kl);
		if (kl < 9 || sscanf(key, "k%8u", &first) != 1)
			return 0;
		if ((r = gzr_open_at(open(path, O_RDONLY), 1, (off_t)off)) ==
		    NULL)
			return 0;
		for (k = first; k < NKEYS && ok; k++) {
			n = (size_t)snprintf(want, 32, "File k%08u", k);
			memset(want + n, 'p', keypad);
			n += keypad;
			ok = gzr_record(r, "File ", &rec, &len, 1 << 20,
			    &lines) == 1 && len > n && memcmp(rec, want, n) ==
			    0 && rec[n] == '\n';
		}
		ok = ok && gzr_record(r, "File ", &rec, &len, 1 << 20,
		    &lines) == 0;
		gzr_close(r);
	}
	gzindex_free(ix);
	return ok;
}

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

/*
 * gzr_record over records of every size, a few longer than a chunk,
 * with lines that start like the lead and stop short ("Fil", "File"
 * without its space), a first "record" that is not one, and a last
 * record without its final "\n": every record comes back as written
 * (the last with a "\n" added), with its count of lines.
 */
#define NRECS	60000

static char *
make_records(size_t *total, size_t **offs)
{
	char *t = NULL;
	size_t n = 0, cap = 0, k, j, j2, nl, len;
	static char line[100000];

	*offs = xreallocarray(NULL, NRECS + 2, sizeof **offs);
	srandom(11);
	for (k = 0; k <= NRECS; k++) {
		(*offs)[k] = n;
		for (j = 0, nl = k == 0 ? 2 : (size_t)(random() % 12); ; j++) {
			if (j == 0 && k == 0)
				len = (size_t)snprintf(line, sizeof line,
				    "not a record");
			else if (j == 0)
				len = (size_t)snprintf(line, sizeof line,
				    "File %zu", k);
			else if (j > nl)
				break;
			else {
				static const char *starts[] = { "  Size 1",
				    "Fil", "File", "Filex", "F", "", "  x" };

				len = (size_t)snprintf(line, sizeof line, "%s",
				    starts[random() % 7]);
				/* a few lines longer than a chunk */
				j2 = k % 20000 == 7 ? 90000 :
				    (size_t)(random() % (k % 100 == 3 ? 3000 : 60));
				memset(line + len, 'a' + (int)(k % 26), j2);
				len += j2;
			}
			if (n + len + 1 > cap) {
				cap = (n + len + 1) * 2;
				t = xrealloc(t, cap);
			}
			memcpy(t + n, line, len);
			n += len;
			t[n++] = '\n';
		}
	}
	(*offs)[NRECS + 1] = n;
	*total = n - 1;		/* the last "\n" left out */
	return t;
}

static unsigned long
newlines(const char *t, size_t n)
{
	unsigned long c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += t[i] == '\n';
	return c;
}

static int
read_records(int gzip, int bg, const char *t, const size_t *offs,
    unsigned long *why)
{
	struct gzr *r;
	char *rec;
	size_t len, k, want;
	unsigned long lines, alllines = 0;
	int fd, rv;

	*why = 0;
	if ((fd = open(path, O_RDONLY)) == -1 ||
	    (r = gzr_open(fd, gzip)) == NULL)
		return 0;
	if (bg && gzr_background(r) == -1)
		return 0;
	for (k = 0; k <= NRECS; k++) {
		if ((rv = gzr_record(r, "File ", &rec, &len, 1 << 20,
		    &lines)) != 1) {
			*why = k + 1;
			break;
		}
		want = offs[k + 1] - offs[k];
		if (len != want || memcmp(rec, t + offs[k], len) != 0) {
			*why = k + 1;
			break;
		}
		alllines += lines;
	}
	if (*why == 0 && gzr_record(r, "File ", &rec, &len, 1 << 20,
	    &lines) != 0)
		*why = NRECS + 2;
	gzr_close(r);
	if (*why == 0 && alllines != newlines(t, offs[NRECS + 1] - 1))
		*why = NRECS + 3;
	return *why == 0;
}

int
main(void)
{
	struct gzr *r;
	struct gzw *w;
	char *line, *longline, cmd[128];
	size_t len, longlen = 700000, total, *offs;
	unsigned long why, lines;
	char *recs;
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

	recs = make_records(&total, &offs);
	for (level = 0; level <= 1; level++) {
		fd = open(path, O_WRONLY | O_TRUNC);
		w = gzw_open(fd, level);
		ok(w != NULL && gzw_write(w, recs, total) == 0 &&
		    gzw_close(w, 0) == 0, "%d records (%zu bytes), level %d",
		    NRECS, total, level);
		for (bg = 0; bg <= 1; bg++) {
			rv = read_records(level, bg, recs, offs, &why);
			ok(rv, "  ... gzr_record gives each back, %s",
			    bg ? "in background" : "in line");
			if (!rv)
				printf("#   record %lu\n", why - 1);
		}
	}
	free(recs);
	free(offs);

	/* seekable files: members at marks, their index at the end */
	for (bg = 0; bg <= 1; bg++) {
		size_t count = 0;

		ok(write_seekable(bg, 100, 0) == 0, "a seekable file of %d "
		    "records, %s", NKEYS, bg ? "in background" : "in line");
		rv = check_members(&count, 0);
		ok(rv && count > 20, "  ... each of its %zu members reads "
		    "from its first key on", count);
		snprintf(cmd, sizeof cmd, "gzip -t <%s 2>/dev/null", path);
		ok(system(cmd) == 0, "  ... and gzip(1) reads it whole");
	}
	/* long keys: the index fills, later members go unlisted */
	{
		size_t count = 0;

		ok(write_seekable(1, 1500, 1000) == 0, "a seekable file with "
		    "keys of 1,009 bytes");
		rv = check_members(&count, 1000);
		ok(rv && count > 10 && count <= 60000 / 1009, "  ... its index "
		    "holds what fits (%zu members), each reads on to the end",
		    count);
	}
	fd = open(path, O_WRONLY | O_TRUNC);
	w = gzw_open(fd, 1);
	gzw_write(w, "File a\n", 7);
	gzw_close(w, 0);
	fd = open(path, O_RDONLY);
	errno = 0;
	ok(gzindex_read(fd) == NULL && errno == ENOENT,
	    "a file written without marks has no index: ENOENT");
	close(fd);
	/* an index whose first member is not at 0 is refused */
	write_seekable(0, 100, 0);
	fd = open(path, O_RDWR);
	size = lseek(fd, 0, SEEK_END);
	{
		unsigned char b[4];
		uint32_t total;
		off_t at;

		pread(fd, b, 4, size - 14);
		total = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		at = size - (off_t)total + 16 + 5 + 7;	/* offset's last byte */
		b[0] = 1;
		ok(pwrite(fd, b, 1, at) == 1, "set the first member's offset "
		    "in the index to 1");
		errno = 0;
		ok(gzindex_read(fd) == NULL && errno == EBADMSG,
		    "  ... gzindex_read: EBADMSG");
	}
	close(fd);

	/* the limit is the record's size, not what was decoded with it */
	fd = open(path, O_WRONLY | O_TRUNC);
	w = gzw_open(fd, 0);
	longline[0] = 'F';
	memcpy(longline, "File ", 5);
	gzw_write(w, longline, 90000);
	gzw_write(w, "\nFile b\n", 8);
	gzw_write(w, longline, 150000);
	gzw_close(w, 0);
	fd = open(path, O_RDONLY);
	r = gzr_open(fd, 0);
	rv = gzr_record(r, "File ", &line, &len, 100000, &lines);
	ok(rv == 1 && len == 90001, "a 90,001-byte record under a limit of "
	    "100,000 (%zu bytes)", len);
	rv = gzr_record(r, "File ", &line, &len, 100000, &lines);
	ok(rv == 1 && len == 7 && memcmp(line, "File b\n", 7) == 0,
	    "  ... then a short one");
	errno = 0;
	ok(gzr_record(r, "File ", &line, &len, 100000, &lines) == -1 &&
	    errno == EFBIG, "  ... then one of 150,001: EFBIG");
	gzr_close(r);
	memset(longline, 'L', 5);

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
