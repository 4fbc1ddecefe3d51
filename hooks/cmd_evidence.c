/*
 * `bpgate evidence ...`: release evidence as DSSE envelopes carrying in-toto
 * Statements: keygen, sign, verify, and `bpgate evidence REV`, the package
 * of a release built from the gate's release record, the audit log and git
 * (evidence.h), with its HTML and Markdown renderings.
 *
 * Exit codes: 0 verified / done, 1 verification failed, 2 usage or input error.
 */
#include "cli.h"
#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "bpgate/evidence.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <git2.h>
#include <time.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_OUT = 1000, OPT_LOGKEY, OPT_ARTIFACT, OPT_THRESHOLD, OPT_REPO, OPT_AUDITDIR, OPT_HTML, OPT_MD,
	OPT_ENV, OPT_SIGNERS };

static int fail(const char *cmd, const bpg_error *err)
{
	cli_report_error(cmd, err);
	return err->code == BPG_EVERIFY ? BPG_EXIT_FINDINGS : BPG_EXIT_ERROR;
}

#define EVIDENCE_USAGE \
	"bpgate evidence <command>\n" \
	"  keygen --out PREFIX                        Ed25519 key: PREFIX.pem (PKCS#8, 0600), PREFIX.pub\n" \
	"  sign STATEMENT --key KEY.pem [--out FILE]  wrap an in-toto Statement in a DSSE envelope\n" \
	"  verify FILE --key PUB [--key PUB...] [--threshold N] [--artifact FILE...] [--log-key VKEY]\n" \
	"         [--allowed-signers FILE] [--repo DIR] [--html FILE] [--markdown FILE]\n" \
	"      FILE: one envelope (.json) or an in-toto bundle (.jsonl, one envelope a line)\n" \
	"  REV --key KEY.pem [--repo DIR] [--audit-dir DIR] [--log-key VKEY] [--env ENV]\n" \
	"      [--out FILE] [--html FILE] [--markdown FILE]   the evidence package of a release of REV"

typedef struct {
	const char *keys[16], *artifacts[64], *log_key, *key, *out;
	const char *repo, *audit_dir, *html, *markdown, *env, *signers;
	size_t nkeys, nartifacts, threshold;
} evidence_opts;

static int evidence_keygen(int argc, const evidence_opts *o)
{
	bpg_dsse_key *k = NULL;
	bpg_buf sec = BPG_BUF_INIT, pub = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 0 || !o->out)
		return cli_usage("bpgate evidence keygen --out PREFIX");
	if (bpg_buf_printf(&path, "%s.pem", o->out) < 0 || access(path.ptr, F_OK) == 0) {
		fprintf(stderr, "bpgate evidence keygen: %s exists; not overwriting a key\n", path.ptr);
		rc = BPG_EXIT_ERROR;
		goto done;
	}
	if (bpg_dsse_key_generate(&k, &err) < 0 || bpg_dsse_key_format_private(&sec, k, &err) < 0 ||
	    bpg_file_write_atomic(path.ptr, sec.ptr, sec.size, 0600, &err) < 0) {
		rc = fail("evidence keygen", &err);
		goto done;
	}
	bpg_buf_clear(&path);
	if (bpg_dsse_key_format_public(&pub, k) < 0 || bpg_buf_puts(&pub, " bpgate-evidence\n") < 0 ||
	    bpg_buf_printf(&path, "%s.pub", o->out) < 0 ||
	    bpg_file_write_atomic(path.ptr, pub.ptr, pub.size, 0644, &err) < 0) {
		rc = fail("evidence keygen", &err);
		goto done;
	}
	printf("%s\n", bpg_dsse_key_id(k));
done:
	if (sec.ptr)
		memset(sec.ptr, 0, sec.size);
	bpg_buf_dispose(&sec);
	bpg_buf_dispose(&pub);
	bpg_buf_dispose(&path);
	bpg_dsse_key_free(k);
	return rc;
}

