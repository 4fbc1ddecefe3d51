/*
 * The principals file: who may connect, with which key, and who is admin.
 *
 * Format (one key per line, OpenSSH authorized_keys in spirit):
 *
 *     # comment
 *     <principal> [<options>] <keytype> <base64-blob> [<comment>]
 *
 * principal: [A-Za-z0-9][A-Za-z0-9._-]{0,63}; options: a comma-separated
 * list, today only "admin"; keytype: ssh-ed25519, ssh-rsa,
 * ecdsa-sha2-nistp256/384/521. A principal may have several lines (keys);
 * one key may belong to one principal only. Blobs are checked (valid
 * base64 whose embedded type matches keytype) and kept in canonical base64
 * so the lookup is a plain string compare.
 */
#include "bpgated.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384
#define BLOB_MAX 8192

bool bpgd_principal_valid(const char *s)
{
	size_t n = 0;

	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n <= 64;
}

bool bpgd_keytype_valid(const char *s)
{
	static const char *const types[] = { "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", NULL };
	for (size_t i = 0; types[i]; i++)
		if (strcmp(s, types[i]) == 0)
			return true;
	return false;
}

/* Decode the blob, check its embedded type, re-encode canonically into *out. */
static int blob_canonical(char **out, const char *type, const char *b64)
{
	unsigned char *bin = NULL;
	size_t binlen = 0, tlen = strlen(type), b64len = strlen(b64);
	char *enc = NULL;
	int rc = BPG_EINVALID;

	*out = NULL;
	if (b64len == 0 || b64len > BLOB_MAX * 2)
		return BPG_EINVALID;
	bin = malloc(b64len);
	if (!bin)
		return BPG_ENOMEM;
	if (sodium_base642bin(bin, b64len, b64, b64len, NULL, &binlen, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0 || binlen < 4 + tlen)
		goto done;
	uint32_t n = ((uint32_t)bin[0] << 24) | ((uint32_t)bin[1] << 16) | ((uint32_t)bin[2] << 8) | bin[3];
	if (n != tlen || memcmp(bin + 4, type, tlen) != 0)
		goto done;
	size_t enclen = sodium_base64_ENCODED_LEN(binlen, sodium_base64_VARIANT_ORIGINAL);
	enc = malloc(enclen);
	if (!enc) {
		rc = BPG_ENOMEM;
		goto done;
	}
	sodium_bin2base64(enc, enclen, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
	*out = enc;
	enc = NULL;
	rc = 0;
done:
	free(bin);
	free(enc);
	return rc;
}

/* Split a line into at most max words (modifies line). */
static size_t split_words(char *line, char **words, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static int parse_options(const char *opts, bool *admin)
{
	char buf[256], *save = NULL, *tok;

	*admin = false;
	if (strlen(opts) >= sizeof(buf))
		return BPG_EINVALID;
	strcpy(buf, opts);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "admin") == 0)
			*admin = true;
		else
			return BPG_EINVALID;
	}
	return 0;
}

/* Parse one non-comment line into ent. */
static int parse_line(bpgd_keyent *ent, char *line, const char *name, size_t lineno, bpg_error *err)
{
	char *w[5];
	size_t n = split_words(line, w, 4), i = 1;
	int rc;

	memset(ent, 0, sizeof(*ent));
	ent->line = lineno;
	if (n < 3)
		return bpg_error_set(err, BPG_EINVALID,
			"%s:%zu: expected '<principal> [admin] <keytype> <base64-key> [comment]'", name, lineno);
	if (!bpgd_principal_valid(w[0]))
		return bpg_error_set(err, BPG_EINVALID,
			"%s:%zu: invalid principal name (letters, digits, '.', '_', '-'; at most 64)", name, lineno);
	if (!bpgd_keytype_valid(w[1])) {
		if (parse_options(w[1], &ent->admin) < 0)
			return bpg_error_set(err, BPG_EINVALID,
				"%s:%zu: unknown key type or option '%.40s' (options: admin)", name, lineno, w[1]);
		i = 2;
		if (n < 4 || !bpgd_keytype_valid(w[2]))
			return bpg_error_set(err, BPG_EINVALID,
				"%s:%zu: expected a key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521)", name, lineno);
	}
	ent->principal = strdup(w[0]);
	ent->type = strdup(w[i]);
	if (!ent->principal || !ent->type)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = blob_canonical(&ent->blob_b64, w[i], w[i + 1]);
	if (rc == BPG_ENOMEM)
		return bpg_error_set(err, rc, "out of memory");
	if (rc < 0)
		return bpg_error_set(err, BPG_EINVALID,
			"%s:%zu: the key is not valid base64 of a %s public key", name, lineno, w[i]);
	return 0;
}

static void keyent_release(bpgd_keyent *e)
{
	free(e->principal);
	free(e->type);
	free(e->blob_b64);
}

int bpgd_keys_parse(bpgd_keys *out, const char *text, size_t len, const char *name, bpg_error *err)
{
	size_t pos = 0, lineno = 0;
	char *line = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	line = malloc(LINE_MAX_BYTES + 1);
	if (!line)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (l > LINE_MAX_BYTES) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s:%zu: line longer than %d bytes", name, lineno, LINE_MAX_BYTES);
			goto done;
		}
		if (memchr(text + pos, '\0', l)) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s:%zu: NUL byte in line", name, lineno);
			goto done;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		if (l && line[l - 1] == '\r')
			line[l - 1] = '\0';
		pos += l + (nl ? 1 : 0);
		char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (out->count >= BPGD_KEYS_MAX_ENTRIES) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "%s:%zu: more than %d keys", name, lineno, BPGD_KEYS_MAX_ENTRIES);
			goto done;
		}
		bpgd_keyent *grown = realloc(out->ents, (out->count + 1) * sizeof(*grown));
		if (!grown) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		out->ents = grown;
		rc = parse_line(&out->ents[out->count], p, name, lineno, err);
		out->count++;
		if (rc < 0)
			goto done;
		const bpgd_keyent *prev = bpgd_keys_find(out, out->ents[out->count - 1].blob_b64);
		if (prev != &out->ents[out->count - 1]) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s:%zu: this key is already listed on line %zu (one key, one principal)",
				name, lineno, prev->line);
			goto done;
		}
	}
