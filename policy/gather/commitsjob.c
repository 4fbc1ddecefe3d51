/*
 * The facts of a change's commits (commitsjob.h), on a thread of their own on
 * a large push: each commit's object and its paths (treediff.h), in blocks
 * the thread takes from the front and the caller, once its own work is done,
 * from the back. In finding mode the thread first walks for the commits, with
 * its own handle, while the caller goes on to the files.
 */
#include "internal.h"
#include "commitsjob.h"
#include "bpgate/jsonshared.h"
#include "treediff.h"
#include "bpgate/gitobj.h"
#include "bpgate/heap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Below this many commits a thread costs more than it saves. */
#define THREAD_MIN_COMMITS 64
/* Commits are handed out in blocks: the thread takes them from the front, the
 * caller (once its own work is done) from the back. Each block's first commit
 * reads its parent's trees afresh, so a block should be much longer than 1. */
#define BLOCK 16

struct g_commits_job {
	git_repository *repo;  /* the thread's own handle, or the caller's */
	git_repository *caller_repo;
	bool own_repo, threaded, joined;
	bool leave_repo; /* the process exits after this gathering: the thread leaves its handle to the exit */
	pthread_t thread;
	g_commit_describer describe;
	const void *describe_arg;
	bool (*paths_wanted)(const json_t *commit, const void *arg); /* NULL: always */
	const void *paths_arg;
	git_oid *ids;
	json_t **out;
	size_t n;
	g_claims blocks;        /* blocks of BLOCK commits */
	pthread_mutex_t lock;   /* the offered work below */
	pthread_cond_t cond;
	int rc, help_rc;
	size_t err_at, help_at; /* the commit each error came from */
	bpg_error err, help_err;
	/* work offered for after the commits (g_commits_offer) */
	bool commits_done, offered_done;
	g_offered_fn offered;
	void *offered_arg;
	/* finding mode (g_commits_start_finding): ids, n, out and the blocks are
	 * set by the thread, then found (under lock); find_rc is the walk's result */
	g_commits_finder find;
	void *find_arg;
	bool found;
	int find_rc;
};

/* Commit c's "paths" in its facts o: what it changes against its first parent. */
static int set_paths(json_t *o, g_treediff *td, git_commit *c, bpg_error *err)
{
	git_commit *parent = NULL;
	const git_oid *ptree = NULL;
	json_t *paths = NULL;
	int rc = 0;

	if (git_commit_parentcount(c) > 0) {
		if (git_commit_parent(&parent, c, 0) < 0) {
			rc = g_git_error(err, "cannot diff a commit against its parent");
			goto done;
		}
		ptree = git_commit_tree_id(parent);
	}
	if (!(paths = g_treediff_paths(td, ptree, git_commit_tree_id(c), err))) {
		rc = err && err->code ? err->code : BPG_ENOMEM;
		goto done;
	}
	if (json_object_set_new(o, "paths", paths) < 0)
		rc = g_oom(err);
done:
	git_commit_free(parent);
	return rc;
}

/* One commit's facts, its paths included when they are wanted. */
static int commit_facts(json_t **out, g_commits_job *job, git_repository *repo, g_treediff *td, const git_oid *id,
	bpg_error *err)
{
	git_commit *c = NULL;
	json_t *o = NULL;
	int rc = 0;

	*out = NULL;
	if ((rc = bpg_git_commit_lookup(&c, repo, id, "a commit of the change", err)) < 0)
		goto done;
	if ((rc = job->describe(&o, repo, c, job->describe_arg, err)) < 0)
		goto done;
	if (job->paths_wanted && !job->paths_wanted(o, job->paths_arg))
		json_object_del(o, "paths"); /* described with "paths": null */
	else if ((rc = set_paths(o, td, c, err)) < 0)
		goto done;
	*out = o;
	o = NULL;
done:
	json_decref(o);
	git_commit_free(c);
	return rc;
}

/* Work through blocks with one repository handle until none is left;
 * *failed_at gets the commit an error came from. */
