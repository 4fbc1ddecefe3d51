/*
 * bpg_audit_export(): the chain of custody of an environment's releases,
 * read from the audit log (the accepted decisions that git applied are the
 * record: a "judged" entry counts once a later bpgate-applied entry confirms
 * its update), with the
 * authors of each promoted range and the approvers of each released tree
 * read from git, and the change metrics:
 *   cycle time       = release time - earliest author time of the range
 *                      (releases and break-glass changes);
 *   failed change    = a release or break-glass change whose NEXT
 *                      deployment of the environment (anywhere in the log)
 *                      is a rollback or a break-glass (hotfix);
 *   time to recover  = rollback time - time of the deployment it replaced.
 */
#include "internal.h"
#include "bpgate/approval.h"
#include "bpgate/sshsig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EXPORT_MAX_DEPLOYS 100000
#define EXPORT_MAX_WALK 20000

int bpg_evidence_parse_time(time_t *out, const char *s, bool end_of_day, bpg_error *err)
{
	char buf[32];

	if (s && strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		if (ev_time(buf, out)) {
			if (end_of_day)
				*out += 86400;
			return 0;
		}
	} else if (ev_time(s, out)) {
		return 0;
	}
	return bpg_error_set(err, BPG_EINVALID, "'%s' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)",
		s ? s : "");
}

void bpg_evidence_format_time(char out[21], time_t t)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Authors (distinct names, oldest first) and the earliest author time of old..new. */
static int authors_of(json_t *row, git_repository *repo, const char *old, const char *nw, bpg_error *err)
{
	git_revwalk *walk = NULL;
	git_oid id;
	json_t *names = json_array();
	int64_t first = INT64_MAX;
	size_t n = 0;
	int rc = 0;

	if (!names || json_object_set_new(row, "authors", names) < 0)
		return ev_oom(err);
	if (git_revwalk_new(&walk, repo) < 0 || git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_oid_fromstr(&id, nw) < 0 || git_revwalk_push(walk, &id) < 0) {
		git_error_clear();
		goto done; /* the commit is not in this repository: no authors to name */
	}
	if (old && strspn(old, "0") != 40 && git_oid_fromstr(&id, old) == 0 && git_revwalk_hide(walk, &id) < 0)
		git_error_clear();
	while (git_revwalk_next(&id, walk) == 0 && n++ < EXPORT_MAX_WALK) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, repo, &id) < 0)
			continue;
		const git_signature *a = git_commit_author(c);
		bool seen = false;
		size_t i;
		json_t *x;
		json_array_foreach(names, i, x)
			seen |= ev_streq(json_string_value(x), a->name);
		if (!seen && json_array_append_new(names, json_string(a->name ? a->name : "")) < 0)
			rc = ev_oom(err);
		if (a->when.time < first)
			first = a->when.time;
		git_commit_free(c);
	}
	git_error_clear();
	if (first != INT64_MAX) {
		char t[21];
		bpg_evidence_format_time(t, (time_t)first);
		json_object_set_new(row, "first_commit", json_string(t));
	}
done:
	git_revwalk_free(walk);
	return rc;
}

/* Approvers whose signature verifies against the allowed_signers of the decision's policy commit. */
static int approvers_of(json_t *row, git_repository *repo, const char *env, const char *tree, const char *pc,
	time_t at, bpg_error *err)
{
	json_t *names = json_array(), *found = json_array(), *a;
	bpg_allowed_signers *signers = NULL;
	bpg_buf as = BPG_BUF_INIT;
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL;
	const char *trees[] = { tree };
	size_t i;
	int rc = 0;

	if (!names || !found || json_object_set_new(row, "approvers", names) < 0) {
		json_decref(found);
		return ev_oom(err);
	}
	if (!tree || !pc || git_oid_fromstr(&id, pc) < 0 || git_commit_lookup(&c, repo, &id) < 0 ||
	    git_commit_tree(&t, c) < 0 || ev_read_path(&as, repo, t, ".bpgate/allowed_signers", EV_MAX_SMALL, NULL) < 0 ||
	    bpg_allowed_signers_parse(&signers, as.ptr ? as.ptr : "", as.size, "allowed_signers", NULL) < 0)
		goto done; /* no policy signers: no approval can count */
	if ((rc = bpg_approvals_gather(found, repo, env, trees, 1, signers, at, err)) < 0)
		goto done;
	rc = 0;
	json_array_foreach(found, i, a) {
		time_t when;
		bool seen = false;
		size_t k;
		json_t *x;
		if (!json_is_true(json_object_get(a, "verified")) || !ev_time(ev_str(a, "time"), &when) || when > at)
			continue;
		json_array_foreach(names, k, x)
			seen |= ev_streq(json_string_value(x), ev_str(a, "approver"));
		if (!seen && json_array_append(names, json_object_get(a, "approver")) < 0)
			rc = ev_oom(err);
	}
done:
	git_error_clear();
	json_decref(found);
	bpg_allowed_signers_free(signers);
	bpg_buf_dispose(&as);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

static const char *incident_of(const json_t *entry)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(entry, "push_options"), i, o)
		if (json_string_value(o) && strncmp(json_string_value(o), "bpgate.break-glass=", 19) == 0)
			return json_string_value(o) + 19;
	return NULL;
}

