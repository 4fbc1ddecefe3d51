/*
 * segregation-of-duties, over the whole range being promoted to an
 * environment of the parameter `environments` (default prod): no approver
 * of the pushed tree authored or committed any commit of the range, and the
 * pusher (the releaser) is neither an author, a committer nor an approver.
 * Author and committer identities are what the commits claim (mapped to
 * principals by the server); the pusher and approvers are authenticated.
 * The pusher checks are waived for a valid break-glass (recorded, and
 * listed by `bpgate pending` until approved) and for a rollback.
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>

static const bpg_sfield sod_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ NULL, NULL, false, NULL },
};

static int eval_sod(bpg_eval *ev)
{
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	size_t k;
	json_t *a;
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) {
		const char *env = r.envname;
		const char *tree = json_string_value(srv_fact(ev, "new_tree"));
		if (!tree) {
			if ((rc = srv_missing(ev, r.ref, "new_tree")) < 0)
				return rc;
			continue;
		}
		bpg_where w = r.where;
		w.commit = NULL;
		json_array_foreach(json_object_get(bpg_ev_facts(ev), "approvals"), k, a) {
			const char *who = bpg_jstr(a, "approver"), *commit = NULL;
			if (srv_approval_check(ev, a, env, tree) != SRV_APPROVAL_OK || !srv_authored(ev, who, &commit))
				continue;
			w.commit = commit;
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"an approver must be independent of the change: ask another reviewer to approve",
				"segregation of duties: approver %s authored or committed %.12s, part of the range promoted to %s",
				who, commit, env)) < 0)
				return rc;
		}
		if (srv_break_glass(ev, NULL) || srv_rollback(ev, r.ref, NULL))
			continue;
		const char *commit = NULL;
		if (srv_authored(ev, pusher, &commit)) {
			w.commit = commit;
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"the releaser must not have written the change: ask another releaser to push it",
				"segregation of duties: the releaser %s authored or committed %.12s, part of the range "
				"promoted to %s", pusher, commit, env)) < 0)
				return rc;
		}
		json_array_foreach(json_object_get(bpg_ev_facts(ev), "approvals"), k, a) {
			if (srv_approval_check(ev, a, env, tree) != SRV_APPROVAL_OK || !srv_same(bpg_jstr(a, "approver"), pusher))
				continue;
			w.commit = r.where.commit;
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"approver and releaser must be different people: ask another releaser to push it",
				"segregation of duties: the releaser %s also approved tree %.12s for %s", pusher, tree, env)) < 0)
				return rc;
			break;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_segregation = {
	.info = { "segregation-of-duties", "approvers and the releaser are independent of every commit promoted",
		BPG_MODE_ENFORCE },
	.params = sod_params,
	.eval = eval_sod,
};
