/*
 * bpgate-receive: the pre-receive (and post-receive) hook for any git
 * server. Internal header of server/receive/.
 *
 *   input.c   pre-receive stdin: bounded, validated ref updates
 *   config.c  settings (git config bpgate.*, flags), principal map, policy from the policy ref
 *   srvfacts.c the server facts (extra.server, approvals) for one ref update
 *   uatfacts.c the signed UAT sign-offs of the tree pushed
 *   srvfacts_release.c the facts from the server's release records and the first-parent range
 *   main.c    the flow: gather, evaluate, print remote: lines, audit, exit (fails closed)
 *   provenance.c who pushed each commit and blob first ($GIT_DIR/bpgate/provenance)
 *   post.c    the spool of release records (pre-receive) and post-receive: the `bpgate-applied`
 *             audit entry and the records as refs/bpgate/releases/...
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
/* where post-receive writes the release records: <prefix><env>/<commit> (post.c) */
#define RCV_RELEASES_PREFIX "refs/bpgate/releases/"
/* stage health records listed per environment (healthfacts.c); more fails closed */
#define RCV_HEALTH_REFS_MAX 1000
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
/* Every update's old id must be the ref's value now (zeros: the ref does not
 * exist). git's ref lock refuses a mismatch after the hook, so judging a
 * claimed old value would judge (and record) an update that never happens.
 * BPG_EINVALID naming the first ref that differs. */
int rcv_check_old_values(git_repository *repo, const rcv_updates *ups, bpg_error *err);

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
	char *repository_id; /* bpgate.repositoryId: 32 lower-case hex, or NULL (validated at load) */
	char *audit_dir, *audit_key;
	char *spool_dir;     /* $GIT_DIR/bpgate-spool */
	bool bootstrap;      /* accept pushes while the policy ref does not exist */
	json_t *bootstrap_principals; /* bpgate.bootstrapPrincipal values (array of strings, may be empty) */
	json_t *users;       /* name -> principal (object), or NULL */
	/* the judgement's budget: bpgate.maxJudgeSeconds / --max-judge-seconds (default
	 * BPG_BUDGET_DEFAULT_SECONDS), bpgate.maxJudgeMemory / --max-judge-memory (a size,
	 * default BPG_BUDGET_DEFAULT_MEMORY); started when the configuration is loaded */
	char *max_judge_seconds, *max_judge_memory;
	struct bpg_budget *budget;
} rcv_config;

/* Are argv's options all known, each with its value? (Checked before anything is opened:
 * a usage error exits 2 with the usage on stderr.) */
int rcv_config_check_args(int argc, char **argv, bpg_error *err);
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

/* May this push create the policy branch unjudged (bpgate.bootstrap)? Only a
 * principal named by bpgate.bootstrapPrincipal, only when it creates
 * policy_ref, and only branches at that same commit besides it (no tags, no
 * refs/bpgate/ records). 0, or BPG_EINVALID with the reason. */
int rcv_bootstrap_check(const rcv_config *cfg, const char *principal, const char *policy_ref,
	const rcv_updates *ups, bpg_error *err);

/* A bootstrap push whose .bpgate/policy.json (on the policy branch it
 * creates) names a "repository_id" other than bpgate.repositoryId is for
 * another repository: BPG_EINVALID naming both. 0 when either is absent. */
int rcv_bootstrap_repository_id(git_repository *repo, const rcv_config *cfg, const char *policy_ref,
	const rcv_updates *ups, bpg_error *err);
/* Does the bootstrap push's commit of policy_ref hold a policy the server can load? 0, or
 * BPG_EINVALID saying what fails: a policy branch without one would refuse every push after. */
int rcv_bootstrap_policy_loads(git_repository *repo, const char *policy_ref, const rcv_updates *ups, bpg_error *err);

/* Load the policy from the policy ref as it is before the push. BPG_ENOTFOUND only when
 * the ref does not exist (the one state bootstrap may act on); a ref that cannot be read
 * is BPG_ERROR, one without .bpgate/ or .bpgate/policy.json BPG_EINVALID. */
int rcv_policy_load(rcv_policy *out, git_repository *repo, const char *policy_ref, bpg_error *err);
/* The same from a given commit (policy_ref names it in messages): a bootstrap push's policy is
 * loaded with it before it is let in, so that the repository is never left with a policy
 * branch no push can get past. */