/* Every deployment of env in the log that git applied, in log order. */
static int deployments(json_t *out, const bpg_audit_log *log, const char *env, bpg_error *err)
{
	uint64_t n = bpg_audit_size(log);
	json_t *applied = NULL;
	int rc;

	if ((rc = ev_applied_index(&applied, log, err)) < 0)
		return rc;
	for (uint64_t i = 0; i < n && rc == 0; i++) {
		const char *bytes;
		size_t len, k;
		json_t *e, *r;
		time_t t;

		if ((rc = bpg_audit_entry(&bytes, &len, log, i, err)) < 0)
			break;
		if (!(e = json_loadb(bytes, len, 0, NULL)))
			continue;
		if (ev_streq(ev_str(e, "type"), "bpgate-push") && ev_streq(ev_str(e, "decision"), "accept") &&
		    ev_time(ev_str(e, "time"), &t)) {
			json_array_foreach(json_object_get(e, "refs"), k, r) {
				const char *kind = ev_str(r, "kind");
				if (!ev_streq(ev_str(r, "environment"), env) || !(ev_streq(kind, "release") ||
				    ev_streq(kind, "rollback") || ev_streq(kind, "break-glass")) || !ev_str(r, "new") ||
				    !ev_ref_applied(applied, e, i, r)) /* judged, but git never applied it */
					continue;
				if (json_array_size(out) >= EXPORT_MAX_DEPLOYS) {
					rc = bpg_error_set(err, BPG_ETOOBIG, "more than %d deployments of %s", EXPORT_MAX_DEPLOYS, env);
					break;
				}
				json_t *d = json_pack("{s:O, s:s, s:O, s:O?, s:O?, s:s, s:O, s:O?, s:b, s:b, s:s?, s:O?, s:I}",
					"time", json_object_get(e, "time"), "environment", env, "commit", json_object_get(r, "new"),
					"previous_commit", json_object_get(r, "old"), "tree", json_object_get(r, "tree"), "kind", kind,
					"scenarios", json_object_get(r, "scenarios") ? json_object_get(r, "scenarios") : json_array(),
					"releaser", json_object_get(e, "pusher"), "rollback", ev_streq(kind, "rollback"),
					"break_glass", ev_streq(kind, "break-glass"), "incident",
					ev_streq(kind, "break-glass") ? incident_of(e) : NULL, "policy_commit",
					json_object_get(e, "policy_commit"), "audit_entry", (json_int_t)i);
				if (!d || json_array_append_new(out, d) < 0)
					rc = ev_oom(err);
			}
		}
		json_decref(e);
	}
	json_decref(applied);
	return rc;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* {"count","min","median","mean","max"} of values, or null. */
static json_t *stats(long long *v, size_t n)
{
	double sum = 0, median;
	if (n == 0)
		return json_null();
	qsort(v, n, sizeof(*v), cmp_ll);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	median = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
	return json_pack("{s:I, s:I, s:f, s:f, s:I}", "count", (json_int_t)n, "min", (json_int_t)v[0], "median", median,
		"mean", round(sum / (double)n * 10.0) / 10.0, "max", (json_int_t)v[n - 1]);
}

int bpg_audit_export(json_t **out, const bpg_audit_log *log, const bpg_export_opts *opts, bpg_error *err)
{
	const char *env = opts->environment ? opts->environment : "prod";
	json_t *all = json_array(), *rows = json_array(), *res = NULL, *d;
	long long *ct = NULL, *ttr = NULL;
	size_t nct = 0, nttr = 0, changes = 0, failed = 0, rollbacks = 0, i;
	char since[21], until[21];
	int rc;

	*out = NULL;
	if (!all || !rows) {
		rc = ev_oom(err);
		goto done;
	}
	if ((rc = deployments(all, log, env, err)) < 0)
		goto done;
	if (!(ct = calloc(json_array_size(all) + 1, sizeof(*ct))) || !(ttr = calloc(json_array_size(all) + 1, sizeof(*ttr)))) {
		rc = ev_oom(err);
		goto done;
	}
	json_array_foreach(all, i, d) {
		time_t t = 0, prev_t = 0, first;
		const json_t *next = json_array_get(all, i + 1), *prev = i ? json_array_get(all, i - 1) : NULL;
		const char *kind = ev_str(d, "kind");
		bool is_change = !ev_streq(kind, "rollback");

		ev_time(ev_str(d, "time"), &t);
		if (t < opts->since || t >= opts->until)
			continue;
		json_t *row = json_deep_copy(d);
		if (!row || json_array_append_new(rows, row) < 0) {
			rc = ev_oom(err);
			goto done;
		}
		if (opts->repo && ((rc = authors_of(row, opts->repo, ev_str(d, "previous_commit"), ev_str(d, "commit"), err)) < 0 ||
		    (rc = approvers_of(row, opts->repo, env, ev_str(d, "tree"), ev_str(d, "policy_commit"), t, err)) < 0))
			goto done;
		if (!opts->repo) {
			json_object_set_new(row, "authors", json_null());
			json_object_set_new(row, "approvers", json_null());
		}
		if (is_change) {
			bool f = next && (ev_streq(ev_str(next, "kind"), "rollback") || ev_streq(ev_str(next, "kind"), "break-glass"));
			changes++;
			failed += f;
			json_object_set_new(row, "failed", json_boolean(f));
			json_object_set_new(row, "recovered_by", f ? json_incref(json_object_get(next, "commit")) : json_null());
			if (ev_time(ev_str(row, "first_commit"), &first) && t >= first) {
				ct[nct++] = (long long)(t - first);
				json_object_set_new(row, "cycle_time_seconds", json_integer((json_int_t)(t - first)));
			} else {
				json_object_set_new(row, "cycle_time_seconds", json_null());
			}
			json_object_set_new(row, "time_to_recover_seconds", json_null());
		} else {
			rollbacks++;
			json_object_set_new(row, "failed", json_null());
			json_object_set_new(row, "recovered_by", json_null());
			json_object_set_new(row, "cycle_time_seconds", json_null());
			if (prev && ev_time(ev_str(prev, "time"), &prev_t) && t >= prev_t) {
				ttr[nttr++] = (long long)(t - prev_t);
				json_object_set_new(row, "time_to_recover_seconds", json_integer((json_int_t)(t - prev_t)));
			} else {
				json_object_set_new(row, "time_to_recover_seconds", json_null());
			}
		}
		if (!json_object_get(row, "first_commit"))
			json_object_set_new(row, "first_commit", json_null());
		json_object_del(row, "policy_commit");
		json_object_del(row, "tree");
	}
	bpg_evidence_format_time(since, opts->since);
	bpg_evidence_format_time(until, opts->until);
	res = json_pack("{s:s, s:s, s:s, s:O, s:{s:I, s:I, s:I, s:o, s:I, s:o, s:o}}", "environment", env,
		"since", since, "until", until, "rows", rows, "metrics", "deployments", (json_int_t)json_array_size(rows),
		"changes", (json_int_t)changes, "failed_changes", (json_int_t)failed, "failed_change_rate",
		changes ? json_real(round((double)failed / (double)changes * 10000.0) / 10000.0) : json_null(),
		"rollbacks", (json_int_t)rollbacks, "cycle_time_seconds", stats(ct, nct), "time_to_recover_seconds",
		stats(ttr, nttr));
	if (!res) {
		rc = ev_oom(err);
		goto done;
	}
	*out = res;
	rc = 0;
done:
	free(ct);
	free(ttr);
	json_decref(all);
	json_decref(rows);
	return rc;
}

int bpg_csv_cell(bpg_buf *out, const char *s, size_t len)
{
	bool quote = false, guard = len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
	int rc = 0;

	for (size_t i = 0; i < len; i++)
		quote |= s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote)
		rc = bpg_buf_putc(out, '"');
	if (rc == 0 && guard)
		rc = bpg_buf_putc(out, '\'');
	for (size_t i = 0; i < len && rc == 0; i++)
		rc = s[i] == '"' ? bpg_buf_puts(out, "\"\"") : bpg_buf_putc(out, s[i]);
	if (rc == 0 && quote)
		rc = bpg_buf_putc(out, '"');
	return rc;
}

