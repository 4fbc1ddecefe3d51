/*
 * DSSE envelopes (PAE, sign, verify) and in-toto Statement v1 helpers.
 */
#include "internal.h"
#include "bpgate/jsonheap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int bpg_dsse_pae(bpg_buf *out, const char *type, size_t type_len, const void *body,
	size_t body_len)
{
	int rc;

	if ((rc = bpg_buf_printf(out, "DSSEv1 %zu ", type_len)) < 0 ||
	    (rc = bpg_buf_put(out, type, type_len)) < 0 ||
	    (rc = bpg_buf_printf(out, " %zu ", body_len)) < 0)
		return rc;
	return bpg_buf_put(out, body, body_len);
}

int bpg_dsse_sign(bpg_buf *out, const char *type, const void *payload, size_t len,
	const bpg_dsse_key *key, bpg_error *err)
{
	bpg_buf pae = BPG_BUF_INIT, b64 = BPG_BUF_INIT;
	unsigned char sig[64];
	json_t *env = NULL, *sigs = NULL, *s = NULL;
	char *text = NULL;
	int rc = 0;

	if (!bpg_dsse_key_has_private(key))
		return bpg_error_set(err, BPG_EINVALID, "signing needs a private key");
	if (bpg_dsse_pae(&pae, type, strlen(type), payload, len) < 0 ||
	    bpg_audit__b64_put(&b64, payload, len) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	(void)bpg_audit__dsse_sign_raw(sig, (const unsigned char *)pae.ptr, pae.size, key);
	bpg_buf_clear(&pae);
	if (bpg_audit__b64_put(&pae, sig, sizeof(sig)) < 0 ||
	    !(env = json_pack("{s:s, s:s%}", "payloadType", type, "payload", b64.ptr, b64.size)) ||
	    !(s = json_pack("{s:s, s:s%}", "keyid", bpg_dsse_key_id(key), "sig", pae.ptr, pae.size)) ||
	    !(sigs = json_array()) || json_array_append(sigs, s) < 0 ||
	    json_object_set(env, "signatures", sigs) < 0 || !(text = bpg_json_dumps(env, JSON_COMPACT)) ||
	    bpg_buf_puts(out, text) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "cannot build the envelope (payloadType not UTF-8?)");
done:
	free(text);
	json_decref(s);
	json_decref(sigs);
	json_decref(env);
	bpg_buf_dispose(&pae);
	bpg_buf_dispose(&b64);
	return rc;
}

/* Decode a base64 JSON string member (either alphabet) into a new buffer. */
static int b64_member(bpg_buf *out, const json_t *v, const char *what, bpg_error *err)
{
	size_t n = json_string_length(v), got = 0;

	if (!json_is_string(v))
		return bpg_error_set(err, BPG_EINVALID, "envelope: %s: expected a base64 string", what);
	if (bpg_buf_grow(out, n) < 0)
		return bpg_error_set(err, BPG_ETOOBIG, "envelope: %s: too large", what);
	if (bpg_audit__b64_decode((unsigned char *)out->ptr + out->size, n + 1, &got,
			json_string_value(v), n, true) < 0)
		return bpg_error_set(err, BPG_EINVALID, "envelope: %s: not valid base64", what);
	out->size += got;
	out->ptr[out->size] = '\0';
	return 0;
}

/* Count distinct keys with a valid signature over pae. */
static int count_valid(size_t *valid, const json_t *sigs, const bpg_buf *pae,
	const bpg_dsse_key *const *keys, size_t nkeys, bool *used, bpg_error *err)
{
	size_t i;
	json_t *s;

	*valid = 0;
	json_array_foreach(sigs, i, s) {
		bpg_buf raw = BPG_BUF_INIT;
		int rc;

		if (!json_is_object(s)) {
			return bpg_error_set(err, BPG_EINVALID, "envelope: /signatures/%zu: expected an object", i);
		}
		if ((rc = b64_member(&raw, json_object_get(s, "sig"), "sig", err)) < 0) {
			bpg_buf_dispose(&raw);
			return rc;
		}
		if (raw.size != 64) {
			bpg_buf_dispose(&raw);
			return bpg_error_set(err, BPG_EVERIFY,
				"envelope: /signatures/%zu/sig: %zu bytes, an Ed25519 signature has 64 (truncated?)",
				i, raw.size);
		}
		/* keyid is an unauthenticated hint: try every key not counted yet. */
		for (size_t k = 0; k < nkeys; k++)
			if (!used[k] && bpg_audit__dsse_verify_raw((unsigned char *)raw.ptr,
					(const unsigned char *)pae->ptr, pae->size, keys[k]) == 0) {
				used[k] = true;
				(*valid)++;
				break;
			}
		bpg_buf_dispose(&raw);
	}
	return 0;
}

int bpg_dsse_verify(bpg_buf *payload_out, bpg_buf *type_out, const char *envelope, size_t len,
	const bpg_dsse_key *const *keys, size_t nkeys, size_t threshold, bpg_error *err)
{
	bpg_buf payload = BPG_BUF_INIT, pae = BPG_BUF_INIT;
	json_error_t jerr;
	json_t *env = NULL, *type, *sigs;
	bool *used = NULL;
	size_t valid = 0;
	int rc = 0;

	if (threshold == 0)
		threshold = 1;
	if (len > BPG_DSSE_MAX_BYTES) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "envelope larger than %zu bytes", BPG_DSSE_MAX_BYTES);
		goto done;
	}
	if (!(env = json_loadb(envelope, len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(env)) {
		rc = bpg_error_set(err, BPG_EINVALID, "envelope: line %d column %d: %s", jerr.line,
			jerr.column, env ? "expected a JSON object" : jerr.text);
		goto done;
	}
	type = json_object_get(env, "payloadType");
	sigs = json_object_get(env, "signatures");
	if (!json_is_string(type) || !json_is_array(sigs) || json_array_size(sigs) == 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"envelope: expected payloadType (string), payload and a non-empty signatures array");
		goto done;
	}
	if ((rc = b64_member(&payload, json_object_get(env, "payload"), "payload", err)) < 0)
		goto done;
	if (bpg_dsse_pae(&pae, json_string_value(type), json_string_length(type), payload.ptr,
			payload.size) < 0 || !(used = calloc(nkeys ? nkeys : 1, sizeof(*used)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = count_valid(&valid, sigs, &pae, keys, nkeys, used, err)) < 0)
		goto done;
	if (valid < threshold) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"envelope: %zu of the %zu required signatures verify over the PAE with the trusted key%s%s: altered (payload or payloadType) or signed by another key",
			valid, threshold, nkeys == 1 ? " " : "s", nkeys == 1 ? bpg_dsse_key_id(keys[0]) : "");
		goto done;
	}
	if ((payload_out && bpg_buf_put(payload_out, payload.ptr, payload.size) < 0) ||
	    (type_out && bpg_buf_put(type_out, json_string_value(type), json_string_length(type)) < 0))
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(used);
	json_decref(env);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&pae);
	return rc;
}

