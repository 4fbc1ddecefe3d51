/*
 * `bpgate make drift [--env ENV]`: what runs in Make against the
 * environment's branch, after mapping. Cheap by construction: one paginated
 * scenario list, then a blueprint read only for scenarios whose lastEdit
 * moved since the last deployment record (or that have none). Each run is
 * recorded (refs/bpgate/drift/<env>, and an audit entry where the
 * repository keeps the audit log) so that `status` can show the last check.
 *
 * States: clean; drift (edited in Make since the deployment, or never
 * deployed by bpgate and different); missing (catalogued, not in Make);
 * not-deployed (Make still runs the last deployment, the branch moved on);
 * active (switched on or off in Make, not through bpgate); disabled (switched
 * off through `bpgate make disable`: recorded, not drift). Exit 0 clean or
 * disabled only, 1 any other, 2 error.
 */
#include "make_cmds.h"
#include "make_common.h"
#include "make_record.h"
#include "releases.h"
#include "bpgate/jsonheap.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char drift_usage[] =
	"bpgate make drift [--env ENV] [--format text|json|sarif] [--token-file FILE]\n"
	"\n"
	"  Compare every catalogued scenario in ENV's Make team (default: the last\n"
	"  environment of the promotion chain, prod) with ENV's branch, mapped.\n"
	"  Token scope: scenarios:read.  exit: 0 clean, 1 drift, 2 error\n";

/* The environment nothing promotes from: the end of the chain. */
static const char *last_env(const bpg_policy *p)
{
	const char *const *envs;
	size_t n = bpg_policy_envs(&envs, p);
	const json_t *all = json_object_get(bpg_policy_json(p), "environments");
	for (size_t i = 0; i < n; i++) {
		bool is_source = false;
		for (size_t j = 0; j < n; j++) {
			const char *from = json_string_value(json_object_get(json_object_get(all, envs[j]), "promotes_from"));
			if (from && strcmp(from, envs[i]) == 0)
				is_source = true;
		}
		if (!is_source)
			return envs[i];
	}
	return NULL;
}

static const json_t *find_live(const json_t *list, long long mid)
{
	size_t i;
	json_t *s;
	json_array_foreach((json_t *)list, i, s)
		if (json_is_integer(json_object_get(s, "id")) && json_integer_value(json_object_get(s, "id")) == mid)
			return s;
	return NULL;
}

/* One scenario's verdict: {"scenario","make_id","path","state","detail","changes"}. */
static int check_one(json_t **out, mk_ctx *c, const mk_state *st, const json_t *entry, const json_t *list,
	unsigned *reads, bpg_error *err)
{
	const char *id = json_string_value(json_object_get(entry, "id"));
	const json_t *rec = json_object_get(json_object_get(st->doc, "scenarios"), id);
	long long mid = bpg_policy_scenario_make_id(entry, c->env);
	bpg_buf want = BPG_BUF_INIT, live = BPG_BUF_INIT, written = BPG_BUF_INIT;
	json_t *doc = NULL, *changes = NULL, *v = NULL;
	const char *state = "clean", *detail = "";
	char sha[65];
	int rc;

	*out = NULL;
	if (!mid && rec && json_is_integer(json_object_get(rec, "make_id")))
		mid = (long long)json_integer_value(json_object_get(rec, "make_id"));
	if ((rc = mk_desired(&want, &doc, c, entry, err)) < 0)
		goto done;
	mk_sha256_hex(sha, want.ptr, want.size);
	const json_t *item = mid ? find_live(list, mid) : NULL;
	if (!item) {
		state = "missing";
		detail = mid ? "not in the environment's Make team" : "no Make scenario id for this environment";
		changes = json_array();
		goto verdict;
	}
	const char *le = json_string_value(json_object_get(item, "lastEdit"));
	const char *rle = rec ? json_string_value(json_object_get(rec, "lastEdit")) : NULL;
	if (rec && le && rle && strcmp(le, rle) == 0) {
		/* untouched since our write: live is exactly what we wrote */
		if ((rc = mk_state_written(&written, c->repo, st, id, err)) < 0 ||
		    (rc = mk_compare(&changes, written.ptr, written.size, want.ptr, want.size, err)) < 0)
			goto done;
		if (json_array_size(changes) > 0) {
			state = "not-deployed";
			detail = "Make runs the last deployment; the branch has changed since (deploy it)";
		}
	} else {
		(*reads)++;
		if ((rc = mk_live(&live, NULL, c, mid, err)) < 0 ||
		    (rc = mk_compare(&changes, want.ptr, want.size, live.ptr, live.size, err)) < 0)
			goto done;
		if (rec) {
			json_t *edited = NULL;
			if ((rc = mk_state_written(&written, c->repo, st, id, err)) < 0 ||
			    (rc = mk_compare(&edited, written.ptr, written.size, live.ptr, live.size, err)) < 0)
				goto done;
			if (json_array_size(edited) > 0) {
				state = "drift";
				detail = "edited in Make since the last deployment";
			} else if (json_array_size(changes) > 0) {
				state = "not-deployed";
				detail = "Make runs the last deployment; the branch has changed since (deploy it)";
			}
			json_decref(edited);
		} else if (json_array_size(changes) > 0) {
			state = "drift";
			detail = "never deployed by bpgate, and differs from the branch";
		}
	}
	if (strcmp(state, "clean") == 0) {
		/* the expected active state: the last recorded disable/enable, else the deployment's */
		json_t *sw = NULL;
		if ((rc = mk_switch_get(&sw, c->repo, c->env, id, err)) < 0)
			goto done;
		const json_t *ra = sw ? json_object_get(sw, "active") : rec ? json_object_get(rec, "isActive") : NULL;
		const json_t *la = json_object_get(item, "isActive");
		if (json_is_boolean(ra) && json_is_boolean(la) && json_boolean_value(ra) != json_boolean_value(la)) {
			state = "active";
			detail = json_boolean_value(la) ? "activated in Make, not through bpgate" :
				"deactivated in Make, not through bpgate";
		} else if (sw && json_is_false(ra)) {
			state = "disabled";
			detail = "disabled through bpgate (bpgate make enable to start it again)";
		}
		json_decref(sw);
	}
verdict:
	v = json_pack("{s:s, s:I, s:s?, s:s, s:s, s:O}", "scenario", id, "make_id", (json_int_t)mid,
		"path", bpg_policy_scenario_blueprint(entry), "state", state, "detail", detail,
		"changes", changes ? changes : json_null());
	if (!v)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	*out = v;
done:
	json_decref(changes);
	json_decref(doc);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&live);
	bpg_buf_dispose(&written);
	return rc;
}

