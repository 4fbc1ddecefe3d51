/*
 * `bpgate make deploy --env ENV [REV]`: put what the gate accepted into Make.
 *
 * For each catalogued scenario whose blueprint (mapped for ENV) differs from
 * what the last deployment wrote: compare and swap. Read the live blueprint
 * and compare it, semantically, with the bytes the last deployment wrote
 * (make_record.h). A difference means someone edited the scenario in Make's
 * editor: that scenario is refused, with the diff, unless --adopt-drift
 * names the ticket that accepts losing the edit. Then PATCH, read back,
 * check, and record (per scenario, so a run that fails half way resumes),
 * with an audit entry for each write. Make has no precondition on PATCH
 * (make-api.md §7): between our read and our write an editor's save can
 * still be lost; the read-back after the write narrows that to the two
 * requests, and it is stated in the docs.
 */
#include "make_cmds.h"
#include "make_common.h"
#include "make_record.h"
#include "bpgate/gitobj.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char deploy_usage[] =
	"bpgate make deploy --env ENV [REV] [--dry-run] [--adopt-drift \"TICKET-1: reason\"]\n"
	"                          [--create] [--token-file FILE]\n"
	"\n"
	"  Deploy REV (default: the environment's branch) to ENV's Make team:\n"
	"  each catalogued scenario whose blueprint changed since the last\n"
	"  deployment is mapped through .bpgate/environments/ENV.json, compared\n"
	"  with Make (an edit made in Make's editor refuses that scenario), written,\n"
	"  read back and recorded under refs/bpgate/deploys/ENV/.\n"
	"\n"
	"  --dry-run       read and compare, write nothing\n"
	"  --adopt-drift   overwrite edits made in Make; the ticket and reason are recorded\n"
	"  --create        create scenarios the catalog has but Make has not\n"
	"  --token-file    the API token file (mode 0600); or $BPGATE_MAKE_TOKEN\n"
	"\n"
	"  Token scopes: scenarios:read, scenarios:write.\n"
	"  exit: 0 deployed (or nothing to do), 1 a scenario refused or not deployed, 2 error\n";

typedef struct {
	mk_ctx c;
	mk_state st;
	bool dry_run, create;
	const char *adopt;
	int written, unchanged, refused, failed;
	json_t *errors; /* [{scenario, error}] */
} deploy_run;

