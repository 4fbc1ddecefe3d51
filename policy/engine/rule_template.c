/*
 * change-template: commits that touch blueprints carry the change-template
 * fields as git trailers (Purpose, Risk, Test-Plan, Rollback by default),
 * non-empty; Risk is one of the policy's tiers; a high-risk change also
 * names its UAT evidence.
 */
#include "engine.h"

#include <stdlib.h>
#include <strings.h>
#include <string.h>

static const bpg_sfield params[] = {
	{ "trailers", &bpg_s_strings, false, "[\"Purpose\", \"Risk\", \"Test-Plan\", \"Rollback\"]" },
	{ "risk_trailer", &bpg_s_nonempty, false, "\"Risk\"" },
	{ "uat_trailer", &bpg_s_nonempty, false, "\"UAT-Evidence\"" },
	{ NULL, NULL, false, NULL },
};

/* Trailer keys are case-insensitive in git; the last non-empty value wins.
 * found[k]: the value of keys[k] in the commit, or NULL. One pass over the
 * commit's trailers for all the keys: this runs for every commit of a push. */
static void trailers_of(const char **found, const json_t *commit, const char *const *keys, size_t nkeys)
{
	const char *k;
	json_t *v;

	for (size_t j = 0; j < nkeys; j++)
		found[j] = NULL;
	json_object_foreach(json_object_get(commit, "trailers"), k, v) {
		const char *last = NULL;
		size_t i;
		json_t *x;
		if (json_is_string(v) && json_string_length(v) > 0)
			last = json_string_value(v);
		json_array_foreach(v, i, x)
			if (json_is_string(x) && json_string_length(x) > 0)
				last = json_string_value(x);
		if (!last)
			continue;
		for (size_t j = 0; j < nkeys; j++)
			if (keys[j] && strcasecmp(k, keys[j]) == 0)
				found[j] = last;
	}
}

/* Which changed files are blueprints, by path: built once per evaluation,
 * since every commit of a push asks it for each of its paths. New reference. */
static json_t *blueprint_files(const bpg_eval *ev)
{
	json_t *set = json_object(), *f;
	size_t i;

	if (!set)
		return NULL;
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const char *p = bpg_jstr(f, "path");
		bool bp = p && (json_object_get(f, "blueprint") || json_object_get(f, "parse_error") ||
			json_object_get(f, "old_blueprint") || bpg_pol_path_is(bpg_ev_policy(ev), "blueprints", p));
		if (p && !json_object_get(set, p) && json_object_set_new(set, p, json_boolean(bp)) < 0) {
			json_decref(set);
			return NULL;
		}
	}
	return set;
}

static bool is_blueprint_path(const bpg_eval *ev, const json_t *files, const char *path)
{
	const json_t *known = json_object_get(files, path);
	return known ? json_is_true(known) : bpg_pol_path_is(bpg_ev_policy(ev), "blueprints", path);
}

static bool touches_blueprints(const bpg_eval *ev, const json_t *files, const json_t *commit)
{
	const json_t *paths = json_object_get(commit, "paths");
	const char *k;
	size_t i;
	json_t *v;

	if (paths) {
		json_array_foreach(paths, i, v)
			if (json_is_string(v) && is_blueprint_path(ev, files, json_string_value(v)))
				return true;
		return false;
	}
	/* no per-commit paths: every commit of a change that touches blueprints */
	json_object_foreach((json_t *)files, k, v)
		if (json_is_true(v))
			return true;
	return false;
}

/* The template's keys: keys[0..n-1] the policy's trailers, keys[n] the risk
 * and keys[n + 1] the UAT trailer (n = bpg_policy_trailer_count). */
static void template_keys(const char **keys, const bpg_policy *p, size_t n)
{
	for (size_t j = 0; j < n; j++)
		keys[j] = bpg_policy_trailer(p, j);
	keys[n] = bpg_policy_risk_trailer(p);
	keys[n + 1] = bpg_policy_uat_trailer(p);
}

/*
 * The findings of one commit that touches blueprints, found[] its values of
 * keys[]. With ev, they are emitted (0 or a negative code); with ev NULL,
 * only whether there is one (1 at the first, else 0): what
 * bpg_policy_template_incomplete answers, with the same checks.
 */