static int csv_value(bpg_buf *out, const json_t *v)
{
	char num[64];
	if (json_is_string(v))
		return bpg_csv_cell(out, json_string_value(v), strlen(json_string_value(v)));
	if (json_is_array(v)) {
		bpg_buf j = BPG_BUF_INIT;
		size_t i;
		json_t *x;
		int rc = 0;
		json_array_foreach(v, i, x)
			if (json_is_string(x))
				rc |= bpg_buf_printf(&j, "%s%s", j.size ? ";" : "", json_string_value(x));
		rc = rc ? rc : bpg_csv_cell(out, j.ptr ? j.ptr : "", j.size);
		bpg_buf_dispose(&j);
		return rc;
	}
	if (json_is_true(v) || json_is_false(v))
		return bpg_buf_puts(out, json_is_true(v) ? "true" : "false");
	if (json_is_integer(v))
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(num, sizeof(num), "%.10g", json_real_value(v));
	else
		num[0] = 0;
	return bpg_buf_puts(out, num);
}

static const char *const CSV_COLUMNS[] = { "time", "environment", "commit", "kind", "scenarios", "authors",
	"approvers", "releaser", "rollback", "break_glass", "incident", "first_commit", "cycle_time_seconds",
	"failed", "recovered_by", "time_to_recover_seconds", "audit_entry", NULL };

