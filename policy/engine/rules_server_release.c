/*
 * Release evidence before an environment of `environments` (default prod):
 * signed-push: the push carries a push certificate (git push --signed)
 *   whose signature verified against .bpgate/allowed_signers (namespace
 *   "git") for the pusher's principal, with git's nonce check passed
 *   (extra.server.push_cert: null when unsigned). Off unless the policy
 *   names environments.
 * uat-evidence: every scenario the change touches (of the tiers named, all
 *   when empty) has a signed UAT sign-off <dir>/<id>/signoff.json (+ .sig,
 *   extra.server.uat_signoffs) in the tree pushed: verified against
 *   allowed_signers for the principal it names, who holds a role of
 *   `signers` and did not write the change, for exactly the scenario's
 *   files as they are in the tree (a sign-off of an earlier version does not
 *   count), result "pass", and not dated in the future. A bare file under
 *   <dir>/<id>/ is not a sign-off: anyone can write one.
 * stage-health: the stage health (extra.server.stage_health) is recent,
 *   not dated in the future (beyond `max_clock_skew_minutes`: a report from
 *   the future never goes stale), counts at least `min_executions`
 *   executions of every scenario the change touches (one lucky run is not a
 *   green light) and meets the SLOs for each. The fact is the newest valid
 *   signed record of the source environment ("source":"record", written by
 *   `bpgate make health`, outside the tree: refreshing it never makes
 *   approvals stale), else the in-tree report <report> ("source":"tree"),
 *   deprecated: judged with a warning while `tree_reports` is "warn" (the
 *   default; a tree report without "executions" is judged on its rates
 *   during the migration), refused when it is "refuse". A fact without
 *   "source" (facts written before records existed) is judged like a tree
 *   report without the warning. Invalid records that were skipped are a
 *   warning.
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>

static const bpg_sfield signed_params[] = {
	{ "environments", &bpg_s_strings, false, "[]" },
	{ NULL, NULL, false, NULL },
};
static const bpg_sfield uat_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "tiers", &bpg_s_strings, false, "[]" },
	{ "dir", &bpg_s_nonempty, false, "\"uat\"" },
	{ "signers", &bpg_s_strings, false, "[\"reviewers\"]" },
	{ "max_clock_skew_minutes", &bpg_s_int, false, "5" },
	{ NULL, NULL, false, NULL },
};
static const char *const tree_report_modes[] = { "warn", "refuse", NULL };
static const bpg_schema tree_reports_s = { SK_ENUM, NULL, NULL, tree_report_modes };
static const bpg_sfield health_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "tiers", &bpg_s_strings, false, "[]" },
	{ "report", &bpg_s_nonempty, false, "\"health/stage.json\"" },
	{ "max_age_hours", &bpg_s_int, false, "168" },
	{ "min_success_rate", &bpg_s_number, false, "0.99" },
	{ "max_error_rate", &bpg_s_number, false, "0.01" },
	{ "max_p95_ms", &bpg_s_number, false, "5000" },
	{ "max_clock_skew_minutes", &bpg_s_int, false, "5" },
	{ "min_executions", &bpg_s_int, false, "20" },
	{ "tree_reports", &tree_reports_s, false, "\"warn\"" },
	{ NULL, NULL, false, NULL },
};

static int eval_signed(bpg_eval *ev)
{
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	srv_ref r;
	int rc = 0;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) {
		const char *env = r.envname;
		const json_t *s = srv_fact(ev, "push_cert");
		const bpg_where w = r.where;
		const char *fix = "sign the push with your SSH key: git -c gpg.format=ssh -c user.signingkey=~/.ssh/id_ed25519.pub "
			"push --signed (the key must be yours in .bpgate/allowed_signers)";
		const char *st = bpg_jstr(s, "status"), *ns = bpg_jstr(s, "nonce_status"), *pr = bpg_jstr(s, "principal");
		if (!s) {
			rc = srv_missing(ev, r.ref, "push_cert");
		} else if (json_is_null(s)) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "a push to %s must be signed (push certificate), and this one is not", env);
		} else if (st && strcmp(st, "B") == 0) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the push certificate has a bad signature (git status B)");
		} else if (!ns || (strcmp(ns, "OK") != 0 && strcmp(ns, "SLOP") != 0)) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "push again: the certificate must answer this server's nonce",
				"the push certificate's nonce is %s (replayed or not from this push)", ns ? ns : "missing");
		} else if (!bpg_jbool(s, "verified")) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the push certificate does not verify against "
				".bpgate/allowed_signers: %s", bpg_jstr(s, "problem") ? bpg_jstr(s, "problem") : "unknown key");
		} else if (!srv_same(pr, pusher)) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the push certificate is signed by %s but %s is pushing",
				pr ? pr : "(nobody)", pusher ? pusher : "(unknown pusher)");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool tier_wanted(const bpg_eval *ev, const char *scenario)
{
	const json_t *tiers = bpg_ev_param(ev, "tiers");
	const char *risk = bpg_jstr(bpg_catalog_find(bpg_ev_policy(ev)->root, scenario), "risk");
	if (json_array_size(tiers) == 0)
		return true;
	return risk && bpg_strings_has(tiers, risk);
}

/* The signed statement's files must be exactly the scenario's files in the tree. */
static const char *signoff_mismatch(const json_t *stmt_files, const json_t *tree_files)
{
	const char *path;
	json_t *v;

	if (!json_is_object(stmt_files))
		return "(the statement lists no files)";
	json_object_foreach((json_t *)tree_files, path, v)
		if (!json_equal(json_object_get(stmt_files, path), v))
			return path;
	json_object_foreach((json_t *)stmt_files, path, v)
		if (!json_object_get(tree_files, path))
			return path;
	return NULL;
}

