/*
 * What `bpgate pending` and `bpgate rollback` share: the policy as a commit
 * has it (.bpgate/ of its tree), and the server's release records
 * (refs/bpgate/releases/<env>/<commit>, JSON blobs written by
 * bpgate-receive's post-receive; see docs/readme/server.md).
 *
 * Ownership: every out-parameter is the caller's (bpg_policy_free,
 * bpg_allowed_signers_free, json_decref). The repository stays the caller's.
 */
#ifndef BPG_RELEASES_H
#define BPG_RELEASES_H

#include <time.h>
#include <git2.h>
#include <jansson.h>
#include "bpgate/common.h"
#include "bpgate/policy.h"
#include "bpgate/sshsig.h"
#include "bpgate/approval.h"

#define REL_MAX_RECORDS 20000
#define REL_RECORD_MAX ((size_t)1 << 20)

/* Load .bpgate/ (policy.json, allowed_signers, contracts/, tests/) from the
 * tree of `commit`. *signers is NULL when the tree has no allowed_signers. */
int rel_policy_load(bpg_policy **policy, bpg_allowed_signers **signers, git_repository *repo,
	const git_oid *commit, bpg_error *err);

/* The release records of `env` (every environment when NULL), newest first
 * (by "time", then ref name). Each is the record's JSON plus "record_ref".
 * Unreadable or malformed records are skipped (they are the server's), and so
 * are records of kind "update" (accepted tips of unprotected environments:
 * no release). */
int rel_records(json_t **out, git_repository *repo, const char *env, bpg_error *err);

/* The branch of an environment as a full ref name, written to out. */
int rel_env_branch(char *out, size_t size, const bpg_policy *policy, const char *env);

/* Now: $BPGATE_TIME (reproducible runs) or the clock, as time_t and RFC 3339. */
void rel_now(time_t *now, char out[32]);
/* Parse "YYYY-MM-DDTHH:MM:SSZ". */
int rel_time_parse(const char *s, time_t *out);

/* What `pending` and `status` read comes from the server: before answering
 * they bring refs/bpgate/... (approvals, release records) and the branches
 * (as refs/remotes/<remote>/...) from `remote` with `git fetch`, as rollback
 * does. REL_FETCHED when fetched; REL_NO_REMOTE when this repository has no
 * such remote (a server's own repository: what it has is the whole truth);
 * REL_FETCH_FAILED when git fetch failed (a message naming the remote and
 * the way out, --no-fetch, is printed for `cmd`): the caller exits 2, as it
 * cannot tell whether its answer is current. */
enum { REL_FETCHED = 0, REL_NO_REMOTE = 1, REL_FETCH_FAILED = -1 };
int rel_fetch_server_refs(git_repository *repo, const char *remote, const char *cmd);

/* approve_admit.c (for `bpgate approve --check-only/--check-policy`): may
 * a->approver record this approval? 0 when the policy of git config
 * bpgate.policyRef (else HEAD) admits it (bpg_policy_approval_admit, with the
 * approvals already stored for the approver, tree and environment);
 * BPG_EINVALID (no approving role) or BPG_ETOOBIG (the per-tree bound) with
 * the reason; other codes when the policy cannot be read. */
int approve_admit(git_repository *repo, const bpg_approval *a, bpg_error *err);

/* The policy the server judges with, as approve_admit reads it (bpgate.policyRef, else HEAD). */
int approve_policy_load(bpg_policy **policy, git_repository *repo, bpg_error *err);

/* Would an approval by `approver` of `commit` for `env` never count? 1 with
 * the reason in why[size]: the policy gives the approver no role whose
 * approvals count for env, or none at all counts there
 * (bpg_policy_approval_admit); or the approver authored or committed a commit
 * of base..commit (base: the environment's branch as a full ref name; when
 * NULL or missing every commit reachable, at most 10000 looked at), matched
 * by e-mail, its local part or name, which the approvals rule never counts.
 * 0 when it may count. A warning's answer: the server decides. */
int approve_never_counts(char *why, size_t size, git_repository *repo, const bpg_policy *policy,
	const char *env, const char *approver, const git_oid *commit, const char *base);

#endif
