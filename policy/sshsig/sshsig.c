/* SSHSIG (OpenSSH PROTOCOL.sshsig): parse, cryptographic check and signing.
 * The trust decision (allowed_signers) is in verify.c. */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SIG_MAGIC "SSHSIG"
#define SIG_LABEL "SSH SIGNATURE"

const char *bpg_sshsig_reason_name(bpg_sshsig_reason reason)
{
	switch (reason) {
	case BPG_SSHSIG_OK: return "ok";
	case BPG_SSHSIG_MALFORMED: return "malformed";
	case BPG_SSHSIG_UNSUPPORTED: return "unsupported";
	case BPG_SSHSIG_WRONG_NAMESPACE: return "wrong-namespace";
	case BPG_SSHSIG_BAD_SIGNATURE: return "bad-signature";
	case BPG_SSHSIG_NOT_ALLOWED: return "key-not-allowed";
	case BPG_SSHSIG_NAMESPACE_NOT_ALLOWED: return "namespace-not-allowed";
	case BPG_SSHSIG_EXPIRED: return "expired";
	case BPG_SSHSIG_NOT_YET_VALID: return "not-yet-valid";
	case BPG_SSHSIG_BAD_CERTIFICATE: return "bad-certificate";
	}
	return "unknown";
}

void bpg_sshsig_free(bpg_sshsig *sig)
{
	if (!sig)
		return;
	free(sig->blob);
	free(sig->namespace);
	free(sig->reserved);
	free(sig);
}

static int parse_pubkey(bpg_sshsig *sig, bpg_sshsig_reason *why, const unsigned char *pk,
	size_t pklen, bpg_error *err)
{
	ssh_reader r;
	const unsigned char *type;
	size_t tlen;

	ssh_reader_init(&r, pk, pklen);
	if (ssh_get_string(&r, &type, &tlen) < 0)
		return bpg_error_set(err, BPG_EINVALID, "signature: public key is truncated");
	if (tlen == strlen(SSH_CERT_ED25519) && memcmp(type, SSH_CERT_ED25519, tlen) == 0) {
		int rc = ssh_cert_parse(&sig->cert, pk, pklen, err);
		if (rc < 0) {
			*why = BPG_SSHSIG_BAD_CERTIFICATE;
			bpg_error_prefix(err, "signature: ");
			return rc;
		}
		sig->is_cert = true;
		sig->key = sig->cert.key;
		return 0;
	}
	if (bpg_ssh_pubkey_from_blob(&sig->key, pk, pklen, err) < 0) {
		if (!(tlen == 11 && memcmp(type, "ssh-ed25519", 11) == 0))
			*why = BPG_SSHSIG_UNSUPPORTED;
		bpg_error_prefix(err, "signature: ");
		return BPG_EINVALID;
	}
	return 0;
}