static bool safe_id(const char *id)
{
	if (!id || !*id || strlen(id) > 100 || id[0] == '.')
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static void note_error(deploy_run *d, const char *id, const bpg_error *err)
{
	fprintf(stderr, "  %-24s error: %s\n", id, err->message);
	json_array_append_new(d->errors, json_pack("{s:s, s:s}", "scenario", id, "error", err->message));
	d->failed++;
}

static long long json_ll(const json_t *v)
{
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* Write one scenario: PATCH (or POST with --create), read back, check, record. */
static int write_one(deploy_run *d, const char *id, long long *mid, bool create, const bpg_buf *want,
	const json_t *doc, const char *adopted, bpg_error *err)
{
	mk_ctx *c = &d->c;
	json_t *bp = NULL, *sched = NULL, *scen = NULL, *changes = NULL, *rec = NULL;
	bpg_buf back = BPG_BUF_INIT;
	char sha[65];
	int rc;

	if ((rc = mk_split(&bp, &sched, doc, err)) < 0)
		goto done;
	if (create && !sched) {
		rc = bpg_error_set(err, BPG_EINVALID, "Make needs a scheduling to create a scenario: add a top-level "
			"\"scheduling\" to %s (e.g. {\"type\": \"on-demand\"}; make pull writes Make's)",
			bpg_policy_scenario_blueprint(bpg_policy_catalog_find(c->policy, id)));
		goto done;
	}
	if (create)
		rc = bpg_make_scenario_create(&scen, c->client, c->menv.team_id, c->menv.folder_id, bp, sched, err);
	else
		rc = bpg_make_scenario_update(&scen, c->client, *mid, bp, sched, err);
	if (rc < 0)
		goto done;
	if (create) {
		*mid = json_ll(json_object_get(scen, "id"));
		if (*mid <= 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "Make created the scenario but sent no id");
			goto done;
		}
	}
	/* read back: what Make stores now must be what we sent */
	if ((rc = mk_live(&back, NULL, c, *mid, err)) < 0 ||
	    (rc = mk_compare(&changes, want->ptr, want->size, back.ptr, back.size, err)) < 0)
		goto done;
	if (json_array_size(changes) > 0) {
		fprintf(stderr, "  %-24s read back differs from what was written:\n", id);
		mk_print_changes(stderr, changes, 10);
		rc = bpg_error_set(err, BPG_ERROR, "Make scenario %lld holds something else after the write "
			"(an edit in Make at the same moment, or Make rewrote it); run drift, then deploy again", *mid);
		goto done;
	}
	mk_sha256_hex(sha, want->ptr, want->size);
	const json_t *le = json_object_get(scen, "lastEdit");
	rec = json_pack("{s:I, s:s, s:s, s:O?, s:O?, s:s, s:s}", "make_id", (json_int_t)*mid,
		"commit", c->commit_hex, "sha256", sha, "lastEdit", json_is_string(le) ? le : NULL,
		"isActive", json_object_get(scen, "isActive"), "who", c->who, "time", c->now);
	if (!rec) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (adopted)
		json_object_set_new(rec, "adopted", json_string(adopted));
	json_object_set(json_object_get(d->st.doc, "scenarios"), id, rec);
	json_object_set_new(d->st.doc, "last", json_pack("{s:s, s:s, s:s, s:s}", "scenario", id,
		"commit", c->commit_hex, "who", c->who, "time", c->now));
	char msg[300];
	snprintf(msg, sizeof(msg), "bpgate: deployed %s to %s (Make scenario %lld) from %.12s", id, c->env, *mid,
		c->commit_hex);
	if ((rc = mk_state_save(&d->st, c->repo, c->env, id, want->ptr, want->size, NULL, msg, err)) < 0)
		goto done;
	json_t *a = json_pack("{s:s, s:I, s:s, s:s, s:O?}", "scenario", id, "make_id", (json_int_t)*mid,
		"commit", c->commit_hex, "sha256", sha, "lastEdit", json_object_get(rec, "lastEdit"));
	if (a && adopted)
		json_object_set_new(a, "adopted_drift", json_string(adopted));
	if (a && create)
		json_object_set_new(a, "created", json_true());
	const char *cause = getenv("BPGATE_DEPLOY_CAUSE");
	if (a && cause && *cause)
		json_object_set_new(a, "cause", json_string(cause));
	rc = mk_audit(c, "bpgate-deploy", a, err);
	json_decref(a);
done:
	json_decref(rec);
	json_decref(changes);
	json_decref(scen);
	json_decref(bp);
	json_decref(sched);
	bpg_buf_dispose(&back);
	return rc;
}

static void deploy_one(deploy_run *d, const json_t *entry)
{
	mk_ctx *c = &d->c;
	const char *id = json_string_value(json_object_get(entry, "id"));
	const json_t *rec = json_object_get(json_object_get(d->st.doc, "scenarios"), id);
	long long mid = bpg_policy_scenario_make_id(entry, c->env);
	bpg_buf want = BPG_BUF_INIT, live = BPG_BUF_INIT, written = BPG_BUF_INIT;
	json_t *doc = NULL, *changes = NULL;
	bool create = false;
	char sha[65];
	bpg_error err;

	bpg_error_clear(&err);
	if (!bpg_policy_scenario_blueprint(entry))
		return; /* not a Make-managed entry */
	if (!safe_id(id)) {
		bpg_error_set(&err, BPG_EINVALID, "catalog id '%s' cannot name a record: use letters, digits, '-', '_', '.'",
			id ? id : "");
		note_error(d, id ? id : "?", &err);
		return;
	}
	if (!mid && rec)
		mid = json_ll(json_object_get(rec, "make_id")); /* created by an earlier --create */
	if (mk_desired(&want, &doc, c, entry, &err) < 0) {
		if (err.code == BPG_ENOTFOUND) /* catalogued before its file landed: nothing to deploy yet */
			printf("  %-24s not in %.12s (no %s): skipped\n", id, c->commit_hex, bpg_policy_scenario_blueprint(entry));
		else
			note_error(d, id, &err);
		goto done;
	}
	mk_sha256_hex(sha, want.ptr, want.size);
	if (rec && json_ll(json_object_get(rec, "make_id")) == mid &&
	    strcmp(json_string_value(json_object_get(rec, "sha256")) ?: "", sha) == 0) {
		printf("  %-24s unchanged (Make scenario %lld)\n", id, mid);
		d->unchanged++;
		goto done;
	}
	if (!mid) {
		if (!d->create) {
			printf("  %-24s not in Make: the catalog has no %s id for it; --create creates it\n", id, c->env);
			d->refused++;
			goto done;
		}
		create = true;
	} else if (mk_live(&live, NULL, c, mid, &err) < 0) {
		if (err.code == BPG_ENOTFOUND && d->create) {
			create = true;
		} else {
			if (err.code == BPG_ENOTFOUND)
				bpg_error_prefix(&err, "Make has no scenario %lld (pass --create to create it; "
					"then put its new id in the catalog)", mid);
			note_error(d, id, &err);
			goto done;
		}
	}
	const char *adopted = NULL;
	if (!create && rec) {
		/* the drift guard: live against what the last deployment wrote */
		if (mk_state_written(&written, c->repo, &d->st, id, &err) < 0 ||
		    mk_compare(&changes, written.ptr, written.size, live.ptr, live.size, &err) < 0) {
			note_error(d, id, &err);
			goto done;
		}
		if (json_array_size(changes) > 0) {
			if (!d->adopt) {
				printf("  %-24s REFUSED: Make scenario %lld was edited in Make since the last deployment "
					"(%.12s by %s):\n", id, mid,
					json_string_value(json_object_get(rec, "commit")) ?: "?",
					json_string_value(json_object_get(rec, "who")) ?: "?");
				mk_print_changes(stdout, changes, 20);
				printf("      fix: bring the edit into git (bpgate make pull --env %s, commit, promote), or "
					"overwrite it with --adopt-drift \"TICKET: reason\"\n", c->env);
				d->refused++;
				if (!d->dry_run) {
					json_t *a = json_pack("{s:s, s:I, s:s, s:o}", "scenario", id, "make_id", (json_int_t)mid,
						"commit", c->commit_hex, "changes", json_incref(changes));
					if (mk_audit(c, "bpgate-deploy-refused", a, &err) < 0)
						note_error(d, id, &err);
					json_decref(a);
				}
				goto done;
			}
			adopted = d->adopt;
			printf("  %-24s drift adopted (%s): the edit made in Make is overwritten\n", id, adopted);
		}
	} else if (!create) {
		json_decref(changes);
		changes = NULL;
		if (mk_compare(&changes, want.ptr, want.size, live.ptr, live.size, &err) < 0) {
			note_error(d, id, &err);
			goto done;
		}
		if (json_array_size(changes) > 0)
			printf("  %-24s first deployment: replaces Make's live version (%zu semantic changes; Make keeps "
				"the old one in the scenario's version history)\n", id, json_array_size(changes));
	}
	if (d->dry_run) {
		printf("  %-24s would %s (Make scenario %lld)\n", id, create ? "create" : "deploy", mid);
		d->written++;
		goto done;
	}
	if (write_one(d, id, &mid, create, &want, doc, adopted, &err) < 0) {
		note_error(d, id, &err);
		goto done;
	}
	printf("  %-24s %s (Make scenario %lld)\n", id, create ? "created" : "deployed", mid);
	if (create && !bpg_policy_scenario_make_id(entry, c->env))
		printf("      add \"%s\": %lld to the \"make\" of catalog entry %s\n", c->env, mid, id);
	d->written++;
done:
	json_decref(changes);
	json_decref(doc);
	bpg_buf_dispose(&want);
	bpg_buf_dispose(&live);
	bpg_buf_dispose(&written);
}

/* After a complete run: the per-commit record ref, the failed marker cleared. */
static int finish(deploy_run *d, bpg_error *err)
{
	mk_ctx *c = &d->c;
	char per[300];
	git_reference *r = NULL;
	int rc;

	if ((rc = mk_failed_set(c->repo, c->env, NULL, err)) < 0 || !d->st.exists)
		return rc;
	snprintf(per, sizeof(per), "refs/bpgate/deploys/%s/%s", c->env, c->commit_hex);
	if (git_reference_create(&r, c->repo, per, &d->st.commit, 1, "bpgate: deployment complete") < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "cannot write %s: %s", per, bpg_git_message());
		git_error_clear();
	}
	git_reference_free(r);
	if (rc == 0 && d->written > 0) {
		json_t *a = json_pack("{s:s, s:i, s:i}", "commit", c->commit_hex, "written", d->written,
			"unchanged", d->unchanged);
		rc = mk_audit(c, "bpgate-deploy-complete", a, err);
		json_decref(a);
	}
	return rc;
}