static int run_blocks(g_commits_job *job, git_repository *repo, bool from_back, bpg_error *err,
	size_t *failed_at)
{
	g_treediff *td = NULL;
	size_t b, lo, hi, i = 0;
	int rc = 0;

	while (rc == 0 && g_claims_take(&job->blocks, from_back, &b)) {
		lo = b * BLOCK;
		hi = lo + BLOCK < job->n ? lo + BLOCK : job->n;
		if (!td && (rc = g_treediff_new(&td, repo, err)) < 0) {
			i = lo;
			break;
		}
		for (i = lo; i < hi && (rc = commit_facts(&job->out[i], job, repo, td, &job->ids[i], err)) == 0; i++)
			;
	}
	*failed_at = i;
	if (rc < 0)
		g_claims_fail(&job->blocks);
	g_treediff_free(td);
	return rc;
}

static int job_run(g_commits_job *job)
{
	return run_blocks(job, job->repo, false, &job->err, &job->err_at);
}

/* Finding mode: the commits, walked for with the thread's own handle, then
 * handed out in blocks; the caller waits for found before it helps. */
static int find_on_thread(g_commits_job *job)
{
	git_oid *ids = NULL;
	json_t **outv = NULL;
	size_t n = 0;
	int rc = job->find(&ids, &n, job->repo, job->find_arg, &job->err);

	if (rc == 0 && !(outv = bpg_calloc(n ? n : 1, sizeof(*outv))))
		rc = g_oom(&job->err);
	pthread_mutex_lock(&job->lock);
	if (rc == 0) {
		job->ids = ids;
		job->out = outv;
		job->n = n;
		ids = NULL;
		pthread_mutex_lock(&job->blocks.lock);
		job->blocks.back = (n + BLOCK - 1) / BLOCK;
		pthread_mutex_unlock(&job->blocks.lock);
	}
	job->find_rc = rc;
	job->found = true;
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
	free(ids);
	return rc;
}

static void wait_found(g_commits_job *job)
{
	pthread_mutex_lock(&job->lock);
	while (!job->found)
		pthread_cond_wait(&job->cond, &job->lock);
	pthread_mutex_unlock(&job->lock);
}

static void *job_thread(void *arg)
{
	g_commits_job *job = arg;
	g_offered_fn fn;

	bpg_heap_thread_start();
	bpg_json_shared_begin(); /* the commits' authors and trailer values, the files' model strings */
	if (!job->find || (job->rc = find_on_thread(job)) == 0)
		job->rc = job_run(job);
	pthread_mutex_lock(&job->lock);
	job->commits_done = true;
	fn = job->offered;
	pthread_mutex_unlock(&job->lock);
	if (fn)
		fn(job->offered_arg, job->repo);
	pthread_mutex_lock(&job->lock);
	job->offered_done = true;
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
	/* nothing uses this thread's handle any more: free it here, while the caller
	 * finishes its part (its object cache holds every commit read: ~3 ms at 2,000),
	 * or not at all when the process exits next (the caller would wait for it) */
	if (!job->leave_repo)
		git_repository_free(job->repo);
	job->repo = NULL;
	bpg_json_shared_end();
	return NULL;
}

bool g_commits_offer(g_commits_job *job, g_offered_fn fn, void *arg)
{
	bool taken = false;

	if (!job || !job->threaded)
		return false;
	pthread_mutex_lock(&job->lock);
	if (!job->commits_done) {
		job->offered = fn;
		job->offered_arg = arg;
		taken = true;
	}
	pthread_mutex_unlock(&job->lock);
	return taken;
}

void g_commits_offer_wait(g_commits_job *job)
{
	pthread_mutex_lock(&job->lock);
	while (!job->offered_done)
		pthread_cond_wait(&job->cond, &job->lock);
	pthread_mutex_unlock(&job->lock);
}

/* A job without a thread yet: nblocks blocks of commits, the caller's handle. */
static g_commits_job *job_new(git_repository *repo, const bpg_gather_opts *opts, g_commit_describer describe,
	const void *describe_arg, size_t nblocks)
{
	g_commits_job *job = bpg_calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->cond, NULL);
	g_claims_init(&job->blocks, nblocks);
	job->repo = job->caller_repo = repo;
	job->describe = describe;
	job->describe_arg = describe_arg;
	if (opts) {
		job->paths_wanted = opts->commit_paths_wanted;
		job->paths_arg = opts->commit_paths_arg;
	}
	job->joined = true; /* no thread to join until one starts */
	return job;
}

/* The job's thread, with a second handle: false when either cannot be had (a
 * handle that was opened stays the job's, for work on the caller's thread). */
