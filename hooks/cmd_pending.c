/*
 * bpgate pending [--repo DIR] [--env ENV] [--policy-ref REF] [--remote NAME] [--no-fetch] [--format text|json]
 *
 * Break-glass changes still waiting for retroactive approval: the release
 * records of kind "break-glass" (refs/bpgate/releases/<env>/<commit>, written
 * by the server) whose tree does not yet have the approvals the policy's
 * break-glass-overdue rule asks for (refs/bpgate/approvals/<env>/<tree>/...,
 * verified against .bpgate/allowed_signers, the one who broke the glass not
 * counted). Each comes with its age in days and whether the rule's limit
 * is passed (then the server refuses further promotions of its scenarios).
 * Whether a record is pending, overdue and blocking is the engine's verdict
 * (bpg_policy_break_glass_state, the function the rule decides with).
 * The policy is read from --policy-ref, git config bpgate.policyRef, or HEAD.
 * In a clone the records and approvals are first fetched from --remote
 * (default origin; rel_fetch_server_refs): when that fails nothing is
 * reported (exit 2) unless --no-fetch asks for what the clone has.
 * Exit: 0 nothing pending, 1 something pending, 2 error.
 */
#include "cli.h"
#include "releases.h"
#include "make_status.h"
#include "bpgate/approval.h"
#include "bpgate/buf.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void put_safe(FILE *f, const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	if (s && bpg_safe_put(&b, s, strlen(s), 300) == 0 && b.ptr)
		fputs(b.ptr, f);
	bpg_buf_dispose(&b);
}

/* Distinct verified approvers of the record's tree, the glass-breaker not counted (as the rule counts). */
static json_t *retro_approvers(git_repository *repo, const char *env, const char *tree, const char *pusher,
	const bpg_allowed_signers *signers, time_t now, bpg_error *err)
{
	json_t *found = json_array(), *who = json_array(), *a;
	const char *trees[] = { tree };
	size_t i;

	if (!found || !who || bpg_approvals_gather(found, repo, env, trees, 1, signers, now, err) < 0) {
		json_decref(found);
		json_decref(who);
		return NULL;
	}
	json_array_foreach(found, i, a) {
		const char *name = json_string_value(json_object_get(a, "approver"));
		if (!json_is_true(json_object_get(a, "verified")) || !name || (pusher && strcasecmp(name, pusher) == 0))
			continue;
		bool dup = false;
		size_t k;
		json_t *b;
		json_array_foreach(who, k, b)
			dup |= strcasecmp(json_string_value(b), name) == 0;
		if (!dup)
			json_array_append_new(who, json_string(name));
	}
	json_decref(found);
	return who;
}

static int policy_commit(git_oid *out, git_repository *repo, const char *ref)
{
	git_config *c = NULL;
	git_object *obj = NULL, *peeled = NULL;
	const char *v = NULL;
	char *cfg = NULL;
	int rc = -1;

	if (!ref && git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.policyRef") == 0 && v)
		cfg = strdup(v);
	git_config_free(c);
	git_error_clear();
	if (git_revparse_single(&obj, repo, ref ? ref : cfg ? cfg : "HEAD") == 0 &&
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) == 0) {
		git_oid_cpy(out, git_object_id(peeled));
		rc = 0;
	}
	if (rc < 0)
		fprintf(stderr, "bpgate pending: cannot read the policy ref %s: %s\n", ref ? ref : cfg ? cfg : "HEAD",
			git_error_last() && git_error_last()->message ? git_error_last()->message : "not a commit");
	git_error_clear();
	git_object_free(peeled);
	git_object_free(obj);
	free(cfg);
	return rc;
}

static void print_text(const json_t *list, time_t now_unused)
{
	size_t i, k;
	json_t *p, *s;
	(void)now_unused;
	if (json_array_size(list) == 0) {
		printf("no break-glass change is waiting for retroactive approval\n");
		return;
	}
	printf("%zu break-glass change(s) without retroactive approval:\n", json_array_size(list));
	json_array_foreach(list, i, p) {
		const char *env = json_string_value(json_object_get(p, "environment"));
		const char *commit = json_string_value(json_object_get(p, "commit"));
		printf("\n%s  commit %.12s  tree %.12s  ", env, commit, json_string_value(json_object_get(p, "tree")));
		put_safe(stdout, json_string_value(json_object_get(p, "incident")) ?
			json_string_value(json_object_get(p, "incident")) : "(no incident recorded)");
		printf("\n  by ");
		put_safe(stdout, json_string_value(json_object_get(p, "pusher")));
		printf(" at %s, %lld day(s) ago; scenarios:", json_string_value(json_object_get(p, "time")),
			(long long)json_integer_value(json_object_get(p, "age_days")));
		json_array_foreach(json_object_get(p, "scenarios"), k, s) {
			putchar(' ');
			put_safe(stdout, json_string_value(s));
		}
		if (json_array_size(json_object_get(p, "scenarios")) == 0)
			printf(" (none catalogued)");
		printf("\n  retroactive approvals: %zu of %lld",
			json_array_size(json_object_get(p, "approvers")), (long long)json_integer_value(json_object_get(p, "required")));
		json_array_foreach(json_object_get(p, "approvers"), k, s) {
			printf("%s", k ? ", " : " (");
			put_safe(stdout, json_string_value(s));
		}
		printf("%s\n", json_array_size(json_object_get(p, "approvers")) ? ")" : "");
		const json_t *limit = json_object_get(p, "limit_days");
		if (json_is_true(json_object_get(p, "blocking")))
			printf("  OVERDUE: past the %lld-day limit of break-glass-overdue: the server refuses further %s "
				"promotions of these scenarios\n", (long long)json_integer_value(limit), env);
		else if (json_is_true(json_object_get(p, "overdue")))
			printf("  overdue: past the %lld-day limit of break-glass-overdue, which the policy sets to warn: "
				"the server warns on further %s promotions of these scenarios\n",
				(long long)json_integer_value(limit), env);
		else if (json_is_true(json_object_get(p, "rule_off")))
			printf("  break-glass-overdue is off in the policy: no overdue limit\n");
		else if (json_is_integer(limit))
			printf("  due within the %lld-day limit of break-glass-overdue\n", (long long)json_integer_value(limit));
		else
			printf("  no overdue limit for %s in the policy\n", env);
		printf("  fix: a reviewer runs `bpgate approve %.12s --for %s`\n", commit, env);
	}
}

