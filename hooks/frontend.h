/*
 * The shared path of every client front end (hooks, check, explain):
 * open the repository, load the policy from its .bpgate/, build facts with
 * the gather module, evaluate, render, and turn the decision into an exit
 * code. Everything fails closed: a policy that does not load or a fact that
 * cannot be read refuses, with a message that says how to fix it.
 */
#ifndef BPG_FRONTEND_H
#define BPG_FRONTEND_H

#include "cli.h"
#include <git2.h>
#include <jansson.h>
#include "bpgate/gather.h"
#include "bpgate/policy.h"

typedef struct {
	git_repository *repo;
	bpg_policy *policy;
	const char *workdir;      /* borrowed from repo */
	char branch[256];         /* current branch short name, "" when detached */
	char now[32];             /* RFC 3339 UTC, or $BPGATE_TIME for reproducible runs */
	/* scan globs and bundle signers: borrowed from the policy (bpgate/query.h), every one of them */
	const char *const *scan_globs;
	size_t nscan_globs;
	const char *const *releasers;
	size_t nreleasers;
	struct bpg_allowed_signers *signers; /* .bpgate/allowed_signers, or NULL */
	struct bpg_scan_ignore *ignore;      /* .bpgate/ignore, or NULL */
	/* the judgement's budget, started by fe_open: git config bpgate.maxJudgeSeconds and
	 * bpgate.maxJudgeMemory, or fe_budget_set (flags); defaults in bpgate/budget.h */
	struct bpg_budget *budget;
} fe_ctx;

/* Open the repository around the current directory and load its policy. On
 * failure prints the reason (prefixed with `who`) and returns -1. */
int fe_open(fe_ctx *ctx, const char *who);
void fe_close(fe_ctx *ctx);

/* Replace the budget (--max-judge-seconds / --max-judge-memory; NULL keeps that
 * setting from git config or the default). Prints why and returns -1 on a bad value. */
int fe_budget_set(fe_ctx *ctx, const char *seconds, const char *memory, const char *who);

/* The environment whose branch is `branch` (short name or refs/heads/...), or NULL. */
const char *fe_env_for_branch(const fe_ctx *ctx, const char *branch);

/* A facts skeleton for this context. */
json_t *fe_facts(fe_ctx *ctx, const char *context, const char *environment, const char *who);

/* Gather options from the policy (scan globs). */
void fe_gather_opts(const fe_ctx *ctx, bpg_gather_opts *opts);

/* Evaluate and render to stdout (text on stderr for hooks when to_stderr).
 * Returns the exit code: 0 accepted, 1 refused, 2 error. */
int fe_judge(fe_ctx *ctx, json_t *facts, bpg_format fmt, bool to_stderr, bool explain, const char *who);

/* pre-push: a preview of the server's rules for a push of lsha to rref (the
 * branch of protected environment env) on stderr, labelled as a preview
 * (preview.c). Prints nothing for other environments. */
void fe_server_preview(fe_ctx *ctx, const char *env, const char *rref, const char *lsha, const char *remote);

/* The facts of a range ("A..B", "B"; NULL: the branch since its upstream),
 * gathered for `context`. NULL on failure, after printing why. */
json_t *fe_range_facts(fe_ctx *ctx, const char *range, const char *context, const char *who);

/* Resolve "A..B" or "B" into ids; from_set false when there is no lower bound. */
int fe_parse_range(fe_ctx *ctx, const char *range, git_oid *from, bool *from_set, git_oid *to);

#endif
