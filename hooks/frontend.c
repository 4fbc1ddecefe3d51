/* Shared path of the client front ends: repository, policy, facts, decision. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpgate/buf.h"
#include "bpgate/query.h"
#include "bpgate/report.h"
#include "bpgate/scan.h"
#include "bpgate/sshsig.h"

static void clock_now(char out[32])
{
	const char *fixed = getenv("BPGATE_TIME");
	time_t t = time(NULL);
	struct tm tm;

	if (fixed && strlen(fixed) < 32) {
		strcpy(out, fixed);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int fe_open(fe_ctx *ctx, const char *who)
{
	bpg_policy_files *files = NULL;
	bpg_diags *diags = NULL;
	git_reference *head = NULL;
	bpg_buf cache = BPG_BUF_INIT;
	bpg_error err;
	int rc = -1;

	memset(ctx, 0, sizeof(*ctx));
	cli_libgit2_init();
	clock_now(ctx->now);
	int orc;
	if ((orc = cli_repo_open(&ctx->repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, who)) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate %s: not inside a git repository\n", who);
		goto done;
	}
	ctx->workdir = git_repository_workdir(ctx->repo);
	if (!ctx->workdir) {
		fprintf(stderr, "bpgate %s: the repository is bare; run this in a working tree\n", who);
		goto done;
	}
	if (git_repository_head(&head, ctx->repo) == 0 && git_reference_is_branch(head))
		snprintf(ctx->branch, sizeof(ctx->branch), "%s", git_reference_shorthand(head));
	else if (git_repository_head_unborn(ctx->repo) == 1) {
		git_reference *sym = NULL;
		if (git_reference_lookup(&sym, ctx->repo, "HEAD") == 0 && git_reference_symbolic_target(sym))
			snprintf(ctx->branch, sizeof(ctx->branch), "%s",
				git_reference_symbolic_target(sym) + (strncmp(git_reference_symbolic_target(sym),
				"refs/heads/", 11) == 0 ? 11 : 0));
		git_reference_free(sym);
	}
	git_error_clear();
	if (bpg_policy_files_read_dir_hooks(&files, ctx->workdir, &err) < 0) {
		fprintf(stderr, "bpgate %s: cannot read the policy: %s\n", who, err.message);
		if (err.code == BPG_ENOTFOUND)
			fprintf(stderr, "  fix: run `bpgate init` to create .bpgate/ from the shipped pack\n");
		goto done;
	}
	/* the tests/ files that loaded cleanly before are not parsed again (policy.h) */
	if (bpg_buf_printf(&cache, "%sbpgate-policy-tests.ok", git_repository_path(ctx->repo)) < 0) {
		fprintf(stderr, "bpgate %s: out of memory\n", who);
		goto done;
	}
	if (bpg_policy_load_cached(&ctx->policy, &diags, files, cache.ptr, &err) < 0) {
		bpg_buf line = BPG_BUF_INIT;
		fprintf(stderr, "bpgate %s: the policy in .bpgate/ does not load, so nothing can be judged:\n", who);
		for (size_t i = 0; diags && i < bpg_diags_count(diags) && i < 20; i++) {
			bpg_buf_clear(&line);
			bpg_diag_format(&line, bpg_diags_get(diags, i));
			fprintf(stderr, "  %s\n", line.ptr ? line.ptr : "");
		}
		if (!diags || bpg_diags_count(diags) == 0)
			fprintf(stderr, "  %s\n", err.message);
		fprintf(stderr, "  fix: correct the file(s) above; `bpgate policy check` shows every problem\n");
		bpg_buf_dispose(&line);
		goto done;
	}
	if (fe_budget_set(ctx, NULL, NULL, who) < 0)
		goto done;
	/* what to scan and whose keys sign bundles: the engine's answers, never a copy */
	ctx->nscan_globs = bpg_policy_scan_globs(&ctx->scan_globs, ctx->policy);
	ctx->nreleasers = bpg_policy_role_principals(&ctx->releasers, ctx->policy,
		bpg_policy_bundle_signer_role(ctx->policy));
	{
		bpg_buf p = BPG_BUF_INIT;
		if (bpg_buf_printf(&p, "%s.bpgate/allowed_signers", ctx->workdir) < 0) {
			fprintf(stderr, "bpgate %s: out of memory\n", who); /* never "no allowed_signers file" */
			bpg_buf_dispose(&p);
			goto done;
		}
		if (bpg_allowed_signers_load(&ctx->signers, p.ptr, &err) < 0 && err.code != BPG_ENOTFOUND) {
			fprintf(stderr, "bpgate %s: %s\n  fix: correct .bpgate/allowed_signers (OpenSSH format)\n",
				who, err.message);
			bpg_buf_dispose(&p);
			goto done;
		}
		bpg_buf_clear(&p);
		if (bpg_buf_printf(&p, "%s.bpgate/ignore", ctx->workdir) < 0) {
			fprintf(stderr, "bpgate %s: out of memory\n", who);
			bpg_buf_dispose(&p);
			goto done;
		}
		if (bpg_scan_ignore_load(&ctx->ignore, p.ptr, &err) < 0 && err.code != BPG_ENOTFOUND) {
			fprintf(stderr, "bpgate %s: %s\n", who, err.message);
			bpg_buf_dispose(&p);
			goto done;
		}
		bpg_buf_dispose(&p);
	}
	rc = 0;
