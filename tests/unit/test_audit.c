/*
 * Unit tests for the audit module: every Merkle, checkpoint and DSSE vector
 * in shared/vectors, the log's crash safety (a cut at every byte of the last
 * record), concurrent appenders, and each kind of tampering, named.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "bpgate/util.h"

#define NOTE_VKEY "audit.example.com/test-only-log+e9be9be8+AcGLHOKRa2JgJaezAlqp+0Y+FwJCm1l/k8V6RmQZb/m+"

/* ------------------------------------------------------------ helpers */

static char *vec_path(const char *rel)
{
	const char *root = getenv("BPG_SHARED_DIR");
	char *p = NULL;

	cr_assert(root, "BPG_SHARED_DIR is not set (run through meson test)");
	cr_assert(asprintf(&p, "%s/vectors/%s", root, rel) > 0);
	return p;
}

static void read_vec(bpg_buf *b, const char *rel)
{
	char *p = vec_path(rel);
	bpg_error err;

	bpg_buf_clear(b);
	cr_assert_eq(bpg_file_read(b, p, 1 << 20, &err), 0, "%s", err.message);
	free(p);
}

static json_t *merkle_vectors(void)
{
	char *p = vec_path("merkle/vectors.json");
	json_error_t jerr;
	json_t *j = json_load_file(p, 0, &jerr);

	cr_assert(j, "%s: %s", p, jerr.text);
	free(p);
	return j;
}

static void hex32(bpg_hash *h, const json_t *v)
{
	cr_assert(json_is_string(v));
	cr_assert_eq(bpg_hex_decode(h->b, 32, json_string_value(v), json_string_length(v)), 0);
}

static void proof_of(bpg_merkle_proof *p, const json_t *arr)
{
	size_t i;
	json_t *v;

	p->len = json_array_size(arr);
	json_array_foreach(arr, i, v)
		hex32(&p->h[i], v);
}

static size_t leaves_of(bpg_hash *leaves, const json_t *set)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(set, "leaf_inputs_hex"), i, v) {
		unsigned char in[256];
		size_t n = json_string_length(v) / 2;
		bpg_hash expect;

		cr_assert_eq(bpg_hex_decode(in, n, json_string_value(v), 2 * n), 0);
		bpg_merkle_leaf_hash(&leaves[i], in, n);
		hex32(&expect, json_array_get(json_object_get(set, "leaf_hashes_hex"), i));
		cr_assert_arr_eq(leaves[i].b, expect.b, 32, "leaf hash %zu", i);
	}
	return i;
}

static bpg_note_signer *test_signer(void)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_note_signer *s = NULL;
	bpg_error err;

	read_vec(&b, "merkle/checkpoints/test-only-note-key.PRIVATE.skey");
	cr_assert_eq(bpg_note_signer_parse(&s, b.ptr, b.size, &err), 0, "%s", err.message);
	bpg_buf_dispose(&b);
	return s;
}

static bpg_note_verifier *test_verifier(void)
{
	bpg_note_verifier *v = NULL;
	bpg_error err;

	cr_assert_eq(bpg_note_verifier_parse(&v, NOTE_VKEY, strlen(NOTE_VKEY), &err), 0, "%s", err.message);
	return v;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/bpg-audit-XXXXXX");
	cr_assert(mkdtemp(d));
	return d;
}

static void rmdir_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void file_get(bpg_buf *b, const char *dir, const char *name)
{
	char p[512];
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	bpg_buf_clear(b);
	cr_assert_eq(bpg_file_read(b, p, 1 << 24, &err), 0, "%s", err.message);
}

static void file_put(const char *dir, const char *name, const void *data, size_t len)
{
	char p[512];
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(bpg_file_write_atomic(p, data, len, 0640, &err), 0, "%s", err.message);
}

/* The five events of vectors.json's audit_log_example. */
static void append_example(const char *dir, bpg_note_signer *s, size_t n)
{
	json_t *v = merkle_vectors(), *x;
	bpg_audit_log *log = NULL;
	bpg_error err;
	size_t i;

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0, "%s", err.message);
	json_array_foreach(json_object_get(json_object_get(v, "audit_log_example"), "leaf_inputs_hex"), i, x) {
		unsigned char in[256];
		size_t len = json_string_length(x) / 2;
		uint64_t idx = 99;

		if (i >= n)
			break;
		cr_assert_eq(bpg_hex_decode(in, len, json_string_value(x), 2 * len), 0);
		cr_assert_eq(bpg_audit_append(log, (char *)in, len, s, &idx, &err), 0, "%s", err.message);
		cr_assert_eq(idx, i);
	}
	bpg_audit_free(log);
	json_decref(v);
}

static int verify_dir(const char *dir, bpg_error *err)
{
	bpg_note_verifier *v = test_verifier();
	bpg_audit_log *log = NULL;
	int rc = bpg_audit_open(&log, dir, err);

	if (rc == 0)
		rc = bpg_audit_verify(log, v, err);
	bpg_audit_free(log);
	bpg_note_verifier_free(v);
	return rc;
}

/* -------------------------------------------------------------- Merkle */

/* Checks every vector of a set and that there were exactly as many as the
 * vector file has (a file that lost a key must not pass with nothing checked). */
