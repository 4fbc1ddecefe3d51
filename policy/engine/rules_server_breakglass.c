/*
 * break-glass: the push option bpgate.break-glass="INC-123: reason" is
 * accepted from the emergency role only, once per push, and must name a
 * ticket and a reason. A valid one waives change windows, approvals, promotion and the
 * releaser's segregation checks (never the content rules, deletion or
 * non-fast-forward); it is reported (info) and recorded by the server.
 * break-glass-overdue: a scenario changed by break-glass on an environment
 * of `environments` that has gone `max_days` without `approvals` distinct
 * retroactive approvals (of its tree, by someone else than who broke the
 * glass) blocks further promotions of that scenario there
 * (extra.server.break_glass_log lists the records; extra.server.break_glass_log_error,
 * when the server could not read them all, refuses every promotion there).
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>

static const bpg_sfield bg_params[] = {
	{ "max_days", &bpg_s_int, false, "3" },
	{ NULL, NULL, false, NULL },
};
static const bpg_sfield overdue_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "max_days", &bpg_s_int, false, "3" },
	{ "approvals", &bpg_s_int, false, "1" },
	{ NULL, NULL, false, NULL },
};

static int eval_break_glass(bpg_eval *ev)
{
	const char *opt = srv_break_glass_option(ev), *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	const json_t *refs = json_object_get(bpg_ev_facts(ev), "refs");
	const json_t *r = json_array_get(refs, 0);
	bpg_where w = { NULL, NULL, bpg_jstr(r, "new"), bpg_jstr(r, "name"), 0, 0 };

	if (!srv_active(ev) || !opt)
		return 0;
	if (srv_break_glass_count(ev) > 1) /* one is validated, which one recorded? neither */
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "push with one -o bpgate.break-glass=\"INC-123: what broke\"",
			"break-glass refused: %zu break-glass options in one push (at most one)", srv_break_glass_count(ev));
	if (!srv_incident_valid(opt))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"name the incident ticket and the reason: git push -o bpgate.break-glass=\"INC-123: what broke\"",
			"break-glass option is malformed: \"%s\" (expected \"TICKET-123: reason\")", opt);
	if (!bpg_pol_has_role(bpg_ev_policy(ev), "emergency", pusher))
		return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"only principals with the emergency role may break glass; page one of them",
			"break-glass refused: %s does not have the emergency role", pusher ? pusher : "(unknown pusher)");
	return bpg_ev_emit(ev, BPG_SEV_INFO, &w,
		"record retroactive approvals; `bpgate pending` lists the change until they exist",
		"break-glass %s by %s accepted and recorded; retroactive approval due within %lld day(s)", opt,
		pusher, (long long)json_integer_value(bpg_ev_param(ev, "max_days")));
}

static size_t retro_approvals(const bpg_eval *ev, const json_t *rec)
{
	const json_t *who = json_object_get(rec, "approvers");
	size_t i, j, n = 0;
	json_t *a, *b;
	json_array_foreach(who, i, a) {
		bool dup = false;
		if (!json_is_string(a) || srv_same(json_string_value(a), bpg_jstr(rec, "pusher")))
			continue;
		json_array_foreach(who, j, b)
			if (j < i && srv_same(json_string_value(a), json_string_value(b)))
				dup = true;
		n += !dup;
	}
	(void)ev;
	return n;
}

static int eval_overdue(bpg_eval *ev)
{
	long long now;
	size_t k, s;
	json_t *rec, *sc;
	srv_ref r;
	int rc;

	if (!srv_time_parse(bpg_ev_now(ev), &now))
		return 0;
	/* a break-glass push itself is not held up by earlier ones */
	for (size_t i = 0; !srv_break_glass(ev, NULL) && srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) {
		const char *env = r.envname;
		const json_t *log = srv_fact(ev, "break_glass_log");
		if (!json_is_array(log)) {
			if ((rc = srv_missing(ev, r.ref, "break_glass_log")) < 0)
				return rc;
			continue;
		}
		/* a record not read could be the overdue one: refuse rather than judge a part */
		const char *lerr = json_string_value(srv_fact(ev, "break_glass_log_error"));
		if (lerr) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &r.where, "the server's administrator repairs or removes "
				"what is named, after checking it against the audit log",
				"the break-glass records of %s cannot all be read (%s): an overdue break-glass change cannot be "
				"ruled out, so promotions there are refused", env, lerr)) < 0)
				return rc;
			continue;
		}
		json_t *changed = srv_changed_scenarios(ev);
		if (!changed)
			return BPG_ENOMEM;
		json_array_foreach(log, k, rec) {
			long long t;
			const char *renv = bpg_jstr(rec, "environment");
			bpg_break_glass_state st;
			if ((renv && strcmp(renv, env) != 0) || !srv_time_parse(bpg_jstr(rec, "time"), &t))
				continue;
			/* the one definition `bpgate pending` shares */
			bpg_policy_break_glass_state(&st, bpg_ev_policy(ev), env, true, t, now, retro_approvals(ev, rec));
			if (!st.overdue)
				continue;
			json_array_foreach(json_object_get(rec, "scenarios"), s, sc) {
				if (!json_is_string(sc) || !bpg_strings_has(changed, json_string_value(sc)))
					continue;
				bpg_where w = r.where;
				w.commit = bpg_jstr(rec, "commit");
				char fix[256];
				snprintf(fix, sizeof(fix), "have it approved retroactively: `bpgate approve %.12s --for %s` "
					"by a reviewer (see `bpgate pending`)", bpg_jstr(rec, "commit") ? bpg_jstr(rec, "commit") : "REV",
					env);
				rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, fix,
					"scenario %s was changed on %s by break-glass %s (%s) %lld day(s) ago and still has no "
					"retroactive approval: further promotions of it are refused",
					json_string_value(sc), env, bpg_jstr(rec, "incident") ? bpg_jstr(rec, "incident") : "?",
					bpg_jstr(rec, "time"), (now - t) / 86400);
				if (rc < 0) {
					json_decref(changed);
					return rc;
				}
			}
		}
		json_decref(changed);
	}
	return 0;
}

const bpg_rule_def bpg_rule_break_glass = {
	.info = { "break-glass", "emergency pushes: the emergency role only, with a ticket and reason; recorded",
		BPG_MODE_ENFORCE },
	.params = bg_params,
	.eval = eval_break_glass,
};

const bpg_rule_def bpg_rule_break_glass_overdue = {
	.info = { "break-glass-overdue", "no further promotions of a scenario whose break-glass change is not approved "
		"after max_days", BPG_MODE_ENFORCE },
	.params = overdue_params,
	.eval = eval_overdue,
};
