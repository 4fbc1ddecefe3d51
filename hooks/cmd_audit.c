/*
 * `bpgate audit ...`: the tamper-evident audit log (keygen, append,
 * checkpoint, verify, prove, check-proof, consistency, repair, syslog,
 * export: chain-of-custody rows and change metrics, evidence.h).
 * `bpgate evidence` is in cmd_evidence.c.
 *
 * Exit codes: 0 verified / done, 1 verification failed (tampering, forgery,
 * rollback), 2 usage or input error.
 */
#include "cli.h"
#include "audit_witness.h"
#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "bpgate/evidence.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <git2.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_FORMAT = 1000, OPT_SINCE, OPT_FROM, OPT_HOSTNAME, OPT_SEND, OPT_SYSLOG, OPT_OUT, OPT_UNTIL, OPT_REPO,
	OPT_ENV, OPT_METRICS, OPT_STATE, OPT_WITNESS, OPT_SAVE };

#define AUDIT_USAGE \
	"bpgate audit <command> [--log DIR] [--key VKEY]\n" \
	"  keygen NAME [--out PREFIX]      new log key: PREFIX.skey (secret, 0600), PREFIX.vkey\n" \
	"  append --signing-key SKEY [--syslog[=SOCKET]]   append the JSON entry read from stdin\n" \
	"  checkpoint                      print the latest signed checkpoint\n" \
	"  verify [--since CHECKPOINT] [--save FILE]   check every entry against the latest checkpoint;\n" \
	"                                  with CHECKPOINT.frontier beside it (--save writes both), only the new ones\n" \
	"  witness add FILE...|-           keep checkpoints (a note, or a push's output) to check the log against\n" \
	"  witness show                    what this verifier kept\n" \
	"  prove N [--format text|json]    inclusion proof of entry N\n" \
	"  check-proof FILE                check a JSON inclusion proof offline (needs --key)\n" \
	"  consistency OLD [NEW] [--format text|json]   OLD/NEW: a tree size or a checkpoint file\n" \
	"  repair                          remove an interrupted append's tail (saved to torn-*)\n" \
	"  syslog [--from N] [--hostname H] [--send[=SOCKET]]   RFC 5424 lines\n" \
	"  export --since DATE --until DATE [--format json|csv] [--metrics] [--repo DIR] [--env ENV]\n" \
	"                                  chain-of-custody rows and change metrics of the releases\n" \
	"DIR (--log or --audit-dir) defaults to $BPGATE_AUDIT_DIR, else ./bpgate-audit; VKEY to DIR/log.vkey\n" \
	"verify, prove, consistency, checkpoint and export refuse a log that does not extend the newest\n" \
	"checkpoint kept in --state DIR (default $BPGATE_AUDIT_STATE, $XDG_STATE_HOME/bpgate/audit,\n" \
	"~/.local/state/bpgate/audit) or any --witness FILE, and keep the log's checkpoint when newer"

typedef struct {
	const char *dir, *key, *signing_key, *since, *hostname, *out, *send, *syslog, *until, *repo, *env, *save;
	bool json, csv, metrics, send_set, syslog_set;
	uint64_t from;
	audit_witness_opts *wo;
} audit_opts;

/* Every command that reads a log: no going back from what this verifier has seen. */
static int guard(const bpg_audit_log *log, const bpg_note_verifier *v, const audit_opts *o, bpg_error *err)
{
	return audit_witness_guard(o->wo, log, v, err);
}

static int fail(const char *cmd, const bpg_error *err)
{
	cli_report_error(cmd, err);
	return err->code == BPG_EVERIFY ? BPG_EXIT_FINDINGS : BPG_EXIT_ERROR;
}