static bool signer_has_role(const bpg_eval *ev, const char *who)
{
	size_t k;
	json_t *role;

	json_array_foreach(bpg_ev_param(ev, "signers"), k, role)
		if (bpg_pol_has_role(bpg_ev_policy(ev), json_string_value(role), who))
			return true;
	return false;
}

/* One changed scenario's sign-off; emits at most one finding. */
static int uat_one(bpg_eval *ev, const srv_ref *r, const json_t *so, const char *id)
{
	const char *dir = bpg_ev_param_str(ev, "dir"), *env = r->envname;
	const json_t *st = json_object_get(so, "statement");
	const char *signer = bpg_jstr(st, "signer"), *commit = NULL, *bad;
	long long t, now;
	char fix[512];
	bpg_where w = r->where;

	snprintf(fix, sizeof(fix), "someone of %s who did not build the change tests scenario %s on stage, runs "
		"`bpgate uat signoff %s` and commits %s/%s/signoff.json and .sig; then promote", "the sign-off roles",
		id, id, dir, id);
	if (!so || json_is_null(so))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "no signed UAT sign-off for scenario %s before %s: "
			"%s/%s/signoff.json is not in the tree pushed", id, env, dir, id);
	if (!bpg_jbool(so, "verified"))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s does not verify: %s", id,
			bpg_jstr(so, "problem") ? bpg_jstr(so, "problem") : "no reason given");
	if (!srv_same(bpg_jstr(st, "type"), "bpgate-uat-signoff/v1") || !srv_same(bpg_jstr(st, "scenario"), id))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off at %s/%s/ is not a bpgate-uat-signoff/v1 "
			"statement for scenario %s", dir, id, id);
	if (!srv_same(bpg_jstr(st, "result"), "pass"))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "fix the scenario until UAT passes, then sign off again",
			"the UAT sign-off of scenario %s by %s says \"%s\", not \"pass\"", id, signer,
			bpg_jstr(st, "result") ? bpg_jstr(st, "result") : "(no result)");
	if (!signer_has_role(ev, signer)) {
		char roles[256] = "";
		size_t k;
		json_t *role;
		json_array_foreach(bpg_ev_param(ev, "signers"), k, role)
			snprintf(roles + strlen(roles), sizeof(roles) - strlen(roles), "%s%s", k ? ", " : "",
				json_string_value(role));
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s is by %s, who holds none of "
			"the roles allowed to sign off (%s)", id, signer, roles);
	}
	if (srv_authored(ev, signer, &commit)) {
		w.commit = commit;
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s is by %s, who wrote %.12s of "
			"the change: a builder cannot sign off her own change", id, signer, commit);
	}
	if (!srv_time_parse(bpg_jstr(st, "time"), &t) || !srv_time_parse(bpg_ev_now(ev), &now))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s has no valid time "
			"(RFC 3339 UTC)", id);
	if (t > now + json_integer_value(bpg_ev_param(ev, "max_clock_skew_minutes")) * 60)
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s is dated in the future "
			"(%s, now %s)", id, bpg_jstr(st, "time"), bpg_ev_now(ev));
	if (bpg_jstr(so, "tree_files_error"))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s cannot be matched: %s", id,
			bpg_jstr(so, "tree_files_error"));
	if ((bad = signoff_mismatch(json_object_get(st, "files"), json_object_get(so, "tree_files"))))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix, "the UAT sign-off of scenario %s by %s is for another "
			"version: %s differs from the tree pushed", id, signer, bad);
	return 0;
}