int rcv_policy_load_at(rcv_policy *out, git_repository *repo, const git_oid *commit, const char *policy_ref,
	bpg_error *err);
void rcv_policy_free(rcv_policy *p);
/* post-receive: deploy accepted updates of environments whose make.deploy is "auto" (deploy.c);
 * the number that failed (each said to the pusher and audited). */
int rcv_auto_deploy(git_repository *repo, const rcv_config *cfg, const char *policy_ref, const rcv_updates *ups,
	const char *pusher);
/* The environment whose branch is refname, or NULL. */
const char *rcv_env_for_ref(const bpg_policy *policy, const char *refname);

typedef struct {
	git_repository *repo;
	const rcv_config *cfg;
	const rcv_policy *pol;
	time_t now;
	const char *pusher;
	const rcv_updates *updates; /* the whole push (approvals count the earlier ones of it) */
} rcv_ctx;

/* Add approvals and extra.server to the facts of one ref update. */
int rcv_server_facts(json_t *facts, const rcv_ctx *cx, const rcv_update *u, const char *env, bpg_error *err);
/* extra.server.uat_signoffs: signed UAT sign-offs under <dir>/<scenario>/ of tree (uatfacts.c). */
int rcv_uat_facts(json_t *server, git_repository *repo, git_tree *tree, const bpg_policy *p,
	const bpg_allowed_signers *signers, const char *dir, time_t now);
/* extra.server.released_trees, source_trees (the promotes_from environment `from`'s accepted tips; NULL:
 * empty) and first_parent_range of one ref update of environment env, from the server's verified
 * release records (srvfacts_release.c). commits: the update's gathered commits (facts "commits"),
 * which spare reading the range's commits again when they cover it; NULL: they are read. */
int rcv_release_facts(json_t *server, const rcv_ctx *cx, const rcv_update *u, const char *env, const char *from,
	const json_t *commits, bpg_error *err);
/* The newest valid signed health record of env (refs/bpgate/health/<env>/, healthfacts.c): *out is the
 * record's JSON plus "source":"record", "signer", "ref" (new reference), or NULL when none is valid;
 * *skipped counts the invalid records newer than it (problem: the newest one's reason). BPG_ETOOBIG
 * over RCV_HEALTH_REFS_MAX records, BPG_ERROR when the records cannot be listed (problem says why
 * in both): never "no record", which would let the pushed tree's report stand in. */
int rcv_health_record(json_t **out, size_t *skipped, char *problem, size_t psize, const rcv_ctx *cx, const char *env);
/* Whether s[0..n) is 40 lowercase hex digits (an object id as git writes it). */
bool rcv_hex40(const char *s, size_t n);
/* $GIT_DIR/bpgate (of the common dir): the server's own files (provenance, locks) into out. */
int rcv_server_dir(bpg_buf *out, git_repository *repo);
/* Is an environment name plain ([A-Za-z0-9._-], at most 200, not starting with '.'): usable in a ref glob? */
bool rcv_env_name_plain(const char *env);
/* s as a JSON string (new reference); bytes that are not UTF-8 (a name cut by %.100s, say) are
 * written as \xNN. NULL only when out of memory (or s is NULL). */
json_t *rcv_message_json(const char *s);

/* recindex.c: indexes of the release records, written by post-receive beside each record (the
 * same blob): refs/bpgate/break-glass/<env>/<commit>-<blob> (kind break-glass), refs/bpgate/tips/<env>/<tree>
 * (any kind) and refs/bpgate/released/<env>/<tree> (kind release), following a tree's latest
 * record. index_add writes those of one record (an existing break-glass ref must hold the same
 * blob); index_migrate indexes every record under refs/bpgate/releases/ once, then writes the marker
 * refs/bpgate/records-indexed (nothing when it exists; no marker on any error); index_unmark removes
 * the marker (a record could not be indexed: the gate lists records again until the next pass).
 * The gate: rcv_record_indexed says whether the marker exists (problem set and BPG_ERROR when it
 * cannot be read); rcv_record_lookup reads the record refs/bpgate/<ns>/<env>/<tree> points to (*out
 * NULL when there is none; problem set and < 0 when it cannot be read); rcv_record_read: the record
 * a ref points to, NULL unless it is a blob of a JSON object under 1 MiB. JSON returned is the
 * caller's. */