static int parse_u64(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Open an existing log (reading commands never create one). */
static int open_existing(bpg_audit_log **out, const audit_opts *o, bpg_error *err)
{
	*out = NULL;
	if (!is_dir(o->dir))
		return bpg_error_set(err, BPG_ENOTFOUND,
			"no audit log at %s; pass --log DIR or set BPGATE_AUDIT_DIR", o->dir);
	return bpg_audit_open(out, o->dir, err);
}

/* --key, else DIR/log.vkey with a warning: a key kept by the log proves little. */
static int load_vkey(bpg_note_verifier **out, const audit_opts *o, bool quiet, bpg_error *err)
{
	bpg_buf p = BPG_BUF_INIT;
	int rc;

	if (o->key)
		return bpg_note_verifier_load(out, o->key, err);
	if (bpg_buf_printf(&p, "%s/log.vkey", o->dir) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = bpg_note_verifier_load(out, p.ptr, err);
	if (rc == BPG_ENOTFOUND)
		rc = bpg_error_set(err, BPG_ENOTFOUND,
			"no verifier key: pass --key VKEY (the log's public key, e.g. audit.vkey)");
	else if (rc == 0 && !quiet)
		fprintf(stderr, "bpgate audit: warning: using the key stored in the log directory (%s); "
			"pass --key with a copy you hold to rule out a replaced key\n", p.ptr);
	bpg_buf_dispose(&p);
	return rc;
}

static void print_hash_b64_hex(const char *label, const bpg_hash *h)
{
	char hex[2 * BPG_HASH_SIZE + 1];
	bpg_hex_encode(hex, h->b, BPG_HASH_SIZE);
	printf("%-8s %s\n", label, hex);
}

static int audit_keygen(int argc, char **argv, const audit_opts *o)
{
	bpg_note_signer *s = NULL;
	bpg_buf skey = BPG_BUF_INIT, vkey = BPG_BUF_INIT, path = BPG_BUF_INIT;
	const char *prefix = o->out ? o->out : "audit";
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 1)
		return cli_usage("bpgate audit keygen NAME [--out PREFIX]   (NAME: e.g. git.example.com/audit)");
	if (bpg_note_signer_generate(&s, argv[0], &err) < 0 || bpg_note_signer_format(&skey, s) < 0 ||
	    bpg_buf_putc(&skey, '\n') < 0 || bpg_note_signer_vkey(&vkey, s) < 0 || bpg_buf_putc(&vkey, '\n') < 0 ||
	    bpg_buf_printf(&path, "%s.skey", prefix) < 0) {
		rc = fail("audit keygen", &err);
		goto done;
	}
	if (access(path.ptr, F_OK) == 0) {
		fprintf(stderr, "bpgate audit keygen: %s exists; not overwriting a key\n", path.ptr);
		rc = BPG_EXIT_ERROR;
		goto done;
	}
	if (bpg_file_write_atomic(path.ptr, skey.ptr, skey.size, 0600, &err) < 0) {
		rc = fail("audit keygen", &err);
		goto done;
	}
	bpg_buf_clear(&path);
	if (bpg_buf_printf(&path, "%s.vkey", prefix) < 0 ||
	    bpg_file_write_atomic(path.ptr, vkey.ptr, vkey.size, 0644, &err) < 0) {
		rc = fail("audit keygen", &err);
		goto done;
	}
	printf("%s", vkey.ptr);
	fprintf(stderr, "bpgate audit keygen: wrote %s.skey (secret) and %s.vkey\n", prefix, prefix);
done:
	bpg_buf_dispose(&skey);
	bpg_buf_dispose(&vkey);
	bpg_buf_dispose(&path);
	bpg_note_signer_free(s);
	return rc;
}

/* Send entry `index` (bytes e, elen) with the current checkpoint; failures are warnings. */
static void syslog_one(const bpg_audit_log *log, uint64_t index, const char *e, size_t elen,
	const char *socket_path)
{
	bpg_syslog_opts so = BPG_SYSLOG_OPTS_INIT;
	bpg_buf line = BPG_BUF_INIT;
	const char *note;
	size_t nlen = 0;
	bpg_error err;

	so.procid = (long)getpid();
	note = bpg_audit_checkpoint_note(log, &nlen);
	if (bpg_syslog_format(&line, &so, index, e, elen, note, nlen, &err) < 0 ||
	    bpg_syslog_send(socket_path, line.ptr, line.size, &err) < 0)
		fprintf(stderr, "bpgate audit: warning: entry %llu appended but not sent to syslog: %s\n",
			(unsigned long long)index, err.message);
	bpg_buf_dispose(&line);
}

static int audit_append(int argc, const audit_opts *o)
{
	bpg_note_signer *s = NULL;
	bpg_audit_log *log = NULL;
	bpg_buf in = BPG_BUF_INIT, vk = BPG_BUF_INIT, path = BPG_BUF_INIT;
	uint64_t index = 0;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 0 || !o->signing_key)
		return cli_usage("bpgate audit append --signing-key SKEY [--log DIR] [--syslog[=SOCKET]] < entry.json");
	if (bpg_note_signer_load(&s, o->signing_key, &err) < 0 ||
	    bpg_file_read(&in, "-", BPG_AUDIT_ENTRY_MAX + 2, &err) < 0) {
		rc = fail("audit append", &err);
		goto done;
	}
	/* One trailing LF (echo, heredocs) is not part of the entry. */
	if (in.size > 0 && in.ptr[in.size - 1] == '\n')
		in.size--;
	/* Opened for appending only: O(log n) with the frontier beside the checkpoint. */
	if (bpg_audit_open_append(&log, o->dir, &err) < 0 ||
	    bpg_audit_append(log, in.ptr ? in.ptr : "", in.size, s, &index, &err) < 0) {
		rc = fail("audit append", &err);
		goto done;
	}
	/* Publish the verifier key next to a new log for convenience (never replaced). */
	if (bpg_buf_printf(&path, "%s/log.vkey", o->dir) == 0 && access(path.ptr, F_OK) != 0 &&
	    bpg_note_signer_vkey(&vk, s) == 0 && bpg_buf_putc(&vk, '\n') == 0)
		(void)bpg_file_write_atomic(path.ptr, vk.ptr, vk.size, 0644, NULL);
	printf("%llu\n", (unsigned long long)index);
	if (o->syslog_set)
		syslog_one(log, index, in.ptr, in.size, o->syslog);
done:
	bpg_audit_free(log);
	bpg_note_signer_free(s);
	bpg_buf_dispose(&in);
	bpg_buf_dispose(&vk);
	bpg_buf_dispose(&path);
	return rc;
}

