/* SSH-signed git commits and tags: split a raw object into signed payload
 * and signature exactly as git does (commit.c parse_buffer_signed_by_header,
 * gpg-interface.c parse_signed_buffer) and verify with namespace "git".
 * We parse the raw bytes ourselves: libgit2 1.5's
 * git_commit_extract_signature also finds a "gpgsig" line in the message
 * body, which git does not treat as a signature. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SSH_BEGIN "-----BEGIN SSH SIGNATURE-----"

static bool starts(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* Any signature start line git knows (gpg-interface.c sigs[]). */
static bool sig_start(const char *p, const char *end)
{
	return starts(p, end, "-----BEGIN PGP SIGNATURE-----") || starts(p, end, "-----BEGIN PGP MESSAGE-----") ||
		starts(p, end, "-----BEGIN SIGNED MESSAGE-----") || starts(p, end, SSH_BEGIN);
}

/* "committer Name <mail> 1704164645 +0000": the seconds after the last '>'. */
static int64_t ident_time(const char *p, const char *eol)
{
	const char *gt = NULL;
	int64_t t = 0;

	for (const char *q = p; q < eol; q++)
		if (*q == '>')
			gt = q;
	if (!gt)
		return 0;
	for (p = gt + 1; p < eol && *p == ' '; p++)
		;
	for (; p < eol && *p >= '0' && *p <= '9'; p++) {
		if (t > (INT64_MAX - 9) / 10)
			return 0;
		t = t * 10 + (*p - '0');
	}
	return t;
}

static int check_ssh_sig(const bpg_buf *sig, bpg_error *err)
{
	if (sig->size >= strlen(SSH_BEGIN) && memcmp(sig->ptr, SSH_BEGIN, strlen(SSH_BEGIN)) == 0)
		return 0;
	if (sig->size >= 15 && memcmp(sig->ptr, "-----BEGIN PGP ", 15) == 0)
		return bpg_error_set(err, BPG_EINVALID,
			"signed with OpenPGP; bpgate verifies SSH signatures only (git config gpg.format ssh)");
	return bpg_error_set(err, BPG_EINVALID, "the signature is not an SSH signature (gpg.format=ssh)");
}

static int extract_commit(bpg_buf *payload, bpg_buf *sig, int64_t *when, const char *raw, size_t len,
	bpg_error *err)
{
	const char *p = raw, *end = raw + len;
	bool in_sig = false, in_other = false, body_sig = false;
	int count = 0;

	if (!starts(p, end, "tree "))
		return bpg_error_set(err, BPG_EINVALID, "not a commit object (it does not start with 'tree ')");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (*p == '\n') { /* end of the header: the message is payload, never signature */
			for (const char *q = next; q < end;) {
				const char *e = memchr(q, '\n', (size_t)(end - q));
				if (starts(q, end, SSH_BEGIN) || starts(q, end, "gpgsig "))
					body_sig = true;
				q = e ? e + 1 : end;
			}
			if (bpg_buf_put(payload, p, (size_t)(end - p)) < 0)
				goto oom;
			break;
		}
		if (in_sig && *p == ' ') {
			if (bpg_buf_put(sig, p + 1, (size_t)(next - p - 1)) < 0)
				goto oom;
		} else if (starts(p, end, "gpgsig ")) {
			if (++count > 1)
				return bpg_error_set(err, BPG_EINVALID,
					"the commit has more than one gpgsig header; refusing an ambiguous signature");
			if (bpg_buf_put(sig, p + 7, (size_t)(next - p - 7)) < 0)
				goto oom;
			in_sig = true;
			in_other = false;
		} else if (starts(p, end, "gpgsig")) {
			in_sig = false;
			in_other = true; /* gpgsig-sha256: not ours, not in the payload (as git) */
		} else if (in_other && *p == ' ') {
			; /* continuation of the other signature */
		} else {
			in_sig = in_other = false;
			if (when && starts(p, end, "committer "))
				*when = ident_time(p, eol ? eol : end);
			if (bpg_buf_put(payload, p, (size_t)(next - p)) < 0)
				goto oom;
		}
		p = next;
	}
	if (count == 0)
		return bpg_error_set(err, BPG_ENOTFOUND, body_sig
			? "the commit is unsigned: it has no gpgsig header (the signature block in its message body does not sign it)"
			: "the commit is unsigned: it has no gpgsig header");
	return check_ssh_sig(sig, err);
oom:
	return bpg_error_set(err, BPG_ENOMEM, "out of memory");
}

static int extract_tag(bpg_buf *payload, bpg_buf *sig, int64_t *when, const char *raw, size_t len,
	bpg_error *err)
{
	const char *p = raw, *end = raw + len, *match = NULL, *body = NULL;

	if (!starts(p, end, "object "))
		return bpg_error_set(err, BPG_EINVALID, "not a tag object (it does not start with 'object ')");
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (!body && *p == '\n')
			body = next;
		else if (!body && when && starts(p, end, "tagger "))
			*when = ident_time(p, eol ? eol : end);
		if (sig_start(p, end))
			match = p; /* git takes the last start line */
		p = next;
	}
	if (!match)
		return bpg_error_set(err, BPG_ENOTFOUND, "the tag is unsigned: no signature block at the end of its message");
	if (!body || match < body)
		return bpg_error_set(err, BPG_EINVALID, "the tag's signature block is not in its message");
	if (bpg_buf_put(payload, raw, (size_t)(match - raw)) < 0 ||
	    bpg_buf_put(sig, match, (size_t)(end - match)) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return check_ssh_sig(sig, err);
}

int bpg_gitsig_extract(bpg_buf *payload, bpg_buf *signature, int64_t *when, bpg_gitsig_kind kind,
	const char *raw, size_t len, bpg_error *err)
{
	if (when)
		*when = 0;
	if (memchr(raw, '\0', len))
		return bpg_error_set(err, BPG_EINVALID, "the object contains a NUL byte");
	if (kind == BPG_GITSIG_COMMIT)
		return extract_commit(payload, signature, when, raw, len, err);
	if (kind == BPG_GITSIG_TAG)
		return extract_tag(payload, signature, when, raw, len, err);
	return bpg_error_set(err, BPG_EINVALID, "unknown object kind %d", (int)kind);
}

int bpg_gitsig_verify(bpg_sshsig_result *out, bpg_gitsig_kind kind, const char *raw, size_t len,
	const bpg_allowed_signers *signers, time_t now, bpg_error *err)
{
	bpg_buf payload = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	if ((rc = bpg_gitsig_extract(&payload, &sig, NULL, kind, raw, len, err)) < 0) {
		if (out)
			out->reason = BPG_SSHSIG_MALFORMED;
		goto done;
	}
	rc = bpg_sshsig_verify(out, payload.ptr ? payload.ptr : "", payload.size, sig.ptr, sig.size, "git",
		NULL, signers, now, err);
done:
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&sig);
	return rc;
}