/* packed-refs as stat(2) sees it: a listing of refs during which it changed may have missed
 * loose refs git packed meanwhile (libgit2 lists loose refs, then the packed-refs it read first). */
typedef struct {
	unsigned long long ino;
	long long size, mtime_s;
	long mtime_ns;
	bool unknown; /* stat failed other than ENOENT: never "the same" */
} rcv_refs_stamp_t;
void rcv_refs_stamp(rcv_refs_stamp_t *out, git_repository *repo);
bool rcv_refs_stamp_same(const rcv_refs_stamp_t *a, const rcv_refs_stamp_t *b);
int rcv_record_index_add(git_repository *repo, const char *env, const char *commit_hex, const json_t *rec,
	const git_oid *blob, bpg_error *err);
int rcv_record_index_migrate(git_repository *repo, bpg_error *err);
int rcv_record_index_unmark(git_repository *repo, bpg_error *err);
int rcv_record_indexed(bool *out, git_repository *repo, char *problem, size_t psize);
int rcv_record_lookup(json_t **out, git_repository *repo, const char *ns, const char *env, const char *tree,
	char *problem, size_t psize);
json_t *rcv_record_read(git_repository *repo, const git_oid *id);
/* Whether a record is of kind (its "kind" string). */
bool rcv_record_is(const json_t *rec, const char *kind);
/* breakglass.c: extra.server.break_glass_log of env, from refs/bpgate/break-glass/<env>/ once the
 * records are indexed, else from every release record of env; break_glass_log_error (refuses) when
 * any could not be read or the records are more than RCV_HISTORY_MAX. */
int rcv_break_glass_log(json_t *server, const rcv_ctx *cx, const char *env);
/* Scenario ids whose catalog paths match the facts' files (new array). */
json_t *rcv_scenarios(const bpg_policy *policy, const json_t *facts);

/* Append entry (compact, sorted keys) to the audit log; 0 when none is configured. */
int rcv_audit_append(const rcv_config *cfg, const json_t *entry, bpg_error *err);
/* Spool the release records of an accepted push for post-receive: one file per
 * update, named by the ref (hashed), the old and the new id, created
 * exclusively. An existing file is an error (never overwritten), unless it is
 * older than RCV_SPOOL_STALE_SECONDS: the leftover of an accepted update that
 * git did not apply, replaced with a warning. On any error the files of this
 * call are removed. */
#define RCV_SPOOL_STALE_SECONDS 600
int rcv_spool(const rcv_config *cfg, const json_t *records, bpg_error *err);
/* Remove the spooled files of records (the push was refused after rcv_spool). */
void rcv_spool_discard(const rcv_config *cfg, const json_t *records);
/* post-receive mode: records who pushed the new objects (pusher: the authenticated
 * principal, NULL when unknown: nothing is recorded for it), appends a `bpgate-applied`
 * audit entry listing the updates git applied (stdin), then writes their spooled release records. */
int rcv_post_receive(git_repository *repo, const rcv_config *cfg, const char *pusher, const char *now_s,
	const char *policy_ref, bpg_error *err);

/* provenance.c. Post-receive: append to $GIT_DIR/bpgate/provenance the commits
 * newly reachable from the updated refs and the blobs they introduced, with
 * the pusher, for every such object the record does not name yet. */
int rcv_provenance_record(git_repository *repo, const char *principal, const rcv_updates *ups, bpg_error *err);
/* Pre-receive: extra.server.provenance of a ref update: {"content": [{path, blob,
 * pushed_by}], "commits": [{commit, pushed_by}]} (pushed_by null when no record
 * names the object; objects in this push's quarantine are the pusher's), or
 * {"error": why} when it cannot be told. commits: the facts' commits (borrowed). */
int rcv_provenance_facts(json_t *server, git_repository *repo, const rcv_update *u, const json_t *commits,
	const char *pusher, bpg_error *err);

/* Write s to f with control characters escaped (\xNN), bounded. */
void rcv_put_safe(FILE *f, const char *s);

#endif