static int evidence_sign(int argc, char **argv, const evidence_opts *o)
{
	bpg_dsse_key *k = NULL;
	bpg_buf stmt = BPG_BUF_INIT, env = BPG_BUF_INIT;
	json_t *parsed = NULL;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 1 || !o->key)
		return cli_usage("bpgate evidence sign STATEMENT --key KEY.pem [--out FILE]");
	if (bpg_dsse_key_load(&k, o->key, &err) < 0 ||
	    bpg_file_read(&stmt, argv[0], BPG_DSSE_MAX_BYTES / 2, &err) < 0 ||
	    bpg_intoto_parse(&parsed, stmt.ptr ? stmt.ptr : "", stmt.size, &err) < 0 ||
	    bpg_dsse_sign(&env, BPG_DSSE_INTOTO_TYPE, stmt.ptr, stmt.size, k, &err) < 0 ||
	    bpg_buf_putc(&env, '\n') < 0) {
		rc = fail("evidence sign", &err);
		goto done;
	}
	if (o->out) {
		if (bpg_file_write_atomic(o->out, env.ptr, env.size, 0644, &err) < 0)
			rc = fail("evidence sign", &err);
	} else {
		fwrite(env.ptr, 1, env.size, stdout);
	}
done:
	json_decref(parsed);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&env);
	bpg_dsse_key_free(k);
	return rc;
}

/* predicate.audit.proofs: inclusion proofs (bpg_audit_proof_json) checked with the log key. */
static int check_audit_proofs(const json_t *stmt, const bpg_note_verifier *logkey, bpg_error *err)
{
	const json_t *proofs = json_object_get(json_object_get(json_object_get(stmt, "predicate"), "audit"),
		"proofs"), *p;
	size_t i;

	if (!proofs)
		return 0;
	if (!json_is_array(proofs))
		return bpg_error_set(err, BPG_EINVALID, "statement: /predicate/audit/proofs: expected an array");
	if (!logkey)
		return bpg_error_set(err, BPG_EINVALID,
			"the package carries audit proofs: pass --log-key VKEY (the audit log's key)");
	json_array_foreach(proofs, i, p) {
		char *s = bpg_json_dumps(p, JSON_COMPACT);
		uint64_t idx = 0, size = 0;
		int rc = s ? bpg_audit_proof_check(s, strlen(s), logkey, &idx, &size, err) :
			bpg_error_set(err, BPG_ENOMEM, "out of memory");

		free(s);
		if (rc < 0) {
			bpg_error_prefix(err, "/predicate/audit/proofs/%zu: ", i);
			return rc;
		}
		printf("  audit entry %llu: in the log of %llu entries (checkpoint verified)\n",
			(unsigned long long)idx, (unsigned long long)size);
	}
	return 0;
}

/* What verify needs besides the options: loaded keys, signers, repository. */
typedef struct {
	const bpg_dsse_key *const *keys;
	const bpg_note_verifier *logkey;
	const bpg_allowed_signers *signers;
	git_repository *repo;
} verify_ctx;

static void now_rfc3339(char out[21]);

/* The pages; `verified` (borrowed, NULL: not verified) is shown at their top. */
static int write_rendering(const json_t *stmt, const json_t *verified, const evidence_opts *o, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc = 0;

	if (o->html && ((rc = bpg_evidence_render_html_verified(&b, stmt, verified, err)) < 0 ||
			(rc = bpg_file_write_atomic(o->html, b.ptr, b.size, 0644, err)) < 0))
		goto done;
	bpg_buf_clear(&b);
	if (o->markdown && ((rc = bpg_evidence_render_markdown_verified(&b, stmt, verified, err)) < 0 ||
			(rc = bpg_file_write_atomic(o->markdown, b.ptr, b.size, 0644, err)) < 0))
		goto done;
done:
	bpg_buf_dispose(&b);
	return rc;
}

