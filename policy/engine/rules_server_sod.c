/*
 * segregation-of-duties, over the whole change being promoted to an
 * environment of the parameter `environments` (default prod): no approver
 * of the pushed tree wrote any of it, and the pusher (the releaser) neither
 * wrote nor approved it.
 *
 * "Wrote" rests on authenticated identities first: extra.server.provenance
 * names, for every blob of the change (the content that differs from what
 * the environment has now) and every commit of the range, the principal
 * whose SSH key pushed it to the server first (recorded by post-receive,
 * never by a push). That holds however the commits were squashed, rebased
 * or re-authored later. Verified SSH commit signatures count as writers
 * too. The commits' claimed authors and committers (e-mail addresses,
 * mapped to principals by the server) still add restrictions; they never
 * lift one.
 *
 * Content no record names (pushed before the server kept the record) is of
 * unknown authorship: refused (parameter unknown_provenance "refuse", the
 * default), or judged by the claimed identities only with a warning
 * ("claims", for a migration). The pusher checks and the unknown-content
 * check are waived for a valid break-glass (recorded, and listed by
 * `bpgate pending` until approved) and for a rollback.
 *
 * require_signed_commits (environments, default none): every commit of a
 * range bound for one of them carries a verified SSH signature.
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>

static const char *const unknown_modes[] = { "refuse", "claims", NULL };
static const bpg_schema unknown_s = { SK_ENUM, NULL, NULL, unknown_modes };

static const bpg_sfield sod_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "unknown_provenance", &unknown_s, false, "\"refuse\"" },
	{ "require_signed_commits", &bpg_s_strings, false, "[]" },
	{ NULL, NULL, false, NULL },
};

/* The first entry of the provenance (content, then commits) the principal pushed first. */
static const json_t *prov_wrote(const json_t *prov, const char *principal)
{
	static const char *lists[] = { "content", "commits" };
	size_t i;
	json_t *e;

	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(prov, lists[k]), i, e)
			if (srv_same(principal, bpg_jstr(e, "pushed_by")))
				return e;
	return NULL;
}

/* A commit of the range with a verified SSH signature by the principal. */
static const char *signed_by(const bpg_eval *ev, const char *principal)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), i, c) {
		const json_t *s = json_object_get(c, "signature");
		if (bpg_jbool(s, "verified") && srv_same(principal, bpg_jstr(s, "principal")))
			return bpg_jstr(c, "id");
	}
	return NULL;
}

/* One finding when `who` wrote the change: pushed part of it first, claims
 * to have authored or committed a commit, or signed one. role: "approver"
 * or "the releaser". */
static int wrote(bpg_eval *ev, const json_t *prov, const bpg_where *at, const char *who, const char *role,
	const char *env, const char *fix)
{
	const json_t *e = prov_wrote(prov, who);
	const char *commit = NULL;
	bpg_where w = *at;

	if (e && bpg_jstr(e, "path")) {
		w.file = bpg_jstr(e, "path");
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "segregation of duties: %s %s pushed the content of %s "
			"(blob %.12s) to the server first, part of the change promoted to %s", role, who, w.file,
			bpg_jstr(e, "blob") ? bpg_jstr(e, "blob") : "?", env);
	}
	if (e) {
		w.commit = bpg_jstr(e, "commit");
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "segregation of duties: %s %s pushed commit %.12s to the "
			"server first, part of the range promoted to %s", role, who, w.commit ? w.commit : "?", env);
	}
	if (srv_authored(ev, who, &commit)) {
		w.commit = commit;
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "segregation of duties: %s %s authored or committed %.12s, "
			"part of the range promoted to %s", role, who, commit ? commit : "?", env);
	}
	if ((commit = signed_by(ev, who))) {
		w.commit = commit;
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "segregation of duties: %s %s signed commit %.12s, part "
			"of the range promoted to %s", role, who, commit, env);
	}
	return 0;
}

