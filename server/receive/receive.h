/*
 * bpgate-receive: the pre-receive (and post-receive) hook for any git
 * server. Internal header of server/receive/.
 *
 *   input.c   pre-receive stdin: bounded, validated ref updates
 *   config.c  settings (git config bpgate.*, flags), principal map, policy from the policy ref
 *   srvfacts.c the server facts (extra.server, approvals) for one ref update
 *   main.c    the flow: gather, evaluate, print remote: lines, audit, exit (fails closed)
 *   post.c    post-receive: turn spooled release records into refs/bpgate/releases/...
 */
#ifndef BPG_RECEIVE_H
#define BPG_RECEIVE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <git2.h>
#include <jansson.h>

#include "bpgate/common.h"
#include "bpgate/buf.h"
#include "bpgate/policy.h"
#include "bpgate/sshsig.h"

#define RCV_MAX_REFS 1000
#define RCV_MAX_LINE 4096
#define RCV_HISTORY_MAX 10000
/* Largest push certificate read (git writes it as a blob from the push). */
#define RCV_PUSH_CERT_MAX ((size_t)64 << 10)

typedef struct {
	char old_hex[41], new_hex[41];
	char *name;
} rcv_update;

typedef struct {
	rcv_update *v;
	size_t n;
} rcv_updates;

/* Read "<old> SP <new> SP <ref> LF" lines from f (bounded, validated). */
int rcv_read_updates(rcv_updates *out, FILE *f, bpg_error *err);
void rcv_updates_free(rcv_updates *u);

#define RCV_MAX_PUSH_OPTIONS 100
#define RCV_MAX_PUSH_OPTION_LEN 1023
/* Append the push options (GIT_PUSH_OPTION_COUNT, GIT_PUSH_OPTION_<i>, read
 * through lookup, normally getenv) to out as strings: at most 100, each at
 * most 1023 bytes of UTF-8. BPG_EINVALID otherwise. */
int rcv_read_push_options(json_t *out, const char *(*lookup)(const char *name), bpg_error *err);

typedef struct {
	char *user_var;      /* variable naming the pusher */
	char *users_file;    /* principal map, or NULL */
	char *policy_ref;    /* protected policy ref, or NULL = HEAD's branch */
	char *repository;    /* display name */
	char *audit_dir, *audit_key;
	char *spool_dir;     /* $GIT_DIR/bpgate-spool */
	bool bootstrap;      /* accept pushes while the policy ref does not exist */
	json_t *users;       /* name -> principal (object), or NULL */
	/* the judgement's budget: bpgate.maxJudgeSeconds / --max-judge-seconds (default
	 * BPG_BUDGET_DEFAULT_SECONDS), bpgate.maxJudgeMemory / --max-judge-memory (a size,
	 * default BPG_BUDGET_DEFAULT_MEMORY); started when the configuration is loaded */
	char *max_judge_seconds, *max_judge_memory;
	struct bpg_budget *budget;
} rcv_config;

int rcv_config_load(rcv_config *cfg, git_repository *repo, int argc, char **argv, bpg_error *err);
/* A budget from the settings' text (NULL: the default); BPG_EINVALID names the setting. */
int rcv_budget_new(struct bpg_budget **out, const char *seconds, const char *memory, bpg_error *err);
void rcv_config_free(rcv_config *cfg);
/* Map a name (pusher name or e-mail address) to a principal; NULL when unknown and a map is set. */
const char *rcv_principal(const rcv_config *cfg, const char *name);

typedef struct {
	bpg_policy *policy;
	git_oid commit;             /* policy commit */
	git_tree *tree;             /* its tree */
	bpg_allowed_signers *signers; /* .bpgate/allowed_signers or NULL */
	void *scan_ignore;          /* bpg_scan_ignore, or NULL */
} rcv_policy;

/* Load the policy from the policy ref as it is before the push. BPG_ENOTFOUND when the ref is missing. */
int rcv_policy_load(rcv_policy *out, git_repository *repo, const char *policy_ref, bpg_error *err);
void rcv_policy_free(rcv_policy *p);
/* The environment whose branch is refname, or NULL. */
const char *rcv_env_for_ref(const bpg_policy *policy, const char *refname);

typedef struct {
	git_repository *repo;
	const rcv_config *cfg;
	const rcv_policy *pol;
	time_t now;
	const char *pusher;
} rcv_ctx;

/* Add approvals and extra.server to the facts of one ref update. */
int rcv_server_facts(json_t *facts, const rcv_ctx *cx, const rcv_update *u, const char *env, bpg_error *err);
/* Scenario ids whose catalog paths match the facts' files (new array). */
json_t *rcv_scenarios(const bpg_policy *policy, const json_t *facts);

/* post-receive mode. */
int rcv_post_receive(git_repository *repo, const rcv_config *cfg, bpg_error *err);

/* Write s to f with control characters escaped (\xNN), bounded. */
void rcv_put_safe(FILE *f, const char *s);

#endif