static void check_vector_set(const json_t *set, size_t want_leaves, size_t want_roots, size_t want_incl,
	size_t want_cons)
{
	bpg_hash leaves[16], expect, got;
	bpg_merkle_proof p, want;
	const char *k;
	json_t *v;
	size_t i, n, roots = 0, incl = 0, cons = 0;
	bpg_error err;

	cr_assert(json_is_object(set), "the vector set is missing");
	cr_assert_leq(json_array_size(json_object_get(set, "leaf_inputs_hex")), 16);
	n = leaves_of(leaves, set);

	json_object_foreach(json_object_get(set, "roots_hex"), k, v) {
		uint64_t size = strtoull(k, NULL, 10);
		cr_assert_leq(size, n);
		bpg_merkle_root(&got, leaves, size);
		hex32(&expect, v);
		cr_assert_arr_eq(got.b, expect.b, 32, "root of %s", k);
		roots++;
	}
	json_array_foreach(json_object_get(set, "inclusion_proofs"), i, v) {
		uint64_t idx = json_integer_value(json_object_get(v, "leaf_index"));
		uint64_t size = json_integer_value(json_object_get(v, "tree_size"));
		bpg_hash leaf;

		proof_of(&want, json_object_get(v, "path_hex"));
		cr_assert_eq(bpg_merkle_inclusion_proof(&p, leaves, size, idx, &err), 0);
		cr_assert_eq(p.len, want.len, "inclusion %llu/%llu", (unsigned long long)idx, (unsigned long long)size);
		cr_assert_arr_eq(p.h, want.h, p.len * 32);
		hex32(&leaf, json_object_get(v, "leaf_hash_hex"));
		hex32(&expect, json_object_get(v, "root_hex"));
		cr_assert_eq(bpg_merkle_verify_inclusion(idx, size, &leaf, &want, &expect, &err), 0, "%s", err.message);
		incl++;
	}
	json_array_foreach(json_object_get(set, "consistency_proofs"), i, v) {
		uint64_t m = json_integer_value(json_object_get(v, "first_size"));
		uint64_t size = json_integer_value(json_object_get(v, "second_size"));
		bpg_hash r1, r2;

		proof_of(&want, json_object_get(v, "proof_hex"));
		cr_assert_eq(bpg_merkle_consistency_proof(&p, leaves, m, size, &err), 0);
		cr_assert_eq(p.len, want.len, "consistency %llu->%llu", (unsigned long long)m, (unsigned long long)size);
		cr_assert_arr_eq(p.h, want.h, p.len * 32);
		hex32(&r1, json_object_get(v, "first_root_hex"));
		hex32(&r2, json_object_get(v, "second_root_hex"));
		cr_assert_eq(bpg_merkle_verify_consistency(m, size, &r1, &r2, &want, &err), 0, "%s", err.message);
		cons++;
	}
	cr_assert_eq(n, want_leaves, "leaves checked");
	cr_assert_eq(roots, want_roots, "roots checked");
	cr_assert_eq(incl, want_incl, "inclusion proofs checked");
	cr_assert_eq(cons, want_cons, "consistency proofs checked");
}

Test(audit, merkle_ct_reference_vectors)
{
	json_t *v = merkle_vectors();
	/* shared/vectors/merkle/vectors.json: 8 leaves, 9 roots, 36 + 36 proofs */
	check_vector_set(json_object_get(v, "ct_reference"), 8, 9, 36, 36);
	json_decref(v);
}

Test(audit, merkle_audit_log_vectors)
{
	json_t *v = merkle_vectors();
	/* 5 leaves, 6 roots, 15 + 15 proofs */
	check_vector_set(json_object_get(v, "audit_log_example"), 5, 6, 15, 15);
	json_decref(v);
}

Test(audit, merkle_negative_vectors_rejected)
{
	json_t *v = merkle_vectors(), *x;
	size_t i, count = 0;
	bpg_error err;

	json_array_foreach(json_object_get(v, "ct_reference_negative"), i, x) {
		const char *kind = json_string_value(json_object_get(x, "kind"));
		bpg_merkle_proof p;
		int rc;

		if (strcmp(kind, "inclusion") == 0) {
			bpg_hash leaf, root;
			proof_of(&p, json_object_get(x, "path_hex"));
			hex32(&leaf, json_object_get(x, "leaf_hash_hex"));
			hex32(&root, json_object_get(x, "root_hex"));
			rc = bpg_merkle_verify_inclusion(json_integer_value(json_object_get(x, "leaf_index")),
				json_integer_value(json_object_get(x, "tree_size")), &leaf, &p, &root, &err);
		} else {
			bpg_hash r1, r2;
			proof_of(&p, json_object_get(x, "proof_hex"));
			hex32(&r1, json_object_get(x, "first_root_hex"));
			hex32(&r2, json_object_get(x, "second_root_hex"));
			rc = bpg_merkle_verify_consistency(json_integer_value(json_object_get(x, "first_size")),
				json_integer_value(json_object_get(x, "second_size")), &r1, &r2, &p, &err);
		}
		cr_assert_eq(rc, BPG_EVERIFY, "negative %zu (%s) accepted", i,
			json_string_value(json_object_get(x, "why")));
		count++;
	}
	cr_assert_eq(count, 10);
	json_decref(v);
}

Test(audit, merkle_large_tree_proofs_roundtrip)
{
	enum { N = 1000 };
	bpg_hash *leaves = calloc(N, sizeof(*leaves)), r1, r2;
	bpg_merkle_proof p;
	bpg_error err;

	for (uint32_t i = 0; i < N; i++)
		bpg_merkle_leaf_hash(&leaves[i], &i, sizeof(i));
	for (uint64_t size = 1; size <= N; size += 37) {
		bpg_merkle_root(&r2, leaves, size);
		for (uint64_t i = 0; i < size; i += 13) {
			cr_assert_eq(bpg_merkle_inclusion_proof(&p, leaves, size, i, &err), 0);
			cr_assert_eq(bpg_merkle_verify_inclusion(i, size, &leaves[i], &p, &r2, &err), 0,
				"%llu/%llu: %s", (unsigned long long)i, (unsigned long long)size, err.message);
			bpg_merkle_root(&r1, leaves, i + 1);
			cr_assert_eq(bpg_merkle_consistency_proof(&p, leaves, i + 1, size, &err), 0);
			cr_assert_eq(bpg_merkle_verify_consistency(i + 1, size, &r1, &r2, &p, &err), 0, "%s", err.message);
		}
	}
	free(leaves);
}