static int audit_checkpoint(const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_note_verifier *v = NULL;
	bpg_checkpoint cp;
	const char *note;
	size_t len = 0;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (open_existing(&log, o, &err) < 0) {
		rc = fail("audit checkpoint", &err);
		goto done;
	}
	if (!(note = bpg_audit_checkpoint_note(log, &len))) {
		fprintf(stderr, "bpgate audit checkpoint: %s has no checkpoint yet\n", o->dir);
		rc = BPG_EXIT_ERROR;
		goto done;
	}
	if (o->key && (load_vkey(&v, o, true, &err) < 0 ||
			bpg_checkpoint_open(&cp, note, len, v, NULL, &err) < 0 || bpg_audit_verify(log, v, &err) < 0 ||
			guard(log, v, o, &err) < 0)) {
		rc = fail("audit checkpoint", &err);
		goto done;
	}
	fwrite(note, 1, len, stdout);
done:
	bpg_note_verifier_free(v);
	bpg_audit_free(log);
	return rc;
}

static int read_kept_checkpoint(bpg_checkpoint *out, const char *path, const bpg_note_verifier *v,
	bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_file_read(&b, path, BPG_NOTE_MAX_BYTES, err)) == 0 &&
	    (rc = bpg_checkpoint_open(out, b.ptr ? b.ptr : "", b.size, v, NULL, err)) < 0)
		bpg_error_prefix(err, "%s: ", path);
	bpg_buf_dispose(&b);
	return rc;
}

/* --save FILE: the verified checkpoint note, and FILE.frontier for the next --since FILE. */
static int save_kept(const char *file, const char *note, size_t nlen, const bpg_audit_frontier *f,
	bpg_error *err)
{
	bpg_buf p = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_buf_printf(&p, "%s.frontier", file)) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	else if ((rc = bpg_audit_frontier_save(p.ptr, f, err)) == 0)
		rc = bpg_file_write_atomic(file, note, nlen, 0644, err);
	bpg_buf_dispose(&p);
	return rc;
}

static void print_witness_lines(const audit_opts *o)
{
	if (o->wo->had_kept)
		printf("ok: extends the newest checkpoint this verifier kept (%llu entries, %s)\n",
			(unsigned long long)o->wo->kept_before, o->wo->dir);
	else
		printf("note: no checkpoint kept before in %s: this run starts the record\n", o->wo->dir);
	if (o->wo->nfiles)
		printf("ok: extends the %zu witness file(s) given\n", o->wo->nfiles);
}

/*
 * verify --since KEPT when KEPT.frontier exists: only the entries after KEPT
 * are read and re-hashed (bpg_audit_verify_since). *done = false: take the
 * full path (no frontier kept, or the witness state asks for more).
 */