int cmd_pending(int argc, char **argv)
{
	const char *dir = ".", *env = NULL, *pref = NULL, *remote = "origin";
	bool no_fetch = false;
	bpg_format fmt = BPG_FORMAT_TEXT;
	git_repository *repo = NULL;
	bpg_policy *policy = NULL;
	bpg_allowed_signers *signers = NULL;
	json_t *records = NULL, *list = json_array(), *rec;
	bpg_error err;
	git_oid pc;
	time_t now;
	char now_s[32];
	size_t ri;
	int orc;
	int rc = BPG_EXIT_ERROR;
	static const char *use = "bpgate pending [--repo DIR] [--env ENV] [--policy-ref REF] [--remote NAME] [--no-fetch] "
		"[--format text|json]";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--repo") == 0 && i + 1 < argc) dir = argv[++i];
		else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) env = argv[++i];
		else if (strcmp(argv[i], "--policy-ref") == 0 && i + 1 < argc) pref = argv[++i];
		else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc) remote = argv[++i];
		else if (strcmp(argv[i], "--no-fetch") == 0) no_fetch = true;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], (1u << BPG_FORMAT_TEXT) | (1u << BPG_FORMAT_JSON)) < 0) {
				json_decref(list);
				return BPG_EXIT_ERROR;
			}
		} else {
			json_decref(list);
			return cli_usage(use);
		}
	}
	git_libgit2_init();
	rel_now(&now, now_s);
	if (!list)
		goto done;
	if ((orc = cli_repo_open(&repo, dir, 0, "pending")) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate pending: %s is not inside a git repository\n", dir);
		goto done;
	}
	if (!no_fetch && rel_fetch_server_refs(repo, remote, "pending") == REL_FETCH_FAILED)
		goto done;
	if (no_fetch)
		fprintf(stderr, "bpgate pending: not fetched (--no-fetch): what this clone has, which may be out of date\n");
	if (policy_commit(&pc, repo, pref) < 0)
		goto done;
	if (rel_policy_load(&policy, &signers, repo, &pc, &err) < 0 || rel_records(&records, repo, env, &err) < 0) {
		cli_report_error("pending", &err);
		goto done;
	}
	json_array_foreach(records, ri, rec) {
		const char *kind = json_string_value(json_object_get(rec, "kind"));
		const char *renv = json_string_value(json_object_get(rec, "environment"));
		const char *tree = json_string_value(json_object_get(rec, "tree"));
		const char *pusher = json_string_value(json_object_get(rec, "pusher"));
		time_t t = 0;
		if (!kind || strcmp(kind, "break-glass") != 0 || !renv || (env && strcmp(env, renv) != 0))
			continue;
		json_t *who = retro_approvers(repo, renv, tree, pusher, signers, now, &err);
		if (!who) {
			cli_report_error("pending", &err);
			goto done;
		}
		/* the engine's own verdict (break-glass-overdue), defaults applied as the server applies them */
		bpg_break_glass_state st;
		bool has_time = rel_time_parse(json_string_value(json_object_get(rec, "time")), &t) == 0;
		bpg_policy_break_glass_state(&st, policy, renv, has_time, (long long)t, (long long)now, json_array_size(who));
		if (!st.pending) {
			json_decref(who);
			continue;
		}
		json_t *o = json_pack("{s:s, s:O, s:s, s:O?, s:O?, s:O?, s:I, s:O?, s:o, s:I, s:b, s:b, s:b, s:O}",
			"environment", renv, "commit", json_object_get(rec, "new"), "tree", tree,
			"incident", json_object_get(rec, "incident"), "pusher", json_object_get(rec, "pusher"),
			"time", json_object_get(rec, "time"), "age_days", st.age_days, "scenarios", json_object_get(rec, "scenarios"),
			"approvers", who, "required", st.approvals, "overdue", st.overdue, "blocking", st.blocking,
			"rule_off", !st.rule_on, "record_ref", json_object_get(rec, "record_ref"));
		if (!o || json_object_set_new(o, "limit_days", st.limited ? json_integer(st.max_days) : json_null()) < 0 ||
		    json_array_append_new(list, o) < 0) {
			fprintf(stderr, "bpgate pending: out of memory\n");
			goto done;
		}
	}
	int make_pending = 0;
	if (fmt == BPG_FORMAT_JSON) {
		json_t *doc = json_pack("{s:s, s:s, s:O, s:o}", "type", "bpgate-pending/v1", "time", now_s, "pending", list,
			"make", make_status_json(repo, bpg_policy_json(policy)));
		char *s = doc ? bpg_json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(doc);
		make_pending = make_status_print_pending(NULL, repo, bpg_policy_json(policy));
	} else {
		print_text(list, now);
		make_pending = make_status_print_pending(stdout, repo, bpg_policy_json(policy));
	}
	rc = json_array_size(list) || make_pending ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
done:
	json_decref(list);
	json_decref(records);
	bpg_policy_free(policy);
	bpg_allowed_signers_free(signers);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