int make_deploy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "adopt-drift", required_argument, NULL, 'a' },
		{ "create", no_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	deploy_run d;
	const char *env = NULL, *token_file = NULL;
	bpg_error err;
	int o, rc = BPG_EXIT_ERROR;

	memset(&d, 0, sizeof(d));
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'e': env = optarg; break;
		case 'n': d.dry_run = true; break;
		case 'a': d.adopt = optarg; break;
		case 'c': d.create = true; break;
		case 't': token_file = optarg; break;
		case 'h': printf("usage: %s", deploy_usage); return BPG_EXIT_OK;
		default: return cli_usage(deploy_usage);
		}
	}
	if (!env || argc - optind > 1)
		return cli_usage(deploy_usage);
	if (d.adopt && (!strchr(d.adopt, ':') || strlen(d.adopt) < 5)) {
		fprintf(stderr, "bpgate make deploy: --adopt-drift needs \"TICKET-123: reason\" (a ticket, a colon, why)\n");
		return BPG_EXIT_ERROR;
	}
	mk_open_opts mo = { .env = env, .rev = optind < argc ? argv[optind] : NULL, .rev_is_env_branch = true,
		.token_file = token_file, .need_client = true, .need_audit = !d.dry_run, .cmd = "make deploy" };
	if (mk_open(&d.c, &mo) < 0)
		return BPG_EXIT_ERROR;
	bpg_error_clear(&err);
	/* run by the server for an authenticated principal (bpgated `deploy`): the engine says who may */
	const char *principal = getenv("BPGATE_USER");
	if (principal && *principal && !bpg_policy_env_make_may(d.c.policy, env, "deploy", principal)) {
		fprintf(stderr, "bpgate make deploy: refused: %s holds none of the roles that may deploy to %s "
			"(environments.%s.make.roles.deploy; default: releasers)\n", principal, env, env);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	if (mk_state_load(&d.st, d.c.repo, env, &err) < 0 || !(d.errors = json_array())) {
		cli_report_error("make deploy", &err);
		goto done;
	}
	printf("deploying %.12s to %s (Make team %lld)%s\n", d.c.commit_hex, env, d.c.menv.team_id,
		d.dry_run ? ", dry run: nothing is written" : "");
	const json_t *const *entries;
	size_t n = bpg_policy_catalog(&entries, d.c.policy);
	for (size_t i = 0; i < n; i++)
		deploy_one(&d, entries[i]);
	printf("%s%d deployed, %d unchanged, %d refused, %d failed; %lu requests\n", d.dry_run ? "dry run: " : "",
		d.written, d.unchanged, d.refused, d.failed, bpg_make_client_requests(d.c.client));
	if (d.dry_run) {
		rc = d.failed ? BPG_EXIT_ERROR : d.refused ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
		goto done;
	}
	if (d.failed || d.refused) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:i, s:O}", "commit", d.c.commit_hex, "time", d.c.now,
			"who", d.c.who, "refused", d.refused, "failed", d.failed, "errors", d.errors);
		if (mk_failed_set(d.c.repo, env, f, &err) < 0)
			cli_report_error("make deploy", &err);
		json_t *a = json_pack("{s:s, s:i, s:i, s:i, s:O}", "commit", d.c.commit_hex, "written", d.written,
			"refused", d.refused, "failed", d.failed, "errors", d.errors);
		if (mk_audit(&d.c, "bpgate-deploy-incomplete", a, &err) < 0)
			cli_report_error("make deploy", &err);
		json_decref(a);
		json_decref(f);
		printf("%s is accepted but not deployed: fix the above, then run this command again "
			"(scenarios already deployed are not written twice)\n", env);
		rc = d.failed ? BPG_EXIT_ERROR : BPG_EXIT_FINDINGS;
		goto done;
	}
	if (finish(&d, &err) < 0) {
		cli_report_error("make deploy", &err);
		goto done;
	}
	rc = BPG_EXIT_OK;
done:
	json_decref(d.errors);
	mk_state_dispose(&d.st);
	mk_close(&d.c);
	return rc;
}