/* ---------------------------------------------------------------- in-toto */

int bpg_intoto_statement_new(json_t **out, const char *predicate_type, bpg_error *err)
{
	*out = json_pack("{s:s, s:[], s:s}", "_type", BPG_INTOTO_STATEMENT_V1, "subject",
		"predicateType", predicate_type);
	return *out ? 0 : bpg_error_set(err, BPG_EINVALID, "statement: predicateType must be UTF-8");
}

static bool hex_lower(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int bpg_intoto_add_subject(json_t *stmt, const char *name, const char *alg,
	const char *hex_digest, bpg_error *err)
{
	json_t *subj = json_object_get(stmt, "subject"), *s;

	if (!json_is_array(subj))
		return bpg_error_set(err, BPG_EINVALID, "statement: no subject array");
	if (!hex_lower(hex_digest))
		return bpg_error_set(err, BPG_EINVALID, "statement: subject %s: digest is not lower-case hex",
			name);
	if (!(s = json_pack("{s:s, s:{s:s}}", "name", name, "digest", alg, hex_digest)))
		return bpg_error_set(err, BPG_EINVALID, "statement: subject name must be UTF-8");
	if (json_array_append_new(subj, s) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

int bpg_intoto_set_predicate(json_t *stmt, json_t *predicate, bpg_error *err)
{
	if (!predicate || json_object_set_new(stmt, "predicate", predicate) < 0)
		return bpg_error_set(err, BPG_EINVALID, "statement: cannot set the predicate");
	return 0;
}

int bpg_intoto_serialize(bpg_buf *out, const json_t *stmt, bpg_error *err)
{
	char *s = bpg_json_dumps(stmt, JSON_COMPACT);
	int rc = 0;

	if (!s || bpg_buf_puts(out, s) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	free(s);
	return rc;
}

static bool subject_ok(const json_t *s)
{
	const json_t *d = json_object_get(s, "digest"), *v;
	const char *k;

	if (!json_is_object(s) || !json_is_object(d) || json_object_size(d) == 0)
		return false;
	json_object_foreach((json_t *)d, k, v)
		if (!json_is_string(v) || json_string_length(v) == 0)
			return false;
	return json_object_get(s, "name") == NULL || json_is_string(json_object_get(s, "name"));
}

int bpg_intoto_parse(json_t **out, const char *payload, size_t len, bpg_error *err)
{
	json_error_t jerr;
	json_t *j, *subj, *s;
	size_t i;

	*out = NULL;
	if (!(j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr)))
		return bpg_error_set(err, BPG_EINVALID, "statement: line %d column %d: %s", jerr.line,
			jerr.column, jerr.text);
	subj = json_object_get(j, "subject");
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "_type")) ||
	    strcmp(json_string_value(json_object_get(j, "_type")), BPG_INTOTO_STATEMENT_V1) != 0) {
		json_decref(j);
		return bpg_error_set(err, BPG_EINVALID, "statement: /_type is not %s", BPG_INTOTO_STATEMENT_V1);
	}
	if (!json_is_array(subj) || json_array_size(subj) == 0 ||
	    !json_is_string(json_object_get(j, "predicateType"))) {
		json_decref(j);
		return bpg_error_set(err, BPG_EINVALID,
			"statement: expected a non-empty /subject array and a /predicateType string");
	}
	json_array_foreach(subj, i, s)
		if (!subject_ok(s)) {
			json_decref(j);
			return bpg_error_set(err, BPG_EINVALID,
				"statement: /subject/%zu: expected {\"name\", \"digest\": {alg: value}}", i);
		}
	*out = j;
	return 0;
}

bool bpg_intoto_has_sha256(const json_t *stmt, const char *hex)
{
	const json_t *s;
	size_t i;

	json_array_foreach(json_object_get(stmt, "subject"), i, s) {
		const char *d = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
		if (d && strcmp(d, hex) == 0)
			return true;
	}
	return false;
}
