/* Bounded growable buffer and whole-file I/O with size ceilings. */
#include "bpgate/buf.h"
#include "bpgate/testhook.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t buf_max(const bpg_buf *buf)
{
	return buf->max ? buf->max : BPG_BUF_DEFAULT_MAX;
}

int bpg_buf_grow(bpg_buf *buf, size_t extra)
{
	size_t need, nsize;
	char *p;

	if (extra > buf_max(buf) || buf->size > buf_max(buf) - extra)
		return BPG_ETOOBIG;
	need = buf->size + extra + 1;
	if (need <= buf->asize)
		return 0;
	nsize = buf->asize ? buf->asize : 64;
	while (nsize < need)
		nsize = nsize > SIZE_MAX / 2 ? need : nsize * 2;
	p = bpg_realloc(buf->ptr, nsize);
	if (!p)
		return BPG_ENOMEM;
	buf->ptr = p;
	buf->asize = nsize;
	return 0;
}

int bpg_buf_put(bpg_buf *buf, const void *data, size_t len)
{
	int rc = bpg_buf_grow(buf, len);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(buf->ptr + buf->size, data, len);
	buf->size += len;
	buf->ptr[buf->size] = '\0';
	return 0;
}

int bpg_buf_puts(bpg_buf *buf, const char *s)
{
	return bpg_buf_put(buf, s, strlen(s));
}

int bpg_buf_putc(bpg_buf *buf, char c)
{
	return bpg_buf_put(buf, &c, 1);
}

int bpg_buf_vprintf(bpg_buf *buf, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return BPG_ERROR;
	if ((rc = bpg_buf_grow(buf, (size_t)n)) < 0)
		return rc;
	vsnprintf(buf->ptr + buf->size, (size_t)n + 1, fmt, ap);
	buf->size += (size_t)n;
	return 0;
}

int bpg_buf_printf(bpg_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bpg_buf_vprintf(buf, fmt, ap);
	va_end(ap);
	return rc;
}

void bpg_buf_clear(bpg_buf *buf)
{
	buf->size = 0;
	if (buf->ptr)
		buf->ptr[0] = '\0';
}

void bpg_buf_dispose(bpg_buf *buf)
{
	if (!buf)
		return;
	free(buf->ptr);
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
}

char *bpg_buf_detach(bpg_buf *buf)
{
	char *p = buf->ptr;
	if (!p)
		p = bpg_calloc(1, 1);
	buf->ptr = NULL;
	buf->size = buf->asize = 0;
	return p;
}

static int read_fd(bpg_buf *buf, int fd, const char *path, size_t max, bpg_error *err)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return bpg_error_set(err, BPG_EIO, "%s: cannot read: %s", path, strerror(errno));
		}
		if (n == 0)
			return 0;
		if (buf->size + (size_t)n > max)
			return bpg_error_set(err, BPG_ETOOBIG,
				"%s: larger than the %zu-byte limit; split the file or raise the limit", path, max);
		if (bpg_buf_put(buf, chunk, (size_t)n) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "%s: out of memory", path);
	}
}

int bpg_file_read(bpg_buf *buf, const char *path, size_t max, bpg_error *err)
{
	struct stat st;
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return read_fd(buf, STDIN_FILENO, "<stdin>", max, err);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO,
			"%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			return bpg_error_set(err, BPG_EINVALID, "%s: is a directory, expected a file", path);
		}
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > (uint64_t)max) {
			close(fd);
			return bpg_error_set(err, BPG_ETOOBIG,
				"%s: %lld bytes, larger than the %zu-byte limit; split the file or raise the limit",
				path, (long long)st.st_size, max);
		}
	}
	rc = read_fd(buf, fd, path, max, err);
	close(fd);
	return rc;
}

int bpg_file_write_atomic(const char *path, const void *data, size_t len,
	unsigned int mode, bpg_error *err)
{
	bpg_buf tmp = BPG_BUF_INIT;
	const char *p = data;
	int fd = -1, rc = 0;

	if (bpg_buf_printf(&tmp, "%s.tmpXXXXXX", path) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	fd = mkstemp(tmp.ptr);
	if (fd < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot create: %s", path, strerror(errno));
		goto done;
	}
	if (fchmod(fd, (mode_t)mode) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot set mode: %s", path, strerror(errno));
		goto done;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot write: %s", path, strerror(errno));
			goto done;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot flush: %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.ptr)
		unlink(tmp.ptr);
	bpg_buf_dispose(&tmp);
	return rc;
}