done:
	bpg_buf_dispose(&cache);
	git_reference_free(head);
	bpg_diags_free(diags);
	bpg_policy_files_free(files);
	if (rc < 0)
		fe_close(ctx);
	return rc;
}

/* `key`'s value in the snapshot `snap` (which may be NULL; the value lives as long as it),
 * NULL when unset. */
static const char *config_str(git_config *snap, const char *key)
{
	const char *v = NULL;

	if (!snap || git_config_get_string(&v, snap, key) < 0)
		v = NULL;
	git_error_clear();
	return v;
}

int fe_budget_set(fe_ctx *ctx, const char *seconds, const char *memory, const char *who)
{
	bpg_budget_opts o = { BPG_BUDGET_DEFAULT_SECONDS, BPG_BUDGET_DEFAULT_MEMORY,
		"--max-judge-seconds or git config bpgate.maxJudgeSeconds",
		"--max-judge-memory or git config bpgate.maxJudgeMemory" };
	git_config *snap = NULL;
	const char *s = seconds, *m = memory;
	bpg_budget *b = NULL;
	bpg_error err;
	int rc = -1;

	/* one snapshot for both keys: each snapshot re-checks and copies every config file */
	if ((!s || !m) && git_repository_config_snapshot(&snap, ctx->repo) < 0)
		snap = NULL; /* no configuration: the defaults */
	if (!s)
		s = config_str(snap, "bpgate.maxJudgeSeconds");
	if (!m)
		m = config_str(snap, "bpgate.maxJudgeMemory");

	if (s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (!*s || *s == '-' || *end || v > 86400) {
			fprintf(stderr, "bpgate %s: max judge seconds: '%s' is not a number of seconds from 0 to 86400\n",
				who, s);
			goto done;
		}
		o.max_seconds = (unsigned)v;
	}
	if (m && bpg_budget_parse_size(&o.max_memory, m, &err) < 0) {
		fprintf(stderr, "bpgate %s: max judge memory: %s\n", who, err.message);
		goto done;
	}
	if (bpg_budget_new(&b, &o, &err) < 0) {
		fprintf(stderr, "bpgate %s: %s\n", who, err.message);
		goto done;
	}
	bpg_budget_free(ctx->budget);
	ctx->budget = b;
	rc = 0;
done:
	git_config_free(snap);
	git_error_clear();
	return rc;
}

