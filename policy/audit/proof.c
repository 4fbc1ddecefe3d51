/*
 * Self-contained inclusion proofs in JSON: what `bpgate audit prove` prints
 * and what the release evidence package embeds, checkable offline with only
 * the log's verifier key.
 */
#include "internal.h"
#include "bpgate/jsonheap.h"

#include <jansson.h>
#include <string.h>

int bpg_audit_proof_json(bpg_buf *out, const bpg_audit_log *log, uint64_t index, bpg_error *err)
{
	const bpg_checkpoint *cp = bpg_audit_checkpoint(log);
	bpg_merkle_proof proof;
	const char *entry, *note;
	size_t elen, nlen = 0;
	char hex[2 * BPG_HASH_SIZE + 1];
	json_t *j = NULL, *path = NULL;
	bpg_hash leaf;
	char *s = NULL;
	int rc;

	if (!cp)
		return bpg_error_set(err, BPG_ENOTFOUND, "the log has no checkpoint yet");
	if (index >= cp->size)
		return bpg_error_set(err, BPG_ENOTFOUND,
			"no entry %llu: the checkpoint covers %llu entries (0 to %llu)",
			(unsigned long long)index, (unsigned long long)cp->size,
			(unsigned long long)(cp->size ? cp->size - 1 : 0));
	if ((rc = bpg_audit_entry(&entry, &elen, log, index, err)) < 0 ||
	    (rc = bpg_audit_leaf(&leaf, log, index, err)) < 0 ||
	    (rc = bpg_audit_prove(&proof, log, index, cp->size, err)) < 0)
		return rc;
	note = bpg_audit_checkpoint_note(log, &nlen);
	if (!(path = json_array()) || !(j = json_object())) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < proof.len; i++) {
		bpg_hex_encode(hex, proof.h[i].b, BPG_HASH_SIZE);
		if (json_array_append_new(path, json_string(hex)) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	bpg_hex_encode(hex, leaf.b, BPG_HASH_SIZE);
	if (json_object_set_new(j, "index", json_integer((json_int_t)index)) < 0 ||
	    json_object_set_new(j, "entry", json_stringn(entry, elen)) < 0 ||
	    json_object_set_new(j, "leaf_hash", json_string(hex)) < 0 ||
	    json_object_set_new(j, "tree_size", json_integer((json_int_t)cp->size)) < 0 ||
	    json_object_set(j, "proof", path) < 0 ||
	    json_object_set_new(j, "checkpoint", json_stringn(note, nlen)) < 0 ||
	    !(s = bpg_json_dumps(j, JSON_COMPACT))) {
		rc = bpg_error_set(err, BPG_EINVALID, "entry %llu cannot be written as JSON (not UTF-8?)",
			(unsigned long long)index);
		goto done;
	}
	if (bpg_buf_puts(out, s) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	free(s);
	json_decref(path);
	json_decref(j);
	return rc;
}

static int get_hash(bpg_hash *out, const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) != 2 * BPG_HASH_SIZE)
		return BPG_EINVALID;
	return bpg_hex_decode(out->b, BPG_HASH_SIZE, s, 2 * BPG_HASH_SIZE);
}

int bpg_audit_proof_check(const char *json, size_t len, const bpg_note_verifier *key,
	uint64_t *index_out, uint64_t *size_out, bpg_error *err)
{
	json_error_t jerr;
	json_t *j = NULL, *v, *path;
	bpg_checkpoint cp;
	bpg_merkle_proof proof;
	bpg_hash leaf, given;
	json_int_t index, size;
	int rc = 0;

	if (!(j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(j)) {
		rc = bpg_error_set(err, BPG_EINVALID, "proof: line %d column %d: %s", jerr.line,
			jerr.column, j ? "expected an object" : jerr.text);
		goto done;
	}
	v = json_object_get(j, "checkpoint");
	if (!json_is_string(v)) {
		rc = bpg_error_set(err, BPG_EINVALID, "proof: /checkpoint: expected the signed checkpoint");
		goto done;
	}
	if ((rc = bpg_checkpoint_open(&cp, json_string_value(v), json_string_length(v), key, NULL,
			err)) < 0) {
		bpg_error_prefix(err, "proof: /checkpoint: ");
		goto done;
	}
	index = json_integer_value(json_object_get(j, "index"));
	size = json_integer_value(json_object_get(j, "tree_size"));
	v = json_object_get(j, "entry");
	path = json_object_get(j, "proof");
	if (!json_is_integer(json_object_get(j, "index")) || index < 0 || !json_is_string(v) ||
	    !json_is_array(path) || json_array_size(path) > BPG_MERKLE_MAX_PROOF) {
		rc = bpg_error_set(err, BPG_EINVALID, "proof: expected /index, /entry and /proof");
		goto done;
	}
	/* The size comes from the signed checkpoint, never from the unsigned part. */
	if (json_object_get(j, "tree_size") && (uint64_t)size != cp.size) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"proof: /tree_size %lld differs from the signed checkpoint's %llu",
			(long long)size, (unsigned long long)cp.size);
		goto done;
	}
	bpg_merkle_leaf_hash(&leaf, json_string_value(v), json_string_length(v));
	if (json_object_get(j, "leaf_hash") && (get_hash(&given, json_object_get(j, "leaf_hash")) < 0 ||
			memcmp(given.b, leaf.b, BPG_HASH_SIZE) != 0)) {
		rc = bpg_error_set(err, BPG_EVERIFY, "proof: /leaf_hash is not the hash of /entry: entry tampered");
		goto done;
	}
	proof.len = json_array_size(path);
	for (size_t i = 0; i < proof.len; i++)
		if (get_hash(&proof.h[i], json_array_get(path, i)) < 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "proof: /proof/%zu: expected 64 hex digits", i);
			goto done;
		}
	if ((rc = bpg_merkle_verify_inclusion((uint64_t)index, cp.size, &leaf, &proof, &cp.root, err)) < 0)
		goto done;
	if (index_out)
		*index_out = (uint64_t)index;
	if (size_out)
		*size_out = cp.size;
done:
	json_decref(j);
	return rc;
}