/* The release evidence predicate: everything in it checked offline. */
static int check_release_evidence(const json_t *stmt, const verify_ctx *vx, const evidence_opts *o, bpg_error *err)
{
	bpg_evidence_check_opts co = { vx->logkey, vx->signers, vx->repo };
	bpg_evidence_summary sum;
	const json_t *rel = json_object_get(json_object_get(stmt, "predicate"), "release");
	int rc;

	if ((rc = bpg_evidence_check(&sum, stmt, &co, err)) < 0)
		return rc;
	printf("  release: %s %s of %s to %s by %s at %s\n", json_string_value(json_object_get(rel, "kind")),
		json_string_value(json_object_get(rel, "repository")) ? json_string_value(json_object_get(rel, "repository")) : "",
		json_string_value(json_object_get(rel, "commit")), json_string_value(json_object_get(rel, "environment")),
		json_string_value(json_object_get(rel, "pusher")) ? json_string_value(json_object_get(rel, "pusher")) : "?",
		json_string_value(json_object_get(rel, "time")));
	printf("  subjects: %zu, every changed blueprint among them with the same sha256\n", sum.subjects);
	if (sum.audit_entries)
		printf("  audit: %zu entries proven against the signed checkpoint of %llu entries, the release decision "
			"among them\n", sum.audit_entries, (unsigned long long)sum.checkpoint_size);
	else
		printf("  audit: none in the package\n");
	printf("  approvals: %zu signature(s) verified against %s allowed_signers\n", sum.approvals,
		sum.signers_embedded ? "the embedded" : "the given");
	if (vx->repo)
		printf("  repository: %zu digest(s) recomputed from git, all equal\n", sum.digests_recomputed);
	if (!o->html && !o->markdown)
		return 0;
	char when[21];
	json_t *keys = json_array(), *v;
	now_rfc3339(when);
	for (size_t i = 0; keys && i < o->nkeys; i++)
		if (json_array_append_new(keys, json_string(bpg_dsse_key_id(vx->keys[i]))) < 0)
			break;
	v = json_pack("{s:s, s:o?, s:I, s:o, s:I, s:I, s:I, s:I, s:s, s:o}", "time", when, "evidence_keys", keys,
		"threshold", (json_int_t)(o->threshold ? o->threshold : 1), "log_key", vx->logkey ?
		json_pack("{s:s, s:I}", "name", bpg_note_verifier_name(vx->logkey), "keyid",
			(json_int_t)bpg_note_verifier_keyid(vx->logkey)) : json_null(),
		"subjects", (json_int_t)sum.subjects, "audit_entries", (json_int_t)sum.audit_entries,
		"checkpoint_size", (json_int_t)sum.checkpoint_size, "approvals", (json_int_t)sum.approvals,
		"signers", sum.signers_embedded ? "embedded" : "given", "digests_recomputed",
		vx->repo ? json_integer((json_int_t)sum.digests_recomputed) : json_null());
	if (!v)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = write_rendering(stmt, v, o, err);
	json_decref(v);
	return rc;
}

static int verify_envelope(const char *env, size_t len, size_t lineno, const verify_ctx *vx,
	const evidence_opts *o, bool *found, bpg_error *err)
{
	const bpg_dsse_key *const *keys = vx->keys;
	const bpg_note_verifier *logkey = vx->logkey;
	bpg_buf payload = BPG_BUF_INIT, type = BPG_BUF_INIT;
	json_t *stmt = NULL, *s;
	size_t i;
	int rc;

	if ((rc = bpg_dsse_verify(&payload, &type, env, len, keys, o->nkeys, o->threshold, err)) < 0)
		goto done;
	if (strcmp(type.ptr, BPG_DSSE_INTOTO_TYPE) != 0 &&
	    !(strncmp(type.ptr, "application/vnd.in-toto.", 24) == 0 && type.size > 29 &&
	      strcmp(type.ptr + type.size - 5, "+json") == 0)) {
		rc = bpg_error_set(err, BPG_EINVALID, "payloadType '%s' is not an in-toto Statement", type.ptr);
		goto done;
	}
	if ((rc = bpg_intoto_parse(&stmt, payload.ptr, payload.size, err)) < 0)
		goto done;
	printf("envelope %zu: signature verified; %s, %zu subject(s)\n", lineno,
		json_string_value(json_object_get(stmt, "predicateType")),
		json_array_size(json_object_get(stmt, "subject")));
	json_array_foreach(json_object_get(stmt, "subject"), i, s) {
		const char *d = json_string_value(json_object_get(json_object_get(s, "digest"), "sha256"));
		printf("  subject %s%s%s\n", json_string_value(json_object_get(s, "name")) ?
			json_string_value(json_object_get(s, "name")) : "(unnamed)", d ? " sha256:" : "", d ? d : "");
	}
	for (size_t a = 0; a < o->nartifacts; a++) {
		bpg_buf art = BPG_BUF_INIT;
		char hex[65];

		if ((rc = bpg_file_read(&art, o->artifacts[a], (size_t)1 << 30, err)) < 0) {
			bpg_buf_dispose(&art);
			goto done;
		}
		bpg_sha256_hex(hex, art.ptr ? art.ptr : "", art.size);
		found[a] |= bpg_intoto_has_sha256(stmt, hex);
		bpg_buf_dispose(&art);
	}
	/* A release package (predicate.release) is checked entirely; any other Statement for its
	 * signature, subjects and, when it carries them, audit proofs. */
	if (strcmp(json_string_value(json_object_get(stmt, "predicateType")), BPG_EVIDENCE_PREDICATE_V1) == 0 &&
	    json_object_get(json_object_get(stmt, "predicate"), "release"))
		rc = check_release_evidence(stmt, vx, o, err);
	else if ((rc = check_audit_proofs(stmt, logkey, err)) == 0 && (o->html || o->markdown))
		rc = bpg_error_set(err, BPG_EINVALID, "not a release evidence package (no /predicate/release): "
			"nothing to render");
done:
	if (rc < 0)
		bpg_error_prefix(err, "envelope %zu: ", lineno);
	json_decref(stmt);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&type);
	return rc;
}