static int verify_since_fast(const audit_opts *o, const bpg_note_verifier *v, const bpg_checkpoint *kept,
	bool *done, bpg_error *err)
{
	bpg_buf fp = BPG_BUF_INIT;
	bpg_audit_frontier f, nf;
	bpg_audit_log *log = NULL;
	const bpg_checkpoint *cp;
	const char *why = NULL, *note;
	size_t nlen = 0;
	uint64_t added = 0;
	bpg_hash root;
	bool ok = false;
	int rc = 0;

	*done = false;
	if (bpg_buf_printf(&fp, "%s.frontier", o->since) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (access(fp.ptr, F_OK) != 0)
		goto done; /* nothing kept beside it: the full pass */
	if ((rc = bpg_audit_frontier_load(&f, fp.ptr, err)) < 0 ||
	    (rc = audit_witness_fast_ok(o->wo, kept, v, &ok, &why, err)) < 0)
		goto done;
	if (!ok) {
		printf("note: full verification: %s\n", why);
		goto done;
	}
	if (!is_dir(o->dir)) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "no audit log at %s; pass --log DIR or set BPGATE_AUDIT_DIR", o->dir);
		goto done;
	}
	if ((rc = bpg_audit_open_append(&log, o->dir, err)) < 0 ||
	    (rc = bpg_audit_verify_since(&nf, &added, o->dir, v, kept, &f, err)) < 0)
		goto done;
	cp = bpg_audit_checkpoint(log);
	bpg_audit_frontier_root(&root, &nf);
	if (!cp || cp->size != nf.size || memcmp(cp->root.b, root.b, BPG_HASH_SIZE) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s changed during the verification (an append?); run it again", o->dir);
		goto done;
	}
	if ((rc = audit_witness_keep_only(o->wo, log, v, err)) < 0)
		goto done;
	note = bpg_audit_checkpoint_note(log, &nlen);
	if (o->save && (rc = save_kept(o->save, note, nlen, &nf, err)) < 0)
		goto done;
	printf("ok: %llu new entries in %s after the kept checkpoint %s (%llu entries) match the checkpoint signed by %s+%08x (%llu entries)\n",
		(unsigned long long)added, o->dir, o->since, (unsigned long long)kept->size,
		bpg_note_verifier_name(v), bpg_note_verifier_keyid(v), (unsigned long long)cp->size);
	print_hash_b64_hex("root", &cp->root);
	printf("ok: extends the kept checkpoint %s (%llu entries): consistency %llu -> %llu proven\n", o->since,
		(unsigned long long)kept->size, (unsigned long long)kept->size, (unsigned long long)cp->size);
	printf("note: the %llu entries before it were not re-read (verified when it was kept); a full `bpgate audit verify` re-checks them\n",
		(unsigned long long)kept->size);
	print_witness_lines(o);
	if (o->save)
		printf("kept: %s and %s.frontier (%llu entries) for the next --since\n", o->save, o->save,
			(unsigned long long)cp->size);
	*done = true;
done:
	bpg_audit_free(log);
	bpg_buf_dispose(&fp);
	return rc;
}

