/*
 * promotion: an environment with `promotes_from` only moves to content its
 * source environment already had as an accepted tip: the new tree must be
 * one of extra.server.source_trees (the trees of the source branch's tips
 * the server recorded when it accepted them, and its current tip; never the
 * tree of an intermediate commit). A direct commit on prod therefore fails
 * here. Waived for a valid break-glass and for a rollback (the `rollback`
 * rule records those).
 * rollback: prod moving to a tree it released before (extra.server.
 * released_trees: the server's verified records of judged releases), by a
 * releaser, is recorded as a rollback (info finding, kept in the audit log
 * and the release record); it needs no new approvals.
 * first-parent-history: no tree enters the first-parent history of an
 * environment of `environments` (pack: prod) unjudged. Every commit a push
 * adds to it (extra.server.first_parent_range: old..new along first parents,
 * including the chain of a merge whose first parent does not descend from
 * the old tip) must carry the old tip's tree, the new (judged) tree, or a
 * tree an environment up its promotes_from chain (stage, dev) had as an
 * accepted tip (upstream_trees: judged and recorded there). Not waived by
 * break-glass or rollback. The hard guarantee against fast-tracking such a
 * tree is the rollback rule's release records; this rule keeps unrecorded
 * trees (an intermediate commit never pushed as a tip, an orphan's chain)
 * out of the history.
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
			"%s (environment %s) may only move to content that %s had: tree %.12s of commit %.12s was never an "
			"accepted tip of %s (trees of intermediate commits do not count)",
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

static const bpg_sfield history_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ NULL, NULL, false, NULL },
};

static int eval_history(bpg_eval *ev)
{
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) {
		const char *new_tree = json_string_value(srv_fact(ev, "new_tree"));
		const char *old_tree = json_string_value(srv_fact(ev, "old_tree"));
		const char *from = bpg_jstr(r.env, "promotes_from");
		const json_t *range = srv_fact(ev, "first_parent_range"), *src = srv_fact(ev, "upstream_trees"), *c;
		size_t k;
		if (bpg_jbool(r.ref, "created"))
			continue; /* a new branch has no history to keep clean; protected-branch governs creation */
		if (!new_tree || !json_is_array(range) || (from && !json_is_array(src))) {
			if ((rc = srv_missing(ev, r.ref, !new_tree ? "new_tree" : !json_is_array(range) ?
				"first_parent_range" : "upstream_trees")) < 0)
				return rc;
			continue;
		}
		json_array_foreach(range, k, c) {
			const char *t = bpg_jstr(c, "tree"), *id = bpg_jstr(c, "commit");
			if (t && (strcmp(t, new_tree) == 0 || (old_tree && strcmp(t, old_tree) == 0) ||
			    (from && bpg_strings_has(src, t))))
				continue;
			bpg_where w = r.where;
			w.commit = id;
			char fix[512];
			snprintf(fix, sizeof(fix), "promote only commits whose first-parent history carries judged trees: "
				"push each intermediate commit to %s (or an environment before it) as its tip first, squash the "
				"range, or merge it with the old tip of %s as first parent (git merge --no-ff)",
				from ? from : "its environment", r.name);
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "commit %.12s would put tree %.12s into the "
				"first-parent history of %s (environment %s) unjudged: it is neither the old tree, nor the "
				"new tree, nor a tree %s or an environment before it had as an accepted tip", id ? id : "?",
				t ? t : "?", r.name, r.envname, from ? from : "a source environment")) < 0)
				return rc;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_first_parent_history = {
	.info = { "first-parent-history", "no commit enters an environment's first-parent history with an unjudged tree",
		BPG_MODE_ENFORCE },
	.params = history_params,
	.eval = eval_history,
};

const bpg_rule_def bpg_rule_promotion = {
	.info = { "promotion", "an environment moves only to a tree its promotes_from environment had as an accepted tip", BPG_MODE_ENFORCE },
	.params = NULL,
	.eval = eval_promotion,
};

const bpg_rule_def bpg_rule_rollback = {
	.info = { "rollback", "moving an environment back to a tree it released, by a releaser, is recorded as a rollback",
		BPG_MODE_ENFORCE },
	.params = NULL,
	.eval = eval_rollback,
};
