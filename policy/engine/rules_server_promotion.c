/*
 * promotion: an environment with `promotes_from` only moves to content its
 * source environment already had: the new tree must be one the source
 * branch had (extra.server.source_trees: the trees of the source branch's
 * first-parent history before the push). A direct commit on prod therefore
 * fails here. Waived for a valid break-glass and for a rollback (the
 * `rollback` rule records those).
 * rollback: prod moving to a tree it had before (extra.server.target_history),
 * by a releaser, is recorded as a rollback (info finding, kept in the audit
 * log and the release record); it needs no new approvals.
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>

static int eval_promotion(bpg_eval *ev)
{
	size_t i;
	json_t *r;
	int rc;

	if (!srv_active(ev))
		return 0;
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "refs"), i, r) {
		const char *envn = bpg_jstr(r, "environment"), *name = bpg_jstr(r, "name");
		const json_t *env = srv_env(ev, envn);
		const char *from = bpg_jstr(env, "promotes_from");
		bpg_where w = { NULL, NULL, bpg_jstr(r, "new"), name, 0, 0 };
		if (!env || !from || bpg_jbool(r, "deleted"))
			continue;
		if (srv_break_glass(ev, NULL) || srv_rollback(ev, r, NULL))
			continue;
		const char *tree = json_string_value(srv_fact(ev, "new_tree"));
		const json_t *trees = srv_fact(ev, "source_trees");
		if (!tree || !json_is_array(trees)) {
			if ((rc = srv_missing(ev, r, !tree ? "new_tree" : "source_trees")) < 0)
				return rc;
			continue;
		}
		if (bpg_strings_has(trees, tree))
			continue;
		const json_t *src = srv_env(ev, from);
		const char *sb = bpg_jstr(src, "branch") ? bpg_jstr(src, "branch") : from;
		const char *sshort = strncmp(sb, "refs/heads/", 11) == 0 ? sb + 11 : sb;
		const char *tb = strncmp(name, "refs/heads/", 11) == 0 ? name + 11 : name;
		char fix[512];
		snprintf(fix, sizeof(fix), "push the change to %s first (branch %s), let it pass there, then promote "
			"exactly that commit: git push origin %s:%s", from, sshort, sshort, tb);
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
			"%s (environment %s) may only move to content that %s had: tree %.12s of commit %.12s was never on %s",
			name, envn, from, tree, bpg_jstr(r, "new"), sb)) < 0)
			return rc;
	}
	return 0;
}

static int eval_rollback(bpg_eval *ev)
{
	size_t i;
	json_t *r;
	int rc;

	if (!srv_active(ev))
		return 0;
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "refs"), i, r) {
		const char *earlier = NULL;
		if (!srv_env(ev, bpg_jstr(r, "environment")) || !srv_rollback(ev, r, &earlier))
			continue;
		bpg_where w = { NULL, NULL, bpg_jstr(r, "new"), bpg_jstr(r, "name"), 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_INFO, &w, "nothing to do: recorded as a rollback in the audit log",
			"rollback of %s (environment %s) by %s to tree %.12s, released before as commit %.12s",
			bpg_jstr(r, "name"), bpg_jstr(r, "environment"), bpg_jstr(bpg_ev_facts(ev), "pusher"),
			json_string_value(srv_fact(ev, "new_tree")), earlier ? earlier : "?")) < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_promotion = {
	.info = { "promotion", "an environment moves only to a tree its promotes_from environment had", BPG_MODE_ENFORCE },
	.params = NULL,
	.eval = eval_promotion,
};

const bpg_rule_def bpg_rule_rollback = {
	.info = { "rollback", "moving an environment back to a tree it had, by a releaser, is recorded as a rollback",
		BPG_MODE_ENFORCE },
	.params = NULL,
	.eval = eval_rollback,
};