static void print_text(const mk_ctx *c, const json_t *results, unsigned long requests, bool drifted)
{
	size_t i;
	json_t *r;
	printf("drift of %s (Make team %lld) against %.12s:\n", c->env, c->menv.team_id, c->commit_hex);
	json_array_foreach((json_t *)results, i, r) {
		const char *state = json_string_value(json_object_get(r, "state"));
		printf("  %-24s %-12s %s\n", json_string_value(json_object_get(r, "scenario")), state,
			json_string_value(json_object_get(r, "detail")));
		if (strcmp(state, "clean") != 0 && strcmp(state, "disabled") != 0)
			mk_print_changes(stdout, json_object_get(r, "changes"), 20);
	}
	printf("%s; %lu requests\n", drifted ? "DRIFT: Make differs from git" : "clean: Make runs what git holds",
		requests);
}

static void print_sarif(const json_t *results)
{
	json_t *res = json_array();
	size_t i;
	json_t *r;
	json_array_foreach((json_t *)results, i, r) {
		const char *state = json_string_value(json_object_get(r, "state"));
		if (strcmp(state, "clean") == 0 || strcmp(state, "disabled") == 0)
			continue;
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s (%s, Make scenario %lld)", json_string_value(json_object_get(r, "scenario")),
			json_string_value(json_object_get(r, "detail")), state,
			(long long)json_integer_value(json_object_get(r, "make_id")));
		const char *path = json_string_value(json_object_get(r, "path"));
		json_array_append_new(res, json_pack("{s:s, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i}}}]}",
			"ruleId", "make-drift", "level", "error", "message", "text", msg,
			"locations", "physicalLocation", "artifactLocation", "uri", path ? path : ".bpgate/policy.json",
			"region", "startLine", 1));
	}
	json_t *doc = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:[{s:s, s:{s:s}}]}}, s:o}]}",
		"$schema", "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
		"tool", "driver", "name", "bpgate", "informationUri", "https://example.invalid/bpgate",
		"rules", "id", "make-drift", "shortDescription", "text",
		"the scenario in Make differs from the environment's branch", "results", res);
	char *s = doc ? bpg_json_dumps(doc, JSON_INDENT(2)) : NULL;
	if (s)
		puts(s);
	free(s);
	json_decref(doc);
}

