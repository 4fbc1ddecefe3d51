/*
 * bpgate — gathering: read git and build the FACTS document the policy
 * engine judges (format: bpgate-policy(5), "facts"). Gathering never
 * decides anything; it only records what is there.
 *
 *   bpg_facts_new()          the skeleton: time, context, repository, pusher...
 *   bpg_gather_range()       commits from..to and the files they change
 *   bpg_gather_staged()      the files of the index against HEAD (pre-commit)
 *   bpg_gather_message()     a commit being written (its message)
 *   bpg_gather_message_staged() both, from one diff (commit-msg)
 *   bpg_gather_ref()         one ref update (pre-push, pre-receive)
 *
 * Each gather function appends to arrays of an existing facts object
 * (commits are de-duplicated by id, files by path). Files that are
 * blueprints get their model ("blueprint", "old_blueprint"), the semantic
 * "diff" (unless bpg_gather_opts.no_blueprint_diff), or a "parse_error";
 * data contracts under .bpgate/contracts/ get
 * "contract"/"old_contract"; files in the scan globs get "scan_findings"
 * (added lines only); release bundles are checked into "bundles".
 *
 * Ownership: facts are jansson values owned by the caller (json_decref).
 * They are read-only: one value may stand in several places (a commit's author
 * and committer, the modules a change left alone in both versions of a
 * blueprint, short strings repeated across commits and files: jsonshared.h).
 * The git_repository stays the caller's. Limits: BPG_GATHER_MAX_COMMITS
 * commits and BPG_GATHER_MAX_FILES files per call, BPG_GATHER_MAX_BLOB bytes
 * per file read (checked from the object header before it is read; a scanned
 * file over it fails, a blueprint or contract gets a "parse_error"), commit
 * messages up to 64 KiB and 256 trailer lines; past them gathering fails with
 * BPG_ETOOBIG (the server must refuse, not skip). Nothing is truncated
 * silently.
 */
#ifndef INCLUDE_bpgate_gather_h__
#define INCLUDE_bpgate_gather_h__

#include "common.h"
#include "budget.h"
#include <stdbool.h>
#include <git2.h>
#include <jansson.h>

BPG_BEGIN_DECL

#define BPG_GATHER_MAX_COMMITS 20000
#define BPG_GATHER_MAX_FILES 20000
#define BPG_GATHER_MAX_BLOB ((size_t)64 << 20)

typedef struct {
	const char *context;     /**< "pre-commit", "commit-msg", "pre-push", "pre-receive", "check" */
	const char *time;        /**< RFC 3339 UTC; the front end reads the clock, not the engine */
	const char *repository;  /**< display name, may be NULL */
	const char *pusher;      /**< principal, may be NULL */
	const char *environment; /**< target environment when known, may be NULL */
	const char *const *push_options;
	size_t npush_options;
} bpg_facts_opts;

/** A new facts object with the given skeleton. New reference. */
BPG_EXTERN(int) bpg_facts_new(json_t **out, const bpg_facts_opts *opts, bpg_error *err);

struct bpg_scan_ignore;
struct bpg_allowed_signers;

/** What to scan and how (borrowed by the gather calls). */
typedef struct {
	const char *const *scan_globs; /**< paths whose added lines are scanned; NULL = the defaults */
	size_t nscan_globs;
	bool no_scan;                  /**< skip the scanner entirely */
	bool no_bundles;               /**< skip bundle checks */
	/** leave the semantic "diff" out of blueprints' facts: the gate's choice, as no rule
	 * reads it (bpg_policy_reads_blueprint_diff, query.h); it is there for people
	 * (reports, `bpgate check --format json`) */
	bool no_blueprint_diff;
	/** accepted findings (.bpgate/ignore, see scan.h), or NULL */
	const struct bpg_scan_ignore *scan_ignore;
	/** principals of the releaser role, whose keys (.bpgate/keys/<principal>.pub in
	 * keys_tree) may sign bundles */
	const char *const *releasers;
	size_t nreleasers;
	/** where the releaser keys are read: a bpg_tree (bundle.h) of the trusted policy,
	 * or NULL to read them from the tree being judged (client side only) */
	const void *keys_tree;
	/** trusted allowed_signers (sshsig.h) to verify SSH-signed commits with, or
	 * NULL to only record whether a commit is signed */
	const struct bpg_allowed_signers *signers;
	/** Opens a second handle on the same repository, as the caller opened its
	 * own (quarantine and alternates included), or NULL. When given, the
	 * paths each commit of a large change touches are worked out on a thread
	 * of their own while the files are read (libgit2 handles are not shared
	 * between threads). The handle is gathering's, freed before it returns. */
	int (*open_repository)(git_repository **out, void *arg);
	void *open_arg;
	/** the judgement's budget (budget.h), checked before each changed file's
	 * content and each commit; NULL: none */
	const struct bpg_budget *budget;
	/** The process exits right after this gathering and leaves its memory to the
	 * exit (bpg_heap_exit_frees_skippable, heap.h): the second handle is then left
	 * to it too, not freed (its caches hold every commit read: ~3 ms on 2,000
	 * commits, which the caller would wait for). Never set it in a process that
	 * goes on, nor under a leak checker. */
	bool exiting;
	/** Whether a commit's "paths" are wanted (commit: its facts, without them), or NULL:
	 * always. A commit whose paths are not wanted gets none (no "paths" member). The
	 * gate passes bpg_policy_template_incomplete (query.h), so that only commits the
	 * change-template rule could fault get theirs: working out the paths of each commit
	 * was about a third of its time on a 2,000-commit push. Called on the commits'
	 * thread too, with arg: it must be safe to call concurrently. */
	bool (*commit_paths_wanted)(const json_t *commit, const void *arg);
	const void *commit_paths_arg;
} bpg_gather_opts;