done:
	free(line);
	if (rc < 0)
		bpgd_keys_release(out);
	return rc;
}

int bpgd_keys_load(bpgd_keys *out, const char *path, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = bpg_file_read(&text, path, BPGD_KEYS_MAX_FILE, err)) == 0)
		rc = bpgd_keys_parse(out, text.ptr ? text.ptr : "", text.size, path, err);
	bpg_buf_dispose(&text);
	return rc;
}

void bpgd_keys_release(bpgd_keys *keys)
{
	if (!keys)
		return;
	for (size_t i = 0; i < keys->count; i++)
		keyent_release(&keys->ents[i]);
	free(keys->ents);
	keys->ents = NULL;
	keys->count = 0;
}

const bpgd_keyent *bpgd_keys_find(const bpgd_keys *keys, const char *blob_b64)
{
	for (size_t i = 0; i < keys->count; i++)
		if (keys->ents[i].blob_b64 && strcmp(keys->ents[i].blob_b64, blob_b64) == 0)
			return &keys->ents[i];
	return NULL;
}

/* Lock <path>.lock and read the current file (missing means empty). */
static int edit_begin(int *lockfd, bpg_buf *text, bpgd_keys *keys, const char *path, bpg_error *err)
{
	bpg_buf lockpath = BPG_BUF_INIT;
	int rc = 0;

	*lockfd = -1;
	if (bpg_buf_printf(&lockpath, "%s.lock", path) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	*lockfd = open(lockpath.ptr, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*lockfd < 0 || flock(*lockfd, LOCK_EX) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot lock: %s", lockpath.ptr, strerror(errno));
		goto done;
	}
	if ((rc = bpg_file_read(text, path, BPGD_KEYS_MAX_FILE, err)) < 0)
		goto done;
	rc = bpgd_keys_parse(keys, text->ptr ? text->ptr : "", text->size, path, err);
done:
	bpg_buf_dispose(&lockpath);
	return rc;
}

static int edit_commit(const char *path, const bpg_buf *text, bpg_error *err)
{
	struct stat st;
	unsigned int mode = 0600;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 0777;
	return bpg_file_write_atomic(path, text->ptr ? text->ptr : "", text->size, mode, err);
}

int bpgd_keys_add(const char *path, const char *principal, bool admin, const char *type,
	const char *blob_b64, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	bpgd_keys keys = { 0 };
	char *canon = NULL;
	int lockfd = -1, rc;

	if (!bpgd_principal_valid(principal))
		return bpg_error_set(err, BPG_EINVALID, "invalid principal name (letters, digits, '.', '_', '-'; at most 64)");
	if (!bpgd_keytype_valid(type))
		return bpg_error_set(err, BPG_EINVALID, "unsupported key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521)");
	rc = blob_canonical(&canon, type, blob_b64);
	if (rc < 0)
		return bpg_error_set(err, rc, rc == BPG_ENOMEM ? "out of memory" : "the key is not valid base64 of a %s public key", type);
	if ((rc = edit_begin(&lockfd, &text, &keys, path, err)) < 0)
		goto done;
	const bpgd_keyent *e = bpgd_keys_find(&keys, canon);
	if (e) {
		rc = bpg_error_set(err, BPG_EINVALID, "this key already belongs to principal '%s'", e->principal);
		goto done;
	}
	if ((text.size && text.ptr[text.size - 1] != '\n' && bpg_buf_putc(&text, '\n') < 0) ||
	    bpg_buf_printf(&text, "%s%s %s %s\n", principal, admin ? " admin" : "", type, canon) < 0) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "the keys file would be too large");
		goto done;
	}
	rc = edit_commit(path, &text, err);
done:
	if (lockfd >= 0)
		close(lockfd);
	bpgd_keys_release(&keys);
	bpg_buf_dispose(&text);
	free(canon);
	return rc;
}

int bpgd_keys_remove(const char *path, const char *principal, size_t *removed, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT, out = BPG_BUF_INIT;
	bpgd_keys keys = { 0 };
	int lockfd = -1, rc;
	size_t pos = 0, nlen = strlen(principal);

	*removed = 0;
	if ((rc = edit_begin(&lockfd, &text, &keys, path, err)) < 0)
		goto done;
	out.max = BPGD_KEYS_MAX_FILE;
	while (pos < text.size) {
		const char *l = text.ptr + pos, *nl = memchr(l, '\n', text.size - pos);
		size_t len = nl ? (size_t)(nl - l) + 1 : text.size - pos;
		const char *p = l + strspn(l, " \t");
		pos += len;
		if (*p != '#' && (size_t)(l + len - p) > nlen && strncmp(p, principal, nlen) == 0 &&
		    (p[nlen] == ' ' || p[nlen] == '\t')) {
			(*removed)++;
			continue;
		}
		if (bpg_buf_put(&out, l, len) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (*removed == 0) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "no key for principal '%s'", principal);
		goto done;
	}
	rc = edit_commit(path, &out, err);
done:
	if (lockfd >= 0)
		close(lockfd);
	bpgd_keys_release(&keys);
	bpg_buf_dispose(&text);
	bpg_buf_dispose(&out);
	return rc;
}
