/*
 * change-window: pushes to the environments named (default prod) happen
 * inside the weekly windows of the change's risk tier (or "default"), in
 * the policy's time zone, and never on a blackout date (local dates).
 * Outside, the push is refused unless it is a valid break-glass. A tier
 * without windows (and no "default") is not restricted.
 * The local time is a fact: "UTC" is computed from facts.time; any other
 * zone is read from extra.server.local_time.<zone> ("YYYY-MM-DDTHH:MM:SS"),
 * which the server computes with the system's time zone database.
 */
#include "rules_server.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const bpg_sfield window_fields[] = {
	{ "days", &bpg_s_strings, true, NULL },
	{ "from", &bpg_s_nonempty, true, NULL },
	{ "to", &bpg_s_nonempty, true, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema window_s = { SK_OBJECT, window_fields, NULL, NULL };
static const bpg_schema window_list_s = { SK_ARRAY, NULL, &window_s, NULL };
static const bpg_schema windows_s = { SK_MAP, NULL, &window_list_s, NULL };
static const bpg_schema dates_s = { SK_ARRAY, NULL, &bpg_s_date, NULL };
static const bpg_sfield window_params[] = {
	{ "environments", &bpg_s_strings, false, "[\"prod\"]" },
	{ "timezone", &bpg_s_nonempty, false, "\"UTC\"" },
	{ "windows", &windows_s, false, "{}" },
	{ "blackouts", &dates_s, false, "[]" },
	{ NULL, NULL, false, NULL },
};

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int hhmm(const char *s)
{
	int h, m;
	char tail;
	if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59)
		return -1;
	return h * 60 + m;
}

static int check_windows(const json_t *params, const json_t *root, bpg_vctx *vc, bpg_buf *ptr)
{
	const char *tier;
	json_t *list;
	(void)root;
	json_object_foreach(json_object_get(params, "windows"), tier, list) {
		size_t i, k;
		json_t *w, *d;
		json_array_foreach(list, i, w) {
			bool days_ok = true;
			json_array_foreach(json_object_get(w, "days"), k, d) {
				bool found = false;
				for (int j = 0; j < 7; j++)
					found |= json_is_string(d) && strcasecmp(json_string_value(d), day_names[j]) == 0;
				days_ok &= found;
			}
			if (!days_ok || hhmm(bpg_jstr(w, "from")) < 0 || hhmm(bpg_jstr(w, "to")) < 0) {
				int rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr, false, vc->rule,
					"change window %s[%zu]: days are sun..sat and from/to are HH:MM (24 h)", tier, i);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

/* Local date/time -> weekday (0 = Sunday) and minute of day; false when malformed. */
static bool local_parts(const char *s, int *wday, int *minute, char date[11])
{
	char buf[32];
	long long secs;
	if (!s || strlen(s) < 19)
		return false;
	snprintf(buf, sizeof(buf), "%.19sZ", s);
	if (!srv_time_parse(buf, &secs))
		return false;
	long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	*wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	*minute = (int)((secs - days * 86400) / 60);
	memcpy(date, s, 10);
	date[10] = '\0';
	return true;
}

static bool in_window(const json_t *list, int wday, int minute)
{
	size_t i, k;
	json_t *w, *d;
	json_array_foreach(list, i, w) {
		int from = hhmm(bpg_jstr(w, "from")), to = hhmm(bpg_jstr(w, "to"));
		bool day = false;
		json_array_foreach(json_object_get(w, "days"), k, d)
			day |= json_is_string(d) && strcasecmp(json_string_value(d), day_names[wday]) == 0;
		if (day && minute >= from && minute < to)
			return true;
	}
	return false;
}

static void describe(char *out, size_t size, const json_t *list)
{
	size_t i, k, off = 0;
	json_t *w, *d;
	out[0] = '\0';
	json_array_foreach(list, i, w) {
		int n = snprintf(out + off, size - off, "%s", i ? "; " : "");
		off += n > 0 && (size_t)n < size - off ? (size_t)n : 0;
		json_array_foreach(json_object_get(w, "days"), k, d) {
			n = snprintf(out + off, size - off, "%s%s", k ? "," : "", json_string_value(d));
			off += n > 0 && (size_t)n < size - off ? (size_t)n : 0;
		}
		n = snprintf(out + off, size - off, " %s-%s", bpg_jstr(w, "from"), bpg_jstr(w, "to"));
		off += n > 0 && (size_t)n < size - off ? (size_t)n : 0;
	}
}

static int eval_window(bpg_eval *ev)
{
	const char *tz = bpg_ev_param_str(ev, "timezone");
	srv_ref r;
	int rc;

	for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) {
		const char *env = r.envname, *tier = srv_change_tier(ev), *incident = NULL;
		const json_t *windows = bpg_ev_param(ev, "windows");
		const json_t *list = tier ? json_object_get(windows, tier) : NULL;
		if (!list)
			list = json_object_get(windows, "default");
		const char *local = strcmp(tz, "UTC") == 0 ? bpg_ev_now(ev) :
			json_string_value(json_object_get(srv_fact(ev, "local_time"), tz));
		int wday, minute;
		char date[11], desc[512], why[1024];
		if (!local_parts(local, &wday, &minute, date)) {
			if ((rc = srv_missing(ev, r.ref, "local_time")) < 0)
				return rc;
			continue;
		}
		why[0] = '\0';
		if (bpg_strings_has(bpg_ev_param(ev, "blackouts"), date))
			snprintf(why, sizeof(why), "%s is a blackout date", date);
		else if (list && !in_window(list, wday, minute)) {
			describe(desc, sizeof(desc), list);
			snprintf(why, sizeof(why), "%s %s %02d:%02d (%s) is outside the change windows for %s risk: %s",
				day_names[wday], date, minute / 60, minute % 60, tz, tier ? tier : "default", desc);
		}
		if (!why[0])
			continue;
		const bpg_where w = r.where;
		if (srv_break_glass(ev, &incident))
			rc = bpg_ev_emit(ev, BPG_SEV_INFO, &w, "record retroactive approvals (see `bpgate pending`)",
				"%s; accepted as break-glass (%s)", why, incident);
		else
			rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"push inside a change window, or in an emergency have the emergency role push with "
				"-o bpgate.break-glass=\"INC-123: reason\"", "push to %s refused: %s", env, why);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_change_window = {
	.info = { "change-window", "pushes to prod only inside the weekly change windows of the risk tier, no blackouts",
		BPG_MODE_ENFORCE },
	.params = window_params,
	.eval = eval_window,
	.check = check_windows,
};