static int evidence_verify(int argc, char **argv, const evidence_opts *o)
{
	bpg_dsse_key *keys[16] = { NULL };
	bpg_note_verifier *logkey = NULL;
	bpg_allowed_signers *signers = NULL;
	git_repository *repo = NULL;
	bpg_buf f = BPG_BUF_INIT;
	bool found[64] = { false };
	size_t lineno = 0, n = 0;
	bool bundle;
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 1 || o->nkeys == 0)
		return cli_usage("bpgate evidence verify FILE --key PUB [--key PUB...] [--threshold N] [--artifact FILE...] [--log-key VKEY]");
	for (size_t i = 0; i < o->nkeys; i++)
		if (bpg_dsse_key_load(&keys[i], o->keys[i], &err) < 0) {
			rc = fail("evidence verify", &err);
			goto done;
		}
	if ((o->log_key && bpg_note_verifier_load(&logkey, o->log_key, &err) < 0) ||
	    (o->signers && bpg_allowed_signers_load(&signers, o->signers, &err) < 0) ||
	    bpg_file_read(&f, argv[0], BPG_DSSE_MAX_BYTES, &err) < 0) {
		rc = fail("evidence verify", &err);
		goto done;
	}
	if (o->repo) {
		git_libgit2_init();
		if (git_repository_open_ext(&repo, o->repo, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
			bpg_error_set(&err, BPG_ENOTFOUND, "%s: not a git repository", o->repo);
			rc = fail("evidence verify", &err);
			goto done;
		}
	}
	verify_ctx vx = { (const bpg_dsse_key *const *)keys, logkey, signers, repo };
	/* A bundle (.jsonl): one envelope per non-empty line; any other file: one envelope. */
	bundle = strlen(argv[0]) > 6 && strcmp(argv[0] + strlen(argv[0]) - 6, ".jsonl") == 0;
	for (size_t off = 0; off < f.size;) {
		const char *nl = bundle ? memchr(f.ptr + off, '\n', f.size - off) : NULL;
		size_t end = nl ? (size_t)(nl - f.ptr) : f.size;
		bool blank = true;

		for (size_t i = off; i < end; i++)
			blank &= f.ptr[i] == ' ' || f.ptr[i] == '\t' || f.ptr[i] == '\r' || f.ptr[i] == '\n';
		lineno++;
		if (!blank) {
			if (verify_envelope(f.ptr + off, end - off, lineno, &vx, o, found, &err) < 0) {
				rc = fail("evidence verify", &err);
				goto done;
			}
			n++;
		}
		off = end + 1;
	}
	if (n == 0) {
		bpg_error_set(&err, BPG_EINVALID, "%s: no envelope", argv[0]);
		rc = fail("evidence verify", &err);
		goto done;
	}
	for (size_t a = 0; a < o->nartifacts; a++)
		if (!found[a]) {
			bpg_error_set(&err, BPG_EVERIFY, "%s: its SHA-256 is not a subject of the evidence",
				o->artifacts[a]);
			rc = fail("evidence verify", &err);
			goto done;
		}
		else
			printf("ok: %s is a subject\n", o->artifacts[a]);
done:
	for (size_t i = 0; i < o->nkeys; i++)
		bpg_dsse_key_free(keys[i]);
	bpg_note_verifier_free(logkey);
	bpg_allowed_signers_free(signers);
	if (o->repo) {
		git_repository_free(repo);
		git_libgit2_shutdown();
	}
	bpg_buf_dispose(&f);
	return rc;
}