static int judge_commit(bpg_eval *ev, const bpg_policy *p, const char *const *keys, const char **found, size_t n,
	const json_t *c)
{
	const json_t *tiers = json_object_get(bpg_policy_json(p), "risk_tiers"), *t;
	const char *ctx = ev ? bpg_jstr(bpg_ev_facts(ev), "context") : NULL;
	const char *id = bpg_jstr(c, "id"), *risk_key = keys[n], *uat_key = keys[n + 1];
	bpg_where w = { NULL, NULL, id && *id ? id : NULL, NULL, 0, 0 };
	size_t j;
	int rc;

	for (j = 0; j < n; j++) {
		const char *key = keys[j];
		if (!key || found[j])
			continue;
		if (!ev)
			return 1;
		/* the fix for the commit being made (commit-msg) is not the one for commits already made */
		char fix[512];
		if (ctx && strcmp(ctx, "commit-msg") == 0)
			snprintf(fix, sizeof(fix), "add '%.64s: ...' as the last paragraph of this commit's message and "
				"commit again; your message is kept: git commit -e -F \"$(git rev-parse --git-path "
				"COMMIT_EDITMSG)\" --trailer '%.64s: <value>'", key, key);
		else
			snprintf(fix, sizeof(fix), "add '%.64s: ...' as the last paragraph of that commit's message: "
				"git commit --amend --trailer '%.64s: <value>' when it is the last commit, else "
				"git rebase -i %.12s^ and reword it", key, key, id && *id ? id : "<commit>");
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
			"commit changes blueprints but its message has no '%s:' trailer", key)) < 0)
			return rc;
	}
	const char *risk = found[n];
	if (!risk)
		return 0;
	if (!bpg_strings_has(tiers, risk)) {
		if (!ev)
			return 1;
		bpg_buf list = BPG_BUF_INIT;
		int lrc = 0;
		json_array_foreach(tiers, j, t)
			if (lrc == 0)
				lrc = bpg_buf_printf(&list, "%s%s", j ? ", " : "", json_string_value(t));
		rc = lrc < 0 ? BPG_ENOMEM : bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "use one of the policy's risk tiers",
			"'%s: %s' is not a risk tier of this policy (expected one of: %s)", risk_key, risk,
			list.ptr ? list.ptr : "");
		bpg_buf_dispose(&list);
		return rc < 0 ? rc : 0;
	}
	if (bpg_pol_is_high_risk(p, risk) && !found[n + 1]) {
		if (!ev)
			return 1;
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"name the UAT evidence (a test run, ticket or file) in the trailer",
			"high-risk change (%s: %s) without a '%s:' trailer naming its UAT evidence",
			risk_key, risk, uat_key)) < 0)
			return rc;
	}
	return 0;
}

/* keys[] and found[] on the stack up to this many trailers (the pack has four) */
#define KEYS_ON_STACK 64

bool bpg_policy_template_incomplete(const bpg_policy *p, const json_t *commit)
{
	const char *keys[KEYS_ON_STACK + 2], *found[KEYS_ON_STACK + 2];
	size_t n = bpg_policy_trailer_count(p);

	if (n > KEYS_ON_STACK)
		return true; /* not told without allocating: say yes, the paths are gathered */
	template_keys(keys, p, n);
	trailers_of(found, commit, keys, n + 2);
	return judge_commit(NULL, p, keys, found, n, commit) != 0;
}

static int eval(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	size_t n = bpg_policy_trailer_count(p), i;
	const char **keys = bpg_calloc(n + 2, sizeof(*keys)), **found = bpg_calloc(n + 2, sizeof(*found));
	json_t *c, *files = blueprint_files(ev);
	int rc = 0;

	if (!files || !keys || !found) {
		rc = BPG_ENOMEM;
		goto done;
	}
	template_keys(keys, p, n);
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), i, c) {
		if (!touches_blueprints(ev, files, c))
			continue;
		trailers_of(found, c, keys, n + 2);
		if ((rc = judge_commit(ev, p, keys, found, n, c)) < 0)
			goto done;
	}
	rc = 0;
done:
	free(keys);
	free(found);
	json_decref(files);
	return rc;
}

const bpg_rule_def bpg_rule_change_template = {
	.info = { "change-template", "commits touching blueprints carry the change-template trailers", BPG_MODE_ENFORCE },
	.params = params,
	.eval = eval,
};
