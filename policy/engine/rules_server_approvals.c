/*
 * approvals: a push to an environment that requires approvals needs N
 * distinct approvers with the reviewer role (and M of the change board),
 * N and M per environment and risk tier (parameter `required`:
 * environment -> tier or "default" -> {"reviewers": N, "cab": M}). An
 * approval counts when it verified, names this repository, this
 * environment and exactly the tree being pushed (a new commit with another
 * tree makes it stale; a rebase to the identical tree keeps it), is not
 * older than max_age_days, and its approver neither authored nor committed
 * any commit of the range nor is the pusher. Waived for break-glass and
 * rollback. When fewer eligible people exist than required, says so.
 * policy-change: a push to a protected environment that changes .bpgate/
 * needs `admins` approvals by the admin role, bound the same way.
 */
#include "rules_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const bpg_sfield need_fields[] = {
	{ "reviewers", &bpg_s_int, false, NULL },
	{ "cab", &bpg_s_int, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema need_s = { SK_OBJECT, need_fields, NULL, NULL };
static const bpg_schema tiers_s = { SK_MAP, NULL, &need_s, NULL };
static const bpg_schema required_s = { SK_MAP, NULL, &tiers_s, NULL };
static const bpg_sfield approval_params[] = {
	{ "required", &required_s, false,
	  "{\"prod\": {\"default\": {\"reviewers\": 1}, \"high\": {\"reviewers\": 2, \"cab\": 1}}}" },
	{ "max_age_days", &bpg_s_int, false, "14" },
	{ "max_skew_seconds", &bpg_s_int, false, "300" },
	{ NULL, NULL, false, NULL },
};
static const bpg_sfield policy_params[] = {
	{ "paths", &bpg_s_strings, false, "[\".bpgate/**\"]" },
	{ "admins", &bpg_s_int, false, "1" },
	{ NULL, NULL, false, NULL },
};

#define LIST_MAX 1024

typedef struct {
	char have[LIST_MAX];     /* counted approvers */
	char notes[LIST_MAX];    /* approvals that did not count, and why */
	size_t n;
} tally;

static void add_to(char *buf, const char *fmt, ...) BPG_PRINTF(2, 3);
static void add_to(char *buf, const char *fmt, ...)
{
	size_t off = strlen(buf);
	va_list ap;
	if (off + 4 >= LIST_MAX)
		return;
	if (off)
		buf[off++] = ';', buf[off++] = ' ', buf[off] = '\0';
	va_start(ap, fmt);
	vsnprintf(buf + off, LIST_MAX - off, fmt, ap);
	va_end(ap);
}

static bool seen_before(const json_t *arr, size_t upto, const char *approver, const char *env, const char *tree,
	const bpg_eval *ev, const char *role)
{
	for (size_t k = 0; k < upto; k++) {
		const json_t *b = json_array_get(arr, k);
		if (srv_same(bpg_jstr(b, "approver"), approver) &&
		    srv_approval_check(ev, b, env, tree) == SRV_APPROVAL_OK &&
		    bpg_pol_has_role(bpg_ev_policy(ev), role, approver))
			return true;
	}
	return false;
}

/* Count the approvals of `role` for env/tree, noting those that do not count. */
static void count_role(tally *t, const bpg_eval *ev, const char *role, const char *env, const char *tree)
{
	const json_t *arr = json_object_get(bpg_ev_facts(ev), "approvals");
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	size_t i;
	json_t *a;

	memset(t, 0, sizeof(*t));
	json_array_foreach(arr, i, a) {
		const char *who = bpg_jstr(a, "approver"), *commit = NULL;
		if (!who || !bpg_pol_has_role(bpg_ev_policy(ev), role, who))
			continue;
		srv_approval_state s = srv_approval_check(ev, a, env, tree);
		if (s == SRV_APPROVAL_OTHER_ENV)
			continue;
		if (s == SRV_APPROVAL_STALE) {
			char why[160];
			snprintf(why, sizeof(why), "tree %.12s (commit %.12s), not the tree pushed", bpg_jstr(a, "tree"),
				bpg_jstr(a, "commit") ? bpg_jstr(a, "commit") : "?");
			add_to(t->notes, "%s's approval is stale: it approved %s", who, why);
		} else if (s != SRV_APPROVAL_OK) {
			add_to(t->notes, "%s's approval is %s", who, srv_approval_state_name(s));
		} else if (srv_authored(ev, who, &commit)) {
			add_to(t->notes, "%s authored or committed %.12s and cannot approve it", who, commit ? commit : "?");
		} else if (srv_same(who, pusher)) {
			add_to(t->notes, "%s pushes the change and cannot also approve it", who);
		} else if (!seen_before(arr, i, who, env, tree, ev, role)) {
			add_to(t->have, "%s", who);
			t->n++;
		}
	}
}

/* People of `role` who could still approve: not authors, committers or the pusher. */
static size_t eligible(const bpg_eval *ev, const char *role, char *names, size_t size)
{
	const json_t *members = json_object_get(json_object_get(bpg_ev_policy(ev)->root, "roles"), role);
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	size_t i, n = 0, off = 0;
	json_t *m;

	names[0] = '\0';
	json_array_foreach(members, i, m) {
		const char *p = json_string_value(m);
		if (!p || srv_authored(ev, p, NULL) || srv_same(p, pusher))
			continue;
		n++;
		int w = snprintf(names + off, size - off, "%s%s", off ? ", " : "", p);
		if (w > 0 && (size_t)w < size - off)
			off += (size_t)w;
	}
	return n;
}

static int require(bpg_eval *ev, const json_t *ref, const char *role, const char *label, long long need,
	const char *env, const char *tier, const char *tree)
{
	bpg_where w = { NULL, NULL, bpg_jstr(ref, "new"), bpg_jstr(ref, "name"), 0, 0 };
	char fix[512], elig[512];
	tally t;
	int rc;

	if (need <= 0)
		return 0;
	count_role(&t, ev, role, env, tree);
	if ((long long)t.n >= need)
		return 0;
	snprintf(fix, sizeof(fix), "ask %s who did not author or commit the change to run "
		"`bpgate approve %.12s --for %s` (it pushes the signed approval); approvals bind to the exact tree",
		label, bpg_jstr(ref, "new") ? bpg_jstr(ref, "new") : "REV", env);
	if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
		"%s requires %lld approval(s) from %s for a %s-risk change of tree %.12s (have %zu%s%s)%s%s",
		env, need, label, tier ? tier : "default", tree, t.n, t.n ? ": " : "", t.have,
		t.notes[0] ? "; " : "", t.notes)) < 0)
		return rc;
	size_t ne = eligible(ev, role, elig, sizeof(elig));
	if ((long long)ne >= need)
		return 0;
	return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
		"add eligible people to the role in .bpgate/policy.json (an admin-approved change), or have someone "
		"else author the change",
		"no eligible approver exists for %s: %s needs %lld distinct %s who did not author, commit or push "
		"the change, and only %zu exist%s%s", env, tier ? tier : "default", need, label, ne,
		ne ? ": " : "", elig);
}

