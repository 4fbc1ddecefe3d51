/* Helpers shared by the server rules (see rules_server.h). Pure. */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool srv_active(const bpg_eval *ev)
{
	const char *c = bpg_jstr(bpg_ev_facts(ev), "context");
	return c && strcmp(c, "pre-receive") == 0;
}

const json_t *srv_fact(const bpg_eval *ev, const char *key)
{
	const json_t *s = json_object_get(json_object_get(bpg_ev_facts(ev), "extra"), "server");
	return json_object_get(s, key);
}

int srv_missing(bpg_eval *ev, const json_t *ref, const char *key)
{
	bpg_where w = { NULL, NULL, NULL, bpg_jstr(ref, "name"), 0, 0 };
	return bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
		"the server gatherer did not provide it: report this to the server administrator",
		"cannot judge the push: the fact extra.server.%s is missing or malformed (refused: the gate fails closed)",
		key);
}

const json_t *srv_env(const bpg_eval *ev, const char *name)
{
	if (!name)
		return NULL;
	return json_object_get(json_object_get(bpg_ev_policy(ev)->root, "environments"), name);
}

bool srv_env_listed(const bpg_eval *ev, const char *param, const char *env)
{
	return env && bpg_strings_has(bpg_ev_param(ev, param), env);
}

bool srv_ref_next(const bpg_eval *ev, size_t *i, unsigned flags, srv_ref *out)
{
	const json_t *refs = json_object_get(bpg_ev_facts(ev), "refs");

	if (!srv_active(ev))
		return false;
	while (*i < json_array_size(refs)) {
		const json_t *r = json_array_get(refs, (*i)++);
		const char *envname = bpg_jstr(r, "environment");
		const json_t *env = srv_env(ev, envname);
		if (!envname || ((flags & SRV_REF_KNOWN) && !env) ||
		    ((flags & SRV_REF_LISTED) && !srv_env_listed(ev, "environments", envname)) ||
		    ((flags & SRV_REF_KEPT) && bpg_jbool(r, "deleted")) ||
		    ((flags & SRV_REF_JUDGED) && (srv_break_glass(ev, NULL) || srv_rollback(ev, r, NULL))))
			continue;
		*out = (srv_ref){ r, bpg_jstr(r, "name"), envname, env,
			{ NULL, NULL, bpg_jstr(r, "new"), bpg_jstr(r, "name"), 0, 0 } };
		return true;
	}
	return false;
}

const char *srv_break_glass_option(const bpg_eval *ev)
{
	size_t i;
	json_t *o;
	size_t n = strlen(SRV_BREAK_GLASS_OPT);

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "push_options"), i, o) {
		const char *s = json_string_value(o);
		if (s && strncmp(s, SRV_BREAK_GLASS_OPT, n) == 0)
			return s + n;
	}
	return NULL;
}

size_t srv_break_glass_count(const bpg_eval *ev)
{
	size_t i, n = 0;
	json_t *o;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "push_options"), i, o) {
		const char *s = json_string_value(o);
		n += s && strncmp(s, SRV_BREAK_GLASS_OPT, strlen(SRV_BREAK_GLASS_OPT)) == 0;
	}
	return n;
}

bool srv_incident_valid(const char *v)
{
	const char *p = v;
	if (!v || !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
		p++;
	if (*p++ != '-' || !(*p >= '0' && *p <= '9'))
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':')
		return false;
	while (*p == ' ')
		p++;
	return *p != '\0';
}

bool srv_break_glass(const bpg_eval *ev, const char **incident)
{
	const char *v = srv_break_glass_option(ev);
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");

	if (incident)
		*incident = v;
	return v && srv_break_glass_count(ev) == 1 && srv_incident_valid(v) &&
		bpg_pol_has_role(bpg_ev_policy(ev), "emergency", pusher);
}

bool srv_rollback(const bpg_eval *ev, const json_t *ref, const char **commit)
{
	const char *pusher = bpg_jstr(bpg_ev_facts(ev), "pusher");
	const char *new_tree = json_string_value(srv_fact(ev, "new_tree"));
	const char *old_tree = json_string_value(srv_fact(ev, "old_tree"));
	size_t i;
	json_t *h;

	if (!new_tree || bpg_jbool(ref, "created") || bpg_jbool(ref, "deleted") || !bpg_jbool(ref, "fast_forward"))
		return false;
	if (!bpg_pol_has_role(bpg_ev_policy(ev), "releasers", pusher))
		return false;
	if (old_tree && strcmp(old_tree, new_tree) == 0)
		return false;
	/* only a tree this environment released (a verified record of a judged update), never one
	 * that merely appears in its history (an intermediate commit, an orphan's first parent) */
	json_array_foreach(srv_fact(ev, "released_trees"), i, h) {
		const char *t = bpg_jstr(h, "tree");
		if (t && strcmp(t, new_tree) == 0) {
			if (commit)
				*commit = bpg_jstr(h, "commit");
			return true;
		}
	}
	return false;
}