int bpg_export_csv(bpg_buf *out, const json_t *export, bpg_error *err)
{
	const json_t *r;
	size_t i;
	int rc = 0;

	for (size_t c = 0; CSV_COLUMNS[c] && rc == 0; c++)
		rc = bpg_buf_printf(out, "%s%s", c ? "," : "", CSV_COLUMNS[c]);
	rc = rc ? rc : bpg_buf_puts(out, "\r\n");
	json_array_foreach(json_object_get(export, "rows"), i, r) {
		for (size_t c = 0; CSV_COLUMNS[c] && rc == 0; c++) {
			if (c)
				rc = bpg_buf_putc(out, ',');
			rc = rc ? rc : csv_value(out, json_object_get(r, CSV_COLUMNS[c]));
		}
		rc = rc ? rc : bpg_buf_puts(out, "\r\n");
	}
	return rc ? bpg_error_set(err, BPG_ENOMEM, "out of memory writing CSV") : 0;
}

int bpg_export_metrics_csv(bpg_buf *out, const json_t *export, bpg_error *err)
{
	const json_t *m = json_object_get(export, "metrics"), *v;
	static const char *const stat_keys[] = { "count", "min", "median", "mean", "max" };
	const char *k;
	int rc = bpg_buf_puts(out, "metric,value\r\n");

	json_object_foreach((json_t *)m, k, v) {
		if (json_is_object(v) || json_is_null(v)) {
			for (size_t s = 0; s < 5 && rc == 0; s++) {
				rc = bpg_buf_printf(out, "%s.%s,", k, stat_keys[s]);
				rc = rc ? rc : csv_value(out, json_object_get(v, stat_keys[s]));
				rc = rc ? rc : bpg_buf_puts(out, "\r\n");
			}
		} else {
			rc = rc ? rc : bpg_buf_printf(out, "%s,", k);
			rc = rc ? rc : csv_value(out, v);
			rc = rc ? rc : bpg_buf_puts(out, "\r\n");
		}
	}
	return rc ? bpg_error_set(err, BPG_ENOMEM, "out of memory writing CSV") : 0;
}