static int audit_verify(const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_note_verifier *v = NULL;
	const bpg_checkpoint *cp;
	bpg_checkpoint kept;
	bpg_audit_frontier f;
	bpg_audit_tail t;
	bpg_error err;
	bool done = false;
	int rc = BPG_EXIT_OK;

	if (o->since && (!is_dir(o->dir) ? open_existing(&log, o, &err) < 0 :
			load_vkey(&v, o, false, &err) < 0 || read_kept_checkpoint(&kept, o->since, v, &err) < 0 ||
			verify_since_fast(o, v, &kept, &done, &err) < 0)) {
		rc = fail("audit verify", &err);
		goto done;
	}
	if (done)
		goto done;
	if (open_existing(&log, o, &err) < 0 || (!v && load_vkey(&v, o, false, &err) < 0) ||
	    bpg_audit_verify(log, v, &err) < 0) {
		rc = fail("audit verify", &err);
		goto done;
	}
	if (guard(log, v, o, &err) < 0) {
		rc = fail("audit verify", &err);
		goto done;
	}
	cp = bpg_audit_checkpoint(log);
	if (o->since && bpg_audit_check_extends(log, &kept, &err) < 0) {
		rc = fail("audit verify", &err);
		goto done;
	}
	if (o->save) {
		const char *note;
		size_t nlen = 0;

		note = bpg_audit_checkpoint_note(log, &nlen);
		if (bpg_audit_frontier_of(&f, log, cp->size, &err) < 0 || save_kept(o->save, note, nlen, &f, &err) < 0) {
			rc = fail("audit verify", &err);
			goto done;
		}
	}
	printf("ok: %llu entries in %s match the checkpoint signed by %s+%08x\n",
		(unsigned long long)cp->size, o->dir, bpg_note_verifier_name(v), bpg_note_verifier_keyid(v));
	print_hash_b64_hex("root", &cp->root);
	if (o->since)
		printf("ok: extends the kept checkpoint %s (%llu entries)\n", o->since,
			(unsigned long long)kept.size);
	print_witness_lines(o);
	if (o->save)
		printf("kept: %s and %s.frontier (%llu entries) for the next --since\n", o->save, o->save,
			(unsigned long long)cp->size);
	bpg_audit_tail_info(&t, log);
	if (t.uncommitted || t.torn_bytes)
		printf("note: %llu uncommitted record(s) and %llu torn byte(s) after the last committed entry "
			"(an interrupted append); `bpgate audit repair` or the next append removes them\n",
			(unsigned long long)t.uncommitted, (unsigned long long)t.torn_bytes);
done:
	bpg_note_verifier_free(v);
	bpg_audit_free(log);
	return rc;
}

static void print_proof(const bpg_merkle_proof *p)
{
	char hex[2 * BPG_HASH_SIZE + 1];

	for (size_t i = 0; i < p->len; i++) {
		bpg_hex_encode(hex, p->h[i].b, BPG_HASH_SIZE);
		printf("%-8s %s\n", i == 0 ? "proof" : "", hex);
	}
}

static int audit_prove(int argc, char **argv, const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_note_verifier *v = NULL;
	bpg_buf j = BPG_BUF_INIT;
	const bpg_checkpoint *cp;
	bpg_merkle_proof p;
	bpg_hash leaf;
	uint64_t n, idx, size;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 1 || parse_u64(&n, argv[0]) < 0)
		return cli_usage("bpgate audit prove N [--log DIR] [--key VKEY] [--format text|json]");
	/* Check the log first: never hand out a proof against a checkpoint that does not verify. */
	if (open_existing(&log, o, &err) < 0 || load_vkey(&v, o, true, &err) < 0 ||
	    bpg_audit_verify(log, v, &err) < 0 || guard(log, v, o, &err) < 0 ||
	    bpg_audit_proof_json(&j, log, n, &err) < 0 ||
	    bpg_audit_proof_check(j.ptr, j.size, v, &idx, &size, &err) < 0) {
		rc = fail("audit prove", &err);
		goto done;
	}
	if (o->json) {
		printf("%s\n", j.ptr);
		goto done;
	}
	cp = bpg_audit_checkpoint(log);
	if (bpg_audit_leaf(&leaf, log, n, &err) < 0 || bpg_audit_prove(&p, log, n, cp->size, &err) < 0) {
		rc = fail("audit prove", &err);
		goto done;
	}
	printf("entry    %llu of %llu (%s)\n", (unsigned long long)n, (unsigned long long)cp->size, cp->origin);
	print_hash_b64_hex("leaf", &leaf);
	print_hash_b64_hex("root", &cp->root);
	print_proof(&p);
done:
	bpg_buf_dispose(&j);
	bpg_note_verifier_free(v);
	bpg_audit_free(log);
	return rc;
}

static int audit_check_proof(int argc, char **argv, const audit_opts *o)
{
	bpg_note_verifier *v = NULL;
	bpg_buf b = BPG_BUF_INIT;
	uint64_t idx = 0, size = 0;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 1 || !o->key)
		return cli_usage("bpgate audit check-proof FILE --key VKEY");
	if (bpg_note_verifier_load(&v, o->key, &err) < 0 || bpg_file_read(&b, argv[0], 1 << 24, &err) < 0 ||
	    bpg_audit_proof_check(b.ptr ? b.ptr : "", b.size, v, &idx, &size, &err) < 0)
		rc = fail("audit check-proof", &err);
	else
		printf("ok: entry %llu is in the log of %llu entries signed by %s+%08x\n",
			(unsigned long long)idx, (unsigned long long)size, bpg_note_verifier_name(v),
			bpg_note_verifier_keyid(v));
	bpg_buf_dispose(&b);
	bpg_note_verifier_free(v);
	return rc;
}

