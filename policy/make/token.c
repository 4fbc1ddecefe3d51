/*
 * The Make API token: $BPGATE_MAKE_TOKEN, else a file only its owner can
 * read. The token itself never appears in a message; every copy this file
 * makes is wiped (sodium_memzero) before it is freed.
 */
#include "internal.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MAX 4096

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return n > 0;
}

static int from_env(char **out, const char *v, bpg_error *err)
{
	size_t n = strlen(v);

	if (n > TOKEN_MAX || !printable(v, n))
		return bpg_error_set(err, BPG_EINVALID,
			"BPGATE_MAKE_TOKEN: not a token (1 to %d printable ASCII characters, no spaces)", TOKEN_MAX);
	if (!(*out = bpg_strdup(v)))
		return bpg_error_set(err, BPG_ENOMEM, "Make token: out of memory");
	return 0;
}

int bpg_make_token_load(char **out, const char *file, bpg_error *err)
{
	const char *env = getenv("BPGATE_MAKE_TOKEN");
	char buf[TOKEN_MAX + 2];
	bpg_buf shown = BPG_BUF_INIT;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc = 0;

	*out = NULL;
	if (env && *env)
		return from_env(out, env, err);
	if (!file)
		return bpg_error_set(err, BPG_ENOTFOUND,
			"no Make API token: set BPGATE_MAKE_TOKEN, or give a token file (--token-file, "
			"git config bpgate.makeTokenFile) readable only by you (chmod 600)");
	if (bpg_safe_put(&shown, file, strlen(file), 200) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "Make token: out of memory");
		goto done;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		rc = bpg_error_set(err, errno == ENOENT ? BPG_ENOTFOUND : BPG_EIO, "%s: cannot open the token file: %s",
			shown.ptr, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: %s", shown.ptr, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: the token file is not a regular file", shown.ptr);
		goto done;
	}
	if (st.st_uid != geteuid()) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s: the token file belongs to uid %ld, not to you (uid %ld); refused", shown.ptr,
			(long)st.st_uid, (long)geteuid());
		goto done;
	}
	if (st.st_mode & 077) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s: the token file has mode %04o, readable by others; refused (fix: chmod 600 %s)", shown.ptr,
			(unsigned)(st.st_mode & 07777), shown.ptr);
		goto done;
	}
	if (st.st_size > TOKEN_MAX + 2) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: the token file is larger than %d bytes; refused",
			shown.ptr, TOKEN_MAX);
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = bpg_error_set(err, BPG_EIO, "%s: %s", shown.ptr, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf)) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s: the token file is larger than %d bytes; refused",
				shown.ptr, TOKEN_MAX);
			goto done;
		}
	}
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: the token file is empty", shown.ptr);
		goto done;
	}
	if (len > TOKEN_MAX) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: the token is longer than %d characters; refused",
			shown.ptr, TOKEN_MAX);
		goto done;
	}
	if (!printable(buf, len)) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: the token file must hold one line of printable ASCII (no spaces, no second line)",
			shown.ptr);
		goto done;
	}
	if (!(*out = bpg_strndup(buf, len)))
		rc = bpg_error_set(err, BPG_ENOMEM, "Make token: out of memory");
done:
	sodium_memzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	bpg_buf_dispose(&shown);
	return rc;
}

void bpg_make_token_free(char *token)
{
	if (!token)
		return;
	sodium_memzero(token, strlen(token));
	free(token);
}
