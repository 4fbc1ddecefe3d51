/*
 * `bpgate evidence ...`: release evidence as DSSE envelopes carrying in-toto
 * Statements (keygen, sign, verify). Building the package of a release
 * (`bpgate evidence REV`) waits for the server gate's release records.
 *
 * Exit codes: 0 verified / done, 1 verification failed, 2 usage or input error.
 */
#include "cli.h"
#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "bpgate/util.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_OUT = 1000, OPT_LOGKEY, OPT_ARTIFACT, OPT_THRESHOLD };

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
	"      FILE: one envelope (.json) or an in-toto bundle (.jsonl, one envelope a line)\n" \
	"  REV                                        (not available yet: needs the gate's release records)"

typedef struct {
	const char *keys[16], *artifacts[64], *log_key, *key, *out;
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
		char *s = json_dumps(p, JSON_COMPACT);
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

static int verify_envelope(const char *env, size_t len, size_t lineno, const bpg_dsse_key *const *keys,
	const evidence_opts *o, const bpg_note_verifier *logkey, bool *found, bpg_error *err)
{
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
	rc = check_audit_proofs(stmt, logkey, err);
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
	    bpg_file_read(&f, argv[0], BPG_DSSE_MAX_BYTES, &err) < 0) {
		rc = fail("evidence verify", &err);
		goto done;
	}
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
			if (verify_envelope(f.ptr + off, end - off, lineno, (const bpg_dsse_key *const *)keys, o,
					logkey, found, &err) < 0) {
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
	bpg_buf_dispose(&f);
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
	fprintf(stderr, "bpgate evidence %s: building the evidence package of a release is not available "
		"yet: it needs the release records of the server gate (issue 7, item 4). Available now: "
		"keygen, sign, verify.\n", sub);
	return BPG_EXIT_ERROR;
}