static void now_rfc3339(char out[21])
{
	const char *fixed = getenv("BPGATE_TIME"); /* reproducible packages in tests */
	time_t t;

	if (fixed && bpg_evidence_parse_time(&t, fixed, false, NULL) == 0) {
		bpg_evidence_format_time(out, t);
		return;
	}
	bpg_evidence_format_time(out, time(NULL));
}

/* The audit log of the build: opened and verified (a package never proves entries of a damaged log). */
static int open_audit(bpg_audit_log **log, const evidence_opts *o, bpg_error *err)
{
	const char *dir = o->audit_dir ? o->audit_dir : getenv("BPGATE_AUDIT_DIR");
	bpg_note_verifier *v = NULL;
	bpg_buf p = BPG_BUF_INIT;
	int rc;

	if (!dir || !*dir)
		return bpg_error_set(err, BPG_EINVALID, "pass --audit-dir DIR (the server's bpgate.auditDir, or a copy): "
			"the package proves the gate's decisions from the audit log");
	if ((rc = bpg_audit_open(log, dir, err)) < 0)
		return rc;
	if (!o->log_key) {
		if (bpg_buf_printf(&p, "%s/log.vkey", dir) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		fprintf(stderr, "bpgate evidence: warning: checking the audit log with the key stored in it (%s); pass "
			"--log-key with a copy you hold\n", p.ptr);
	}
	if ((rc = bpg_note_verifier_load(&v, o->log_key ? o->log_key : p.ptr, err)) == 0)
		rc = bpg_audit_verify(*log, v, err);
	if (rc < 0)
		bpg_error_prefix(err, "audit log %s: ", dir);
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&p);
	return rc;
}

