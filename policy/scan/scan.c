/*
 * Entry points: the scanner object, scanning a buffer or a file, windows
 * over long text, and turning queued candidates into findings with their
 * line and column.
 */
#include "scan_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__) && defined(__GNUC__) && defined(__x86_64__)
#include <emmintrin.h>
#define SCAN_SSE2_COLS 1
#endif

#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 5000
#define DEFAULT_MAX_FILE ((uint64_t)4 << 30)
#define SMALL_FILE (1 << 20)

int bpg_scanner_new(bpg_scanner **out, const bpg_scan_options *opts, bpg_error *err)
{
	bpg_scanner *s = NULL;
	int rc;

	*out = NULL;
	if (opts && (opts->version <= 0 || opts->version > BPG_SCAN_OPTIONS_VERSION))
		return bpg_error_set(err, BPG_EINVALID, "scan: invalid options version %d", opts->version);
	if (!(s = calloc(1, sizeof(*s))))
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	s->opts = (bpg_scan_options)BPG_SCAN_OPTIONS_INIT;
	if (opts)
		s->opts = *opts;
	if (!s->opts.max_file_size)
		s->opts.max_file_size = DEFAULT_MAX_FILE;
	if ((rc = scan_compile(s, err)) < 0)
		goto done;
	s->md = pcre2_match_data_create(4, NULL);
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->md || !s->mctx) {
		rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		goto done;
	}
	pcre2_set_match_limit(s->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, DEPTH_LIMIT);
	s->scratch.max = (size_t)64 << 20;
	*out = s;
	s = NULL;
	rc = 0;
done:
	bpg_scanner_free(s);
	return rc;
}

void bpg_scanner_free(bpg_scanner *s)
{
	if (!s)
		return;
	for (int i = 0; i < P_COUNT; i++) {
		pcre2_code_free(s->code[i]);
		pcre2_code_free(s->anchored[i]);
	}
	pcre2_match_data_free(s->md);
	pcre2_match_context_free(s->mctx);
	pcre2_jit_stack_free(s->jstack);
	bpg_buf_dispose(&s->scratch);
	bpg_buf_dispose(&s->filebuf);
	bpg_buf_dispose(&s->ptr);
	free(s->map);
	free(s->pend);
	free(s->kcache);
	free(s);
}

/* Characters (UTF-8 lead bytes) in [p, p+n): columns of a long line, eight
 * bytes at a time. */
static size_t utf8_chars(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t cont = 0, i = 0;
#ifdef SCAN_SSE2_COLS
	/* sixteen at a time: a continuation byte is below 0xC0 as a signed
	 * byte; per-byte counters, summed before they can wrap (255 rounds) */
	while (n - i >= 16) {
		size_t rounds = (n - i) / 16 > 255 ? 255 : (n - i) / 16;
		__m128i acc = _mm_setzero_si128(), sad;
		const __m128i lim = _mm_set1_epi8((char)0xC0);
		for (size_t k = 0; k < rounds; k++, i += 16)
			acc = _mm_sub_epi8(acc, _mm_cmplt_epi8(_mm_loadu_si128((const __m128i *)(u + i)), lim));
		sad = _mm_sad_epu8(acc, _mm_setzero_si128());
		cont += (size_t)_mm_cvtsi128_si64(sad) + (size_t)_mm_extract_epi16(sad, 4);
	}
#endif
	for (; i + 8 <= n; i += 8) { /* continuation bytes: bit 7 set, bit 6 clear */
		uint64_t w;
		memcpy(&w, u + i, 8);
		w = w & ~(w << 1) & 0x8080808080808080ull;
		cont += (size_t)(((w >> 7) * 0x0101010101010101ull) >> 56);
	}
	for (; i < n; i++)
		cont += (u[i] & 0xC0) == 0x80;
	return n - cont;
}

/* Move the line/column tracker forward to buffer offset off. */
void scan_advance(scan_ctx *c, size_t off)
{
	const char *b = c->base;
	size_t i = c->pos_off;

	if (off > c->len)
		off = c->len;
	while (i < off) {
		const char *nl = memchr(b + i, '\n', off - i);
		if (!nl) {
			c->pos_col += utf8_chars(b + i, off - i);
			break;
		}
		c->pos_line++;
		c->pos_col = 1;
		i = (size_t)(nl - b) + 1;
	}
	c->pos_off = off;
}

