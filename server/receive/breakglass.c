/*
 * The break-glass records of an environment, for break-glass-overdue
 * (extra.server.break_glass_log): from refs/bpgate/break-glass/<env>/, the
 * index post-receive writes (recindex.c), read whole; before that index
 * exists, from every release record of the environment, as the gate always
 * read them.
 */
#include "receive.h"
#include "bpgate/approval.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <string.h>

#define BG_PREFIX "refs/bpgate/break-glass/"

/* One break-glass record as the facts list it, appended to log. */
static int log_add(json_t *log, const rcv_ctx *cx, const char *env, const json_t *rec)
{
	const char *tree = json_string_value(json_object_get(rec, "tree"));
	json_t *found = json_array(), *approvers = json_array(), *a;
	const char *trees[] = { tree };
	bpg_error err;
	size_t i;

	if (found && approvers)
		bpg_approvals_gather(found, cx->repo, env, trees, 1, cx->pol->signers, cx->now, &err);
	json_array_foreach(found, i, a)
		if (json_is_true(json_object_get(a, "verified")))
			json_array_append(approvers, json_object_get(a, "approver"));
	json_decref(found);
	json_t *o = json_pack("{s:O?, s:O?, s:O?, s:O?, s:s, s:s, s:O?, s:o}",
		"incident", json_object_get(rec, "incident"), "pusher", json_object_get(rec, "pusher"),
		"time", json_object_get(rec, "time"), "commit", json_object_get(rec, "new"), "tree", tree,
		"environment", env, "scenarios", json_object_get(rec, "scenarios"), "approvers", approvers);
	return !o || json_array_append_new(log, o) < 0 ? BPG_ENOMEM : 0;
}

/*
 * Break-glass records of env with their retroactive approvers (extra.server.break_glass_log).
 * A record missed would be an overdue break-glass change not seen, so what keeps one from
 * being read is "break_glass_log_error", which break-glass-overdue refuses on; never a shorter
 * log: the refs cannot be listed, a record that is not a readable JSON object, more than
 * RCV_HISTORY_MAX break-glass records, or, before the records are indexed (recindex.c), more
 * than RCV_HISTORY_MAX release records of env (the next post-receive indexes them, which ends
 * it; it said why when it could not), an environment name too long for a ref.
 */
/* One listing of the records under prefix (glob) into log; problem set when one cannot be read. */
static int list_records(json_t *log, const rcv_ctx *cx, const char *env, bool indexed, const char *prefix,
	const char *glob, char *problem, size_t psize)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	size_t seen = 0;
	int lrc, rc = 0;

	lrc = git_reference_iterator_glob_new(&it, cx->repo, glob);
	while (rc == 0 && lrc == 0 && (lrc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		json_t *rec;
		if (strncmp(name, prefix, strlen(prefix)) != 0 || strchr(name + strlen(prefix), '/')) {
			git_reference_free(ref);
			ref = NULL;
			continue;
		}
		if (++seen > RCV_HISTORY_MAX) {
			snprintf(problem, psize, indexed ? "more than %d break-glass records under %s (limit)" :
				"more than %d release records under %s, not indexed yet (limit; the next accepted push indexes "
				"them)", RCV_HISTORY_MAX, prefix);
			break;
		}
		if (!(rec = rcv_record_read(cx->repo, git_reference_target(ref)))) {
			snprintf(problem, psize, "%.300s is not a readable record (a blob of a JSON object under 1 MiB)", name);
			break;
		}
		if (indexed && !rcv_record_is(rec, "break-glass")) {
			snprintf(problem, psize, "%.300s is not a break-glass record", name);
			json_decref(rec);
			break;
		}
		git_reference_free(ref);
		ref = NULL;
		if (rcv_record_is(rec, "break-glass") && json_is_string(json_object_get(rec, "tree")))
			rc = log_add(log, cx, env, rec);
		json_decref(rec);
	}
	if (rc == 0 && !problem[0] && lrc != 0 && lrc != GIT_ITEROVER)
		snprintf(problem, psize, "the records under %s cannot be listed: %.300s", prefix, bpg_git_message());
	git_error_clear();
	git_reference_free(ref);
	git_reference_iterator_free(it);
	return rc;
}

int rcv_break_glass_log(json_t *server, const rcv_ctx *cx, const char *env)
{
	json_t *log = json_array();
	char prefix[300], glob[320], problem[1000] = "";
	bool indexed;
	int rc = 0;

	if (!log || json_object_set_new(server, "break_glass_log", log) < 0)
		return BPG_ENOMEM;
	if (rcv_record_indexed(&indexed, cx->repo, problem, sizeof(problem)) < 0)
		goto done;
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s%s/", indexed ? BG_PREFIX : RCV_RELEASES_PREFIX, env) >= sizeof(prefix)) {
		snprintf(problem, sizeof(problem), "the environment name is longer than its records' ref names can be "
			"read here (%zu bytes)", sizeof(prefix) - strlen(RCV_RELEASES_PREFIX) - 2);
		goto done;
	}
	/* this environment's records only (the limits are per environment), when its name fits a glob */
	snprintf(glob, sizeof(glob), "%s*", rcv_env_name_plain(env) ? prefix : indexed ? BG_PREFIX : RCV_RELEASES_PREFIX);
	/* a repack during the listing may hide loose refs from it (rcv_refs_stamp): listed again once */
	for (int attempt = 0;; attempt++) {
		rcv_refs_stamp_t before, after;
		rcv_refs_stamp(&before, cx->repo);
		if ((rc = list_records(log, cx, env, indexed, prefix, glob, problem, sizeof(problem))) < 0 || problem[0])
			break;
		rcv_refs_stamp(&after, cx->repo);
		if (rcv_refs_stamp_same(&before, &after))
			break;
		json_array_clear(log);
		if (attempt == 1) {
			snprintf(problem, sizeof(problem), "packed-refs changed twice while the records were read (git "
				"repacking refs): push again");
			break;
		}
	}
done:
	if (rc == 0 && problem[0] && json_object_set_new(server, "break_glass_log_error", rcv_message_json(problem)) < 0)
		rc = BPG_ENOMEM;
	return rc;
}
