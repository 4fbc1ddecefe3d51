/* Per-commit changed paths by a direct walk of raw tree objects (treediff.c). */
#ifndef BPG_GATHER_TREEDIFF_H
#define BPG_GATHER_TREEDIFF_H

#include <git2.h>
#include <jansson.h>

#include "bpgate/common.h"

/* Holds the object database (a reference of its own: the repository stays
 * the caller's) and the trees kept from one commit for the next. */
typedef struct g_treediff g_treediff;

int g_treediff_new(g_treediff **out, git_repository *repo, bpg_error *err);
void g_treediff_free(g_treediff *t);

/* The paths of blobs that differ between parent_tree (NULL: none) and tree,
 * in git's tree order, as a new JSON array the caller owns; NULL with err set
 * on failure. Call it for commits parents first: each call keeps the trees it
 * read on the new side for the next call. */
json_t *g_treediff_paths(g_treediff *t, const git_oid *parent_tree, const git_oid *tree, bpg_error *err);

/*
 * The facts of n commits (ids, parents first): describe() builds each
 * commit's object, then its "paths" are set. The work runs on a thread with
 * its own repository handle when open_repository is given and the change is
 * large, else at once on the caller's. The caller can take part with
 * g_commits_help() once it has nothing else to do: the two share the commits
 * in blocks (the thread from the front, the caller from the back) and then
 * the work offered below. g_commits_finish() helps, waits, then appends the
 * commits' objects to the JSON array `into` in order (handing them over).
 * g_commits_free() waits too, so it is safe on any error path.
 */
typedef int (*g_commit_describer)(json_t **out, git_repository *repo, git_commit *c, const void *arg,
	bpg_error *err);
typedef struct g_commits_job g_commits_job;

int g_commits_start(g_commits_job **out, git_repository *repo, int (*open_repository)(git_repository **, void *),
	void *open_arg, g_commit_describer describe, const void *describe_arg, const git_oid *ids, size_t n,
	bpg_error *err);
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