static int cmp_pending(const void *a, const void *b)
{
	const struct scan_pending *x = a, *y = b;
	if (x->raw != y->raw)
		return x->raw < y->raw ? -1 : 1;
	return (int)x->rule - (int)y->rule;
}

static bool line_kept(const scan_ctx *c, size_t line)
{
	if (!c->keep_lines)
		return true;
	return line < c->keep_nlines && c->keep_lines[line];
}

int scan_flush(scan_ctx *c, bpg_error *err)
{
	bpg_scanner *s = c->s;
	int rc = 0;

	if (s->npend == 0)
		return 0;
	if (s->npend > 1)
		qsort(s->pend, s->npend, sizeof(*s->pend), cmp_pending);
	for (size_t i = 0; i < s->npend && rc == 0; i++) {
		struct scan_pending *p = &s->pend[i];
		if (p->raw < c->pos_off) /* already passed (overlapping windows) */
			continue;
		scan_advance(c, p->raw);
		if (!line_kept(c, c->pos_line))
			continue;
		rc = scan_findings_add(c->out, p->rule, c->path, c->pos_line, c->pos_col, c->pointer,
			c->seg + p->start, p->vlen, p->synthetic, err);
	}
	s->npend = 0;
	return rc;
}

int scan_windows(scan_ctx *c, const char *seg, size_t len, size_t raw, const uint32_t *map,
	bool key_rules, bpg_error *err)
{
	size_t off = 0;
	int rc = 0;

	do {
		size_t wlen = len - off > BPG_SCAN_WINDOW + BPG_SCAN_OVERLAP ?
			BPG_SCAN_WINDOW + BPG_SCAN_OVERLAP : len - off;
		c->seg = seg + off;
		c->seg_len = wlen;
		c->seg_raw = raw + (map ? 0 : off);
		c->map = map ? map + off : NULL;
		c->seg_lo = map ? seg : c->base; /* raw segments are slices of base */
		c->accept_end = off + wlen == len ? wlen + 1 : BPG_SCAN_WINDOW;
		if ((rc = scan_segment(c, err)) < 0)
			break;
		if (key_rules && off == 0 && wlen == len && c->in_json && (rc = scan_key_rules(c, err)) < 0)
			break;
		if ((rc = scan_flush(c, err)) < 0)
			break;
		if (c->release && !map && c->seg_raw - c->released > ((size_t)16 << 20)) {
			scan_advance(c, c->seg_raw);
			c->release(c->release_arg, c->seg_raw);
			c->released = c->seg_raw;
		}
		off += wlen == len - off ? wlen : BPG_SCAN_WINDOW;
	} while (off < len);
	c->s->npend = 0;
	return rc;
}