/* A tree size (root from the log) or a checkpoint file (signature checked). */
static int resolve_tree(bpg_checkpoint *out, const char *arg, const bpg_audit_log *log,
	const bpg_note_verifier *v, bpg_error *err)
{
	const bpg_checkpoint *cur = bpg_audit_checkpoint(log);

	memset(out, 0, sizeof(*out));
	if (parse_u64(&out->size, arg) == 0) {
		if (!cur || out->size > cur->size)
			return bpg_error_set(err, BPG_EINVALID,
				"tree size %s: the log's checkpoint covers %llu entries", arg,
				(unsigned long long)(cur ? cur->size : 0));
		snprintf(out->origin, sizeof(out->origin), "%s", cur->origin);
		return bpg_audit_root(&out->root, log, out->size, err);
	}
	return read_kept_checkpoint(out, arg, v, err);
}

static int audit_consistency(int argc, char **argv, const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_note_verifier *v = NULL;
	bpg_checkpoint a, b;
	bpg_merkle_proof p;
	bpg_hash at;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc < 1 || argc > 2)
		return cli_usage("bpgate audit consistency OLD [NEW] [--log DIR] [--key VKEY] [--format text|json]");
	if (open_existing(&log, o, &err) < 0 || load_vkey(&v, o, true, &err) < 0 ||
	    bpg_audit_verify(log, v, &err) < 0 || guard(log, v, o, &err) < 0 ||
	    resolve_tree(&a, argv[0], log, v, &err) < 0) {
		rc = fail("audit consistency", &err);
		goto done;
	}
	if (argc == 2 ? resolve_tree(&b, argv[1], log, v, &err) < 0 : (b = *bpg_audit_checkpoint(log), 0)) {
		rc = fail("audit consistency", &err);
		goto done;
	}
	if (a.size > b.size) {
		bpg_error_set(&err, BPG_EVERIFY, "rolled back: NEW covers %llu entries, fewer than OLD's %llu",
			(unsigned long long)b.size, (unsigned long long)a.size);
		rc = fail("audit consistency", &err);
		goto done;
	}
	/* The proof comes from today's log; it must join the two roots given. */
	if (bpg_audit_root(&at, log, b.size, &err) < 0 ||
	    bpg_audit_prove_consistency(&p, log, a.size, b.size, &err) < 0) {
		rc = fail("audit consistency", &err);
		goto done;
	}
	if (memcmp(at.b, b.root.b, BPG_HASH_SIZE) != 0 ||
	    bpg_merkle_verify_consistency(a.size, b.size, &a.root, &b.root, &p, &err) < 0) {
		bpg_error_set(&err, BPG_EVERIFY,
			"rewritten: the log does not prove that the tree of %llu entries extends the tree of %llu (consistency proof fails)",
			(unsigned long long)b.size, (unsigned long long)a.size);
		rc = fail("audit consistency", &err);
		goto done;
	}
	if (o->json) {
		char hex[2 * BPG_HASH_SIZE + 1];
		printf("{\"old_size\":%llu,\"new_size\":%llu,\"proof\":[", (unsigned long long)a.size,
			(unsigned long long)b.size);
		for (size_t i = 0; i < p.len; i++) {
			bpg_hex_encode(hex, p.h[i].b, BPG_HASH_SIZE);
			printf("%s\"%s\"", i ? "," : "", hex);
		}
		printf("]}\n");
		goto done;
	}
	printf("ok: the tree of %llu entries extends the tree of %llu\n", (unsigned long long)b.size,
		(unsigned long long)a.size);
	print_hash_b64_hex("old", &a.root);
	print_hash_b64_hex("new", &b.root);
	print_proof(&p);
done:
	bpg_note_verifier_free(v);
	bpg_audit_free(log);
	return rc;
}

static int audit_repair(const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_buf saved = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (open_existing(&log, o, &err) < 0 || bpg_audit_repair(log, &saved, &err) < 0)
		rc = fail("audit repair", &err);
	else if (saved.size)
		printf("repaired: removed an interrupted append after entry %llu; its bytes are in %s\n",
			(unsigned long long)bpg_audit_size(log), saved.ptr);
	else
		printf("nothing to repair\n");
	bpg_buf_dispose(&saved);
	bpg_audit_free(log);
	return rc;
}

