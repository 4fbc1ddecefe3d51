/*
 * `bpgate make health --env stage [--window 24h] --key SSH_KEY_FILE`: stage
 * health measured from what really ran in Make, kept as a signed record
 * outside the tree so that refreshing it never makes approvals stale.
 *
 * For each catalogued scenario with a Make id in ENV, the execution logs of
 * [now - window, now) are read (GET /scenarios/{id}/logs, paged; the window
 * at most 31 days; more logs than the client's limit is refused, never cut)
 * and reduced to figures by mk_health_compute (make_health_calc.c). The
 * statement health.json
 *   {"type":"bpgate-health/v1", "environment", "measured_at", "window_hours",
 *    "from", "to", "commit" (ENV's branch tip), "signer" (the principal),
 *    "scenarios": {id: {"make_id","executions","successes","warnings","errors",
 *    "success_rate","warning_rate","error_rate","p50_ms","p95_ms"}}}
 * is signed (SSHSIG, namespace bpgate-health@v1) by a key of a principal of
 * the role "observers" in .bpgate/allowed_signers, and written as a commit
 * (health.json + health.json.sig) at refs/bpgate/health/<env>/<YYYYMMDDTHHMMSSZ>.
 * The newest --keep records are kept (default 168: a week of hourly runs);
 * older ones are deleted (their figures stay in the audit log). The gate
 * (server/receive/healthfacts.c) reads the newest record that verifies.
 *
 * Exit 0 written, 2 error. Token scope: scenarios:read.
 */
#include "make_cmds.h"
#include "make_common.h"
#include "make_health_calc.h"
#include "releases.h"
#include "sshsign.h"
#include "bpgate/gitobj.h"
#include "bpgate/sshsig.h"
#include "bpgate/jsonheap.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEALTH_NS "bpgate-health@v1"
#define HEALTH_ROLE "observers"
#define HEALTH_MAX_WINDOW_HOURS (31 * 24)
#define HEALTH_KEEP_DEFAULT 168
#define HEALTH_KEEP_MAX 1000 /* the gate scans at most 1000 records */
#define HEALTH_SIG_MAX ((size_t)16 << 10)

static const char health_usage[] =
	"usage: bpgate make health --env ENV [--window 24h] [--key SSH_KEY_FILE] [--as PRINCIPAL]\n"
	"                          [--keep N] [--format text|json] [--token-file FILE]\n"
	"\n"
	"  Measure ENV's health from Make's execution logs of the last window (Nh or\n"
	"  Nd, at most 31 days) for every catalogued scenario with a Make id in ENV:\n"
	"  executions, success/warning/error rates, p50 and p95 duration. Writes a\n"
	"  record signed with the key (namespace " HEALTH_NS ") of a principal of the\n"
	"  role \"" HEALTH_ROLE "\" at refs/bpgate/health/ENV/<time>; keeps the newest N\n"
	"  (default 168, at most 1000). The key defaults to git config bpgate.healthKey.\n"
	"  Token scope: scenarios:read.  exit: 0 written, 2 error\n";

static int parse_window(unsigned *hours, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || s[0] == '-' || s[0] == '+' || v == 0 || v > HEALTH_MAX_WINDOW_HOURS)
		return -1;
	if (strcmp(end, "h") == 0)
		*hours = (unsigned)v;
	else if (strcmp(end, "d") == 0 && v <= HEALTH_MAX_WINDOW_HOURS / 24)
		*hours = (unsigned)v * 24;
	else
		return -1;
	return *hours <= HEALTH_MAX_WINDOW_HOURS ? 0 : -1;
}

/* "YYYY-MM-DDTHH:MM:SSZ" -> epoch seconds; -1 when malformed. */
static long long parse_utc(const char *s)
{
	struct tm tm;
	char z = 0;
	memset(&tm, 0, sizeof(tm));
	if (!s || strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

static void format_utc(char out[32], long long t, bool compact)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The public key of key_path: KEY.pub, else the public section of the key file. */
static int key_public(bpg_ssh_pubkey *pub, const char *key_path, bpg_error *err)
{
	bpg_buf p = BPG_BUF_INIT, data = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_buf_printf(&p, "%s.pub", key_path)) == 0 && bpg_file_read(&data, p.ptr, 16384, NULL) == 0) {
		rc = bpg_ssh_pubkey_parse(pub, NULL, data.ptr, data.size, err);
	} else {
		bpg_buf_clear(&data);
		if ((rc = bpg_file_read(&data, key_path, BPG_SSH_KEYFILE_MAX, err)) == 0)
			rc = bpg_ssh_seckey_public(pub, data.ptr, data.size, key_path, err);
	}
	bpg_buf_dispose(&p);
	bpg_buf_dispose(&data);
	return rc;
}

