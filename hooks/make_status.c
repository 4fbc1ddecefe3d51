/*
 * The Make part of `bpgate status` and `bpgate inventory`: per environment
 * with a "make" block, the deployed commit of each scenario, whether the
 * branch tip is deployed ("accepted, not deployed" after a failed or missing
 * deployment) and the result of the last drift check. Reads only the
 * records under refs/bpgate/ (make_record.h): no request to Make.
 */
#include "make_status.h"
#include "make_record.h"

#include <string.h>

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "?";
}

static bool tip_deployed(git_repository *repo, const char *env, const char *branch, char tip[GIT_OID_HEXSZ + 1])
{
	git_object *obj = NULL;
	git_reference *r = NULL;
	char spec[300], ref[300];
	bool have;

	tip[0] = 0;
	const char *shortb = strncmp(branch, "refs/heads/", 11) == 0 ? branch + 11 : branch;
	snprintf(spec, sizeof(spec), "refs/remotes/origin/%s", shortb);
	if (git_revparse_single(&obj, repo, spec) < 0) {
		snprintf(spec, sizeof(spec), "refs/heads/%s", shortb);
		if (git_revparse_single(&obj, repo, spec) < 0) {
			git_error_clear();
			return true; /* no branch: nothing accepted */
		}
	}
	git_oid_tostr(tip, GIT_OID_HEXSZ + 1, git_object_id(obj));
	git_object_free(obj);
	snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/%s", env, tip);
	have = git_reference_lookup(&r, repo, ref) == 0;
	git_reference_free(r);
	git_error_clear();
	return have;
}

static const char *drift_state(const json_t *drift, const char *scenario)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(drift, "scenarios"), i, s)
		if (strcmp(str(s, "scenario"), scenario) == 0)
			return str(s, "state");
	return NULL;
}

json_t *make_status_json(git_repository *repo, const json_t *policy)
{
	json_t *out = json_object();
	const char *env;
	json_t *e;

	json_object_foreach(json_object_get(policy, "environments"), env, e) {
		if (!json_is_object(json_object_get(e, "make")))
			continue;
		mk_state st;
		bpg_error err;
		char tip[GIT_OID_HEXSZ + 1];
		json_t *row = json_object(), *scen = json_object();
		json_t *failed = NULL, *drift = NULL;
		bpg_error rerr;
		bpg_error derr;
		int frc = mk_failed_get(&failed, repo, env, &rerr), drc = mk_drift_get(&drift, repo, env, &derr);
		bool records_ok = frc == 0 && drc == 0; /* both read; the first error is said */
		if (frc == 0 && drc < 0)
			rerr = derr;
		/* the environment blueprints are exported from: Make is its source, git follows (make pull) */
		bool source = !json_is_string(json_object_get(e, "promotes_from"));
		bool deployed = tip_deployed(repo, env, str(e, "branch"), tip) || source;
		if (source)
			json_object_set_new(row, "source", json_true());
		/* an environment bpgate never deployed to (manual, no record) is not "waiting": the team
		 * may not use the Make link there yet */
		bool automatic = json_is_string(json_object_get(json_object_get(e, "make"), "deploy")) &&
			strcmp(str(json_object_get(e, "make"), "deploy"), "auto") == 0;
		int lrc = mk_state_load(&st, repo, env, &err); /* st is disposed of below either way */
		if (!records_ok)
			json_object_set_new(row, "error", json_string(rerr.message));
		else if (lrc < 0)
			json_object_set_new(row, "error", json_string(err.message));
		else if (!st.exists && !automatic && !failed)
			json_object_set_new(row, "never_deployed", json_true());
		else {
			const char *id;
			json_t *rec;
			json_object_foreach(json_object_get(st.doc, "scenarios"), id, rec) {
				json_t *s = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "make_id", json_object_get(rec, "make_id"),
					"commit", json_object_get(rec, "commit"), "time", json_object_get(rec, "time"),
					"who", json_object_get(rec, "who"), "adopted", json_object_get(rec, "adopted"));
				const char *ds = drift ? drift_state(drift, id) : NULL;
				if (s && ds)
					json_object_set_new(s, "drift", json_string(ds));
				json_object_set_new(scen, id, s);
			}
		}
		mk_state_dispose(&st);
		if (tip[0])
			json_object_set_new(row, "branch_tip", json_string(tip));
		json_object_set_new(row, "tip_deployed", json_boolean(deployed));
		if (failed)
			json_object_set(row, "failed", failed);
		if (drift)
			json_object_set_new(row, "last_drift_check", json_pack("{s:O?, s:O?, s:O?}", "time",
				json_object_get(drift, "time"), "drift", json_object_get(drift, "drift"), "commit",
				json_object_get(drift, "commit")));
		json_object_set_new(row, "scenarios", scen);
		json_t *disabled = NULL;
		if (mk_switch_disabled(&disabled, repo, env, &rerr) < 0) /* counted by make_status_print_disabled */
			json_object_set_new(row, "switch_error", json_string(rerr.message));
		if (disabled && json_array_size(disabled) > 0)
			json_object_set(row, "disabled", disabled);
		json_decref(disabled);
		json_object_set_new(out, env, row);
		json_decref(failed);
		json_decref(drift);
	}
	return out;
}