static int audit_syslog(const audit_opts *o)
{
	bpg_syslog_opts so = BPG_SYSLOG_OPTS_INIT;
	bpg_audit_log *log = NULL;
	bpg_buf line = BPG_BUF_INIT;
	const char *note, *e;
	size_t nlen = 0, elen;
	uint64_t size;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	so.hostname = o->hostname;
	if (open_existing(&log, o, &err) < 0) {
		rc = fail("audit syslog", &err);
		goto done;
	}
	note = bpg_audit_checkpoint_note(log, &nlen);
	size = bpg_audit_size(log);
	for (uint64_t i = o->from; i < size; i++) {
		bpg_buf_clear(&line);
		if (bpg_audit_entry(&e, &elen, log, i, &err) < 0 ||
		    bpg_syslog_format(&line, &so, i, e, elen, note, nlen, &err) < 0 ||
		    (o->send_set && bpg_syslog_send(o->send, line.ptr, line.size, &err) < 0)) {
			rc = fail("audit syslog", &err);
			goto done;
		}
		if (!o->send_set)
			printf("%s\n", line.ptr);
	}
done:
	bpg_buf_dispose(&line);
	bpg_audit_free(log);
	return rc;
}

/* The releases of an environment between two dates, from a verified log. */
static int audit_export(int argc, const audit_opts *o)
{
	bpg_audit_log *log = NULL;
	bpg_note_verifier *v = NULL;
	git_repository *repo = NULL;
	json_t *ex = NULL;
	bpg_buf out = BPG_BUF_INIT;
	bpg_export_opts eo = { o->env, 0, 0, NULL };
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 0 || !o->since || !o->until)
		return cli_usage("bpgate audit export --since DATE --until DATE [--format json|csv] [--metrics] "
			"[--log DIR] [--key VKEY] [--repo DIR] [--env ENV]\n  DATE: YYYY-MM-DD (UTC; --until includes that day) "
			"or YYYY-MM-DDTHH:MM:SSZ");
	if (bpg_evidence_parse_time(&eo.since, o->since, false, &err) < 0 ||
	    bpg_evidence_parse_time(&eo.until, o->until, true, &err) < 0) {
		cli_report_error("audit export", &err);
		return BPG_EXIT_ERROR;
	}
	git_libgit2_init();
	if (open_existing(&log, o, &err) < 0 || load_vkey(&v, o, false, &err) < 0 || bpg_audit_verify(log, v, &err) < 0 ||
	    guard(log, v, o, &err) < 0) {
		rc = fail("audit export", &err);
		goto done;
	}
	if (git_repository_open_ext(&repo, o->repo ? o->repo : ".", o->repo ? GIT_REPOSITORY_OPEN_NO_SEARCH : 0,
			NULL) < 0) {
		git_error_clear();
		if (o->repo) {
			bpg_error_set(&err, BPG_ENOTFOUND, "%s: not a git repository", o->repo);
			rc = fail("audit export", &err);
			goto done;
		}
		fprintf(stderr, "bpgate audit export: warning: no repository here: authors, approvers and cycle times "
			"are left out (pass --repo DIR)\n");
		repo = NULL;
	}
	eo.repo = repo;
	if (bpg_audit_export(&ex, log, &eo, &err) < 0) {
		rc = fail("audit export", &err);
		goto done;
	}
	if (o->csv) {
		rc = o->metrics ? bpg_export_metrics_csv(&out, ex, &err) : bpg_export_csv(&out, ex, &err);
	} else {
		char *s = bpg_json_dumps(o->metrics ? json_object_get(ex, "metrics") : ex, JSON_INDENT(2));
		rc = !s || bpg_buf_puts(&out, s) < 0 || bpg_buf_putc(&out, '\n') < 0 ?
			bpg_error_set(&err, BPG_ENOMEM, "out of memory") : 0;
		free(s);
	}
	if (rc < 0) {
		rc = fail("audit export", &err);
		goto done;
	}
	if (o->out) {
		if (bpg_file_write_atomic(o->out, out.ptr, out.size, 0644, &err) < 0)
			rc = fail("audit export", &err);
	} else {
		fwrite(out.ptr, 1, out.size, stdout);
	}
done:
	json_decref(ex);
	bpg_buf_dispose(&out);
	bpg_note_verifier_free(v);
	bpg_audit_free(log);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