int make_drift(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = NULL, *token_file = NULL;
	bpg_format fmt = BPG_FORMAT_TEXT;
	mk_ctx c;
	mk_state st = { 0 };
	json_t *list = NULL, *results = NULL;
	unsigned reads = 0;
	bool drifted = false, opened = false;
	bpg_error err;
	int o, rc = BPG_EXIT_ERROR;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'e': env = optarg; break;
		case 'f':
			if (cli_parse_format(&fmt, optarg, (1u << BPG_FORMAT_TEXT) | (1u << BPG_FORMAT_JSON) |
			    (1u << BPG_FORMAT_SARIF)) < 0)
				return cli_usage(drift_usage);
			break;
		case 't': token_file = optarg; break;
		case 'h': printf("usage: %s", drift_usage); return BPG_EXIT_OK;
		default: return cli_usage(drift_usage);
		}
	}
	if (argc - optind > 0)
		return cli_usage(drift_usage);
	bpg_error_clear(&err);
	if (!env) {
		/* the default environment comes from HEAD's policy */
		git_repository *repo = NULL;
		git_object *head = NULL;
		bpg_policy *p = NULL;
		bpg_allowed_signers *s = NULL;
		static char name[128];
		if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) == 0 &&
		    git_revparse_single(&head, repo, "HEAD^{commit}") == 0 &&
		    rel_policy_load(&p, &s, repo, git_object_id(head), &err) == 0 && last_env(p))
			snprintf(name, sizeof(name), "%s", last_env(p));
		bpg_policy_free(p);
		bpg_allowed_signers_free(s);
		git_object_free(head);
		git_repository_free(repo);
		git_error_clear();
		if (!name[0]) {
			fprintf(stderr, "bpgate make drift: cannot tell the default environment; pass --env ENV\n");
			return BPG_EXIT_ERROR;
		}
		env = name;
	}
	mk_open_opts mo = { .env = env, .rev_is_env_branch = true, .token_file = token_file, .need_client = true,
		.cmd = "make drift" };
	if (mk_open(&c, &mo) < 0)
		return BPG_EXIT_ERROR;
	opened = true;
	if (mk_state_load(&st, c.repo, env, &err) < 0 ||
	    bpg_make_scenarios_list(&list, c.client, c.menv.team_id, c.menv.folder_id, &err) < 0 ||
	    !(results = json_array()))
		goto fail;
	const json_t *const *entries;
	size_t n = bpg_policy_catalog(&entries, c.policy);
	for (size_t i = 0; i < n; i++) {
		json_t *v = NULL;
		if (!bpg_policy_scenario_blueprint(entries[i]))
			continue;
		bpg_error_clear(&err);
		if (check_one(&v, &c, &st, entries[i], list, &reads, &err) < 0 && err.code == BPG_ENOTFOUND) {
			bpg_error_clear(&err);
			continue; /* catalogued before its file landed on the branch */
		}
		if (err.code < 0) {
			bpg_error_prefix(&err, "%s", json_string_value(json_object_get(entries[i], "id")));
			goto fail;
		}
		const char *vs = json_string_value(json_object_get(v, "state"));
		if (strcmp(vs, "clean") != 0 && strcmp(vs, "disabled") != 0)
			drifted = true;
		json_array_append_new(results, v);
	}
	unsigned long requests = bpg_make_client_requests(c.client);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:O}", "environment", env, "commit", c.commit_hex,
		"time", c.now, "who", c.who, "drift", drifted, "requests", (json_int_t)requests,
		"blueprint_reads", (json_int_t)reads, "scenarios", results);
	json_t *entry = json_pack("{s:s, s:b, s:I, s:O}", "commit", c.commit_hex, "drift", drifted,
		"requests", (json_int_t)requests, "scenarios", results);
	if (!doc || !entry || mk_drift_save(c.repo, env, doc, &err) < 0 || mk_audit(&c, "bpgate-drift", entry, &err) < 0) {
		json_decref(entry);
		json_decref(doc);
		goto fail;
	}
	json_decref(entry);
	if (!c.audit_dir)
		fprintf(stderr, "bpgate make drift: note: no audit log in this repository; the check is recorded in "
			"refs/bpgate/drift/%s only\n", env);
	if (fmt == BPG_FORMAT_JSON) {
		char *s = bpg_json_dumps(doc, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
	} else if (fmt == BPG_FORMAT_SARIF)
		print_sarif(results);
	else
		print_text(&c, results, requests, drifted);
	json_decref(doc);
	rc = drifted ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
	goto done;
fail:
	cli_report_error("make drift", &err);
	rc = BPG_EXIT_ERROR;
done:
	json_decref(list);
	json_decref(results);
	mk_state_dispose(&st);
	if (opened)
		mk_close(&c);
	return rc;
}
