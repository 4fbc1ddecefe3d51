/* Shared pieces of the gather module. */
#ifndef BPG_GATHER_INTERNAL_H
#define BPG_GATHER_INTERNAL_H

#include "bpgate/gather.h"
#include "bpgate/testhook.h"
#include "bpgate/buf.h"
#include "bpgate/util.h"

#include <pthread.h>
#include <stdbool.h>

json_t *g_time_json(git_time_t t);
json_t *g_person_json(const git_signature *sig);
/* Whether two signatures are the same person at the same time (name, e-mail, time, offset). */
bool g_same_person(const git_signature *a, const git_signature *b);
/* facts[key] as an array, created when missing (borrowed). */
json_t *g_array_of(json_t *facts, const char *key);
/* The element of arr whose [key] is the string value, or NULL (borrowed). */
json_t *g_find_by(json_t *arr, const char *key, const char *value);
int g_oom(bpg_error *err);
int g_git_error(bpg_error *err, const char *what);

/* Work items [0, n) that two threads share: each index is claimed once,
 * from the front or from the back, under the lock; a failure on either side
 * stops both (the gatherer's file queue and its blocks of commits). */
typedef struct {
	pthread_mutex_t lock;
	size_t front, back;
	bool failed;
} g_claims;

static inline void g_claims_init(g_claims *c, size_t n)
{
	pthread_mutex_init(&c->lock, NULL);
	c->front = 0;
	c->back = n;
	c->failed = false;
}

/* Claim the next index; false when none is left or a claimer failed. */
static inline bool g_claims_take(g_claims *c, bool from_back, size_t *i)
{
	bool ok;
	pthread_mutex_lock(&c->lock);
	ok = !c->failed && c->front < c->back;
	if (ok)
		*i = from_back ? --c->back : c->front++;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static inline void g_claims_fail(g_claims *c)
{
	pthread_mutex_lock(&c->lock);
	c->failed = true;
	pthread_mutex_unlock(&c->lock);
}

static inline void g_claims_dispose(g_claims *c)
{
	pthread_mutex_destroy(&c->lock);
}

struct g_commits_job;
/* Record the changes between two trees (either may be NULL) as files[];
 * `content_tree` is the tree the bundle checks read from. `helper`, when not
 * NULL, is a commits job whose thread may help with the file contents. */
int g_gather_tree_diff(json_t *facts, git_repository *repo, git_tree *old_tree, git_tree *new_tree,
	git_index *index, struct g_commits_job *helper, const bpg_gather_opts *opts, bpg_error *err);
/* The same from a diff the caller computed (with g_diff_opts()) and still owns. */
int g_gather_diff(json_t *facts, git_repository *repo, git_diff *diff, git_tree *new_tree,
	git_index *index, struct g_commits_job *helper, const bpg_gather_opts *opts, bpg_error *err);
/* The options of the diffs the files are gathered from. */
git_diff_options g_diff_opts(void);

/* Check every release bundle the change adds or modifies (bundles[]). */
int g_check_bundles(json_t *facts, git_repository *repo, git_tree *new_tree, git_index *index,
	const bpg_gather_opts *opts, bpg_error *err) BPG_MUST_CHECK;

#endif