void fe_close(fe_ctx *ctx)
{
	bpg_budget_free(ctx->budget);
	ctx->budget = NULL;
	bpg_policy_free(ctx->policy);
	bpg_allowed_signers_free(ctx->signers);
	bpg_scan_ignore_free(ctx->ignore);
	ctx->signers = NULL;
	ctx->ignore = NULL;
	git_repository_free(ctx->repo);
	ctx->policy = NULL;
	ctx->repo = NULL;
	git_libgit2_shutdown();
}

const char *fe_env_for_branch(const fe_ctx *ctx, const char *branch)
{
	return bpg_policy_env_for_ref(ctx->policy, branch);
}

json_t *fe_facts(fe_ctx *ctx, const char *context, const char *environment, const char *who)
{
	bpg_facts_opts o = { context, ctx->now, ctx->workdir, NULL, environment, NULL, 0 };
	json_t *facts = NULL;
	bpg_error err;

	if (bpg_facts_new(&facts, &o, &err) < 0)
		fprintf(stderr, "bpgate %s: %s\n", who, err.message);
	return facts;
}

void fe_gather_opts(const fe_ctx *ctx, bpg_gather_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->open_repository = bpg_gather_open_from_env; /* opened as the first handle */
	opts->scan_globs = ctx->scan_globs;
	opts->nscan_globs = ctx->nscan_globs;
	opts->releasers = ctx->releasers;
	opts->nreleasers = ctx->nreleasers;
	opts->signers = ctx->signers;
	opts->scan_ignore = ctx->ignore;
	opts->budget = ctx->budget;
}

int fe_judge(fe_ctx *ctx, json_t *facts, bpg_format fmt, bool to_stderr, bool explain, const char *who)
{
	FILE *out = to_stderr ? stderr : stdout;
	bpg_report_options ro = BPG_REPORT_OPTIONS_INIT;
	bpg_decision *d = NULL;
	bpg_buf text = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_EXIT_ERROR;

	if (bpg_evaluate_budget(&d, ctx->policy, facts, ctx->budget, &err) < 0) {
		fprintf(stderr, "bpgate %s: cannot judge this change (refused): %s\n", who, err.message);
		goto done;
	}
	ro.color = cli_color(out);
	ro.by_rule = explain;
	/* A hook that lets a change through stays quiet unless it has warnings. */
	if (to_stderr && fmt == BPG_FORMAT_TEXT && !bpg_decision_refused(d) &&
	    bpg_decision_count(d, BPG_SEV_WARNING) == 0) {
		rc = BPG_EXIT_OK;
		goto done;
	}
	if (to_stderr)
		ro.show_info = false;
	if (fmt == BPG_FORMAT_TEXT ? bpg_report_text(&text, d, &ro, &err) < 0 :
	    bpg_report_json(&text, d, fmt == BPG_FORMAT_SARIF, &err) < 0) {
		fprintf(stderr, "bpgate %s: cannot render the decision: %s\n", who, err.message);
		goto done;
	}
	if (text.ptr)
		fputs(text.ptr, out);
	if (text.size && text.ptr[text.size - 1] != '\n')
		fputc('\n', out);
	rc = bpg_decision_refused(d) ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
done:
	bpg_buf_dispose(&text);
	bpg_decision_free(d);
	return rc;
}

int fe_parse_range(fe_ctx *ctx, const char *range, git_oid *from, bool *from_set, git_oid *to)
{
	git_revspec spec;

	*from_set = false;
	if (git_revparse(&spec, ctx->repo, range) < 0)
		return -1;
	if (spec.flags & GIT_REVSPEC_RANGE) {
		*from = *git_object_id(spec.from);
		*to = *git_object_id(spec.to);
		*from_set = true;
		git_object_free(spec.from);
		git_object_free(spec.to);
		return 0;
	}
	*to = *git_object_id(spec.from);
	git_object_free(spec.from);
	return 0;
}