static int eval_approvals(bpg_eval *ev)
{
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KEPT | SRV_REF_JUDGED, &r);) {
		const char *env = r.envname;
		const json_t *tiers = json_object_get(bpg_ev_param(ev, "required"), env);
		if (!tiers)
			continue;
		const char *tier = srv_change_tier(ev);
		const json_t *need = tier ? json_object_get(tiers, tier) : NULL;
		if (!need)
			need = json_object_get(tiers, "default");
		if (!need)
			continue;
		const char *tree = json_string_value(srv_fact(ev, "new_tree"));
		if (!tree) {
			if ((rc = srv_missing(ev, r.ref, "new_tree")) < 0)
				return rc;
			continue;
		}
		if ((rc = require(ev, r.ref, "reviewers", "reviewers", json_integer_value(json_object_get(need, "reviewers")),
			env, tier, tree)) < 0 ||
		    (rc = require(ev, r.ref, "cab", "the change board (cab)", json_integer_value(json_object_get(need, "cab")),
			env, tier, tree)) < 0)
			return rc;
	}
	return 0;
}

static int eval_policy_change(bpg_eval *ev)
{
	size_t k;
	json_t *f;
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KNOWN | SRV_REF_KEPT, &r);) {
		const char *env = r.envname;
		const char *changed = NULL;
		if (!bpg_jbool(r.env, "protected"))
			continue;
		json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), k, f) {
			size_t g;
			json_t *glob;
			json_array_foreach(bpg_ev_param(ev, "paths"), g, glob)
				if (bpg_jstr(f, "path") && bpg_glob_match(json_string_value(glob), bpg_jstr(f, "path")))
					changed = bpg_jstr(f, "path");
		}
		if (!changed)
			continue;
		const char *tree = json_string_value(srv_fact(ev, "new_tree"));
		if (!tree) {
			if ((rc = srv_missing(ev, r.ref, "new_tree")) < 0)
				return rc;
			continue;
		}
		long long need = json_integer_value(bpg_ev_param(ev, "admins"));
		tally t;
		count_role(&t, ev, "admins", env, tree);
		if ((long long)t.n >= need)
			continue;
		bpg_where w = r.where;
		char fix[256];
		w.file = changed;
		snprintf(fix, sizeof(fix), "the policy governs itself: ask an admin who did not author the change to run "
			"`bpgate approve %.12s --for %s`", w.commit ? w.commit : "REV", env);
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
			"a change to the policy (%s) on %s needs %lld admin approval(s) of tree %.12s (have %zu%s%s)%s%s",
			changed, env, need, tree, t.n, t.n ? ": " : "", t.have, t.notes[0] ? "; " : "", t.notes)) < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_approvals = {
	.info = { "approvals", "required signed approvals per environment and risk tier, bound to the exact tree",
		BPG_MODE_ENFORCE },
	.params = approval_params,
	.eval = eval_approvals,
};

const bpg_rule_def bpg_rule_policy_change = {
	.info = { "policy-change", "changes to .bpgate/ on a protected environment need admin approvals", BPG_MODE_ENFORCE },
	.params = policy_params,
	.eval = eval_policy_change,
};

/* ---- who may approve (asked by front ends: the daemon's `approve`) ------ */

bool bpg_policy_may_approve(const bpg_policy *policy, const char *environment, const char *principal,
	bpg_buf *why)
{
	const char *roles[3];
	size_t n;
	bool ok = true;

	if (!policy || !environment || !principal)
		return false;
	if (!json_object_get(json_object_get(policy->root, "environments"), environment)) {
		if (why)
			ok = bpg_buf_printf(why, "the policy has no environment '%s'", environment) == 0;
		(void)ok;
		return false;
	}
	/* One list of approving roles: the one bpg_policy_approval_admit uses (approvers.c). */
	n = bpg_pol_approving_roles(policy, environment, roles);
	for (size_t i = 0; i < n; i++)
		if (bpg_pol_has_role(policy, roles[i], principal))
			return true;
	if (!why)
		return false;
	if (n == 0) {
		ok = bpg_buf_printf(why, "the policy counts no approvals for %s", environment) == 0;
		return false;
	}
	ok = bpg_buf_printf(why, "'%s' has no role whose approvals count for %s (roles:", principal, environment) == 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = bpg_buf_printf(why, "%s %s", i ? "," : "", roles[i]) == 0;
	if (ok)
		ok = bpg_buf_puts(why, ")") == 0;
	return false;
}