void make_status_print(FILE *out, git_repository *repo, const json_t *policy)
{
	json_t *st = make_status_json(repo, policy);
	const char *env;
	json_t *row;

	if (!st || json_object_size(st) == 0) {
		json_decref(st);
		return;
	}
	fprintf(out, "make (from the deployment records; `bpgate make drift` asks Make itself):\n");
	json_object_foreach(st, env, row) {
		const json_t *failed = json_object_get(row, "failed"), *dc = json_object_get(row, "last_drift_check");
		const char *tip = json_string_value(json_object_get(row, "branch_tip"));
		if (json_object_get(row, "switch_error"))
			fprintf(out, "  %-6s switch records unreadable: %s\n", env, str(row, "switch_error"));
		if (json_object_get(row, "error"))
			fprintf(out, "  %-6s records unreadable: %s\n", env, str(row, "error"));
		else if (failed)
			fprintf(out, "  %-6s ACCEPTED, NOT DEPLOYED: the deployment of %.12s failed at %s (%lld refused, "
				"%lld failed); retry: bpgate make deploy --env %s\n", env, str(failed, "commit"),
				str(failed, "time"), (long long)json_integer_value(json_object_get(failed, "refused")),
				(long long)json_integer_value(json_object_get(failed, "failed")), env);
		else if (json_is_true(json_object_get(row, "source")))
			fprintf(out, "  %-6s the source: builders work in Make's %s team; git follows it (bpgate make pull)\n",
				env, env);
		else if (json_is_true(json_object_get(row, "never_deployed")))
			fprintf(out, "  %-6s never deployed by bpgate (make.deploy \"manual\"): bpgate make deploy --env %s\n",
				env, env);
		else if (tip && !json_is_true(json_object_get(row, "tip_deployed")))
			fprintf(out, "  %-6s accepted, not deployed: the branch tip %.12s has no deployment record; "
				"run bpgate make deploy --env %s\n", env, tip, env);
		else
			fprintf(out, "  %-6s branch tip deployed\n", env);
		if (dc)
			fprintf(out, "         last drift check %s: %s\n", str(dc, "time"),
				json_is_true(json_object_get(dc, "drift")) ? "DRIFT" : "clean");
		else if (!json_is_true(json_object_get(row, "source")))
			fprintf(out, "         no drift check recorded\n");
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(row, "disabled"), k, d)
			fprintf(out, "         DISABLED %s (Make %lld) since %s by %s: %s\n", str(d, "scenario"),
				(long long)json_integer_value(json_object_get(d, "make_id")), str(d, "time"), str(d, "who"),
				str(d, "reason"));
		const char *id;
		json_t *s;
		json_object_foreach(json_object_get(row, "scenarios"), id, s)
			fprintf(out, "         %-24s Make %-8lld deployed %.12s %s by %s%s%s\n", id,
				(long long)json_integer_value(json_object_get(s, "make_id")), str(s, "commit"), str(s, "time"),
				str(s, "who"), json_object_get(s, "drift") ? "; drift: " : "",
				json_object_get(s, "drift") ? str(s, "drift") : "");
	}
	json_decref(st);
}

int make_status_print_disabled(FILE *out, git_repository *repo, const json_t *policy)
{
	const char *env;
	json_t *e;
	int n = 0;
	bool heading = false;
	json_object_foreach(json_object_get(policy, "environments"), env, e) {
		if (!json_is_object(json_object_get(e, "make")))
			continue;
		json_t *disabled = NULL;
		mk_state st;
		bpg_error err;
		if (mk_switch_disabled(&disabled, repo, env, &err) < 0) { /* counted and said, not "none disabled" */
			n++;
			if (out)
				fprintf(out, "  %-6s switch records unreadable: %s\n", env, err.message);
		}
		bool have_state = mk_state_load(&st, repo, env, &err) == 0;
		size_t k;
		json_t *d;
		json_array_foreach(disabled, k, d) {
			/* a follow-up change deployed after the switch closes it for `pending` */
			const json_t *rec = have_state ? json_object_get(json_object_get(st.doc, "scenarios"), str(d, "scenario")) : NULL;
			if (rec && strcmp(str(rec, "time"), str(d, "time")) > 0)
				continue;
			n++;
			if (!heading && out)
				fprintf(out, "disabled scenarios (until `bpgate make enable` or a follow-up deployment):\n");
			heading = true;
			if (out)
				fprintf(out, "  %-6s %-24s since %s by %s: %s\n", env, str(d, "scenario"), str(d, "time"),
				str(d, "who"), str(d, "reason"));
		}
		if (have_state)
			mk_state_dispose(&st);
		json_decref(disabled);
	}
	return n;
}

int make_status_print_pending(FILE *out, git_repository *repo, const json_t *policy)
{
	json_t *st = make_status_json(repo, policy);
	const char *env;
	json_t *row;
	int n = 0;

	json_object_foreach(st, env, row) {
		const json_t *failed = json_object_get(row, "failed");
		const char *tip = json_string_value(json_object_get(row, "branch_tip"));
		if (json_object_get(row, "error")) { /* a record that cannot be read is not "nothing pending" */
			if (out)
				fprintf(out, "  %-6s records unreadable: %s\n", env, str(row, "error"));
			n++;
			continue;
		}
		if (!failed && (!tip || json_is_true(json_object_get(row, "tip_deployed")) ||
		    json_is_true(json_object_get(row, "never_deployed"))))
			continue;
		if (n++ == 0 && out)
			fprintf(out, "accepted, not deployed to Make:\n");
		if (!out)
			continue;
		if (failed)
			fprintf(out, "  %-6s %.12s: the deployment failed at %s; retry: bpgate make deploy --env %s\n", env,
				str(failed, "commit"), str(failed, "time"), env);
		else
			fprintf(out, "  %-6s %.12s: no deployment yet; bpgate make deploy --env %s\n", env, tip, env);
	}
	json_decref(st);
	return n + make_status_print_disabled(out, repo, policy);
}