/* Content of unknown authorship: refused, or a warning in "claims" mode. */
static int unknown_content(bpg_eval *ev, const json_t *prov, const bpg_where *at, const char *env)
{
	size_t i, n = 0;
	json_t *e;
	const char *first = NULL;
	bpg_where w = *at;

	json_array_foreach(json_object_get(prov, "content"), i, e)
		if (!bpg_jstr(e, "pushed_by") && n++ == 0)
			first = bpg_jstr(e, "path");
	if (!n)
		return 0;
	w.file = first;
	if (strcmp(bpg_ev_param_str(ev, "unknown_provenance"), "claims") == 0)
		return bpg_ev_emit(ev, BPG_SEV_WARNING, &w, NULL, "segregation of duties: %zu changed file(s) promoted to "
			"%s have no provenance record (first: %s); judged by the commits' claimed identities only",
			n, env, first ? first : "?");
	return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
		"the server has no record of who pushed this content (pushed before it kept one, or post-receive is not "
		"installed): an admin may set segregation-of-duties.unknown_provenance to \"claims\" for the migration "
		"(docs/readme/server.md, \"Provenance\")",
		"segregation of duties: who wrote %zu changed file(s) promoted to %s is unknown (first: %s): the gate "
		"fails closed", n, env, first ? first : "?");
}

static int signed_commits(bpg_eval *ev)
{
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_KEPT, &r);) {
		size_t k, n = 0, total = 0;
		json_t *c;
		const char *first = NULL, *why = NULL;
		if (!srv_env_listed(ev, "require_signed_commits", r.envname))
			continue;
		json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), k, c) {
			const json_t *s = json_object_get(c, "signature");
			total++;
			if (bpg_jbool(s, "verified") && bpg_jstr(s, "principal"))
				continue;
			if (n++ == 0) {
				first = bpg_jstr(c, "id");
				why = s ? bpg_jstr(s, "reason") : "not signed";
			}
		}
		if (!n)
			continue;
		bpg_where w = r.where;
		w.commit = first;
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"sign the commits with an SSH key of .bpgate/allowed_signers (git config gpg.format ssh; "
			"git commit -S) and push again",
			"segregation of duties: %zu of %zu commit(s) promoted to %s carry no verified SSH signature "
			"(first: %.12s, %s)", n, total, r.envname, first ? first : "?", why ? why : "not verified")) < 0)
			return rc;
	}
	return 0;
}

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
		const json_t *prov = srv_fact(ev, "provenance");
		if (!tree || !json_is_object(prov)) {
			if ((rc = srv_missing(ev, r.ref, tree ? "provenance" : "new_tree")) < 0)
				return rc;
			continue;
		}
		bpg_where w = r.where;
		w.commit = NULL;
		if (bpg_jstr(prov, "error")) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "tell the server administrator",
				"segregation of duties: cannot tell who wrote the change promoted to %s: %s (refused: the gate "
				"fails closed)", env, bpg_jstr(prov, "error"))) < 0)
				return rc;
			continue;
		}
		json_array_foreach(json_object_get(bpg_ev_facts(ev), "approvals"), k, a) {
			if (srv_approval_check(ev, a, env, tree) != SRV_APPROVAL_OK)
				continue;
			if ((rc = wrote(ev, prov, &w, bpg_jstr(a, "approver"), "approver", env,
				"an approver must be independent of the change: ask another reviewer to approve")) < 0)
				return rc;
		}
		if (srv_break_glass(ev, NULL) || srv_rollback(ev, r.ref, NULL))
			continue;
		if ((rc = unknown_content(ev, prov, &w, env)) < 0 ||
		    (rc = wrote(ev, prov, &w, pusher, "the releaser", env,
			"the releaser must not have written the change: ask another releaser to push it")) < 0)
			return rc;
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
	return signed_commits(ev);
}

const bpg_rule_def bpg_rule_segregation = {
	.info = { "segregation-of-duties", "approvers and the releaser are independent of the content promoted",
		BPG_MODE_ENFORCE },
	.params = sod_params,
	.eval = eval_sod,
};