static int eval_uat(bpg_eval *ev)
{
	size_t k;
	json_t *sc;
	srv_ref r;
	int rc = 0;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT | SRV_REF_JUDGED, &r);) {
		const json_t *so_map = srv_fact(ev, "uat_signoffs");
		json_t *changed = srv_changed_scenarios(ev);
		if (!changed)
			return BPG_ENOMEM;
		if (json_array_size(changed) && !json_is_object(so_map))
			rc = srv_missing(ev, r.ref, "uat_signoffs");
		json_array_foreach(changed, k, sc) {
			const char *id = json_string_value(sc);
			if (rc < 0 || !json_is_object(so_map) || !tier_wanted(ev, id))
				continue;
			rc = uat_one(ev, &r, json_object_get(so_map, id), id);
		}
		json_decref(changed);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool is_record(const json_t *rep)
{
	return srv_same(bpg_jstr(rep, "source"), "record");
}

static int health_one(bpg_eval *ev, const srv_ref *r, const json_t *rep, const char *id, const char *env)
{
	const json_t *m = json_object_get(json_object_get(rep, "scenarios"), id);
	bpg_where w = r->where;
	const char *fix = "fix the scenario on stage until it meets its SLOs, then measure stage health again "
		"(bpgate make health --env stage)";
	const json_t *ex = json_object_get(m, "executions");
	long long min = json_integer_value(bpg_ev_param(ev, "min_executions"));
	double sr = json_number_value(json_object_get(m, "success_rate"));
	double er = json_number_value(json_object_get(m, "error_rate"));
	double p95 = json_number_value(json_object_get(m, "p95_ms"));

	w.file = is_record(rep) ? bpg_jstr(rep, "ref") : bpg_ev_param_str(ev, "report");
	/* a record always counts executions; a tree report may lack the count while tree reports are accepted */
	if (m && (ex || is_record(rep)) && (!json_is_integer(ex) || json_integer_value(ex) < min))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "let the scenario run on stage until it has enough executions "
			"in the window (or widen it: bpgate make health --window 72h), then measure again",
			"scenario %s ran %lld time(s) on stage in the window measured, fewer than the %lld required before %s: "
			"one lucky run is not a green light", id, json_is_integer(ex) ? (long long)json_integer_value(ex) : 0LL,
			min, env);
	if (!m || !json_is_number(json_object_get(m, "success_rate")) || !json_is_number(json_object_get(m, "error_rate")) ||
	    !json_is_number(json_object_get(m, "p95_ms")))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "measure the scenario on stage (bpgate make health --env stage); "
			"its catalog entry needs a Make id for stage",
			"the stage health report has no complete figures for scenario %s, required before %s", id, env);
	if (sr < json_number_value(bpg_ev_param(ev, "min_success_rate")) ||
	    er > json_number_value(bpg_ev_param(ev, "max_error_rate")) ||
	    p95 > json_number_value(bpg_ev_param(ev, "max_p95_ms")))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
			"scenario %s misses its stage SLOs: success rate %.4g (min %.4g), error rate %.4g (max %.4g), "
			"p95 %.0f ms (max %.0f ms)", id, sr, json_number_value(bpg_ev_param(ev, "min_success_rate")), er,
			json_number_value(bpg_ev_param(ev, "max_error_rate")), p95,
			json_number_value(bpg_ev_param(ev, "max_p95_ms")));
	return 0;
}

/* Findings about where the figures come from; *stop when the report is not judged further. */
static int health_source(bpg_eval *ev, const srv_ref *r, const json_t *rep, bool *stop)
{
	const char *src = bpg_jstr(rep, "source");
	const char *report = bpg_ev_param_str(ev, "report");
	bpg_where w = r->where;
	int rc = 0;

	*stop = false;
	w.file = is_record(rep) ? bpg_jstr(rep, "ref") : report;
	if (json_is_integer(json_object_get(rep, "records_skipped")) && json_integer_value(json_object_get(rep, "records_skipped")) > 0 &&
	    (rc = bpg_ev_emit(ev, BPG_SEV_WARNING, &w, "remove the records that do not verify (git update-ref -d REF on "
		"the server) and check who wrote them: only `bpgate make health` signed by an observer writes there",
		"%lld stage health record(s) did not verify and were skipped (newest: %s)",
		(long long)json_integer_value(json_object_get(rep, "records_skipped")),
		bpg_jstr(rep, "records_problem") ? bpg_jstr(rep, "records_problem") : "no reason given")) < 0)
		return rc;
	if (!srv_same(src, "tree") || json_object_get(rep, "error"))
		return 0;
	if (srv_same(bpg_ev_param_str(ev, "tree_reports"), "refuse")) {
		*stop = true;
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "measure stage health with `bpgate make health --env stage` (a "
			"signed record under refs/bpgate/health/stage/; the server's timer runs it hourly)",
			"no signed stage health record, and in-tree health reports (%s) are no longer accepted "
			"(stage-health tree_reports: \"refuse\")", report);
	}
	return bpg_ev_emit(ev, BPG_SEV_WARNING, &w, "switch: run `bpgate make health --env stage` (hourly from the "
		"server's timer), then delete the file and set stage-health \"tree_reports\": \"refuse\"",
		"the stage health comes from %s in the tree: in-tree health reports are deprecated (anyone who "
		"can push writes them, and refreshing one makes approvals stale)", report);
}

