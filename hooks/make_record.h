/*
 * Deployment records: what `bpgate make deploy` wrote to Make, kept in git
 * next to the release records, so that the next deploy can compare and swap
 * and `drift` can tell an edit made in Make's editor from a deployment.
 *
 * Per environment, a chain of commits (each one's parent is the previous
 * state), the newest at refs/bpgate/deploys/<env>/latest. A state commit's
 * tree holds
 *   deploy.json          {"version":1, "environment", "scenarios": {"<catalog id>": {
 *                          "make_id", "commit" (the git commit deployed), "sha256" (of the
 *                          bytes written), "lastEdit" (Make's, after the write), "isActive",
 *                          "who", "time", "adopted" (ticket, when drift was adopted)}},
 *                          "last": {what the newest commit of the chain did}}
 *   written/<id>.json    the exact bytes last written for each scenario
 * and refs/bpgate/deploys/<env>/<commit> points at the state after the
 * deployment of <commit> (one ref per deployed commit; a deployment that
 * failed half way leaves the scenarios it finished recorded, and is resumed
 * by running it again). refs/bpgate/deploys/<env>/failed, when present,
 * is the last failed attempt: {"commit", "time", "who", "error"}, removed by
 * the next complete deployment ("accepted, not deployed").
 * The last drift check is refs/bpgate/drift/<env> (drift.json).
 *
 * Updates of ".../latest" compare and swap on the old value: two deploys at
 * once cannot both write; the second fails and says so.
 *
 * Ownership: json_t out-parameters and buffers are the caller's.
 */
#ifndef BPG_HOOKS_MAKE_RECORD_H
#define BPG_HOOKS_MAKE_RECORD_H

#include <stdbool.h>
#include <git2.h>
#include <jansson.h>
#include "bpgate/buf.h"
#include "bpgate/common.h"

typedef struct {
	bool exists;
	git_oid commit;   /* the state commit (valid when exists) */
	json_t *doc;      /* deploy.json; an empty state when !exists */
} mk_state;

/* Read the newest state of env (an empty one when there is none). */
int mk_state_load(mk_state *out, git_repository *repo, const char *env, bpg_error *err);
void mk_state_dispose(mk_state *st);

/* The bytes last written for scenario; BPG_ENOTFOUND when none. */
int mk_state_written(bpg_buf *out, git_repository *repo, const mk_state *st, const char *scenario, bpg_error *err);

/* Write a new state: st->doc as deploy.json, plus (when scenario is not
 * NULL) bytes as written/<scenario>.json; compare-and-swap latest; point
 * refs/bpgate/deploys/<env>/<deployed_hex> at it when deployed_hex is not
 * NULL. st is updated to the new state. */
int mk_state_save(mk_state *st, git_repository *repo, const char *env, const char *scenario,
	const char *bytes, size_t len, const char *deployed_hex, const char *message, bpg_error *err);

/* refs/bpgate/deploys/<env>/failed: record (doc not NULL) or clear (NULL). */
int mk_failed_set(git_repository *repo, const char *env, const json_t *doc, bpg_error *err);
/* The getters below set *out to the record (new reference), or NULL when there is none; a record
 * that exists and cannot be read is an error (err says which), never "none". */
/* The failed record of env. */
int mk_failed_get(json_t **out, git_repository *repo, const char *env, bpg_error *err);

/* refs/bpgate/drift/<env>: save the result of a check / read the last one (NULL when none). */
int mk_drift_save(git_repository *repo, const char *env, const json_t *doc, bpg_error *err);
int mk_drift_get(json_t **out, git_repository *repo, const char *env, bpg_error *err);

/* refs/bpgate/switches/<env>/<scenario>: the last disable/enable
 * ({"scenario","make_id","active","who","time","reason"}); NULL when none. */
int mk_switch_save(git_repository *repo, const char *env, const char *scenario, const json_t *doc, bpg_error *err);
int mk_switch_get(json_t **out, git_repository *repo, const char *env, const char *scenario, bpg_error *err);
/* Every switch record of env whose "active" is false (*out: an array, new reference; NULL on error). */
int mk_switch_disabled(json_t **out, git_repository *repo, const char *env, bpg_error *err);

#endif