bool srv_same(const char *a, const char *b)
{
	return a && b && *a && strcasecmp(a, b) == 0;
}

bool srv_authored(const bpg_eval *ev, const char *principal, const char **which)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), i, c) {
		const json_t *a = json_object_get(c, "author"), *m = json_object_get(c, "committer");
		if (srv_same(principal, bpg_jstr(a, "principal")) || srv_same(principal, bpg_jstr(a, "email")) ||
		    srv_same(principal, bpg_jstr(m, "principal")) || srv_same(principal, bpg_jstr(m, "email"))) {
			if (which)
				*which = bpg_jstr(c, "id");
			return true;
		}
	}
	return false;
}

const char *srv_change_tier(const bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const char *best = NULL;
	int rank = -1;
	size_t i;
	json_t *f, *c;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *e = bpg_pol_catalog_for(p, bpg_jstr(f, "path"));
		const char *t = bpg_jstr(e, "risk");
		int r = bpg_policy_tier_rank(p, t);
		if (t && r > rank)
			rank = r, best = t;
		else if (t && !best)
			best = t;
	}
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "commits"), i, c) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(c, "trailers"), k, v) {
			if (strcasecmp(k, bpg_policy_risk_trailer(p)) != 0 || !json_is_string(v))
				continue;
			int r = bpg_policy_tier_rank(p, json_string_value(v));
			if (r > rank)
				rank = r, best = json_string_value(v);
		}
	}
	return best;
}

json_t *srv_changed_scenarios(const bpg_eval *ev)
{
	json_t *out = json_array();
	size_t i;
	json_t *f;

	if (!out)
		return NULL;
	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *e = bpg_pol_catalog_for(bpg_ev_policy(ev), bpg_jstr(f, "path"));
		const char *id = bpg_jstr(e, "id");
		if (id && !bpg_strings_has(out, id) && json_array_append_new(out, json_string(id)) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

bool srv_time_parse(const char *s, long long *out)
{
	int y, mo, d, h, mi, se;
	if (!s || !bpg_time_valid(s) || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) != 6)
		return false;
	*out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

void srv_join(char *buf, size_t size, const json_t *arr)
{
	size_t i, off = 0;
	json_t *v;

	if (size == 0)
		return;
	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		int n = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "?");
		if (n < 0 || (size_t)n >= size - off)
			break;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, size, "(none)");
}

/* The approvals rule's parameters (max age) apply to every rule reading approvals. */
static long long approvals_param(const bpg_eval *ev, const char *name, long long def)
{
	int idx = bpg_rule_index("approvals");
	const json_t *v;
	if (idx < 0)
		return def;
	v = json_object_get(bpg_ev_policy(ev)->rules[idx].params, name);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

srv_approval_state srv_approval_check(const bpg_eval *ev, const json_t *a, const char *env, const char *tree)
{
	const char *repo = bpg_jstr(bpg_ev_facts(ev), "repository");
	const char *arepo = bpg_jstr(a, "repository");
	long long now, t;

	if (!bpg_jbool(a, "verified"))
		return SRV_APPROVAL_UNVERIFIED;
	if (repo && *repo && arepo && strcmp(repo, arepo) != 0)
		return SRV_APPROVAL_OTHER_REPO;
	/* Names can repeat across servers' folders (teamA/x, teamB/x both "x"):
	 * with a repository id known, only approvals naming that id count. */
	const char *rid = bpg_jstr(bpg_ev_facts(ev), "repository_id");
	const char *arid = bpg_jstr(a, "repository_id");
	if (rid && *rid && (!arid || strcmp(rid, arid) != 0))
		return SRV_APPROVAL_OTHER_REPO;
	if (!env || !bpg_jstr(a, "environment") || strcmp(env, bpg_jstr(a, "environment")) != 0)
		return SRV_APPROVAL_OTHER_ENV;
	if (!tree || !bpg_jstr(a, "tree") || strcmp(tree, bpg_jstr(a, "tree")) != 0)
		return SRV_APPROVAL_STALE;
	if (!srv_time_parse(bpg_ev_now(ev), &now) || !srv_time_parse(bpg_jstr(a, "time"), &t))
		return SRV_APPROVAL_EXPIRED;
	if (t > now + approvals_param(ev, "max_skew_seconds", 300))
		return SRV_APPROVAL_FUTURE;
	if (now - t > approvals_param(ev, "max_age_days", 14) * 86400)
		return SRV_APPROVAL_EXPIRED;
	return SRV_APPROVAL_OK;
}

const char *srv_approval_state_name(srv_approval_state s)
{
	static const char *n[] = { "valid", "unverified", "for another repository", "for another environment",
		"stale", "expired", "dated in the future" };
	return (unsigned)s <= SRV_APPROVAL_FUTURE ? n[s] : "?";
}