/**
 * Commits reachable from `to` and not from `from` (from = NULL: all of
 * them), oldest first, and the files changed between the trees of `from`
 * (or the empty tree) and `to`.
 */
BPG_EXTERN(int) bpg_gather_range(json_t *facts, git_repository *repo, const git_oid *from,
	const git_oid *to, const bpg_gather_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

/** The staged files (index against HEAD, or against the empty tree before the first commit). */
BPG_EXTERN(int) bpg_gather_staged(json_t *facts, git_repository *repo,
	const bpg_gather_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

/**
 * A commit being written: its message (trailers parsed) and the staged
 * paths, as a commit with id "(new)". Author/committer from git's config.
 */
BPG_EXTERN(int) bpg_gather_message(json_t *facts, git_repository *repo, const char *message,
	size_t len, bpg_error *err) BPG_WARN_UNUSED;

/**
 * bpg_gather_message() and then bpg_gather_staged(), from one diff of the index
 * against HEAD (what commit-msg judges: one hook process per commit).
 */
BPG_EXTERN(int) bpg_gather_message_staged(json_t *facts, git_repository *repo, const char *message,
	size_t len, const bpg_gather_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

/**
 * One ref update. old/new: 40-hex ids, all-zero for creation/deletion.
 * Records created/deleted/fast_forward and the environment the ref maps to
 * (NULL when none), and gathers the range old..new. When old is not zero and
 * that object is not in the repository, returns BPG_ENOBASE and adds nothing
 * (a client-side caller may then judge the update as a new branch); any other
 * failure to read it is an error like the rest.
 */
BPG_EXTERN(int) bpg_gather_ref(json_t *facts, git_repository *repo, const char *refname,
	const char *old_hex, const char *new_hex, const char *environment,
	const bpg_gather_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

/**
 * Parse git trailers ("Key: value" lines of the message's last paragraph)
 * into an object Key -> value (or array of values when repeated). New reference.
 */
BPG_EXTERN(int) bpg_trailers_parse(json_t **out, const char *message, size_t len, bpg_error *err);

struct bpg_policy_files;
/**
 * The policy files of a `.bpgate/` tree held in git (policy.json, required;
 * allowed_signers; contracts/ *.json; tests/ *.json), ready for
 * bpg_policy_load(). BPG_ENOTFOUND when policy.json is missing. *out is
 * the caller's (bpg_policy_files_free()).
 */
BPG_EXTERN(int) bpg_gather_policy_files(struct bpg_policy_files **out, git_repository *repo,
	const git_tree *bpgate, bpg_error *err);

/**
 * An opener for bpg_gather_opts.open_repository: the repository as
 * GIT_REPOSITORY_OPEN_FROM_ENV finds it from the current directory (GIT_DIR,
 * GIT_OBJECT_DIRECTORY and alternates, so a pre-receive quarantine too), for
 * front ends that opened their own handle that way and never change directory.
 * Its object directories are spelled with a trailing "/." (the same
 * directories): libgit2 keeps one object per pack path for the whole process,
 * with a lock taken on every read, so the two handles of a large gather would
 * otherwise contend for it (~1,000 waits on a 2,000-commit push). When that
 * fails, the handle reads the packs as the first one does.
 */
BPG_EXTERN(int) bpg_gather_open_from_env(git_repository **out, void *arg);

/** Is this path a blueprint by name (*.blueprint.json) or, for *.json, by content? */
BPG_EXTERN(bool) bpg_gather_is_blueprint(const char *path, const char *data, size_t len);

BPG_END_DECL

#endif