static bool job_spawn(g_commits_job *job, const bpg_gather_opts *opts)
{
	git_repository *own = NULL;

	if (opts->open_repository(&own, opts->open_arg) < 0 || !own) { /* a failed open may leave its output NULL */
		git_error_clear();
		return false;
	}
	job->repo = own;
	job->own_repo = true;
	job->leave_repo = opts->exiting;
	if (pthread_create(&job->thread, NULL, job_thread, job) != 0) {
		git_error_clear();
		return false;
	}
	job->threaded = true;
	job->joined = false;
	return true;
}

int g_commits_start(g_commits_job **out, git_repository *repo, const bpg_gather_opts *opts,
	g_commit_describer describe, const void *describe_arg, const git_oid *ids, size_t n, bpg_error *err)
{
	g_commits_job *job = job_new(repo, opts, describe, describe_arg, (n + BLOCK - 1) / BLOCK);
	int rc = 0;

	*out = NULL;
	if (!job || !(job->ids = bpg_malloc((n ? n : 1) * sizeof(*ids))) || !(job->out = bpg_calloc(n ? n : 1, sizeof(json_t *)))) {
		rc = g_oom(err);
		goto fail;
	}
	memcpy(job->ids, ids, n * sizeof(*ids));
	job->n = n;
	if (opts && opts->open_repository && n >= THREAD_MIN_COMMITS && job_spawn(job, opts)) {
		*out = job;
		return 0;
	}
	/* no second handle or thread: work it out here */
	if ((rc = job_run(job)) < 0) {
		bpg_error_set(err, rc, "%s", job->err.message);
		goto fail;
	}
	*out = job;
	return 0;
fail:
	g_commits_free(job);
	return rc;
}

int g_commits_start_finding(g_commits_job **out, git_repository *repo, const bpg_gather_opts *opts,
	g_commits_finder find, void *find_arg, g_commit_describer describe, const void *describe_arg, bpg_error *err)
{
	g_commits_job *job;

	*out = NULL;
	if (!opts || !opts->open_repository)
		return 1;
	/* no blocks until the thread has found the commits */
	if (!(job = job_new(repo, opts, describe, describe_arg, 0)))
		return g_oom(err);
	job->find = find;
	job->find_arg = find_arg;
	if (job_spawn(job, opts)) {
		*out = job;
		return 0;
	}
	g_commits_free(job); /* the caller finds them itself */
	return 1;
}

int g_commits_found(g_commits_job *job, bpg_error *err)
{
	if (!job || !job->find || !job->threaded)
		return 0;
	wait_found(job);
	if (job->find_rc < 0)
		return bpg_error_set(err, job->find_rc, "%s", job->err.message);
	return 0;
}

void g_commits_help(g_commits_job *job)
{
	int rc;

	if (!job || !job->threaded || job->joined)
		return;
	if (job->find) {
		wait_found(job);
		if (job->find_rc < 0)
			return;
	}
	rc = run_blocks(job, job->caller_repo, true, &job->help_err, &job->help_at);
	if (rc < 0 && job->help_rc == 0)
		job->help_rc = rc;
}

int g_commits_finish(g_commits_job *job, json_t *into, bpg_error *err)
{
	if (!job->joined) {
		g_commits_help(job);
		pthread_join(job->thread, NULL);
		job->joined = true;
	}
	/* when both met a bad commit, the earlier one's error (as one thread would) */
	if (job->rc < 0 && !(job->help_rc < 0 && job->help_at < job->err_at))
		return bpg_error_set(err, job->rc, "%s", job->err.message);
	if (job->help_rc < 0)
		return bpg_error_set(err, job->help_rc, "%s", job->help_err.message);
	for (size_t i = 0; i < job->n; i++) {
		if (!job->out[i] || json_array_append_new(into, job->out[i]) < 0) {
			job->out[i] = NULL;
			return g_oom(err);
		}
		job->out[i] = NULL;
	}
	return 0;
}

void g_commits_free(g_commits_job *job)
{
	if (!job)
		return;
	if (!job->joined) { /* an error path: the blocks not taken yet are not worked out */
		g_claims_fail(&job->blocks);
		pthread_join(job->thread, NULL);
	}
	if (job->own_repo)
		git_repository_free(job->repo);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	g_claims_dispose(&job->blocks);
	for (size_t i = 0; job->out && i < job->n; i++)
		json_decref(job->out[i]);
	free(job->out);
	free(job->ids);
	free(job);
}
