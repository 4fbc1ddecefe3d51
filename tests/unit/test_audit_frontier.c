/*
 * The audit log's Merkle frontier (issue #20): roots and consistency proofs
 * from the frontier equal the full recomputation for every size 1..300;
 * appends through bpg_audit_open_append() give the same checkpoints as the
 * full tree; every tampering the cheap append can see is refused with its
 * exact message; crashes at both commit points recover; verify_since reads
 * only what is new and refuses a kept checkpoint the log does not extend.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpgate/audit.h"
#include "bpgate/util.h"

#define ORIGIN "audit.example.com/frontier-test"

/* ------------------------------------------------------------ helpers */

static bpg_note_signer *signer(unsigned char b)
{
	unsigned char seed[32];
	bpg_note_signer *s = NULL;
	bpg_error err;

	memset(seed, b, sizeof(seed));
	cr_assert_eq(bpg_note_signer_from_seed(&s, ORIGIN, seed, &err), 0, "%s", err.message);
	return s;
}

static bpg_note_verifier *verifier(const bpg_note_signer *s)
{
	bpg_note_verifier *v = NULL;
	bpg_error err;

	cr_assert_eq(bpg_note_verifier_from_signer(&v, s, &err), 0, "%s", err.message);
	return v;
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/bpg-frontier-XXXXXX");
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

static void file_put(const char *dir, const char *name, const char *data, size_t len)
{
	char p[512];
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	cr_assert_eq(bpg_file_write_atomic(p, data, len, 0640, &err), 0, "%s", err.message);
}

static void file_add(const char *dir, const char *name, const char *data)
{
	bpg_buf b = BPG_BUF_INIT;

	file_get(&b, dir, name);
	cr_assert_eq(bpg_buf_puts(&b, data), 0);
	file_put(dir, name, b.ptr, b.size);
	bpg_buf_dispose(&b);
}

static bool exists(const char *dir, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static int append_n(const char *dir, const bpg_note_signer *s, uint64_t from, uint64_t n, bpg_error *err)
{
	bpg_audit_log *log = NULL;
	int rc = bpg_audit_open_append(&log, dir, err);

	for (uint64_t i = from; rc == 0 && i < from + n; i++) {
		char e[128];
		int len = snprintf(e, sizeof(e), "{\"seq\":%llu,\"pad\":\"%.*s\"}", (unsigned long long)i,
			(int)(i * 7 % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		uint64_t idx = 0;

		rc = bpg_audit_append(log, e, (size_t)len, s, &idx, err);
		if (rc == 0)
			cr_assert_eq(idx, i);
	}
	bpg_audit_free(log);
	return rc;
}

static int append1(const char *dir, const bpg_note_signer *s, const char *e, bpg_error *err)
{
	bpg_audit_log *log = NULL;
	int rc = bpg_audit_open_append(&log, dir, err);

	if (rc == 0)
		rc = bpg_audit_append(log, e, strlen(e), s, NULL, err);
	bpg_audit_free(log);
	return rc;
}

/* Full open + verify; the log's frontier file equals the one from a full pass. */
static void check_full(const char *dir, const bpg_note_signer *s, uint64_t want)
{
	bpg_note_verifier *v = verifier(s);
	bpg_audit_log *log = NULL;
	bpg_audit_frontier f, g;
	bpg_buf b = BPG_BUF_INIT, want_text = BPG_BUF_INIT;
	bpg_hash root;
	bpg_error err;
	char p[512];

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_verify(log, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_size(log), want);
	cr_assert_eq(bpg_audit_root(&root, log, want, &err), 0);
	cr_assert_arr_eq(root.b, bpg_audit_checkpoint(log)->root.b, 32);
	cr_assert_eq(bpg_audit_frontier_of(&f, log, want, &err), 0, "%s", err.message);
	snprintf(p, sizeof(p), "%s/frontier", dir);
	cr_assert_eq(bpg_audit_frontier_load(&g, p, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_frontier_format(&want_text, &f, &err), 0);
	cr_assert_eq(bpg_audit_frontier_format(&b, &g, &err), 0);
	cr_assert_str_eq(b.ptr, want_text.ptr);
	bpg_audit_frontier_root(&root, &g);
	cr_assert_arr_eq(root.b, bpg_audit_checkpoint(log)->root.b, 32);
	bpg_audit_free(log);
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&want_text);
}

static void expect_refused(const char *dir, const bpg_note_signer *s, const char *msg)
{
	bpg_error err;

	cr_assert_eq(append1(dir, s, "{\"after\":\"tamper\"}", &err), BPG_EVERIFY, "append accepted");
	cr_assert_str_eq(err.message, msg);
}

/* ------------------------------------------------------------ Merkle */

Test(frontier, roots_equal_full_recomputation_1_to_300)
{
	bpg_hash leaves[300], a, b;
	bpg_merkle_frontier f;

	srand(20);
	bpg_merkle_frontier_init(&f);
	bpg_merkle_frontier_root(&a, &f);
	bpg_merkle_root(&b, leaves, 0);
	cr_assert_arr_eq(a.b, b.b, 32);
	for (size_t n = 1; n <= 300; n++) {
		unsigned char in[40];
		size_t len = (size_t)(rand() % 40);

		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)rand();
		bpg_merkle_leaf_hash(&leaves[n - 1], in, len);
		bpg_merkle_frontier_push(&f, &leaves[n - 1]);
		cr_assert_eq(f.size, n);
		cr_assert_eq(f.len, (size_t)__builtin_popcountll(n));
		bpg_merkle_frontier_root(&a, &f);
		bpg_merkle_root(&b, leaves, n);
		cr_assert_arr_eq(a.b, b.b, 32, "size %zu", n);
	}
}

Test(frontier, consistency_proofs_equal_full_ones)
{
	bpg_hash leaves[300];
	bpg_merkle_proof p, q;
	bpg_error err;
	size_t checked = 0;

	for (size_t i = 0; i < 300; i++)
		bpg_merkle_leaf_hash(&leaves[i], &i, sizeof(i));
	srand(6962);
	for (uint64_t n = 1; n <= 300; n++) {
		for (int k = 0; k < (n <= 70 ? (int)n + 1 : 6); k++) {
			uint64_t m = n <= 70 ? (uint64_t)k : (uint64_t)rand() % (n + 1);
			bpg_merkle_frontier f;
			bpg_hash r1, r2;

			bpg_merkle_frontier_init(&f);
			for (uint64_t i = 0; i < m; i++)
				bpg_merkle_frontier_push(&f, &leaves[i]);
			cr_assert_eq(bpg_merkle_consistency_proof(&q, leaves, m, n, &err), 0);
			cr_assert_eq(bpg_merkle_frontier_consistency_proof(&p, &f, leaves + m, n - m, &err), 0,
				"%llu -> %llu: %s", (unsigned long long)m, (unsigned long long)n, err.message);
			cr_assert_eq(p.len, q.len, "%llu -> %llu", (unsigned long long)m, (unsigned long long)n);
			for (size_t i = 0; i < p.len; i++)
				cr_assert_arr_eq(p.h[i].b, q.h[i].b, 32);
			bpg_merkle_root(&r1, leaves, m);
			bpg_merkle_root(&r2, leaves, n);
			cr_assert_eq(bpg_merkle_verify_consistency(m, n, &r1, &r2, &p, &err), 0, "%s", err.message);
			checked++;
		}
	}
	cr_assert_gt(checked, 3000);
}

Test(frontier, file_format_is_strict)
{
	static const char *bad[] = {
		"",
		"bpgate-audit-frontier v2\nsize 0\nlength 0\n",
		"bpgate-audit-frontier v1\nsize 0\nlength 5\n",
		"bpgate-audit-frontier v1\nsize 01\nlength 5\n",
		"bpgate-audit-frontier v1\nsize 1\nlength 5\nlast 5\nleaf " "00000000000000000000000000000000"
		"00000000000000000000000000000000\n",
		/* size 3: popcount(2) = 1 node expected, none given */
		"bpgate-audit-frontier v1\nsize 3\nlength 90\nlast 60\nleaf " "00000000000000000000000000000000"
		"00000000000000000000000000000000\n",
		"bpgate-audit-frontier v1\nsize 1\nlength 9\nlast 0\nleaf " "00000000000000000000000000000000"
		"00000000000000000000000000000000\nnode " "00000000000000000000000000000000"
		"00000000000000000000000000000000\n",
	};
	bpg_audit_frontier f;
	bpg_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_assert_eq(bpg_audit_frontier_parse(&f, bad[i], strlen(bad[i]), &err), BPG_EINVALID, "%zu", i);
	cr_assert_eq(bpg_audit_frontier_parse(&f, bad[6], strlen(bad[6]), &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "frontier line 6: expected 0 \"node <64 hex>\" lines in all");
}

/* ------------------------------------------------------------ appends */

Test(frontier, appends_give_the_full_roots_1_to_300)
{
	bpg_note_signer *s = signer(1);
	char *dir = tmpdir();
	bpg_error err;

	srand(300);
	for (uint64_t n = 0; n < 300;) {
		uint64_t k = 1 + (uint64_t)rand() % 9;

		if (n + k > 300)
			k = 300 - n;
		cr_assert_eq(append_n(dir, s, n, k, &err), 0, "%s", err.message);
		n += k;
		check_full(dir, s, n);
	}
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

Test(frontier, old_log_without_frontier_is_migrated_by_one_full_pass)
{
	bpg_note_signer *s = signer(2);
	char *dir = tmpdir(), p[512];
	bpg_error err;

	cr_assert_eq(append_n(dir, s, 0, 17, &err), 0, "%s", err.message);
	snprintf(p, sizeof(p), "%s/frontier", dir);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(append_n(dir, s, 17, 1, &err), 0, "%s", err.message);
	cr_assert(exists(dir, "frontier"));
	check_full(dir, s, 18);
	/* A damaged old log is still refused by the migration's full check. */
	cr_assert_eq(unlink(p), 0);
	{
		bpg_buf b = BPG_BUF_INIT;
		char *x;

		file_get(&b, dir, "entries");
		x = strstr(b.ptr, "{\"seq\":3,");
		x[7] = '4';
		file_put(dir, "entries", b.ptr, b.size);
		bpg_buf_dispose(&b);
	}
	cr_assert_eq(append1(dir, s, "{\"x\":1}", &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message,
		"refusing to append to a log that does not verify: entry 3 tampered: the bytes at line 4 do not match its recorded leaf hash");
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

/* ------------------------------------------------------------ tampering */

typedef struct {
	char *dir;
	bpg_note_signer *s;
	bpg_buf entries, cp, frontier, msg;
} fx;

static void fx_init(fx *x, uint64_t n)
{
	bpg_error err;

	memset(x, 0, sizeof(*x));
	x->dir = tmpdir();
	x->s = signer(3);
	cr_assert_eq(append_n(x->dir, x->s, 0, n, &err), 0, "%s", err.message);
	file_get(&x->entries, x->dir, "entries");
	file_get(&x->cp, x->dir, "checkpoint");
	file_get(&x->frontier, x->dir, "frontier");
}

static const char *fx_msg(fx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *fx_msg(fx *x, const char *fmt, ...)
{
	va_list ap;

	bpg_buf_clear(&x->msg);
	va_start(ap, fmt);
	cr_assert_eq(bpg_buf_vprintf(&x->msg, fmt, ap), 0);
	va_end(ap);
	return x->msg.ptr;
}

static void fx_free(fx *x)
{
	bpg_note_signer_free(x->s);
	bpg_buf_dispose(&x->entries);
	bpg_buf_dispose(&x->cp);
	bpg_buf_dispose(&x->frontier);
	bpg_buf_dispose(&x->msg);
	rmdir_flat(x->dir);
	free(x->dir);
}

#define REFUSE "refusing to append to a log that does not verify: "

Test(frontier, edited_frontier_node_is_refused)
{
	fx x;
	char *node;

	fx_init(&x, 13); /* 12 = 0b1100: two nodes */
	node = strstr(x.frontier.ptr, "node ");
	node[5] = node[5] == '0' ? '1' : '0';
	file_put(x.dir, "frontier", x.frontier.ptr, x.frontier.size);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/frontier does not match the signed checkpoint (13 entries): the root computed from it differs; the frontier or the entries were edited. Run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier", x.dir));
	/* The advertised cure works: a full verify passes, repair rebuilds the frontier. */
	{
		bpg_audit_log *log = NULL;
		bpg_error err;

		cr_assert_eq(bpg_audit_open(&log, x.dir, &err), 0);
		cr_assert_eq(bpg_audit_repair(log, NULL, &err), 0, "%s", err.message);
		bpg_audit_free(log);
		cr_assert_eq(append_n(x.dir, x.s, 13, 1, &err), 0, "%s", err.message);
		check_full(x.dir, x.s, 14);
	}
	fx_free(&x);
}

Test(frontier, edited_frontier_leaf_is_refused)
{
	fx x;
	char *leaf;

	fx_init(&x, 8);
	leaf = strstr(x.frontier.ptr, "leaf ");
	leaf[10] = leaf[10] == 'a' ? 'b' : 'a';
	file_put(x.dir, "frontier", x.frontier.ptr, x.frontier.size);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries: entry 7 is not the entry the signed checkpoint covers (its hash differs from the frontier's): rewritten", x.dir));
	fx_free(&x);
}

Test(frontier, malformed_frontier_is_refused)
{
	fx x;

	fx_init(&x, 5);
	file_put(x.dir, "frontier", "bpgate-audit-frontier v1\nsize 5\n", 32);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier: %s/frontier: frontier line 3: expected \"length BYTES\"", x.dir));
	fx_free(&x);
}

Test(frontier, truncated_log_is_refused)
{
	fx x;

	fx_init(&x, 6);
	file_put(x.dir, "entries", x.entries.ptr, x.entries.size - 10);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries is %zu bytes but the 6 entries of %s/frontier end at byte %zu: log truncated; run `bpgate audit verify` (full)", x.dir, x.entries.size - 10, x.dir, x.entries.size));
	/* a whole record cut: the same */
	{
		char *last = x.entries.ptr + x.entries.size - 2;

		while (*last != '\n')
			last--;
		file_put(x.dir, "entries", x.entries.ptr, (size_t)(last - x.entries.ptr) + 1);
		expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries is %zu bytes but the 6 entries of %s/frontier end at byte %zu: log truncated; run `bpgate audit verify` (full)", x.dir, (size_t)(last - x.entries.ptr) + 1, x.dir, x.entries.size));
	}
	fx_free(&x);
}

Test(frontier, log_extended_by_hand_is_refused)
{
	fx x;
	bpg_buf b = BPG_BUF_INIT;
	bpg_hash h;
	char hex[65];

	fx_init(&x, 4);
	/* Two well-formed records 4 and 5: an interrupted append leaves at most one. */
	bpg_merkle_leaf_hash(&h, "{\"a\":4}", 7);
	bpg_hex_encode(hex, h.b, 32);
	cr_assert_eq(bpg_buf_printf(&b, "4 %s {\"a\":4}\n", hex), 0);
	bpg_merkle_leaf_hash(&h, "{\"a\":5}", 7);
	bpg_hex_encode(hex, h.b, 32);
	cr_assert_eq(bpg_buf_printf(&b, "5 %s {\"a\":5}\n", hex), 0);
	file_add(x.dir, "entries", b.ptr);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries: %zu bytes after the 4 committed entries (offset %zu) hold more than one line: not what an interrupted append leaves, the log was extended by hand. Run `bpgate audit verify`, keep a copy of the file, then `bpgate audit repair` (saves and removes them)", x.dir, b.size, x.entries.size));
	/* One foreign line (not record 4 with its hash). */
	file_put(x.dir, "entries", x.entries.ptr, x.entries.size);
	file_add(x.dir, "entries", "4 0000000000000000000000000000000000000000000000000000000000000000 {\"a\":4}\n");
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries: the line after the 4 committed entries (offset %zu) is not record 4 with its hash: not what an interrupted append leaves, the log was extended by hand. Run `bpgate audit verify`, keep a copy of the file, then `bpgate audit repair` (saves and removes it)", x.dir, x.entries.size));
	bpg_buf_dispose(&b);
	fx_free(&x);
}

Test(frontier, checkpoint_mismatch_is_refused)
{
	fx x;
	bpg_buf old_cp = BPG_BUF_INIT;
	bpg_error err;

	fx_init(&x, 9);
	/* Checkpoint swapped for an older, validly signed one: the frontier is ahead. */
	{
		bpg_buf e = BPG_BUF_INIT, f = BPG_BUF_INIT;

		cr_assert_eq(append_n(x.dir, x.s, 9, 2, &err), 0, "%s", err.message);
		file_get(&e, x.dir, "entries");
		file_get(&f, x.dir, "frontier");
		file_put(x.dir, "checkpoint", x.cp.ptr, x.cp.size);
		expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/frontier covers 11 entries but the signed checkpoint only 9: the checkpoint was rolled back or the frontier edited; run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier", x.dir));
		bpg_buf_dispose(&e);
		bpg_buf_dispose(&f);
	}
	/* A checkpoint of the same size with another root (signed by the key: a fork). */
	{
		bpg_checkpoint cp = { .origin = ORIGIN, .size = 9 };

		memset(cp.root.b, 7, 32);
		cr_assert_eq(bpg_checkpoint_sign(&old_cp, &cp, x.s, &err), 0);
		file_put(x.dir, "entries", x.entries.ptr, x.entries.size);
		file_put(x.dir, "frontier", x.frontier.ptr, x.frontier.size);
		file_put(x.dir, "checkpoint", old_cp.ptr, old_cp.size);
		expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/frontier does not match the signed checkpoint (9 entries): the root computed from it differs; the frontier or the entries were edited. Run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier", x.dir));
	}
	/* A checkpoint signed by another key. */
	{
		bpg_note_signer *other = signer(9);
		bpg_checkpoint cp = { .origin = ORIGIN, .size = 9 };
		bpg_hash root;

		bpg_audit_frontier f;
		cr_assert_eq(bpg_audit_frontier_parse(&f, x.frontier.ptr, x.frontier.size, &err), 0);
		bpg_audit_frontier_root(&root, &f);
		cp.root = root;
		bpg_buf_clear(&old_cp);
		cr_assert_eq(bpg_checkpoint_sign(&old_cp, &cp, other, &err), 0);
		file_put(x.dir, "checkpoint", old_cp.ptr, old_cp.size);
		cr_assert_eq(append1(x.dir, x.s, "{\"x\":1}", &err), BPG_EVERIFY);
		cr_assert(strncmp(err.message, REFUSE, strlen(REFUSE)) == 0, "%s", err.message);
		cr_assert(strstr(err.message, "/checkpoint: "), "%s", err.message);
		bpg_note_signer_free(other);
	}
	bpg_buf_dispose(&old_cp);
	fx_free(&x);
}

Test(frontier, rewritten_last_entry_is_refused_earlier_ones_left_to_full_verify)
{
	fx x;
	bpg_buf b = BPG_BUF_INIT;
	bpg_note_verifier *v;
	bpg_audit_log *log = NULL;
	bpg_hash h;
	bpg_error err;
	char hex[65], *last, *x3;

	fx_init(&x, 10);
	/* The last record rewritten consistently: same length, its own new hash, same index. */
	last = x.entries.ptr + x.entries.size - 2;
	while (*last != '\n')
		last--;
	{
		char *ent = strchr(last + 3, ' ') + 1, *pad = strstr(ent, "\"pad\":\"x") + 7;
		size_t elen = (size_t)(x.entries.ptr + x.entries.size - 1 - ent);

		cr_assert_eq(bpg_buf_put(&b, x.entries.ptr, x.entries.size), 0);
		pad = b.ptr + (pad - x.entries.ptr);
		*pad = 'y';
		bpg_merkle_leaf_hash(&h, b.ptr + (ent - x.entries.ptr), elen);
		bpg_hex_encode(hex, h.b, 32);
		memcpy(b.ptr + (last + 3 - x.entries.ptr), hex, 64);
	}
	file_put(x.dir, "entries", b.ptr, b.size);
	expect_refused(x.dir, x.s, fx_msg(&x, REFUSE "%s/entries: entry 9 is not the entry the signed checkpoint covers (its hash differs from the frontier's): rewritten", x.dir));
	/* An earlier entry edited in place (same length): the cheap append does not
	 * re-read it (documented); the full verify names it. */
	file_put(x.dir, "entries", x.entries.ptr, x.entries.size);
	x3 = strstr(x.entries.ptr, "{\"seq\":3,");
	x3[7] = '4';
	file_put(x.dir, "entries", x.entries.ptr, x.entries.size);
	cr_assert_eq(append1(x.dir, x.s, "{\"x\":1}", &err), 0, "%s", err.message);
	v = verifier(x.s);
	cr_assert_eq(bpg_audit_open(&log, x.dir, &err), 0);
	cr_assert_eq(bpg_audit_verify(log, v, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "entry 3 tampered: the bytes at line 4 do not match its recorded leaf hash");
	bpg_audit_free(log);
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&b);
	fx_free(&x);
}

/* ------------------------------------------------------------ crashes */

/* Append in a child stopped at test point `at` (BPGATE_TEST_PAUSE_AT), then kill it there. */
static void crash_at(const char *dir, const bpg_note_signer *s, const char *at)
{
	int st = 0;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		bpg_error err;

		setenv("BPGATE_TEST_PAUSE_AT", at, 1);
		_exit(append1(dir, s, "{\"crashed\":true}", &err) == 0 ? 0 : 3);
	}
	cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
	cr_assert(WIFSTOPPED(st), "the child did not stop at %s (status %d): a build without test hooks?", at, st);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
}

Test(frontier, crash_between_checkpoint_and_frontier_catches_up)
{
	fx x;
	bpg_buf f = BPG_BUF_INIT;
	bpg_error err;

	fx_init(&x, 6);
	crash_at(x.dir, x.s, "audit-checkpoint-written");
	/* Committed (checkpoint of 7) while the frontier still says 6. */
	file_get(&f, x.dir, "frontier");
	cr_assert_str_eq(f.ptr, x.frontier.ptr);
	cr_assert_eq(append_n(x.dir, x.s, 7, 1, &err), 0, "%s", err.message);
	check_full(x.dir, x.s, 8);
	bpg_buf_dispose(&f);
	fx_free(&x);
}

Test(frontier, crash_between_record_and_checkpoint_cuts_the_record)
{
	fx x;
	bpg_buf e = BPG_BUF_INIT;
	bpg_error err;
	DIR *d;
	struct dirent *de;
	int torn = 0;

	fx_init(&x, 6);
	crash_at(x.dir, x.s, "audit-record-written");
	file_get(&e, x.dir, "entries");
	cr_assert_gt(e.size, x.entries.size); /* the record is there, uncommitted */
	cr_assert_eq(append_n(x.dir, x.s, 6, 1, &err), 0, "%s", err.message);
	check_full(x.dir, x.s, 7);
	d = opendir(x.dir);
	while ((de = readdir(d)))
		torn += strncmp(de->d_name, "torn-", 5) == 0;
	closedir(d);
	cr_assert_eq(torn, 1);
	/* A torn prefix of a record (no LF) is cut too. */
	file_add(x.dir, "entries", "7 abc");
	cr_assert_eq(append_n(x.dir, x.s, 7, 1, &err), 0, "%s", err.message);
	check_full(x.dir, x.s, 8);
	bpg_buf_dispose(&e);
	fx_free(&x);
}

Test(frontier, concurrent_appenders_keep_the_frontier)
{
	enum { KIDS = 4, EACH = 20 };
	bpg_note_signer *s = signer(4);
	char *dir = tmpdir();
	bpg_error err;

	for (int k = 0; k < KIDS; k++) {
		pid_t pid = fork();

		cr_assert_geq(pid, 0);
		if (pid == 0) {
			for (int i = 0; i < EACH; i++) {
				char e[64];
				bpg_audit_log *l = NULL;

				snprintf(e, sizeof(e), "{\"kid\":%d,\"n\":%d}", k, i);
				if (bpg_audit_open_append(&l, dir, &err) < 0 ||
				    bpg_audit_append(l, e, strlen(e), s, NULL, &err) < 0) {
					fprintf(stderr, "kid %d: %s\n", k, err.message);
					_exit(4);
				}
				bpg_audit_free(l);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		int st = 0;

		cr_assert_gt(wait(&st), 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a child failed: %d", st);
	}
	check_full(dir, s, KIDS * EACH);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

/* ------------------------------------------------------------ verify --since */

/* Keep (checkpoint, frontier) after a full verify, as an auditor would. */
static void keep(bpg_checkpoint *cp, bpg_audit_frontier *f, const char *dir, const bpg_note_signer *s)
{
	bpg_note_verifier *v = verifier(s);
	bpg_audit_log *log = NULL;
	bpg_error err;

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	cr_assert_eq(bpg_audit_verify(log, v, &err), 0, "%s", err.message);
	*cp = *bpg_audit_checkpoint(log);
	cr_assert_eq(bpg_audit_frontier_of(f, log, cp->size, &err), 0);
	bpg_audit_free(log);
	bpg_note_verifier_free(v);
}

Test(frontier, verify_since_checks_only_new_entries)
{
	bpg_note_signer *s = signer(5);
	bpg_note_verifier *v = verifier(s);
	char *dir = tmpdir();
	bpg_checkpoint kept, now;
	bpg_audit_frontier f, g, h;
	bpg_buf e = BPG_BUF_INIT;
	uint64_t added = 99;
	bpg_error err;
	char *x;

	for (uint64_t old = 0; old < 40; old += 7) {
		rmdir_flat(dir);
		cr_assert_eq(mkdir(dir, 0700), 0);
		cr_assert_eq(append_n(dir, s, 0, old + 1, &err), 0, "%s", err.message);
		keep(&kept, &f, dir, s);
		for (uint64_t more = 0; more < 20; more += 3) {
			cr_assert_eq(bpg_audit_verify_since(&g, &added, dir, v, &kept, &f, &err), 0,
				"%llu+%llu: %s", (unsigned long long)old, (unsigned long long)more, err.message);
			cr_assert_eq(added, g.size - kept.size);
			keep(&now, &h, dir, s);
			cr_assert_eq(g.size, h.size);
			cr_assert_eq(g.length, h.length);
			cr_assert_arr_eq(g.last_leaf.b, h.last_leaf.b, 32);
			cr_assert_eq(append_n(dir, s, g.size, 3, &err), 0, "%s", err.message);
		}
	}
	/* Entries before the kept checkpoint are not re-read (that is the full verify's job). */
	file_get(&e, dir, "entries");
	x = strstr(e.ptr, "{\"seq\":2,");
	x[7] = '5';
	file_put(dir, "entries", e.ptr, e.size);
	cr_assert_eq(bpg_audit_verify_since(NULL, &added, dir, v, &kept, &f, &err), 0, "%s", err.message);
	/* A new entry tampered is named. */
	file_get(&e, dir, "entries");
	x = strstr(e.ptr, "{\"seq\":40,");
	x[9] = '1';
	file_put(dir, "entries", e.ptr, e.size);
	cr_assert_eq(bpg_audit_verify_since(NULL, &added, dir, v, &kept, &f, &err), BPG_EVERIFY);
	{
		bpg_buf m = BPG_BUF_INIT;
		size_t off = (size_t)(strstr(e.ptr, "\n40 ") + 1 - e.ptr);

		cr_assert_eq(bpg_buf_printf(&m, "%s/entries: entry 40 tampered: its bytes (offset %zu) do not match its recorded leaf hash", dir, off), 0);
		cr_assert_str_eq(err.message, m.ptr);
		bpg_buf_dispose(&m);
	}
	bpg_buf_dispose(&e);
	bpg_note_verifier_free(v);
	bpg_note_signer_free(s);
	rmdir_flat(dir);
	free(dir);
}

#define Y28 "yyyyyyyyyyyyyyyyyyyyyyyyyyyy"
#define Z37 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

Test(frontier, verify_since_refuses_a_kept_checkpoint_that_is_not_a_prefix)
{
	bpg_note_signer *s = signer(6);
	bpg_note_verifier *v = verifier(s);
	char *a = tmpdir(), *b = tmpdir();
	bpg_checkpoint kept;
	bpg_audit_frontier f, bad;
	bpg_error err;

	/* The auditor verified log A at 12 entries; the operator then serves B, a
	 * rewrite signed with the same key: entry 4 differs, entries 5..11 and the
	 * byte offsets are the same, and it goes on to 20. */
	cr_assert_eq(append_n(a, s, 0, 12, &err), 0);
	keep(&kept, &f, a, s);
	cr_assert_eq(append_n(b, s, 0, 4, &err), 0);
	cr_assert_eq(append1(b, s, "{\"seq\":4,\"pad\":\"" Y28 "\"}", &err), 0);
	cr_assert_eq(append_n(b, s, 5, 15, &err), 0);
	cr_assert_eq(bpg_audit_verify_since(NULL, NULL, b, v, &kept, &f, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "log rewritten: the entries after the kept checkpoint do not lead to the signed root (consistency proof 12 -> 20 fails)");
	/* A rewrite that changes the kept checkpoint's last entry. */
	rmdir_flat(b);
	cr_assert_eq(mkdir(b, 0700), 0);
	cr_assert_eq(append_n(b, s, 0, 11, &err), 0);
	cr_assert_eq(append1(b, s, "{\"seq\":11,\"pad\":\"" Z37 "\"}", &err), 0);
	cr_assert_eq(append_n(b, s, 12, 3, &err), 0);
	cr_assert_eq(bpg_audit_verify_since(NULL, NULL, b, v, &kept, &f, &err), BPG_EVERIFY);
	{
		bpg_buf m = BPG_BUF_INIT;

		cr_assert_eq(bpg_buf_printf(&m, "log rewritten before the kept checkpoint: %s/entries: entry 11 is not the entry the signed checkpoint covers (its hash differs from the frontier's): rewritten", b), 0);
		cr_assert_str_eq(err.message, m.ptr);
		bpg_buf_dispose(&m);
	}
	/* Rolled back: A is kept at 12, the log served has 5. */
	rmdir_flat(b);
	cr_assert_eq(mkdir(b, 0700), 0);
	cr_assert_eq(append_n(b, s, 0, 5, &err), 0);
	cr_assert_eq(bpg_audit_verify_since(NULL, NULL, b, v, &kept, &f, &err), BPG_EVERIFY);
	cr_assert_str_eq(err.message, "log rolled back: its checkpoint covers 5 entries, the one you kept covers 12");
	/* A frontier that is not the kept checkpoint's. */
	bad = f;
	bad.last_leaf.b[0] ^= 1;
	cr_assert_eq(bpg_audit_verify_since(NULL, NULL, a, v, &kept, &bad, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "the frontier kept with the checkpoint (12 entries) does not describe it (12 entries): not its frontier, or edited");
	cr_assert_eq(bpg_audit_verify_since(NULL, NULL, a, v, &kept, &f, &err), 0, "%s", err.message);
	bpg_note_verifier_free(v);
	bpg_note_signer_free(s);
	rmdir_flat(a);
	rmdir_flat(b);
	free(a);
	free(b);
}