/* The one principal the key may sign health records as. */
static int find_signer(char *out, size_t size, const bpg_allowed_signers *signers, const char *key_path,
	time_t now, bpg_error *err)
{
	bpg_buf found = BPG_BUF_INIT;
	bpg_ssh_pubkey pub;
	int rc, n;

	memset(&pub, 0, sizeof(pub));
	if ((rc = key_public(&pub, key_path, err)) < 0)
		goto done;
	if ((n = bpg_allowed_signers_find_principals(&found, signers, &pub, HEALTH_NS, now, err)) < 0) {
		rc = n;
		goto done;
	}
	if (n != 1 || !found.ptr || strcspn(found.ptr, "\n,*?!") != strcspn(found.ptr, "\n")) {
		rc = bpg_error_set(err, BPG_ENOTFOUND, "the key %s is %s in .bpgate/allowed_signers for namespace %s; "
			"add one line `<principal> namespaces=\"%s\" <key>` (or pass --as PRINCIPAL)", key_path,
			n == 0 ? "not listed" : "ambiguous", HEALTH_NS, HEALTH_NS);
		goto done;
	}
	found.ptr[strcspn(found.ptr, "\n")] = '\0';
	snprintf(out, size, "%s", found.ptr);
	rc = 0;
done:
	bpg_buf_dispose(&found);
	return rc;
}