static int audit_witness_sub(int argc, char **argv, const audit_opts *o)
{
	bpg_note_verifier *v = NULL;
	bpg_error err;
	int rc;

	if (load_vkey(&v, o, false, &err) < 0)
		return fail("audit witness", &err);
	rc = audit_witness_cmd(argc, argv, o->wo, v);
	bpg_note_verifier_free(v);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "log", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "signing-key", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "send", optional_argument, NULL, OPT_SEND },
		{ "syslog", optional_argument, NULL, OPT_SYSLOG },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "metrics", no_argument, NULL, OPT_METRICS },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "witness", required_argument, NULL, OPT_WITNESS },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "audit-dir", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	audit_witness_opts wo = { 0 };
	audit_opts o = { .wo = &wo };
	const char *sub, *env = getenv("BPGATE_AUDIT_DIR");
	bpg_format fmt;
	int c;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return argc < 2 ? cli_usage(AUDIT_USAGE) : (printf("usage: %s\n", AUDIT_USAGE), BPG_EXIT_OK);
	sub = argv[1];
	o.dir = env && *env ? env : "bpgate-audit";
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "l:k:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o.dir = optarg; break;
		case 'k': o.key = optarg; break;
		case 's': o.signing_key = optarg; break;
		case OPT_FORMAT:
			if (cli_parse_format(&fmt, optarg, 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
					(strcmp(sub, "export") == 0 ? 1u << BPG_FORMAT_CSV : 0)) < 0)
				return BPG_EXIT_ERROR;
			o.json = fmt == BPG_FORMAT_JSON;
			o.csv = fmt == BPG_FORMAT_CSV;
			break;
		case OPT_UNTIL: o.until = optarg; break;
		case OPT_REPO: o.repo = optarg; break;
		case OPT_ENV: o.env = optarg; break;
		case OPT_METRICS: o.metrics = true; break;
		case OPT_STATE: wo.state = optarg; break;
		case OPT_WITNESS:
			if (wo.nfiles == AUDIT_MAX_WITNESS_FILES)
				return cli_usage("--witness: at most 64 files (put several checkpoints in one file)");
			wo.files[wo.nfiles++] = optarg;
			break;
		case OPT_SINCE: o.since = optarg; break;
		case OPT_SAVE: o.save = optarg; break;
		case OPT_FROM:
			if (parse_u64(&o.from, optarg) < 0)
				return cli_usage("--from N: N is an entry index");
			break;
		case OPT_HOSTNAME: o.hostname = optarg; break;
		case OPT_SEND: o.send_set = true; o.send = optarg; break;
		case OPT_SYSLOG: o.syslog_set = true; o.syslog = optarg; break;
		case OPT_OUT: o.out = optarg; break;
		case 'h': printf("usage: %s\n", AUDIT_USAGE); return BPG_EXIT_OK;
		default: return cli_usage(AUDIT_USAGE);
		}
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (strcmp(sub, "keygen") == 0)
		return audit_keygen(argc, argv, &o);
	if (strcmp(sub, "append") == 0)
		return audit_append(argc, &o);
	if (argc > 0 && (strcmp(sub, "checkpoint") == 0 || strcmp(sub, "verify") == 0 ||
			strcmp(sub, "repair") == 0 || strcmp(sub, "syslog") == 0))
		return cli_usage(AUDIT_USAGE);
	if (strcmp(sub, "checkpoint") == 0)
		return audit_checkpoint(&o);
	if (strcmp(sub, "verify") == 0)
		return audit_verify(&o);
	if (strcmp(sub, "prove") == 0)
		return audit_prove(argc, argv, &o);
	if (strcmp(sub, "check-proof") == 0)
		return audit_check_proof(argc, argv, &o);
	if (strcmp(sub, "consistency") == 0)
		return audit_consistency(argc, argv, &o);
	if (strcmp(sub, "repair") == 0)
		return audit_repair(&o);
	if (strcmp(sub, "syslog") == 0)
		return audit_syslog(&o);
	if (strcmp(sub, "export") == 0)
		return audit_export(argc, &o);
	if (strcmp(sub, "witness") == 0)
		return audit_witness_sub(argc, argv, &o);
	fprintf(stderr, "bpgate audit: unknown command '%s'\n", sub);
	return cli_usage(AUDIT_USAGE);
}
