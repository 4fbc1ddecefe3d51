/*
 * What `bpgate make pull|deploy|drift` share: the repository, the policy of
 * the revision they act on, the environment's link to Make (bpgate/query.h),
 * one API client (bpgate/make.h), the blueprint a catalog entry should have
 * in Make (the file at the revision, references mapped through the
 * environment's map, in bpgate's byte-stable form), the live blueprint read
 * back in the same form, the semantic comparison of the two, and the audit
 * entry every run writes.
 *
 * A blueprint "as held" here is the blueprint object with Make's scheduling
 * as its top-level "scheduling" member (the convention of Make's SDK): one
 * file in git carries both, and both are compared and deployed.
 *
 * Ownership: mk_ctx owns everything it points to (mk_close frees it);
 * buffers and json_t out-parameters are the caller's.
 */
#ifndef BPG_HOOKS_MAKE_COMMON_H
#define BPG_HOOKS_MAKE_COMMON_H

#include <stdbool.h>
#include <git2.h>
#include <jansson.h>
#include "cli.h"
#include "bpgate/buf.h"
#include "bpgate/make.h"
#include "bpgate/policy.h"
#include "bpgate/query.h"

typedef struct {
	git_repository *repo;
	bpg_policy *policy;
	bool have_commit;
	git_oid commit;             /* the revision acted on (deploy, drift) */
	char commit_hex[GIT_OID_HEXSZ + 1];
	const char *env;            /* borrowed from argv */
	bpg_make_env menv;          /* borrowed from policy */
	const json_t *refmap;       /* borrowed from policy; NULL: ids are the environment's own */
	bpg_make_client *client;
	char who[256];
	char now[32];
	char *audit_dir, *audit_key; /* git config bpgate.auditDir / bpgate.auditKey */
} mk_ctx;

typedef struct {
	const char *env;
	const char *rev;        /* NULL: the policy of the working tree (pull) */
	bool rev_is_env_branch; /* rev NULL and this set: the environment's branch tip */
	const char *token_file; /* --token-file, else git config bpgate.makeTokenFile */
	bool need_client;
	bool need_audit;        /* refuse when the repository has no audit log configured */
	const char *cmd;        /* "make deploy" for messages */
} mk_open_opts;

/* Open the repository around the current directory (or $GIT_DIR), load the
 * policy, resolve the environment and, when asked, the client. Prints the
 * reason and returns -1 on failure. */
int mk_open(mk_ctx *c, const mk_open_opts *o);
void mk_close(mk_ctx *c);

/* The blueprint file of entry at c->commit, mapped for c->env, formatted:
 * *bytes (formatted), *doc (the mapped object, may be NULL). BPG_ENOTFOUND
 * when the revision has no such file. */
int mk_desired(bpg_buf *bytes, json_t **doc, mk_ctx *c, const json_t *entry, bpg_error *err);

/* The live blueprint of Make scenario id, with "scheduling" merged in, formatted. */
int mk_live(bpg_buf *bytes, json_t **doc, mk_ctx *c, long long make_id, bpg_error *err);

/* Split a held blueprint into what PATCH sends: *blueprint (without
 * "scheduling") and *scheduling (NULL when it has none). New references. */
int mk_split(json_t **blueprint, json_t **scheduling, const json_t *held, bpg_error *err);

/* Semantic comparison of two held blueprints (bytes): *changes is a JSON
 * array of the semantic diff's changes, plus {"kind":"scheduling"} when a
 * has a scheduling and b's differs (a blueprint file without one leaves the
 * scheduling to Make); empty when they are the same scenario. */
int mk_compare(json_t **changes, const char *a, size_t alen, const char *b, size_t blen, bpg_error *err);

/* Print a semantic diff (text) under a heading, indented. */
void mk_print_changes(FILE *out, const json_t *changes, size_t max);

/* Append an audit entry ({"type": type, "environment", "who", "time", ...fields}). */
int mk_audit(mk_ctx *c, const char *type, json_t *fields, bpg_error *err);

/* lowercase hex sha256 of bytes */
void mk_sha256_hex(char out[65], const void *data, size_t len);

#endif
