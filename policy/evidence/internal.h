/* Internal helpers of the evidence module (policy/evidence/). */
#ifndef BPG_EVIDENCE_INTERNAL_H
#define BPG_EVIDENCE_INTERNAL_H

#include "bpgate/evidence.h"
#include "bpgate/buf.h"
#include "bpgate/audit.h"
#include "bpgate/gitobj.h"

#include <stdbool.h>
#include <string.h>

/** Largest release record, policy file, UAT file or bundle embedded. */
#define EV_MAX_SMALL ((size_t)1 << 20)

static inline const char *ev_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static inline bool ev_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int ev_oom(bpg_error *err);

/** Read the blob at `path` of `tree` (BPG_ENOTFOUND when absent, BPG_ETOOBIG past max). */
int ev_read_path(bpg_buf *out, git_repository *repo, git_tree *tree, const char *path, size_t max,
	bpg_error *err);
/** The release record refs/bpgate/releases/<env>/<hex> as JSON (new reference). */
int ev_load_record(json_t **out, git_repository *repo, const char *env, const char *hex, bpg_error *err);
/** RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" to time_t; false when malformed. */
bool ev_time(const char *s, time_t *out);
/** Does an audit entry's ref object concern this commit (any env) or the approvals of tree for env? */
bool ev_ref_concerns(const json_t *ref, const json_t *commits, const char *hex, const char *env,
	const char *tree);
/** Is this audit entry the accepted decision that released hex to env as kind? With applied
 *  (from ev_applied_index, entry at index i), only a release that git applied counts. */
bool ev_entry_is_release(const json_t *entry, const char *env, const char *hex, const char *kind,
	const json_t *applied, uint64_t i);
/** Which ref updates of accepted, "judged" bpgate-push entries a later bpgate-applied entry
 *  (written by post-receive) confirms: a new object for ev_ref_applied (caller decrefs). */
int ev_applied_index(json_t **out, const bpg_audit_log *log, bpg_error *err);
/** Did git apply ref (an element of entry's refs; entry at index i of the log)? Entries
 *  without "stage": "judged" come from gates that wrote no confirmation: taken as applied. */
bool ev_ref_applied(const json_t *applied, const json_t *entry, uint64_t i, const json_t *ref);
/** "<ref> <old> <new>" of a ref object of an audit entry (false when a field is missing). */
bool ev_update_key(char *out, size_t n, const json_t *ref);

/* build_parts.c: the sections of the predicate */
int ev_subjects(json_t *stmt, git_repository *repo, git_tree *tree, const json_t *policy, bpg_error *err);
int ev_changes(json_t *pred, git_repository *repo, git_tree *tree, const json_t *facts, const json_t *policy,
	bpg_error *err);
int ev_approvals(json_t *pred, git_repository *repo, const char *env, const char *tree_hex,
	const struct bpg_allowed_signers *signers, time_t released, bpg_error *err);
int ev_evidence_files(json_t *pred, git_repository *repo, git_tree *tree, const json_t *policy,
	const json_t *scenarios, bpg_error *err);
/** Scenario id of a path by the policy's catalog, or NULL. */
const char *ev_scenario_of(const json_t *policy, const char *path);

/* pred.make: the deployment record of the release in Make and the scenarios disabled (build_make.c). */
int ev_make_section(json_t *pred, git_repository *repo, const char *env, const char *hex, bpg_error *err);

#endif