static int eval_health(bpg_eval *ev)
{
	size_t k;
	json_t *sc;
	srv_ref r;
	int rc = 0;
	long long now, t;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT | SRV_REF_JUDGED, &r);) {
		const char *env = r.envname;
		json_t *changed = srv_changed_scenarios(ev), *wanted = json_array();
		bool stop = false;
		if (!changed || !wanted) {
			json_decref(changed);
			json_decref(wanted);
			return BPG_ENOMEM;
		}
		json_array_foreach(changed, k, sc)
			if (tier_wanted(ev, json_string_value(sc)))
				json_array_append(wanted, sc);
		json_decref(changed);
		const json_t *rep = srv_fact(ev, "stage_health");
		bpg_where w = r.where;
		w.file = is_record(rep) && bpg_jstr(rep, "ref") ? bpg_jstr(rep, "ref") : bpg_ev_param_str(ev, "report");
		if (json_array_size(wanted) == 0) {
			rc = 0;
		} else if (!rep) {
			rc = srv_missing(ev, r.ref, "stage_health");
		} else if (json_is_object(rep) && (rc = health_source(ev, &r, rep, &stop)) < 0) {
			;
		} else if (stop) {
			rc = 0;
		} else if (!json_is_object(rep) || json_object_get(rep, "error")) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"measure stage health: bpgate make health --env stage (a signed record; the server's timer runs it hourly)",
				"no usable stage health report before %s: %s%s", env,
				json_is_object(rep) ? bpg_jstr(rep, "error") : "the file is missing",
				srv_same(bpg_jstr(rep, "source"), "tree") ? " (and no valid signed health record)" : "");
		} else if (srv_time_parse(bpg_jstr(rep, "measured_at"), &t) && srv_time_parse(bpg_ev_now(ev), &now) &&
		           t > now + json_integer_value(bpg_ev_param(ev, "max_clock_skew_minutes")) * 60) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "measure stage health again with a correct clock",
				"the stage health report is dated in the future (measured_at %s, now %s): a report from the future "
				"never goes stale, so it is refused", bpg_jstr(rep, "measured_at"), bpg_ev_now(ev));
		} else if (!srv_time_parse(bpg_jstr(rep, "measured_at"), &t) || !srv_time_parse(bpg_ev_now(ev), &now) ||
		           now - t > json_integer_value(bpg_ev_param(ev, "max_age_hours")) * 3600) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "measure stage health again: bpgate make health --env stage",
				"the stage health report is older than %lld hours (measured_at %s)",
				(long long)json_integer_value(bpg_ev_param(ev, "max_age_hours")),
				bpg_jstr(rep, "measured_at") ? bpg_jstr(rep, "measured_at") : "missing");
		} else {
			json_array_foreach(wanted, k, sc)
				if ((rc = health_one(ev, &r, rep, json_string_value(sc), env)) < 0)
					break;
		}
		json_decref(wanted);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_signed_push = {
	.info = { "signed-push", "pushes to the environments named carry a verified push certificate of the pusher",
		BPG_MODE_ENFORCE },
	.params = signed_params,
	.eval = eval_signed,
};

const bpg_rule_def bpg_rule_uat_evidence = {
	.info = { "uat-evidence", "every scenario promoted has UAT evidence in the tree", BPG_MODE_ENFORCE },
	.params = uat_params,
	.eval = eval_uat,
};

const bpg_rule_def bpg_rule_stage_health = {
	.info = { "stage-health", "stage health measured from executions (a signed record) meets the SLOs before prod", BPG_MODE_ENFORCE },
	.params = health_params,
	.eval = eval_health,
};