/* A parentless commit holding health.json and health.json.sig, at ref (never overwritten). */
static int write_record(git_repository *repo, const char *ref, const char *doc, size_t doclen, const char *sig,
	size_t siglen, const char *message, bpg_error *err)
{
	git_treebuilder *tb = NULL;
	git_signature *who = NULL;
	git_tree *tree = NULL;
	git_reference *r = NULL;
	git_oid b1, b2, tid, cid;
	int rc = 0;

	if (git_blob_create_from_buffer(&b1, repo, doc, doclen) < 0 ||
	    git_blob_create_from_buffer(&b2, repo, sig, siglen) < 0 || git_treebuilder_new(&tb, repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "health.json", &b1, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_insert(NULL, tb, "health.json.sig", &b2, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tid, tb) < 0 || git_tree_lookup(&tree, repo, &tid) < 0 ||
	    git_signature_now(&who, "bpgate", "bpgate@localhost") < 0 ||
	    git_commit_create(&cid, repo, NULL, who, who, NULL, message, tree, 0, NULL) < 0) {
		rc = bpg_git_fail(err, "cannot write the health record");
		goto done;
	}
	if (git_reference_create(&r, repo, ref, &cid, 0, message) < 0) {
		rc = bpg_git_fail(err, "cannot create the health record ref (one per second at most)");
		goto done;
	}
done:
	git_reference_free(r);
	git_signature_free(who);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	return rc;
}

static int cmp_str_desc(const void *a, const void *b)
{
	return -strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the newest `keep` records of env (by ref name: the time); delete the rest. */
static int prune(git_repository *repo, const char *env, unsigned keep, unsigned *deleted, bpg_error *err)
{
	git_reference_iterator *it = NULL;
	char glob[300];
	const char *name;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*deleted = 0;
	snprintf(glob, sizeof(glob), "refs/bpgate/health/%s/*", env);
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0)
		return bpg_git_fail(err, "cannot list the health records");
	while (git_reference_next_name(&name, it) == 0) {
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **v = nc <= 1000000 ? realloc(names, nc * sizeof(*v)) : NULL;
			if (!v) {
				rc = bpg_error_set(err, BPG_ENOMEM, "too many health records to list");
				goto done;
			}
			names = v;
			cap = nc;
		}
		if (!(names[n] = strdup(name))) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		n++;
	}
	git_error_clear();
	if (n > keep) {
		qsort(names, n, sizeof(*names), cmp_str_desc);
		for (size_t i = keep; i < n; i++) {
			git_reference *r = NULL;
			if (git_reference_lookup(&r, repo, names[i]) == 0 && git_reference_delete(r) == 0)
				(*deleted)++;
			git_reference_free(r);
			git_error_clear();
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	git_reference_iterator_free(it);
	return rc;
}

static void print_text(const json_t *doc, const char *ref, unsigned deleted)
{
	const char *id;
	json_t *s;
	printf("health of %s over %lldh (%s .. %s), branch at %.12s, signed by %s:\n",
		json_string_value(json_object_get(doc, "environment")),
		(long long)json_integer_value(json_object_get(doc, "window_hours")),
		json_string_value(json_object_get(doc, "from")), json_string_value(json_object_get(doc, "to")),
		json_string_value(json_object_get(doc, "commit")),
		json_string_value(json_object_get(doc, "signer")));
	json_object_foreach(json_object_get(doc, "scenarios"), id, s) {
		long long n = (long long)json_integer_value(json_object_get(s, "executions"));
		if (n == 0) {
			printf("  %-24s executions 0\n", id);
			continue;
		}
		printf("  %-24s executions %lld  success %.4f  warning %.4f  error %.4f  p50 %lld ms  p95 %lld ms\n", id, n,
			json_real_value(json_object_get(s, "success_rate")), json_real_value(json_object_get(s, "warning_rate")),
			json_real_value(json_object_get(s, "error_rate")),
			(long long)json_integer_value(json_object_get(s, "p50_ms")),
			(long long)json_integer_value(json_object_get(s, "p95_ms")));
	}
	printf("recorded at %s%s", ref, deleted ? "" : "\n");
	if (deleted)
		printf(" (%u older record%s pruned)\n", deleted, deleted == 1 ? "" : "s");
}

int make_health(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "window", required_argument, NULL, 'w' },
		{ "key", required_argument, NULL, 'k' },
		{ "as", required_argument, NULL, 'a' },
		{ "keep", required_argument, NULL, 'K' },
		{ "format", required_argument, NULL, 'f' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = NULL, *token_file = NULL, *as = NULL, *key_opt = NULL;
	unsigned hours = 24, keep = HEALTH_KEEP_DEFAULT, deleted = 0;
	bpg_format fmt = BPG_FORMAT_TEXT;
	mk_ctx c;
	bool opened = false;
	bpg_policy *pol2 = NULL;
	bpg_allowed_signers *signers = NULL;
	json_t *doc = NULL, *scen = NULL, *logs = NULL, *entry = NULL;
	bpg_buf sig = BPG_BUF_INIT;
	char *key = NULL, *bytes = NULL, signer[256] = "", ref[400], compact[32], from_s[32];
	bpg_error err;
	int o, rc = BPG_EXIT_ERROR;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'e': env = optarg; break;
		case 'w':
			if (parse_window(&hours, optarg) < 0) {
				fprintf(stderr, "bpgate make health: --window '%s': give Nh or Nd, from 1h to 31d (744h): "
					"a wider window is refused\n", optarg);
				return BPG_EXIT_ERROR;
			}
			break;
		case 'k': key_opt = optarg; break;
		case 'a': as = optarg; break;
		case 'K': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || optarg[0] == '-' || v == 0 || v > HEALTH_KEEP_MAX) {
				fprintf(stderr, "bpgate make health: --keep must be 1..%d (the gate reads at most %d records)\n",
					HEALTH_KEEP_MAX, HEALTH_KEEP_MAX);
				return BPG_EXIT_ERROR;
			}
			keep = (unsigned)v;
			break;
		}
		case 'f':
			if (cli_parse_format(&fmt, optarg, (1u << BPG_FORMAT_TEXT) | (1u << BPG_FORMAT_JSON)) < 0)
				return cli_usage(health_usage);
			break;
		case 't': token_file = optarg; break;
		case 'h': fputs(health_usage, stdout); return BPG_EXIT_OK;
		default: return cli_usage(health_usage);
		}
	}
	if (argc - optind > 0 || !env)
		return cli_usage(health_usage);
	bpg_error_clear(&err);
	mk_open_opts mo = { .env = env, .rev_is_env_branch = true, .token_file = token_file, .need_client = true,
		.cmd = "make health" };
	if (mk_open(&c, &mo) < 0)
		return BPG_EXIT_ERROR;
	opened = true;

	/* the signer: a principal of the role observers, by the key's line in allowed_signers */
	if (!(key = key_opt ? strdup(key_opt) : cli_config_string(c.repo, "bpgate.healthKey"))) {
		bpg_error_set(&err, BPG_EINVALID, "no signing key: pass --key SSH_KEY_FILE or set git config "
			"bpgate.healthKey (the key of a principal of the role \"%s\")", HEALTH_ROLE);
		goto fail;
	}
	long long now = parse_utc(c.now);
	if (now < 0) {
		bpg_error_set(&err, BPG_EINVALID, "the clock reads '%s', not YYYY-MM-DDTHH:MM:SSZ", c.now);
		goto fail;
	}
	if (rel_policy_load(&pol2, &signers, c.repo, &c.commit, &err) < 0)
		goto fail;
	if (!signers) {
		bpg_error_set(&err, BPG_ENOTFOUND, "%.12s has no .bpgate/allowed_signers to name the signer", c.commit_hex);
		goto fail;
	}
	if (as)
		snprintf(signer, sizeof(signer), "%s", as);
	else if (find_signer(signer, sizeof(signer), signers, key, (time_t)now, &err) < 0)
		goto fail;
	if (!bpg_policy_has_role(c.policy, HEALTH_ROLE, signer)) {
		bpg_error_set(&err, BPG_EVERIFY, "%s does not hold the role \"%s\" in .bpgate/policy.json: the gate "
			"would skip this record (add the principal to roles.%s)", signer, HEALTH_ROLE, HEALTH_ROLE);
		goto fail;
	}

	/* the figures */
	long long from = now - (long long)hours * 3600;
	format_utc(from_s, from, false);
	format_utc(compact, now, true);
	if (!(scen = json_object())) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		goto fail;
	}
	const json_t *const *entries;
	size_t n = bpg_policy_catalog(&entries, c.policy);
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(entries[i], "id"));
		long long mid = bpg_policy_scenario_make_id(entries[i], env);
		mk_health_figures f;
		if (!id || !mid)
			continue;
		if (bpg_make_logs_list(&logs, c.client, mid, from * 1000, now * 1000, 0, &err) < 0 ||
		    mk_health_compute(&f, logs, 0, &err) < 0) {
			bpg_error_prefix(&err, "%s (Make scenario %lld)", id, mid);
			goto fail;
		}
		json_decref(logs);
		logs = NULL;
		json_t *fig = mk_health_json(&f, mid);
		if (!fig || json_object_set_new(scen, id, fig) < 0) {
			bpg_error_set(&err, BPG_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (json_object_size(scen) == 0) {
		bpg_error_set(&err, BPG_ENOTFOUND, "no catalogued scenario has a Make id for %s (catalog \"make\")", env);
		goto fail;
	}
	doc = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:O}", "type", "bpgate-health/v1", "environment", env,
		"measured_at", c.now, "window_hours", (json_int_t)hours, "from", from_s, "to", c.now,
		"commit", c.commit_hex, "signer", signer, "scenarios", scen);
	if (!doc || !(bytes = bpg_json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15)))) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		goto fail;
	}
	size_t blen = strlen(bytes);
	char *nl = realloc(bytes, blen + 2);
	if (!nl) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		goto fail;
	}
	bytes = nl;
	memcpy(bytes + blen, "\n", 2);
	blen++;

	/* sign, and check the signature as the gate will (this policy's signers) */
	if (cli_ssh_sign(&sig, key, HEALTH_NS, bytes, blen, HEALTH_SIG_MAX, NULL, "make health") < 0)
		goto fail_quiet;
	bpg_sshsig_result res;
	if (bpg_sshsig_verify(&res, bytes, blen, sig.ptr, sig.size, HEALTH_NS, signer, signers, (time_t)now, &err) < 0) {
		bpg_error_prefix(&err, "the signed record would not verify as %s", signer);
		goto fail;
	}
	snprintf(ref, sizeof(ref), "refs/bpgate/health/%s/%s", env, compact);
	if (!git_reference_is_valid_name(ref)) {
		bpg_error_set(&err, BPG_EINVALID, "'%s' is not a valid ref name", ref);
		goto fail;
	}
	char msg[1024];
	snprintf(msg, sizeof(msg), "bpgate: health of %.200s measured at %s by %s", env, c.now, signer);
	if (write_record(c.repo, ref, bytes, blen, sig.ptr, sig.size, msg, &err) < 0 ||
	    prune(c.repo, env, keep, &deleted, &err) < 0)
		goto fail;
	if (!(entry = json_pack("{s:s, s:s, s:s, s:I, s:s, s:O}", "ref", ref, "commit", c.commit_hex, "signer", signer,
		"window_hours", (json_int_t)hours, "measured_at", c.now, "scenarios", scen)) ||
	    mk_audit(&c, "bpgate-health", entry, &err) < 0)
		goto fail;
	if (fmt == BPG_FORMAT_JSON)
		fputs(bytes, stdout);
	else
		print_text(doc, ref, deleted);
	rc = BPG_EXIT_OK;
	goto done;
fail:
	cli_report_error("make health", &err);
fail_quiet:
	rc = BPG_EXIT_ERROR;
done:
	json_decref(entry);
	json_decref(doc);
	json_decref(scen);
	json_decref(logs);
	bpg_buf_dispose(&sig);
	free(bytes);
	free(key);
	bpg_allowed_signers_free(signers);
	bpg_policy_free(pol2);
	if (opened)
		mk_close(&c);
	return rc;
}
