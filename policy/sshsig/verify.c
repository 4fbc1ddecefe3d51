/* The trust decision of `ssh-keygen -Y verify`: a cryptographically good
 * SSHSIG whose key (or certificate CA) an allowed_signers line gives to the
 * principal, for this namespace, at this time. Pure: `now` is a parameter. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	bpg_sshsig_reason reason; /* first specific refusal seen */
	size_t line;
	char detail[300];
} refusal;

static void refuse(refusal *r, bpg_sshsig_reason why, size_t line, const char *fmt, ...)
	BPG_PRINTF(4, 5);
static void refuse(refusal *r, bpg_sshsig_reason why, size_t line, const char *fmt, ...)
{
	va_list ap;

	if (r->reason != BPG_SSHSIG_OK)
		return;
	r->reason = why;
	r->line = line;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void copy_principal(bpg_sshsig_result *out, const char *p, size_t n)
{
	if (n > BPG_SSHSIG_PRINCIPAL_MAX)
		n = BPG_SSHSIG_PRINCIPAL_MAX;
	memcpy(out->principal, p, n);
	out->principal[n] = '\0';
}

/* For a certificate, the principal this line accepts: `principal` itself
 * when given and named by the certificate, else the first certificate
 * principal matching the line's patterns. NULL when none. */
static const unsigned char *cert_principal(const ssh_cert *cert, const ssh_signer *sg,
	const char *principal, size_t *plen)
{
	ssh_reader pr;

	ssh_reader_init(&pr, cert->principals, cert->principals_len);
	while (!ssh_reader_done(&pr)) {
		const unsigned char *s;
		size_t n;
		if (ssh_get_string(&pr, &s, &n) < 0)
			return NULL;
		if (principal && (n != strlen(principal) || memcmp(s, principal, n) != 0))
			continue;
		if (memchr(s, 0, n) || !bpg_ssh_pattern_list_match(sg->principals, strlen(sg->principals),
			    (const char *)s, n))
			continue;
		*plen = n;
		return s;
	}
	return NULL;
}

static bpg_sshsig_reason cert_time_check(const ssh_cert *cert, time_t now)
{
	uint64_t t = now < 0 ? 0 : (uint64_t)now;

	if (t < cert->valid_after)
		return BPG_SSHSIG_NOT_YET_VALID;
	if (t >= cert->valid_before)
		return BPG_SSHSIG_EXPIRED;
	return BPG_SSHSIG_OK;
}

/* Check one line; 1 when it accepts, 0 when it does not apply or refuses
 * (recording why in r). */
static int check_line(bpg_sshsig_result *out, refusal *r, const bpg_sshsig *sig, const ssh_signer *sg,
	const char *ns, const char *principal, time_t now)
{
	const unsigned char *cp = NULL;
	size_t cplen = 0;
	bpg_sshsig_reason t;

	if (!sg->supported)
		return 0;
	if (sig->is_cert) {
		if (!sg->cert_authority || !bpg_ssh_pubkey_equal(&sg->key, &sig->cert.ca))
			return 0;
		if (principal && !bpg_ssh_pattern_list_match(sg->principals, strlen(sg->principals),
				principal, strlen(principal)))
			return 0;
		if (!(cp = cert_principal(&sig->cert, sg, principal, &cplen))) {
			refuse(r, BPG_SSHSIG_BAD_CERTIFICATE, sg->line,
				"the certificate signed by the CA of this line does not name %s%s",
				principal ? "principal " : "a principal matching ", principal ? principal : sg->principals);
			return 0;
		}
		if (sig->cert.type != 1) {
			refuse(r, BPG_SSHSIG_BAD_CERTIFICATE, sg->line, "the certificate is not a user certificate");
			return 0;
		}
		if (sig->cert.has_critical) {
			refuse(r, BPG_SSHSIG_BAD_CERTIFICATE, sg->line, 
				"the certificate carries critical options, which bpgate does not evaluate; issue one without -O options");
			return 0;
		}
		if ((t = cert_time_check(&sig->cert, now)) != BPG_SSHSIG_OK) {
			refuse(r, t, sg->line, "the certificate is %s",
				t == BPG_SSHSIG_EXPIRED ? "expired" : "not yet valid");
			return 0;
		}
	} else {
		if (sg->cert_authority || !bpg_ssh_pubkey_equal(&sg->key, &sig->key))
			return 0;
		if (principal && !bpg_ssh_pattern_list_match(sg->principals, strlen(sg->principals),
				principal, strlen(principal)))
			return 0;
	}
	if (sg->namespaces && !bpg_ssh_pattern_list_match(sg->namespaces, strlen(sg->namespaces), ns, strlen(ns))) {
		refuse(r, BPG_SSHSIG_NAMESPACE_NOT_ALLOWED, sg->line,
			"the key may sign only namespaces \"%s\", not '%s'", sg->namespaces, ns);
		return 0;
	}
	if ((t = ssh_signer_time_check(sg, now)) != BPG_SSHSIG_OK) {
		refuse(r, t, sg->line, "the key is %s (valid-after/valid-before of this line)",
			t == BPG_SSHSIG_EXPIRED ? "expired" : "not yet valid");
		return 0;
	}
	if (principal)
		copy_principal(out, principal, strlen(principal));
	else if (cp)
		copy_principal(out, (const char *)cp, cplen);
	else
		copy_principal(out, sg->principals, strlen(sg->principals));
	out->line = sg->line;
	return 1;
}

int bpg_sshsig_verify(bpg_sshsig_result *res, const void *msg, size_t msglen, const char *armor,
	size_t armorlen, const char *namespace, const char *principal, const bpg_allowed_signers *signers,
	time_t now, bpg_error *err)
{
	bpg_sshsig_result local;
	bpg_sshsig_result *out = res ? res : &local;
	bpg_sshsig *sig = NULL;
	refusal r = { BPG_SSHSIG_OK, 0, "" };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!namespace || !*namespace) {
		out->reason = BPG_SSHSIG_WRONG_NAMESPACE;
		return bpg_error_set(err, BPG_EINVALID, "a namespace is required");
	}
	if ((rc = ssh_sig_parse(&sig, &out->reason, armor, armorlen, err)) < 0) {
		rc = BPG_EVERIFY;
		if (err)
			err->code = rc;
		goto done;
	}
	bpg_ssh_pubkey_fingerprint(out->fingerprint, &sig->key);
	if ((rc = bpg_sshsig_check(&out->reason, sig, msg, msglen, namespace, err)) < 0)
		goto done;
	for (size_t i = 0; i < signers->n; i++)
		if (check_line(out, &r, sig, &signers->v[i], namespace, principal, now) == 1)
			goto done; /* rc == 0 */
	rc = BPG_EVERIFY;
	if (r.reason != BPG_SSHSIG_OK) {
		out->reason = r.reason;
		out->line = r.line;
		bpg_error_set(err, rc, "%s:%zu: %s (key %s%s%s)", signers->name, r.line, r.detail,
			out->fingerprint, principal ? ", principal " : "", principal ? principal : "");
	} else {
		out->reason = BPG_SSHSIG_NOT_ALLOWED;
		if (principal)
			bpg_error_set(err, rc, "key %s%s is not listed for principal %s in %s", out->fingerprint,
				sig->is_cert ? " (certificate)" : "", principal, signers->name);
		else
			bpg_error_set(err, rc, "key %s%s is not listed in %s (no principal matched)", out->fingerprint,
				sig->is_cert ? " (certificate)" : "", signers->name);
	}
done:
	bpg_sshsig_free(sig);
	return rc;
}
