/*
 * The Make part of `bpgate status` and `bpgate inventory` (make_status.c):
 * deployment and drift records of each environment with a "make" block.
 * Reads refs/bpgate/ only. The json_t returned is the caller's (json_decref);
 * repo and policy (policy.json as JSON) stay the caller's.
 */
#ifndef BPG_HOOKS_MAKE_STATUS_H
#define BPG_HOOKS_MAKE_STATUS_H

#include <stdio.h>
#include <git2.h>
#include <jansson.h>

/* {"<env>": {"branch_tip", "tip_deployed", "failed"?, "last_drift_check"?, "scenarios": {"<id>": {
 *   "make_id", "commit", "time", "who", "adopted"?, "drift"?}}}} */
json_t *make_status_json(git_repository *repo, const json_t *policy);
void make_status_print(FILE *out, git_repository *repo, const json_t *policy);

/* The scenarios disabled through bpgate (all environments), for `pending`; the number printed. */
int make_status_print_disabled(FILE *out, git_repository *repo, const json_t *policy);
/* For `pending`: environments accepted but not deployed, and disabled scenarios; the count. */
int make_status_print_pending(FILE *out, git_repository *repo, const json_t *policy);

#endif