static int evidence_build(const char *rev, int argc, const evidence_opts *o)
{
	git_repository *repo = NULL;
	git_object *obj = NULL, *any = NULL;
	bpg_audit_log *log = NULL;
	bpg_dsse_key *k = NULL;
	json_t *stmt = NULL;
	bpg_buf payload = BPG_BUF_INIT, env = BPG_BUF_INIT;
	char now[21];
	bpg_error err;
	int rc = BPG_EXIT_OK;

	if (argc != 0 || !o->key)
		return cli_usage("bpgate evidence REV --key KEY.pem [--repo DIR] [--audit-dir DIR] [--log-key VKEY] "
			"[--env ENV] [--out FILE] [--html FILE] [--markdown FILE]");
	git_libgit2_init();
	now_rfc3339(now);
	if (bpg_dsse_key_load(&k, o->key, &err) < 0) {
		rc = fail("evidence", &err);
		goto done;
	}
	if (!bpg_dsse_key_has_private(k)) {
		bpg_error_set(&err, BPG_EINVALID, "%s: a private key (PKCS#8 PEM) is needed to sign the package", o->key);
		rc = fail("evidence", &err);
		goto done;
	}
	if (git_repository_open_ext(&repo, o->repo ? o->repo : ".", o->repo ? GIT_REPOSITORY_OPEN_NO_SEARCH : 0,
			NULL) < 0) {
		bpg_error_set(&err, BPG_ENOTFOUND, "%s: not a git repository (pass --repo DIR: the server's repository "
			"or a clone with refs/bpgate/*)", o->repo ? o->repo : ".");
		rc = fail("evidence", &err);
		goto done;
	}
	if (git_revparse_single(&any, repo, rev) < 0 || git_object_peel(&obj, any, GIT_OBJECT_COMMIT) < 0) {
		bpg_error_set(&err, BPG_ENOTFOUND, "%s: not a commit of the repository", rev);
		rc = fail("evidence", &err);
		goto done;
	}
	bpg_evidence_opts eo = { o->env, now, NULL };
	if (open_audit(&log, o, &err) < 0) {
		rc = fail("evidence", &err);
		goto done;
	}
	eo.log = log;
	if (bpg_evidence_build(&stmt, repo, git_object_id(obj), &eo, &err) < 0 ||
	    bpg_intoto_serialize(&payload, stmt, &err) < 0 ||
	    bpg_dsse_sign(&env, BPG_DSSE_INTOTO_TYPE, payload.ptr, payload.size, k, &err) < 0 ||
	    bpg_buf_putc(&env, '\n') < 0 || write_rendering(stmt, NULL, o, &err) < 0) {
		rc = fail("evidence", &err);
		goto done;
	}
	if (o->out) {
		if (bpg_file_write_atomic(o->out, env.ptr, env.size, 0644, &err) < 0) {
			rc = fail("evidence", &err);
			goto done;
		}
		fprintf(stderr, "bpgate evidence: %s: %zu subject(s), signed by %s\n", o->out,
			json_array_size(json_object_get(stmt, "subject")), bpg_dsse_key_id(k));
	} else {
		fwrite(env.ptr, 1, env.size, stdout);
	}
done:
	json_decref(stmt);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&env);
	bpg_dsse_key_free(k);
	bpg_audit_free(log);
	git_object_free(obj);
	git_object_free(any);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}

int cmd_evidence(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "log-key", required_argument, NULL, OPT_LOGKEY },
		{ "artifact", required_argument, NULL, OPT_ARTIFACT },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "audit-dir", required_argument, NULL, OPT_AUDITDIR },
		{ "log", required_argument, NULL, OPT_AUDITDIR },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "markdown", required_argument, NULL, OPT_MD },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "allowed-signers", required_argument, NULL, OPT_SIGNERS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	evidence_opts o = { .threshold = 1 };
	const char *sub;
	unsigned long long t;
	char *end;
	int c;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return argc < 2 ? cli_usage(EVIDENCE_USAGE) : (printf("usage: %s\n", EVIDENCE_USAGE), BPG_EXIT_OK);
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (o.nkeys == 16)
				return cli_usage("at most 16 --key");
			o.keys[o.nkeys++] = o.key = optarg;
			break;
		case OPT_OUT: o.out = optarg; break;
		case OPT_LOGKEY: o.log_key = optarg; break;
		case OPT_REPO: o.repo = optarg; break;
		case OPT_AUDITDIR: o.audit_dir = optarg; break;
		case OPT_HTML: o.html = optarg; break;
		case OPT_MD: o.markdown = optarg; break;
		case OPT_ENV: o.env = optarg; break;
		case OPT_SIGNERS: o.signers = optarg; break;
		case OPT_ARTIFACT:
			if (o.nartifacts == 64)
				return cli_usage("at most 64 --artifact");
			o.artifacts[o.nartifacts++] = optarg;
			break;
		case OPT_THRESHOLD:
			t = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || t == 0 || t > 16)
				return cli_usage("--threshold N: 1 to 16");
			o.threshold = (size_t)t;
			break;
		case 'h': printf("usage: %s\n", EVIDENCE_USAGE); return BPG_EXIT_OK;
		default: return cli_usage(EVIDENCE_USAGE);
		}
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (strcmp(sub, "keygen") == 0)
		return evidence_keygen(argc, &o);
	if (strcmp(sub, "sign") == 0)
		return evidence_sign(argc, argv, &o);
	if (strcmp(sub, "verify") == 0)
		return evidence_verify(argc, argv, &o);
	/* bpgate evidence REV ...: the "sub-command" is the revision */
	return evidence_build(sub, argc, &o);
}
