/*
 * Release evidence before an environment of `environments` (default prod):
 * signed-push: the push carries a push certificate (git push --signed)
 *   whose signature verified against .bpgate/allowed_signers (namespace
 *   "git") for the pusher's principal, with git's nonce check passed
 *   (extra.server.push_cert: null when unsigned). Off unless the policy
 *   names environments.
 * uat-evidence: every scenario the change touches (of the tiers named, all
 *   when empty) has an evidence file under <dir>/<scenario id>/ in the tree
 *   pushed (extra.server.uat_evidence: scenario -> paths).
 * stage-health: the stage health report (extra.server.stage_health, read
 *   from <report> in the tree pushed) is recent and meets the SLOs for every
 *   scenario the change touches.
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
	{ NULL, NULL, false, NULL },
};
static const bpg_sfield health_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "tiers", &bpg_s_strings, false, "[]" },
	{ "report", &bpg_s_nonempty, false, "\"health/stage.json\"" },
	{ "max_age_hours", &bpg_s_int, false, "168" },
	{ "min_success_rate", &bpg_s_number, false, "0.99" },
	{ "max_error_rate", &bpg_s_number, false, "0.01" },
	{ "max_p95_ms", &bpg_s_number, false, "5000" },
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

static int eval_uat(bpg_eval *ev)
{
	size_t k;
	json_t *sc;
	srv_ref r;
	int rc = 0;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT | SRV_REF_JUDGED, &r);) {
		const char *env = r.envname;
		const json_t *ev_map = srv_fact(ev, "uat_evidence");
		json_t *changed = srv_changed_scenarios(ev);
		if (!changed)
			return BPG_ENOMEM;
		if (json_array_size(changed) && !json_is_object(ev_map))
			rc = srv_missing(ev, r.ref, "uat_evidence");
		json_array_foreach(changed, k, sc) {
			const char *id = json_string_value(sc);
			if (rc < 0 || !json_is_object(ev_map) || !tier_wanted(ev, id) ||
			    json_array_size(json_object_get(ev_map, id)) > 0)
				continue;
			char fix[256];
			snprintf(fix, sizeof(fix), "commit the UAT results under %s/%s/ on stage, then promote",
				bpg_ev_param_str(ev, "dir"), id);
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &r.where, fix, "no UAT evidence for scenario %s before %s: "
				"nothing under %s/%s/ in the tree pushed", id, env, bpg_ev_param_str(ev, "dir"), id);
		}
		json_decref(changed);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int health_one(bpg_eval *ev, const json_t *r, const json_t *rep, const char *id, const char *env)
{
	const json_t *m = json_object_get(json_object_get(rep, "scenarios"), id);
	bpg_where w = { bpg_ev_param_str(ev, "report"), NULL, bpg_jstr(r, "new"), bpg_jstr(r, "name"), 0, 0 };
	const char *fix = "fix the scenario on stage until it meets its SLOs, then refresh the stage health report";
	double sr = json_number_value(json_object_get(m, "success_rate"));
	double er = json_number_value(json_object_get(m, "error_rate"));
	double p95 = json_number_value(json_object_get(m, "p95_ms"));

	if (!m || !json_is_number(json_object_get(m, "success_rate")) || !json_is_number(json_object_get(m, "error_rate")) ||
	    !json_is_number(json_object_get(m, "p95_ms")))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "add the scenario's stage figures (success_rate, error_rate, p95_ms)",
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
		w.file = bpg_ev_param_str(ev, "report");
		if (json_array_size(wanted) == 0) {
			rc = 0;
		} else if (!rep) {
			rc = srv_missing(ev, r.ref, "stage_health");
		} else if (!json_is_object(rep) || json_object_get(rep, "error")) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"commit a stage health report (see docs: {\"measured_at\":..., \"scenarios\": {...}}) on stage",
				"no usable stage health report before %s: %s", env,
				json_is_object(rep) ? bpg_jstr(rep, "error") : "the file is missing");
		} else if (!srv_time_parse(bpg_jstr(rep, "measured_at"), &t) || !srv_time_parse(bpg_ev_now(ev), &now) ||
		           now - t > json_integer_value(bpg_ev_param(ev, "max_age_hours")) * 3600) {
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "refresh the stage health report",
				"the stage health report is older than %lld hours (measured_at %s)",
				(long long)json_integer_value(bpg_ev_param(ev, "max_age_hours")),
				bpg_jstr(rep, "measured_at") ? bpg_jstr(rep, "measured_at") : "missing");
		} else {
			json_array_foreach(wanted, k, sc)
				if ((rc = health_one(ev, r.ref, rep, json_string_value(sc), env)) < 0)
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
	.info = { "stage-health", "the stage health report meets the SLOs before prod", BPG_MODE_ENFORCE },
	.params = health_params,
	.eval = eval_health,
};
