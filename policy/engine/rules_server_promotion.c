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
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KNOWN | SRV_REF_KEPT | SRV_REF_JUDGED, &r);) {
		const char *name = r.name, *from = bpg_jstr(r.env, "promotes_from");
		if (!from)
			continue;
		const char *tree = json_string_value(srv_fact(ev, "new_tree"));
		const json_t *trees = srv_fact(ev, "source_trees");
		if (!tree || !json_is_array(trees)) {
			if ((rc = srv_missing(ev, r.ref, !tree ? "new_tree" : "source_trees")) < 0)
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
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &r.where, fix,
			"%s (environment %s) may only move to content that %s had: tree %.12s of commit %.12s was never on %s",
			name, r.envname, from, tree, r.where.commit, sb)) < 0)
			return rc;
	}
	return 0;
}

static int eval_rollback(bpg_eval *ev)
{
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KNOWN, &r);) {
		const char *earlier = NULL;
		if (!srv_rollback(ev, r.ref, &earlier))
			continue;
		if ((rc = bpg_ev_emit(ev, BPG_SEV_INFO, &r.where, "nothing to do: recorded as a rollback in the audit log",
			"rollback of %s (environment %s) by %s to tree %.12s, released before as commit %.12s",
			r.name, r.envname, bpg_jstr(bpg_ev_facts(ev), "pusher"),
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