int ssh_sig_parse_blob(bpg_sshsig **out, bpg_sshsig_reason *why, const unsigned char *blob,
	size_t len, bpg_error *err)
{
	bpg_sshsig *sig = NULL;
	ssh_reader r, sr;
	const unsigned char *magic, *pk, *ns, *resv, *sigblob, *raw;
	size_t pklen, nslen, resvlen, sigbloblen, rawlen;
	uint32_t version;
	int rc = BPG_EINVALID;

	*out = NULL;
	*why = BPG_SSHSIG_MALFORMED;
	if (!(sig = calloc(1, sizeof(*sig))) || !(sig->blob = malloc(len ? len : 1))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(sig->blob, blob, len);
	sig->blob_len = len;
	ssh_reader_init(&r, sig->blob, len);
	if (ssh_get_bytes(&r, &magic, 6) < 0 || memcmp(magic, SIG_MAGIC, 6) != 0) {
		bpg_error_set(err, rc, "signature: does not start with the SSHSIG magic");
		goto done;
	}
	if (ssh_get_u32(&r, &version) < 0) {
		bpg_error_set(err, rc, "signature: truncated before the version");
		goto done;
	}
	if (version != 1) {
		bpg_error_set(err, rc, "signature: unsupported SSHSIG version %u (only 1 is defined)", version);
		goto done;
	}
	if (ssh_get_string(&r, &pk, &pklen) < 0 || ssh_get_string(&r, &ns, &nslen) < 0 ||
	    ssh_get_string(&r, &resv, &resvlen) < 0) {
		bpg_error_set(err, rc, "signature: truncated (public key, namespace or reserved field)");
		goto done;
	}
	if (nslen == 0 || memchr(ns, 0, nslen)) {
		bpg_error_set(err, rc, "signature: the namespace is empty or contains a NUL byte");
		goto done;
	}
	if (ssh_get_expect(&r, "sha512") == 0) {
		sig->hash = BPG_SSHSIG_SHA512;
	} else if (ssh_get_expect(&r, "sha256") == 0) {
		sig->hash = BPG_SSHSIG_SHA256;
	} else {
		bpg_error_set(err, rc, "signature: hash algorithm missing or not sha512/sha256");
		goto done;
	}
	if (ssh_get_string(&r, &sigblob, &sigbloblen) < 0) {
		bpg_error_set(err, rc, "signature: truncated (signature field)");
		goto done;
	}
	if (!ssh_reader_done(&r)) {
		bpg_error_set(err, rc, "signature: trailing data after the signature field");
		goto done;
	}
	ssh_reader_init(&sr, sigblob, sigbloblen);
	if (ssh_get_expect(&sr, "ssh-ed25519") < 0 || ssh_get_string(&sr, &raw, &rawlen) < 0 ||
	    rawlen != 64 || !ssh_reader_done(&sr)) {
		bpg_error_set(err, rc, "signature: not an ssh-ed25519 signature of 64 bytes");
		goto done;
	}
	memcpy(sig->sig, raw, 64);
	if (!(sig->namespace = malloc(nslen + 1)) || !(sig->reserved = malloc(resvlen ? resvlen : 1))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(sig->namespace, ns, nslen);
	sig->namespace[nslen] = '\0';
	memcpy(sig->reserved, resv, resvlen);
	sig->reserved_len = resvlen;
	if ((rc = parse_pubkey(sig, why, pk, pklen, err)) < 0)
		goto done;
	*why = BPG_SSHSIG_OK;
	*out = sig;
	sig = NULL;
	rc = 0;
done:
	bpg_sshsig_free(sig);
	return rc;
}

int bpg_sshsig_parse_blob(bpg_sshsig **out, const unsigned char *blob, size_t len, bpg_error *err)
{
	bpg_sshsig_reason why;
	return ssh_sig_parse_blob(out, &why, blob, len, err);
}

int ssh_sig_parse(bpg_sshsig **out, bpg_sshsig_reason *why, const char *armor, size_t len,
	bpg_error *err)
{
	unsigned char *blob = NULL;
	size_t blen = 0;
	int rc;

	*out = NULL;
	*why = BPG_SSHSIG_MALFORMED;
	if (len > BPG_SSHSIG_ARMOR_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "signature: larger than %d bytes", BPG_SSHSIG_ARMOR_MAX);
	if ((rc = ssh_dearmor(&blob, &blen, armor, len, SIG_LABEL, false, err)) < 0) {
		bpg_error_prefix(err, "signature: ");
		return rc;
	}
	rc = ssh_sig_parse_blob(out, why, blob, blen, err);
	free(blob);
	return rc;
}

int bpg_sshsig_parse(bpg_sshsig **out, const char *armor, size_t len, bpg_error *err)
{
	bpg_sshsig_reason why;
	return ssh_sig_parse(out, &why, armor, len, err);
}

const char *bpg_sshsig_namespace(const bpg_sshsig *sig) { return sig->namespace; }
bpg_sshsig_hash bpg_sshsig_hashalg(const bpg_sshsig *sig) { return sig->hash; }
const bpg_ssh_pubkey *bpg_sshsig_pubkey(const bpg_sshsig *sig) { return &sig->key; }
bool bpg_sshsig_is_cert(const bpg_sshsig *sig) { return sig->is_cert; }

/* "SSHSIG" || string namespace || string reserved || string hashalg || string H(msg) */
static int signed_data(bpg_buf *out, const char *ns, const unsigned char *resv, size_t resvlen,
	bpg_sshsig_hash hash, const void *msg, size_t msglen)
{
	unsigned char h[crypto_hash_sha512_BYTES];
	size_t hlen;
	int rc;

	if (hash == BPG_SSHSIG_SHA256) {
		crypto_hash_sha256(h, msg, msglen);
		hlen = crypto_hash_sha256_BYTES;
	} else {
		crypto_hash_sha512(h, msg, msglen);
		hlen = crypto_hash_sha512_BYTES;
	}
	if ((rc = bpg_buf_put(out, SIG_MAGIC, 6)) < 0 || (rc = ssh_put_cstring(out, ns)) < 0 ||
	    (rc = ssh_put_string(out, resv, resvlen)) < 0 ||
	    (rc = ssh_put_cstring(out, hash == BPG_SSHSIG_SHA256 ? "sha256" : "sha512")) < 0)
		return rc;
	return ssh_put_string(out, h, hlen);
}

int bpg_sshsig_check(bpg_sshsig_reason *reason, const bpg_sshsig *sig, const void *msg,
	size_t msglen, const char *namespace, bpg_error *err)
{
	bpg_buf sd = BPG_BUF_INIT;
	bpg_sshsig_reason why = BPG_SSHSIG_OK;
	int rc = 0;

	if (strcmp(sig->namespace, namespace) != 0) {
		bpg_buf shown = BPG_BUF_INIT;
		bpg_safe_put(&shown, sig->namespace, strlen(sig->namespace), 80);
		why = BPG_SSHSIG_WRONG_NAMESPACE;
		rc = bpg_error_set(err, BPG_EVERIFY,
			"signature was made for namespace '%s', not '%s'", shown.ptr, namespace);
		bpg_buf_dispose(&shown);
		goto done;
	}
	if (signed_data(&sd, sig->namespace, sig->reserved, sig->reserved_len, sig->hash, msg, msglen) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		why = BPG_SSHSIG_MALFORMED;
		goto done;
	}
	if (crypto_sign_verify_detached(sig->sig, (unsigned char *)sd.ptr, sd.size, sig->key.pk) != 0) {
		why = BPG_SSHSIG_BAD_SIGNATURE;
		rc = bpg_error_set(err, BPG_EVERIFY,
			"bad signature: the Ed25519 check fails (the message, the signature or its key was changed)");
	}
done:
	bpg_buf_dispose(&sd);
	if (reason)
		*reason = why;
	return rc;
}

int bpg_sshsig_sign(bpg_buf *armor_out, const bpg_ssh_seckey *key, const void *msg, size_t msglen,
	const char *namespace, bpg_sshsig_hash hash, bpg_error *err)
{
	bpg_buf sd = BPG_BUF_INIT, blob = BPG_BUF_INIT, sigblob = BPG_BUF_INIT;
	unsigned char pub[BPG_SSH_PUBKEY_BLOB_SIZE], sig[BPG_SSH_ED25519_SIG_SIZE];
	int rc;

	if (!namespace || !*namespace)
		return bpg_error_set(err, BPG_EINVALID, "the namespace must not be empty");
	if ((rc = signed_data(&sd, namespace, NULL, 0, hash, msg, msglen)) < 0)
		goto oom;
	if ((rc = bpg_ssh_seckey_sign_raw(sig, key, sd.ptr, sd.size, err)) < 0)
		goto done;
	bpg_ssh_pubkey_blob(pub, bpg_ssh_seckey_pubkey(key));
	if ((rc = ssh_put_cstring(&sigblob, "ssh-ed25519")) < 0 ||
	    (rc = ssh_put_string(&sigblob, sig, sizeof(sig))) < 0 ||
	    (rc = bpg_buf_put(&blob, SIG_MAGIC, 6)) < 0 || (rc = ssh_put_u32(&blob, 1)) < 0 ||
	    (rc = ssh_put_string(&blob, pub, sizeof(pub))) < 0 ||
	    (rc = ssh_put_cstring(&blob, namespace)) < 0 || (rc = ssh_put_string(&blob, "", 0)) < 0 ||
	    (rc = ssh_put_cstring(&blob, hash == BPG_SSHSIG_SHA256 ? "sha256" : "sha512")) < 0 ||
	    (rc = ssh_put_string(&blob, sigblob.ptr, sigblob.size)) < 0 ||
	    (rc = ssh_armor(armor_out, (unsigned char *)blob.ptr, blob.size, SIG_LABEL, 70)) < 0)
		goto oom;
	goto done;
oom:
	rc = bpg_error_set(err, rc, "cannot build the signature: out of memory");
done:
	bpg_buf_dispose(&sd);
	bpg_buf_dispose(&blob);
	bpg_buf_dispose(&sigblob);
	return rc;
}