/* ------------------------------------------------------- signed notes */

Test(audit, note_keys_roundtrip_go_formats)
{
	bpg_note_signer *s = test_signer();
	bpg_note_verifier *v = NULL;
	bpg_buf b = BPG_BUF_INIT, f = BPG_BUF_INIT;
	bpg_error err;

	cr_assert_eq(bpg_note_signer_vkey(&b, s), 0);
	cr_assert_str_eq(b.ptr, NOTE_VKEY);
	read_vec(&f, "merkle/checkpoints/test-only-note-key.PRIVATE.skey");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_note_signer_format(&b, s), 0);
	cr_assert_eq(b.size + 1, f.size);
	cr_assert_eq(memcmp(b.ptr, f.ptr, b.size), 0);
	/* Published known answers: the key hash is computed, not copied. */
	const char *kat[] = { "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k" };
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(bpg_note_verifier_parse(&v, kat[i], strlen(kat[i]), &err), 0, "%s", err.message);
		bpg_note_verifier_free(v);
	}
	cr_assert_eq(bpg_note_verifier_parse(&v, "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", 69, &err), BPG_EINVALID);
	cr_assert_eq(bpg_note_verifier_parse(&v, "bad name+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", 62, &err), BPG_EINVALID);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&f);
	bpg_note_signer_free(s);
}

Test(audit, checkpoint_vectors_reproduced_and_verified)
{
	static const char *accept[] = { "audit-size5", "audit-size3", "ct-size8", "empty-size0",
		"audit-size5-plus-unknown-witness" };
	static const uint64_t sizes[] = { 5, 3, 8, 0, 5 };
	bpg_note_signer *s = test_signer();
	bpg_note_verifier *v = test_verifier();
	bpg_buf note = BPG_BUF_INIT, mine = BPG_BUF_INIT;
	char rel[128];
	bpg_error err;

	for (size_t i = 0; i < 5; i++) {
		bpg_checkpoint cp;

		snprintf(rel, sizeof(rel), "merkle/checkpoints/%s.checkpoint", accept[i]);
		read_vec(&note, rel);
		cr_assert_eq(bpg_checkpoint_open(&cp, note.ptr, note.size, v, NULL, &err), 0, "%s: %s", rel, err.message);
		cr_assert_eq(cp.size, sizes[i]);
		cr_assert_str_eq(cp.origin, "audit.example.com/test-only-log");
		if (i < 4) { /* Ed25519 is deterministic: our signer writes the same bytes */
			bpg_buf_clear(&mine);
			cr_assert_eq(bpg_checkpoint_sign(&mine, &cp, s, &err), 0);
			cr_assert_eq(mine.size, note.size);
			cr_assert_eq(memcmp(mine.ptr, note.ptr, note.size), 0, "%s differs", rel);
		}
	}
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&mine);
	bpg_note_signer_free(s);
	bpg_note_verifier_free(v);
}

Test(audit, checkpoint_negative_vectors_rejected)
{
	static const struct { const char *name; int code; const char *msg; } neg[] = {
		{ "neg-size-changed", BPG_EVERIFY, "does not verify" },
		{ "neg-root-bit-flipped", BPG_EVERIFY, "does not verify" },
		{ "neg-only-unknown-signer", BPG_EVERIFY, "not signed by the expected key" },
		{ "neg-wrong-key-same-keyid", BPG_EVERIFY, "does not verify" },
		{ "neg-no-blank-line", BPG_EINVALID, "malformed" },
		{ "neg-signature-truncated", BPG_EVERIFY, "truncated" },
		{ "neg-ascii-hyphen-instead-of-em-dash", BPG_EINVALID, "em dash" },
	};
	bpg_note_verifier *v = test_verifier();
	bpg_buf note = BPG_BUF_INIT;
	char rel[128];
	bpg_error err;

	for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
		bpg_checkpoint cp;

		snprintf(rel, sizeof(rel), "merkle/checkpoints/%s.checkpoint", neg[i].name);
		read_vec(&note, rel);
		cr_assert_eq(bpg_checkpoint_open(&cp, note.ptr, note.size, v, NULL, &err), neg[i].code,
			"%s: %s", neg[i].name, err.message);
		cr_assert(strstr(err.message, neg[i].msg), "%s: %s", neg[i].name, err.message);
	}
	bpg_buf_dispose(&note);
	bpg_note_verifier_free(v);
}

Test(audit, note_rules)
{
	bpg_note_signer *s = test_signer(), *other = NULL;
	bpg_note_verifier *v = test_verifier(), *ov = NULL;
	const bpg_note_verifier *both[2];
	bpg_buf note = BPG_BUF_INIT, text = BPG_BUF_INIT;
	unsigned char seed[32] = { 7 };
	bpg_error err;

	cr_assert_eq(bpg_note_sign(&note, "no final newline", 16, s, &err), BPG_EINVALID);
	cr_assert_eq(bpg_note_sign(&note, "tab\there\n", 9, s, &err), BPG_EINVALID);
	cr_assert_eq(bpg_note_sign(&note, "hello\n", 6, s, &err), 0);
	cr_assert_eq(bpg_note_open(&text, note.ptr, note.size, (const bpg_note_verifier *const *)&v, 1, &err), 0);
	cr_assert_str_eq(text.ptr, "hello\n");
	/* A second signer: both keys known, both sign -> accepted; CR anywhere -> malformed. */
	cr_assert_eq(bpg_note_signer_from_seed(&other, "witness.example.com/w", seed, &err), 0);
	cr_assert_eq(bpg_note_verifier_from_signer(&ov, other, &err), 0);
	bpg_buf_clear(&note);
	cr_assert_eq(bpg_note_sign(&note, "hello\n", 6, other, &err), 0);
	both[0] = v;
	both[1] = ov;
	cr_assert_eq(bpg_note_open(&text, note.ptr, note.size, both, 2, &err), 0);
	cr_assert_eq(bpg_note_open(&text, note.ptr, note.size, both, 1, &err), BPG_EVERIFY);
	note.ptr[0] = '\r';
	cr_assert_eq(bpg_note_open(&text, note.ptr, note.size, both, 2, &err), BPG_EINVALID);
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&text);
	bpg_note_signer_free(s);
	bpg_note_signer_free(other);
	bpg_note_verifier_free(v);
	bpg_note_verifier_free(ov);
}

