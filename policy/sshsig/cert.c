/* OpenSSH ed25519 user certificates (PROTOCOL.certkeys): parse the blob and
 * verify the CA's signature. Trust (is this CA allowed, for this principal,
 * now?) is decided by the allowed_signers check, not here. */
#include "internal.h"

#include <sodium.h>
#include <string.h>

int ssh_cert_parse(ssh_cert *out, const unsigned char *blob, size_t len, bpg_error *err)
{
	ssh_reader r;
	const unsigned char *nonce, *pk, *keyid, *crit, *ext, *resv, *cakey, *sigblob, *sig;
	size_t noncelen, pklen, keyidlen, critlen, extlen, resvlen, cakeylen, sigbloblen, siglen;
	uint64_t serial;
	size_t signed_len;

	memset(out, 0, sizeof(*out));
	ssh_reader_init(&r, blob, len);
	if (ssh_get_expect(&r, SSH_CERT_ED25519) < 0)
		return bpg_error_set(err, BPG_EINVALID, "certificate type is not " SSH_CERT_ED25519);
	if (ssh_get_string(&r, &nonce, &noncelen) < 0 ||
	    ssh_get_string(&r, &pk, &pklen) < 0 || pklen != 32 ||
	    ssh_get_u64(&r, &serial) < 0 || ssh_get_u32(&r, &out->type) < 0 ||
	    ssh_get_string(&r, &keyid, &keyidlen) < 0 ||
	    ssh_get_string(&r, &out->principals, &out->principals_len) < 0 ||
	    ssh_get_u64(&r, &out->valid_after) < 0 || ssh_get_u64(&r, &out->valid_before) < 0 ||
	    ssh_get_string(&r, &crit, &critlen) < 0 || ssh_get_string(&r, &ext, &extlen) < 0 ||
	    ssh_get_string(&r, &resv, &resvlen) < 0 || ssh_get_string(&r, &cakey, &cakeylen) < 0)
		return bpg_error_set(err, BPG_EINVALID, "certificate is truncated");
	signed_len = len - r.left;
	if (ssh_get_string(&r, &sigblob, &sigbloblen) < 0 || !ssh_reader_done(&r))
		return bpg_error_set(err, BPG_EINVALID, "certificate signature is missing or followed by trailing data");
	(void)serial;
	memcpy(out->key.pk, pk, 32);
	out->has_critical = critlen != 0;
	if (bpg_ssh_pubkey_from_blob(&out->ca, cakey, cakeylen, err) < 0) {
		bpg_error_prefix(err, "certificate authority key: ");
		return BPG_EINVALID;
	}
	/* Principals must be a well-formed list of strings. */
	ssh_reader pr;
	ssh_reader_init(&pr, out->principals, out->principals_len);
	while (!ssh_reader_done(&pr)) {
		const unsigned char *s;
		size_t n;
		if (ssh_get_string(&pr, &s, &n) < 0)
			return bpg_error_set(err, BPG_EINVALID, "certificate principals list is malformed");
	}
	ssh_reader sr;
	ssh_reader_init(&sr, sigblob, sigbloblen);
	if (ssh_get_expect(&sr, "ssh-ed25519") < 0 || ssh_get_string(&sr, &sig, &siglen) < 0 ||
	    siglen != 64 || !ssh_reader_done(&sr))
		return bpg_error_set(err, BPG_EINVALID, "certificate is not signed with an ssh-ed25519 CA signature");
	if (crypto_sign_verify_detached(sig, blob, signed_len, out->ca.pk) != 0)
		return bpg_error_set(err, BPG_EVERIFY, "the CA signature on the certificate does not verify");
	return 0;
}

bool ssh_cert_has_principal(const ssh_cert *cert, const char *principal)
{
	ssh_reader pr;
	size_t plen = strlen(principal);

	ssh_reader_init(&pr, cert->principals, cert->principals_len);
	while (!ssh_reader_done(&pr)) {
		const unsigned char *s;
		size_t n;
		if (ssh_get_string(&pr, &s, &n) < 0)
			return false;
		if (n == plen && memcmp(s, principal, n) == 0)
			return true;
	}
	return false;
}