static bool looks_json(const char *d, size_t n)
{
	size_t i = 0;
	if (n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t'))
		i++;
	return i < n && (d[i] == '{' || d[i] == '[');
}

bool bpg_scan_looks_binary(const char *data, size_t len)
{
	return memchr(data, '\0', len < 8192 ? len : 8192) != NULL;
}

/* Scan c->base as JSON when it looks like JSON, else (or on a JSON error) as text. */
int scan_buffer_ctx(scan_ctx *c, bpg_error *err)
{
	int rc;

	c->pos_off = 0;
	c->pos_line = 1;
	c->pos_col = 1;
	c->first_finding = bpg_findings_count(c->out);
	if (c->s->opts.json_autodetect && looks_json(c->base, c->len)) {
		rc = scan_json(c, err);
		if (rc != BPG_EINVALID)
			return rc;
		/* not JSON after all: forget what the walker found and read it as text */
		scan_findings_truncate(c->out, c->first_finding);
		c->s->npend = 0;
		c->pos_off = 0;
		c->pos_line = 1;
		c->pos_col = 1;
		c->last_aws_key = 0;
		c->released = 0;
	}
	rc = scan_windows(c, c->base, c->len, 0, NULL, false, err);
	return rc;
}

int bpg_scan_buffer(bpg_scanner *s, bpg_findings *out, const char *path, const char *data,
	size_t len, bpg_error *err)
{
	scan_ctx c;

	if (!s || !out || (!data && len))
		return bpg_error_set(err, BPG_EINVALID, "scan: invalid arguments");
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.out = out;
	c.path = path ? path : "-";
	c.base = data ? data : "";
	c.len = len;
	return scan_buffer_ctx(&c, err);
}

struct mapping {
	const char *base;
	size_t len;
};

static void release_pages(void *arg, size_t upto)
{
	struct mapping *m = arg;
	long pg = sysconf(_SC_PAGESIZE);
	size_t keep = (size_t)1 << 20; /* context lookback stays mapped */
	size_t end;

	if (pg <= 0 || upto < keep)
		return;
	end = (upto - keep) / (size_t)pg * (size_t)pg;
	if (end)
		(void)madvise((void *)m->base, end, MADV_DONTNEED);
}

/* stdin: spooled to an unlinked temporary file so it can be mapped like a file. */
static int spool_stdin(int *fd_out, bpg_error *err)
{
	char tmpl[] = "/tmp/bpgate-scan-XXXXXX";
	char buf[1 << 16];
	int fd = mkstemp(tmpl);
	ssize_t r;

	if (fd < 0)
		return bpg_error_set(err, BPG_EIO, "scan: cannot create a temporary file: %s", strerror(errno));
	unlink(tmpl);
	while ((r = read(0, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return bpg_error_set(err, BPG_EIO, "scan: reading stdin: %s", strerror(errno));
		}
		for (ssize_t w = 0; w < r;) {
			ssize_t k = write(fd, buf + w, (size_t)(r - w));
			if (k < 0) {
				close(fd);
				return bpg_error_set(err, BPG_EIO, "scan: spooling stdin: %s", strerror(errno));
			}
			w += k;
		}
	}
	*fd_out = fd;
	return 0;
}

int bpg_scan_file(bpg_scanner *s, bpg_findings *out, const char *fs_path, const char *display,
	bpg_error *err)
{
	int fd = -1, rc = 0;
	struct stat st;
	void *map = MAP_FAILED;
	struct mapping m;
	scan_ctx c;
	char why[96];

	if (!display)
		display = fs_path;
	if (strcmp(fs_path, "-") == 0) {
		if ((rc = spool_stdin(&fd, err)) < 0)
			return rc;
	} else if ((fd = open(fs_path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		return bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO, "%s: %s", display,
			strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: %s", display, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bpg_findings_add_skip(out, display, "not a regular file", err);
		goto done;
	}
	if ((uint64_t)st.st_size > s->opts.max_file_size) {
		snprintf(why, sizeof(why), "larger than the limit of %llu bytes",
			(unsigned long long)s->opts.max_file_size);
		rc = bpg_findings_add_skip(out, display, why, err);
		goto done;
	}
	if (st.st_size == 0)
		goto done;
	if (st.st_size <= SMALL_FILE) {
		/* small files: one read into the scanner's buffer (mapping costs more) */
		ssize_t got = 0;
		bpg_buf_clear(&s->filebuf);
		if (bpg_buf_grow(&s->filebuf, (size_t)st.st_size) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
			goto done;
		}
		while ((size_t)got < (size_t)st.st_size) {
			ssize_t r = pread(fd, s->filebuf.ptr + got, (size_t)st.st_size - (size_t)got, (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += r;
		}
		if (bpg_scan_looks_binary(s->filebuf.ptr, (size_t)got)) {
			rc = bpg_findings_add_skip(out, display, "binary (NUL bytes in the first 8 KiB)", err);
			goto done;
		}
		rc = bpg_scan_buffer(s, out, display, s->filebuf.ptr, (size_t)got, err);
		goto done;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot map: %s", display, strerror(errno));
		goto done;
	}
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	if (bpg_scan_looks_binary(map, (size_t)st.st_size)) {
		rc = bpg_findings_add_skip(out, display, "binary (NUL bytes in the first 8 KiB)", err);
		goto done;
	}
	memset(&c, 0, sizeof(c));
	m.base = map;
	m.len = (size_t)st.st_size;
	c.s = s;
	c.out = out;
	c.path = display;
	c.base = map;
	c.len = (size_t)st.st_size;
	c.release = release_pages;
	c.release_arg = &m;
	rc = scan_buffer_ctx(&c, err);
done:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return rc;
}
