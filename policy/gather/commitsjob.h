/* The facts of a change's commits, maybe on a thread of their own (commitsjob.c). */
#ifndef BPG_GATHER_COMMITSJOB_H
#define BPG_GATHER_COMMITSJOB_H

#include <git2.h>
#include <jansson.h>
#include <stdbool.h>

#include "bpgate/common.h"
#include "bpgate/gather.h"

/*
 * The facts of n commits (ids, parents first): describe() builds each
 * commit's object, then its "paths" are set (treediff.h) when opts'
 * commit_paths_wanted (none: always) wants them, else left out. The work runs on a
 * thread with its own repository handle when opts (NULL: none) has an
 * open_repository and the change is large, else at once on the caller's. The
 * thread frees its handle when done, unless opts->exiting. The caller can take part with
 * g_commits_help() once it has nothing else to do: the two share the commits
 * in blocks (the thread from the front, the caller from the back) and then
 * the work offered below. g_commits_finish() helps, waits, then appends the
 * commits' objects to the JSON array `into` in order (handing them over).
 * g_commits_free() waits too, so it is safe on any error path.
 */
typedef int (*g_commit_describer)(json_t **out, git_repository *repo, git_commit *c, const void *arg,
	bpg_error *err);
typedef struct g_commits_job g_commits_job;

int g_commits_start(g_commits_job **out, git_repository *repo, const bpg_gather_opts *opts,
	g_commit_describer describe, const void *describe_arg, const git_oid *ids, size_t n, bpg_error *err);

/*
 * The same, with the commits found on the thread, with its own handle:
 * find() sets *ids (the job frees it with free()) and *n, parents first, or
 * fails (the job's error then, reported by g_commits_found and
 * g_commits_finish before any other). The caller goes on at once: on a large
 * push the walk for the commits overlaps the caller's work on the files.
 * find_arg stays the caller's and must live until g_commits_free. Returns 1,
 * with *out NULL, when no second handle or thread could be had: the caller
 * finds the commits itself then and calls g_commits_start.
 */
typedef int (*g_commits_finder)(git_oid **ids, size_t *n, git_repository *repo, void *arg, bpg_error *err);
int g_commits_start_finding(g_commits_job **out, git_repository *repo, const bpg_gather_opts *opts,
	g_commits_finder find, void *find_arg, g_commit_describer describe, const void *describe_arg, bpg_error *err);
/* Wait until the commits are found: 0, or find()'s error (copied to err). */
int g_commits_found(g_commits_job *job, bpg_error *err);

int g_commits_finish(g_commits_job *job, json_t *into, bpg_error *err);
/* Take commits from the back with the caller's repository handle until none
 * is left (no-op without a thread). Errors are reported by finish(). */
void g_commits_help(g_commits_job *job);

/* More work for the job's thread once its commits are done: fn(arg, the
 * thread's own repository) runs there. False when there is no thread or it is
 * done already: the caller does all of that work itself then. After a true,
 * g_commits_offer_wait() returns once fn has returned. */
typedef void (*g_offered_fn)(void *arg, git_repository *repo);
bool g_commits_offer(g_commits_job *job, g_offered_fn fn, void *arg);
void g_commits_offer_wait(g_commits_job *job);
void g_commits_free(g_commits_job *job);

#endif