/* ----------------------------------------------------------------- log */

Test(audit, log_reproduces_vector_checkpoint)
{
	bpg_note_signer *s = test_signer();
	char *dir = tmpdir();
	bpg_buf cp = BPG_BUF_INIT, want = BPG_BUF_INIT, ent = BPG_BUF_INIT;
	bpg_error err;

	append_example(dir, s, 5);
	file_get(&cp, dir, "checkpoint");
	read_vec(&want, "merkle/checkpoints/audit-size5.checkpoint");
	cr_assert_eq(cp.size, want.size);
	cr_assert_eq(memcmp(cp.ptr, want.ptr, cp.size), 0, "checkpoint differs from audit-size5");
	file_get(&ent, dir, "entries");
	cr_assert(strncmp(ent.ptr, "0 ", 2) == 0);
	cr_assert(strstr(ent.ptr, " {\"seq\":4,\"type\":\"bundle.released\",\"channel\":\"production\"}\n"));
	cr_assert_eq(verify_dir(dir, &err), 0, "%s", err.message);
	bpg_buf_dispose(&cp);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&ent);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

Test(audit, log_refuses_bad_entries)
{
	static const char *bad[] = { "", "[1]", "{\"a\":1}\n", " {\"a\":1}", "{\"a\":1,\"a\":2}",
		"{\"a\":\"\xff\"}", "{\"a\":1", "{\"a\":\t1}" };
	bpg_note_signer *s = test_signer();
	bpg_audit_log *log = NULL;
	char *dir = tmpdir();
	bpg_error err;

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(bpg_audit_append(log, bad[i], strlen(bad[i]), s, NULL, &err), 0, "accepted %zu", i);
	cr_assert_eq(bpg_audit_size(log), 0);
	bpg_audit_free(log);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

/*
 * A crash at any byte of an append. Variant "uncommitted": the checkpoint is
 * the one before the last record (the crash hit before the commit point):
 * the next append repairs and nothing committed is lost. Variant
 * "committed": the checkpoint covers the cut record (storage lost data it
 * had acknowledged): reported by name, append refused, earlier entries intact.
 */
Test(audit, log_torn_tail_at_every_byte)
{
	bpg_note_signer *s = test_signer();
	char *dir = tmpdir();
	bpg_buf e3 = BPG_BUF_INIT, c3 = BPG_BUF_INIT, e4 = BPG_BUF_INIT, c4 = BPG_BUF_INIT, tmp = BPG_BUF_INIT;
	static const char extra[] = "{\"seq\":9,\"type\":\"after.repair\"}";
	bpg_error err;

	append_example(dir, s, 3);
	file_get(&e3, dir, "entries");
	file_get(&c3, dir, "checkpoint");
	append_example(dir, s, 0);
	{
		bpg_audit_log *log = NULL;
		cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
		cr_assert_eq(bpg_audit_append(log, "{\"seq\":3,\"type\":\"last\"}", 23, s, NULL, &err), 0);
		bpg_audit_free(log);
	}
	file_get(&e4, dir, "entries");
	file_get(&c4, dir, "checkpoint");
	for (size_t cut = e3.size; cut <= e4.size; cut++) {
		for (int committed = 0; committed < 2; committed++) {
			bpg_audit_log *log = NULL;
			bpg_audit_tail t;
			uint64_t idx = 0;
			const char *ent;
			size_t elen;

			if (committed && cut == e4.size)
				continue; /* nothing cut */
			rmdir_flat(dir);
			cr_assert_eq(mkdir(dir, 0700), 0);
			file_put(dir, "entries", e4.ptr, cut);
			if (committed)
				file_put(dir, "checkpoint", c4.ptr, c4.size);
			else
				file_put(dir, "checkpoint", c3.ptr, c3.size);
			cr_assert_eq(bpg_audit_open(&log, dir, &err), 0, "%s", err.message);
			if (!committed) {
				bpg_audit_tail_info(&t, log);
				cr_assert_eq(t.tail_offset, e3.size);
				cr_assert_eq(t.uncommitted + t.torn_bytes > 0, cut > e3.size);
				cr_assert_eq(verify_dir(dir, &err), 0, "cut %zu: %s", cut, err.message);
				cr_assert_eq(bpg_audit_append(log, extra, strlen(extra), s, &idx, &err), 0,
					"cut %zu: %s", cut, err.message);
				cr_assert_eq(idx, 3);
				bpg_audit_free(log);
				cr_assert_eq(verify_dir(dir, &err), 0, "cut %zu: %s", cut, err.message);
				file_get(&tmp, dir, "entries");
				cr_assert_eq(memcmp(tmp.ptr, e3.ptr, e3.size), 0, "cut %zu: committed entries changed", cut);
				cr_assert(strstr(tmp.ptr + e3.size, "3 ") == tmp.ptr + e3.size);
				cr_assert(strstr(tmp.ptr, extra));
			} else {
				bpg_audit_free(log);
				cr_assert_eq(verify_dir(dir, &err), BPG_EVERIFY);
				cr_assert(strstr(err.message, "log truncated"), "cut %zu: %s", cut, err.message);
				cr_assert(strstr(err.message, "entry 3 deleted or cut"), "%s", err.message);
				cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
				cr_assert_eq(bpg_audit_append(log, extra, strlen(extra), s, NULL, &err), BPG_EVERIFY);
				cr_assert(strstr(err.message, "refusing to append"), "%s", err.message);
				cr_assert_eq(bpg_audit_entry(&ent, &elen, log, 2, &err), 0);
				cr_assert(strncmp(ent, "{\"seq\":2,", 9) == 0);
				bpg_audit_free(log);
			}
		}
	}
	bpg_buf_dispose(&e3);
	bpg_buf_dispose(&c3);
	bpg_buf_dispose(&e4);
	bpg_buf_dispose(&c4);
	bpg_buf_dispose(&tmp);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

Test(audit, log_concurrent_appenders_in_clean_order)
{
	enum { KIDS = 4, EACH = 25 };
	bpg_note_signer *s = test_signer();
	char *dir = tmpdir();
	int last[KIDS];
	bpg_audit_log *log = NULL;
	bpg_error err;

	for (int k = 0; k < KIDS; k++) {
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			bpg_audit_log *l = NULL;
			if (bpg_audit_open(&l, dir, &err) < 0)
				_exit(3);
			for (int i = 0; i < EACH; i++) {
				char e[64];
				int n = snprintf(e, sizeof(e), "{\"kid\":%d,\"n\":%d}", k, i);
				if (bpg_audit_append(l, e, (size_t)n, s, NULL, &err) < 0) {
					fprintf(stderr, "kid %d: %s\n", k, err.message);
					_exit(4);
				}
			}
			bpg_audit_free(l);
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st = 0;
		cr_assert_gt(wait(&st), 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child failed: %d", st);
	}
	cr_assert_eq(verify_dir(dir, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	cr_assert_eq(bpg_audit_size(log), KIDS * EACH);
	cr_assert_eq(bpg_audit_records(log), KIDS * EACH);
	for (int k = 0; k < KIDS; k++)
		last[k] = -1;
	for (uint64_t i = 0; i < KIDS * EACH; i++) {
		const char *e;
		size_t len;
		int kid, n;
		cr_assert_eq(bpg_audit_entry(&e, &len, log, i, &err), 0);
		cr_assert_eq(sscanf(e, "{\"kid\":%d,\"n\":%d}", &kid, &n), 2);
		cr_assert_eq(n, last[kid] + 1, "kid %d out of order", kid);
		last[kid] = n;
	}
	bpg_audit_free(log);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

/* Rewrite the entries file of a fresh 5-entry log with `edit` and verify. */
static void tamper_case(void (*edit)(bpg_buf *), const char *expect)
{
	bpg_note_signer *s = test_signer();
	char *dir = tmpdir();
	bpg_buf e = BPG_BUF_INIT;
	bpg_error err;

	append_example(dir, s, 5);
	file_get(&e, dir, "entries");
	edit(&e);
	file_put(dir, "entries", e.ptr, e.size);
	cr_assert_eq(verify_dir(dir, &err), BPG_EVERIFY, "not detected: %s", expect);
	cr_assert(strstr(err.message, expect), "expected '%s' in: %s", expect, err.message);
	bpg_buf_dispose(&e);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

static char *line_start(bpg_buf *b, int n)
{
	char *p = b->ptr;
	while (n-- > 0)
		p = strchr(p, '\n') + 1;
	return p;
}

static void edit_tamper(bpg_buf *b)
{
	char *p = strstr(b->ptr, "reviewer@example.com");
	p[0] = 'R';
}

static void edit_delete(bpg_buf *b)
{
	char *l1 = line_start(b, 1), *l2 = line_start(b, 2);
	memmove(l1, l2, b->size - (size_t)(l2 - b->ptr));
	b->size -= (size_t)(l2 - l1);
}

static void edit_reorder(bpg_buf *b)
{
	char *l1 = line_start(b, 1), *l2 = line_start(b, 2), *l3 = line_start(b, 3);
	char tmp[512];
	size_t a = (size_t)(l2 - l1), c = (size_t)(l3 - l2);
	memcpy(tmp, l1, a);
	memmove(l1, l2, c);
	memcpy(l1 + c, tmp, a);
}

/* Entry 1 changed and its hash recomputed: only the signed root catches it. */
static void edit_rewrite(bpg_buf *b)
{
	char *l1 = line_start(b, 1), *p = strstr(l1, "reviewer@"), hex[65];
	char *entry = strchr(strchr(l1, ' ') + 1, ' ') + 1;
	bpg_hash h;
	p[0] = 'R';
	bpg_merkle_leaf_hash(&h, entry, (size_t)(strchr(entry, '\n') - entry));
	bpg_hex_encode(hex, h.b, 32);
	memcpy(l1 + 2, hex, 64);
}

Test(audit, log_tampered_entry_named) { tamper_case(edit_tamper, "entry 1 tampered"); }
Test(audit, log_deleted_entry_named) { tamper_case(edit_delete, "entry 1 deleted"); }
Test(audit, log_reordered_entries_named) { tamper_case(edit_reorder, "entries reordered"); }
Test(audit, log_rewritten_entry_caught_by_root) { tamper_case(edit_rewrite, "do not match the signed checkpoint"); }

Test(audit, log_forged_checkpoint_named)
{
	bpg_note_signer *s = test_signer(), *other = NULL;
	char *dir = tmpdir();
	bpg_buf c = BPG_BUF_INIT, forged = BPG_BUF_INIT;
	unsigned char seed[32] = { 1, 2, 3 };
	bpg_audit_log *log = NULL;
	bpg_checkpoint cp;
	bpg_error err;

	append_example(dir, s, 5);
	file_get(&c, dir, "checkpoint");
	/* Bad signature: one base64 digit of the signature changed. */
	c.ptr[c.size - 10] = c.ptr[c.size - 10] == 'A' ? 'B' : 'A';
	file_put(dir, "checkpoint", c.ptr, c.size);
	cr_assert_eq(verify_dir(dir, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "does not verify: forged"), "%s", err.message);
	/* Wrong key, same name: signed by another key. */
	cr_assert_eq(bpg_note_signer_from_seed(&other, "audit.example.com/test-only-log", seed, &err), 0);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	cp = *bpg_audit_checkpoint(log);
	bpg_audit_free(log);
	cr_assert_eq(bpg_checkpoint_sign(&forged, &cp, other, &err), 0);
	file_put(dir, "checkpoint", forged.ptr, forged.size);
	cr_assert_eq(verify_dir(dir, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "not signed by the expected key"), "%s", err.message);
	/* Malformed checkpoint file: reported at open. */
	file_put(dir, "checkpoint", "garbage\n", 8);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "forged or damaged checkpoint"), "%s", err.message);
	/* Deleted checkpoint. */
	file_get(&c, dir, "entries");
	unlink(strcat(strcpy((char[256]){ 0 }, dir), "/checkpoint"));
	cr_assert_eq(verify_dir(dir, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "deleted checkpoint"), "%s", err.message);
	bpg_buf_dispose(&c);
	bpg_buf_dispose(&forged);
	bpg_note_signer_free(s);
	bpg_note_signer_free(other);
	rmdir_flat(dir);
	free(dir);
}

Test(audit, log_rollback_and_fork_detected_against_kept_checkpoint)
{
	bpg_note_signer *s = test_signer();
	bpg_note_verifier *v = test_verifier();
	char *dir = tmpdir(), *dir2 = tmpdir();
	bpg_buf kept = BPG_BUF_INIT;
	bpg_checkpoint old;
	bpg_audit_log *log = NULL;
	bpg_error err;

	append_example(dir, s, 5);
	file_get(&kept, dir, "checkpoint");
	cr_assert_eq(bpg_checkpoint_open(&old, kept.ptr, kept.size, v, NULL, &err), 0);
	/* The honest log grows: it extends the kept checkpoint. */
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	cr_assert_eq(bpg_audit_append(log, "{\"seq\":5}", 9, s, NULL, &err), 0);
	cr_assert_eq(bpg_audit_check_extends(log, &old, &err), 0, "%s", err.message);
	bpg_audit_free(log);
	/* Rolled back: a validly signed log of 3 entries. */
	append_example(dir2, s, 3);
	cr_assert_eq(verify_dir(dir2, &err), 0);
	cr_assert_eq(bpg_audit_open(&log, dir2, &err), 0);
	cr_assert_eq(bpg_audit_check_extends(log, &old, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "log rolled back"), "%s", err.message);
	/* Forked: 3 old entries + 3 different ones, validly signed, size 6 > 5. */
	for (int i = 0; i < 3; i++) {
		char e[32];
		int n = snprintf(e, sizeof(e), "{\"other\":%d}", i);
		cr_assert_eq(bpg_audit_append(log, e, (size_t)n, s, NULL, &err), 0);
	}
	cr_assert_eq(bpg_audit_check_extends(log, &old, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "log rewritten"), "%s", err.message);
	bpg_audit_free(log);
	bpg_buf_dispose(&kept);
	bpg_note_signer_free(s);
	bpg_note_verifier_free(v);
	rmdir_flat(dir);
	rmdir_flat(dir2);
	free(dir);
	free(dir2);
}

Test(audit, log_proof_json_checks_offline)
{
	bpg_note_signer *s = test_signer();
	bpg_note_verifier *v = test_verifier();
	char *dir = tmpdir();
	bpg_audit_log *log = NULL;
	bpg_buf j = BPG_BUF_INIT;
	uint64_t idx = 0, size = 0;
	bpg_error err;
	char *p;

	append_example(dir, s, 5);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	cr_assert_eq(bpg_audit_proof_json(&j, log, 3, &err), 0, "%s", err.message);
	cr_assert(strncmp(j.ptr, "{\"index\":3,\"entry\":\"{\\\"seq\\\":3,", 31) == 0, "%s", j.ptr);
	cr_assert_eq(bpg_audit_proof_check(j.ptr, j.size, v, &idx, &size, &err), 0, "%s", err.message);
	cr_assert_eq(idx, 3);
	cr_assert_eq(size, 5);
	p = strstr(j.ptr, "minisign");
	p[0] = 'M';
	cr_assert_eq(bpg_audit_proof_check(j.ptr, j.size, v, NULL, NULL, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "entry tampered"), "%s", err.message);
	cr_assert_eq(bpg_audit_proof_json(&j, log, 5, &err), BPG_ENOTFOUND);
	bpg_audit_free(log);
	bpg_buf_dispose(&j);
	bpg_note_signer_free(s);
	bpg_note_verifier_free(v);
	rmdir_flat(dir);
	free(dir);
}

/* -------------------------------------------------------------- syslog */

Test(audit, syslog_line_exact)
{
	bpg_syslog_opts o = BPG_SYSLOG_OPTS_INIT;
	bpg_buf line = BPG_BUF_INIT, note = BPG_BUF_INIT;
	static const char e[] = "{\"time\":\"2024-01-02T03:04:05Z\",\"type\":\"push\",\"note\":\"a]b\"}";
	bpg_error err;

	o.hostname = "git.example.com";
	read_vec(&note, "merkle/checkpoints/audit-size5-plus-unknown-witness.checkpoint");
	cr_assert_eq(bpg_syslog_format(&line, &o, 4, e, strlen(e), note.ptr, note.size, &err), 0, "%s", err.message);
	cr_assert_str_eq(line.ptr,
		"<110>1 2024-01-02T03:04:05Z git.example.com bpgate - audit "
		"[entry@32473 index=\"4\" leaf=\"26c05252afa613e5675eb87f9dca2c6f227c1a75d251a33a6903d305bdb07231\"]"
		"[checkpoint@32473 origin=\"audit.example.com/test-only-log\" size=\"5\" "
		"root=\"EAFVl/UuAdn+mewtDnienjzzZ0P0x2D0uWK87EH3dVA=\" "
		"sig=\"6b6b6CE3ThwibHTpUfO9g3bdj/crsGAuKmJP2eZI6n4yDX8EK9M9wIlund/IdLlZN+YvJL6DuuepB/jl1bCoqs/XdQ8=\"] "
		"{\"time\":\"2024-01-02T03:04:05Z\",\"type\":\"push\",\"note\":\"a]b\"}");
	/* No usable time, a procid, no checkpoint; a hostname with a space becomes "-". */
	bpg_buf_clear(&line);
	o.hostname = "bad host";
	o.procid = 42;
	cr_assert_eq(bpg_syslog_format(&line, &o, 0, "{\"time\":\"yesterday\"}", 20, NULL, 0, &err), 0);
	cr_assert_str_eq(line.ptr, "<110>1 - - bpgate 42 audit [entry@32473 index=\"0\" "
		"leaf=\"cde58095569e3060e8647ebd20b906240985f25436837f45f175d00b33bba951\"] {\"time\":\"yesterday\"}");
	bpg_buf_dispose(&line);
	bpg_buf_dispose(&note);
}

Test(audit, syslog_send_datagram)
{
	char *dir = tmpdir(), path[256], got[512];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	bpg_error err;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/log.sock", dir);
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(bpg_syslog_send(path, "<110>1 - - bpgate - audit - {}", 30, &err), 0, "%s", err.message);
	n = recv(fd, got, sizeof(got), 0);
	cr_assert_eq(n, 30);
	cr_assert_eq(memcmp(got, "<110>1 - - bpgate - audit - {}", 30), 0);
	close(fd);
	cr_assert_eq(bpg_syslog_send("/nonexistent/sock", "x", 1, &err), BPG_EIO);
	rmdir_flat(dir);
	free(dir);
}

/* ---------------------------------------------------------------- DSSE */

static bpg_dsse_key *dsse_pub(const char *rel)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_dsse_key *k = NULL;
	bpg_error err;

	read_vec(&b, rel);
	cr_assert_eq(bpg_dsse_key_parse_public(&k, b.ptr, b.size, &err), 0, "%s: %s", rel, err.message);
	bpg_buf_dispose(&b);
	return k;
}

Test(audit, dsse_pae_vectors)
{
	bpg_buf pae = BPG_BUF_INIT, want = BPG_BUF_INIT, stmt = BPG_BUF_INIT;

	cr_assert_eq(bpg_dsse_pae(&pae, "http://example.com/HelloWorld", 29, "hello world", 11), 0);
	cr_assert_eq(pae.size, 54);
	cr_assert_str_eq(pae.ptr, "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
	read_vec(&stmt, "dsse/statement.json");
	read_vec(&want, "dsse/pae.bin");
	bpg_buf_clear(&pae);
	cr_assert_eq(bpg_dsse_pae(&pae, BPG_DSSE_INTOTO_TYPE, strlen(BPG_DSSE_INTOTO_TYPE), stmt.ptr, stmt.size), 0);
	cr_assert_eq(pae.size, 495);
	cr_assert_eq(memcmp(pae.ptr, want.ptr, 495), 0);
	bpg_buf_dispose(&pae);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&stmt);
}

Test(audit, dsse_keys_all_formats_same_id)
{
	static const char *files[] = { "dsse/test-only-dsse-ed25519.pub", "dsse/test-only-dsse-ed25519.pub.pem",
		"dsse/test-only-dsse-ed25519.pub.raw.hex" };
	bpg_buf b = BPG_BUF_INIT;
	bpg_dsse_key *k = NULL;
	bpg_error err;

	for (size_t i = 0; i < 3; i++) {
		k = dsse_pub(files[i]);
		cr_assert_str_eq(bpg_dsse_key_id(k), "SHA256:f3gmPQAsL0Vhu7qOfHaIwTq6HaHa4wPqaf8sFfV2wf0", "%s", files[i]);
		cr_assert_not(bpg_dsse_key_has_private(k));
		bpg_dsse_key_free(k);
	}
	read_vec(&b, "dsse/test-only-dsse-ed25519.PRIVATE.pem");
	cr_assert_eq(bpg_dsse_key_parse_private(&k, b.ptr, b.size, &err), 0, "%s", err.message);
	cr_assert_str_eq(bpg_dsse_key_id(k), "SHA256:f3gmPQAsL0Vhu7qOfHaIwTq6HaHa4wPqaf8sFfV2wf0");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_dsse_key_format_public(&b, k), 0);
	cr_assert_str_eq(b.ptr, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC3t3Zb/VQHnEnM5XZ/UGfiV/OiP3dfPdVy50xMSX1t6");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_dsse_key_format_private(&b, k, &err), 0);
	cr_assert_str_eq(b.ptr, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFHy+z3KnK+7jU3DlTURMyf10TsHmQx9vJEJTXXyZtaN\n-----END PRIVATE KEY-----\n");
	bpg_dsse_key_free(k);
	cr_assert_eq(bpg_dsse_key_parse_public(&k, "ssh-rsa AAAA", 12, &err), BPG_EINVALID);
	bpg_buf_dispose(&b);
}

Test(audit, dsse_envelope_vectors)
{
	static const char *accept[] = { "dsse/envelope.intoto.json", "dsse/envelope-urlsafe-b64.intoto.json",
		"dsse/release.intoto.jsonl" };
	static const char *reject[] = { "neg-payloadtype-changed", "neg-payload-tampered",
		"neg-signed-without-pae", "neg-signature-truncated", "neg-wrong-key" };
	bpg_dsse_key *k = dsse_pub("dsse/test-only-dsse-ed25519.pub");
	const bpg_dsse_key *keys[1] = { k };
	bpg_buf env = BPG_BUF_INIT, payload = BPG_BUF_INIT, type = BPG_BUF_INIT, stmt = BPG_BUF_INIT;
	char rel[128];
	bpg_error err;

	read_vec(&stmt, "dsse/statement.json");
	for (size_t i = 0; i < 3; i++) {
		read_vec(&env, accept[i]);
		bpg_buf_clear(&payload);
		bpg_buf_clear(&type);
		cr_assert_eq(bpg_dsse_verify(&payload, &type, env.ptr, env.size, keys, 1, 1, &err), 0,
			"%s: %s", accept[i], err.message);
		cr_assert_str_eq(type.ptr, BPG_DSSE_INTOTO_TYPE);
		cr_assert_eq(payload.size, stmt.size);
		cr_assert_eq(memcmp(payload.ptr, stmt.ptr, stmt.size), 0);
	}
	for (size_t i = 0; i < 5; i++) {
		snprintf(rel, sizeof(rel), "dsse/negative/%s.json", reject[i]);
		read_vec(&env, rel);
		cr_assert_eq(bpg_dsse_verify(NULL, NULL, env.ptr, env.size, keys, 1, 1, &err), BPG_EVERIFY,
			"%s accepted", reject[i]);
	}
	cr_assert_eq(bpg_dsse_verify(NULL, NULL, "{\"payload\":1}", 13, keys, 1, 1, &err), BPG_EINVALID);
	bpg_dsse_key_free(k);
	bpg_buf_dispose(&env);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&type);
	bpg_buf_dispose(&stmt);
}

Test(audit, intoto_statement_and_signature_reproduce_vector)
{
	bpg_buf b = BPG_BUF_INIT, want = BPG_BUF_INIT, env = BPG_BUF_INIT, payload = BPG_BUF_INIT;
	bpg_dsse_key *k = NULL;
	const bpg_dsse_key *keys[1];
	json_t *stmt = NULL, *pred, *parsed = NULL;
	bpg_error err;

	cr_assert_eq(bpg_intoto_statement_new(&stmt, "https://example.com/makecom-release/approval/v1", &err), 0);
	cr_assert_eq(bpg_intoto_add_subject(stmt, "invoice-sync.blueprint.json", "sha256",
		"dc481b0a18f599c6e32d9e0a407912e16789210443227614694800aea40e9ce2", &err), 0);
	cr_assert_eq(bpg_intoto_add_subject(stmt, "x", "sha256", "DC48", &err), BPG_EINVALID);
	pred = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "scenario", "invoice-sync", "version", "1.2.3",
		"decision", "approved", "reviewer", "reviewer@example.com", "approvedAt", "2024-01-02T03:04:05Z",
		"gitCommit", "8e8f6da360fa5191c257b639323cf0ccb4ee92f7");
	cr_assert_eq(bpg_intoto_set_predicate(stmt, pred, &err), 0);
	cr_assert_eq(bpg_intoto_serialize(&b, stmt, &err), 0);
	read_vec(&want, "dsse/statement.json");
	cr_assert_eq(b.size, 452);
	cr_assert_eq(memcmp(b.ptr, want.ptr, 452), 0, "statement differs:\n%s", b.ptr);
	/* Sign with the vector key: Ed25519 is deterministic, the signature must match. */
	read_vec(&want, "dsse/test-only-dsse-ed25519.PRIVATE.pem");
	cr_assert_eq(bpg_dsse_key_parse_private(&k, want.ptr, want.size, &err), 0);
	cr_assert_eq(bpg_dsse_sign(&env, BPG_DSSE_INTOTO_TYPE, b.ptr, b.size, k, &err), 0);
	cr_assert(strstr(env.ptr, "\"sig\":\"93bAdw/huKdVonikgzvby7IPpTpkoavFduTtLlYQCrgiEwnFyPoB5BK8Sg1eneXKqKdA/trjmAZ/iTpj0uLcDQ==\""), "%s", env.ptr);
	cr_assert(strstr(env.ptr, "\"keyid\":\"SHA256:f3gmPQAsL0Vhu7qOfHaIwTq6HaHa4wPqaf8sFfV2wf0\""));
	keys[0] = k;
	cr_assert_eq(bpg_dsse_verify(&payload, NULL, env.ptr, env.size, keys, 1, 1, &err), 0);
	cr_assert_eq(bpg_intoto_parse(&parsed, payload.ptr, payload.size, &err), 0, "%s", err.message);
	cr_assert(bpg_intoto_has_sha256(parsed, "dc481b0a18f599c6e32d9e0a407912e16789210443227614694800aea40e9ce2"));
	cr_assert_not(bpg_intoto_has_sha256(parsed, "00"));
	cr_assert_eq(bpg_dsse_verify(NULL, NULL, env.ptr, env.size, keys, 1, 2, &err), BPG_EVERIFY);
	json_decref(parsed);
	cr_assert_eq(bpg_intoto_parse(&parsed, "{\"_type\":\"x\"}", 13, &err), BPG_EINVALID);
	json_decref(stmt);
	bpg_dsse_key_free(k);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&env);
	bpg_buf_dispose(&payload);
}
