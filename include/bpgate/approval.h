/*
 * bpgate — signed approvals.
 *
 * An approval is a canonical statement (compact JSON, keys sorted):
 *   {"approver":"carol","commit":"<40 hex>","environment":"prod",
 *    "repository":"acme/make-scenarios","repository_id":"<32 hex>",
 *    "time":"2025-06-03T09:00:00Z","tree":"<40 hex>","type":"bpgate-approval/v1"}
 * "repository_id" (the repository's random id, git config bpgate.repositoryId
 * or policy.json "repository_id") is present when known; it binds the
 * approval to one repository even where two share a name.
 * signed with SSHSIG (ssh-keygen -Y sign -n bpgate-approval@v1) by the
 * approver's key, and stored in git as a parentless commit whose tree holds
 * `approval.json` (the statement bytes) and `approval.json.sig` (the armored
 * signature), under
 *   refs/bpgate/approvals/<environment>/<tree>/<approver>/<YYYYMMDDTHHMMSSZ>
 * (outside refs/heads and refs/tags: normal fetches do not bring them).
 * Approvals are never deleted or rewritten; a newer one supersedes.
 * The approval binds to the TREE: a rebase that keeps the tree keeps it.
 *
 * Ownership: bpg_buf outputs are the caller's; json arrays are appended to.
 * The git_repository stays the caller's. No clock reads: `now` is a parameter.
 */
#ifndef INCLUDE_bpgate_approval_h__
#define INCLUDE_bpgate_approval_h__

#include "common.h"
#include "buf.h"
#include <git2.h>
#include <jansson.h>
#include <stdbool.h>
#include <time.h>

BPG_BEGIN_DECL

#define BPG_APPROVAL_NAMESPACE "bpgate-approval@v1"
#define BPG_APPROVAL_TYPE "bpgate-approval/v1"
#define BPG_APPROVAL_REF_PREFIX "refs/bpgate/approvals/"
/** Largest statement and signature accepted. */
#define BPG_APPROVAL_MAX ((size_t)8192)
/** Most approval refs one gather call reads (of the trees it is asked about). */
#define BPG_APPROVAL_MAX_REFS 20000

typedef struct {
	char repository[256];
	char environment[64];
	char tree[41];
	char commit[41];
	char approver[256];
	char time[32]; /**< RFC 3339 UTC, seconds */
	/** The repository's unique id (32 lower-case hex), or "" (legacy: bound by name only). */
	char repository_id[33];
} bpg_approval;

struct bpg_allowed_signers;

/** Length of a repository id: 32 lower-case hex digits (128 random bits). */
#define BPG_REPOSITORY_ID_LEN 32
/** True when `s` is a repository id (exactly 32 lower-case hex digits). */
BPG_EXTERN(bool) bpg_repository_id_valid(const char *s);
/** A new random repository id into out[33] (libsodium randombytes). */
BPG_EXTERN(int) bpg_repository_id_new(char out[33], bpg_error *err);

/** The canonical statement bytes (no trailing LF). Fields are validated. */
BPG_EXTERN(int) bpg_approval_format(bpg_buf *out, const bpg_approval *a, bpg_error *err);
/** Parse a statement; anything but the canonical form is BPG_EINVALID. */
BPG_EXTERN(int) bpg_approval_parse(bpg_approval *out, const char *data, size_t len, bpg_error *err);
/** refs/bpgate/approvals/<env>/<tree>/<approver>/<time> (approver sanitised for ref names). */
BPG_EXTERN(int) bpg_approval_refname(bpg_buf *out, const bpg_approval *a, bpg_error *err);

/**
 * Move a->time forward, a second at a time (at most 60), while repo already has
 * the ref bpg_approval_refname names: the name carries the time to the second,
 * so a second approval of the same tree in the same second (one the server
 * refused, then the right one) would collide with the first. BPG_ETOOBIG past
 * 60 seconds; a->time is left valid either way.
 */
BPG_EXTERN(int) bpg_approval_time_unused(bpg_approval *a, git_repository *repo, bpg_error *err);

/** Write the approval commit object (no ref). `out` gets its id. */
BPG_EXTERN(int) bpg_approval_store(git_oid *out, git_repository *repo, const bpg_approval *a,
	const char *sig, size_t siglen, bpg_error *err);
/** Read the statement and signature of an approval commit. */
BPG_EXTERN(int) bpg_approval_load(bpg_buf *stmt, bpg_buf *sig, git_repository *repo, const git_oid *id,
	bpg_error *err);

/**
 * Verify the approval object `id` (reached through `refname`, which must be
 * the approval's canonical ref name when not NULL): canonical statement,
 * SSHSIG in our namespace by a key allowed_signers gives to the approver,
 * valid at `now`. 0 when good; BPG_EVERIFY (or BPG_EINVALID) with the
 * reason in err otherwise. `out` (may be NULL) gets the statement.
 */
BPG_EXTERN(int) bpg_approval_verify(bpg_approval *out, git_repository *repo, const git_oid *id,
	const char *refname, const struct bpg_allowed_signers *signers, time_t now, bpg_error *err) BPG_MUST_CHECK;

/**
 * Append to `approvals` (a JSON array, facts format) every approval under
 * refs/bpgate/approvals/<environment>/ (all environments when NULL) whose
 * tree is one of `trees` (all when ntrees is 0), verified or not
 * ("verified": false for those that fail), in ref name order. Returns the
 * number appended. With an environment and trees only the refs of those
 * trees are read, so approvals of other trees never count against
 * BPG_APPROVAL_MAX_REFS (reaching it is BPG_ETOOBIG).
 */
BPG_EXTERN(int) bpg_approvals_gather(json_t *approvals, git_repository *repo, const char *environment,
	const char *const *trees, size_t ntrees, const struct bpg_allowed_signers *signers, time_t now,
	bpg_error *err);

/**
 * How many approval refs are stored under the folder of a's approver for
 * a's environment and tree (refs/bpgate/approvals/<env>/<tree>/<approver>/),
 * counting up to `max`: what bpg_policy_approval_admit bounds.
 */
BPG_EXTERN(int) bpg_approvals_count(size_t *out, git_repository *repo, const bpg_approval *a, size_t max,
	bpg_error *err);

BPG_END_DECL

#endif
