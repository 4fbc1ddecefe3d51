/*
 * bpgated — internal interfaces of the SSH git daemon.
 *
 * Process model (see docs/readme/daemon.md): one parent that only accepts,
 * counts and reaps, and one forked child per connection that runs the whole
 * SSH session (key exchange, public-key auth, one session channel, one
 * command) and exits. The child asks the parent, over a socketpair, whether
 * its principal is still under the per-principal limit, and to sign one
 * approval for that principal (monitor.c has the request table).
 *
 * Ownership: every struct here is owned by whoever declared it (usually on
 * the stack or in the per-connection context) and released with its
 * *_release() function; pointers returned by lookups are borrowed from the
 * structure they came from.
 */
#ifndef SERVER_bpgated_h__
#define SERVER_bpgated_h__

#include "bpgate/common.h"
#include "bpgate/buf.h"
#include "bpgate/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- configuration (config.c) ------------------------------------------ */

typedef struct {
	char *path;               /**< the config file it came from */
	char *listen_address;     /**< default 127.0.0.1 */
	int port;                 /**< default 2222 */
	char *repo_root;          /**< required; absolute */
	char *state_dir;          /**< default /var/lib/bpgated */
	char *host_key;           /**< default <state_dir>/ssh_host_ed25519_key */
	char *approval_key;       /**< default <state_dir>/approval_ed25519_key: signs `approve`, held by the monitor only */
	char *session_user;       /**< optional: sessions drop to this user when the daemon runs as root */
	char *hooks_dir;          /**< default <state_dir>/hooks (core.hooksPath) */
	char *keys_file;          /**< required: principals and their keys */
	char *server_signing_key; /**< optional: handed to the gate (audit/approvals) */
	char *audit_log;          /**< optional: handed to the gate */
	char *pre_receive_hook;   /**< default: bpgate-receive next to bpgated */
	char *bpgate;             /**< the bpgate command: default next to bpgated (or ../hooks/ in a build tree) */
	char *git;                /**< default /usr/bin/git */
	char *child_path;         /**< PATH for git and hooks */
	char *child_home;         /**< HOME for git and hooks; default state_dir */
	bool post_receive;        /**< default true: run the gate again as post-receive (release records,
	                               provenance, bpgate-applied, auto-deploy); false only for a gate that
	                               has no post-receive mode */
	bool debug;               /**< log_level "debug" */
	struct {
		int max_connections;     /**< total, default 64 */
		int max_per_principal;   /**< default 8 */
		int auth_timeout;        /**< seconds, default 30 */
		int idle_timeout;        /**< seconds, default 600 */
		int max_command_length;  /**< bytes, default 1024 */
		int shutdown_grace;      /**< seconds SIGTERM waits for sessions, default 300 */
		/* unauthenticated connections (from accept until the child claims a principal):
		 * max_startups "start:rate:full", default "10:30:60", and per source address */
		int startups_begin, startups_rate, startups_full;
		int per_source_max_startups; /**< default 8 */
	} limits;
} bpgd_config;

/**
 * Load and validate the JSON config at path. `self_dir` (the directory of
 * the bpgated binary) gives the default pre_receive_hook. Errors carry
 * "file:line:column" for syntax and "file: <json pointer>: ..." for
 * meaning. On failure *cfg is released.
 */
int bpgd_config_load(bpgd_config *cfg, const char *path, const char *self_dir, bpg_error *err);
void bpgd_config_release(bpgd_config *cfg);
/** What --check-config adds to loading: the root, git and the gate exist. */
int bpgd_config_check_files(const bpgd_config *cfg, bpg_error *err) BPG_MUST_CHECK;

/* ---- unauthenticated connections (startups.c) ---------------------------- */

struct sockaddr_storage;

typedef enum {
	BPGD_STARTUP_ACCEPT = 0,
	BPGD_STARTUP_PER_SOURCE, /**< per_source_max_startups reached for its source */
	BPGD_STARTUP_FULL,       /**< max_startups' full reached */
	BPGD_STARTUP_EARLY_DROP, /**< between start and full: dropped at random */
} bpgd_startup_verdict;

/** Parse max_startups "start:rate:full" (1 <= start <= full <= 10000, rate 0..100). */
int bpgd_max_startups_parse(int out[3], const char *s, bpg_error *err);
/**
 * Admit a new connection? `unauth`: unauthenticated connections now;
 * `from_source`: those of them from the new one's source; `rnd`: uniform
 * in 0..99 (the caller draws it). Between start and full a connection is
 * dropped with probability rate% rising linearly to 100% at full, as sshd.
 */
bpgd_startup_verdict bpgd_startup_admit(const bpgd_config *cfg, size_t unauth, size_t from_source, unsigned rnd);
const char *bpgd_startup_verdict_name(bpgd_startup_verdict v);

/** A connection's source: the IPv4 address, or the /64 of an IPv6 one. */
typedef struct {
	unsigned char b[9];
} bpgd_source;
void bpgd_source_key(bpgd_source *out, const struct sockaddr_storage *ss);
bool bpgd_source_same(const bpgd_source *a, const bpgd_source *b);

/* ---- principals and keys (keys.c) --------------------------------------- */

typedef struct {
	char *principal;   /**< [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
	char *type;        /**< "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ... */
	char *blob_b64;    /**< the key blob, base64 as in authorized_keys */
	bool admin;        /**< option "admin" */
	size_t line;       /**< 1-based line in the file */
} bpgd_keyent;

typedef struct {
	bpgd_keyent *ents;
	size_t count;
} bpgd_keys;

#define BPGD_KEYS_MAX_FILE (1u << 20)
#define BPGD_KEYS_MAX_ENTRIES 4096

/** Parse a keys file's text; errors are "<name>:<line>: ...". */
int bpgd_keys_parse(bpgd_keys *out, const char *text, size_t len, const char *name, bpg_error *err);
int bpgd_keys_load(bpgd_keys *out, const char *path, bpg_error *err);
void bpgd_keys_release(bpgd_keys *keys);
/** Find the entry whose key is (type, blob_b64); borrowed, NULL when none. */
const bpgd_keyent *bpgd_keys_find(const bpgd_keys *keys, const char *blob_b64);
bool bpgd_principal_valid(const char *s);
bool bpgd_keytype_valid(const char *s);

/**
 * Edit the keys file under an exclusive lock (<path>.lock) and replace it
 * atomically. add: append a line for principal (BPG_EINVALID if the key is
 * already listed). remove: drop every line of principal (BPG_ENOTFOUND if
 * none). Comments and unrelated lines are kept byte for byte.
 */
int bpgd_keys_add(const char *path, const char *principal, bool admin, const char *type,
	const char *blob_b64, bpg_error *err);
int bpgd_keys_remove(const char *path, const char *principal, size_t *removed, bpg_error *err);

/* ---- commands (exec.c) --------------------------------------------------- */

typedef enum {
	BPGD_CMD_NONE = 0,
	BPGD_CMD_RECEIVE_PACK,
	BPGD_CMD_UPLOAD_PACK,
	BPGD_CMD_UPLOAD_ARCHIVE,
	BPGD_CMD_WHOAMI,
	BPGD_CMD_HELP,
	BPGD_CMD_REPO_CREATE,
	BPGD_CMD_USER_ADD,
	BPGD_CMD_USER_REMOVE,
	BPGD_CMD_USER_LIST,
	BPGD_CMD_APPROVE,
	BPGD_CMD_STATUS,
	BPGD_CMD_PENDING,
	BPGD_CMD_AUDIT_VERIFY,
	BPGD_CMD_DEPLOY,
	BPGD_CMD_DRIFT,
	BPGD_CMD_DISABLE,
	BPGD_CMD_ENABLE,
} bpgd_cmd_kind;

#define BPGD_CMD_MAX_ARGS 32 /* disable/enable carry a reason of several words */

typedef struct {
	bpgd_cmd_kind kind;
	char *repo;                      /**< normalised name ("team/app"), git and repo commands */
	char *args[BPGD_CMD_MAX_ARGS];   /**< remaining words of our own commands */
	size_t nargs;
} bpgd_cmd;

/**
 * Parse an exec request. Git verbs use git's sq_quote rules exactly
 * (`git-receive-pack 'x'`, `git receive-pack 'x'`); our commands are plain
 * words separated by single spaces. BPG_ETOOBIG past max_len, BPG_EINVALID
 * for anything malformed or unknown (message fit for the client).
 */
int bpgd_cmd_parse(bpgd_cmd *out, const char *line, size_t max_len, bpg_error *err);
void bpgd_cmd_release(bpgd_cmd *cmd);

/** git's sq_dequote: the whole of `in` must be one quoted word. */
int bpgd_sq_dequote(bpg_buf *out, const char *in, bpg_error *err);

/**
 * Normalise a client repository path into a name: drop one leading '/',
 * drop a trailing ".git"; then every '/'-separated component must match
 * [A-Za-z0-9][A-Za-z0-9._-]* (so no "..", no hidden names, no empty
 * components), at most 4 components and 200 bytes.
 */
int bpgd_repo_name(bpg_buf *out, const char *path, bpg_error *err);

/**
 * Resolve a repository name to its absolute directory <root>/<name>.git,
 * walking each component with O_NOFOLLOW (a symlink anywhere is refused)
 * and checking realpath stays under the root. BPG_ENOTFOUND when absent.
 */
int bpgd_repo_resolve(bpg_buf *out, const char *root, const char *name, bpg_error *err);

/** Is a client-sent GIT_PROTOCOL value well-formed (key[=value] words, ':'-separated)? */
bool bpgd_git_protocol_valid(const char *v);

/* ---- spawning git (spawn.c) ---------------------------------------------- */

typedef struct {
	pid_t pid;
	int in_fd;   /**< our end of the child's stdin (non-blocking) */
	int out_fd;  /**< our end of the child's stdout (non-blocking) */
	int err_fd;  /**< our end of the child's stderr (non-blocking) */
} bpgd_child;

typedef struct {
	const char *principal;
	const char *key_fp;
	const char *remote;
	const char *repo_name;
	const char *git_protocol;   /**< NULL unless the client sent a valid one */
} bpgd_child_ident;

/** Start `git -c core.hooksPath=<hooks_dir> <verb> <repo_dir>` with a clean environment. */
int bpgd_spawn_git(bpgd_child *out, const bpgd_config *cfg, bpgd_cmd_kind kind,
	const char *repo_dir, const bpgd_child_ident *id, bpg_error *err);
/** Run a program to completion with a clean env, output discarded to stderr log. */
int bpgd_run(const bpgd_config *cfg, char *const argv[], int *status, bpg_error *err);
/** Write <hooks_dir>/pre-receive and post-receive: scripts that exec the configured gate. */
int bpgd_hooks_install(const bpgd_config *cfg, bpg_error *err);

#define BPGD_CAPTURE_MAX ((size_t)1 << 20)
/**
 * Run a tool (argv[0] an absolute path) with the daemon's clean environment
 * plus GIT_DIR=git_dir and BPGATE_USER=principal, `input` on its stdin,
 * capturing at most BPGD_CAPTURE_MAX bytes of stdout and stderr.
 */
int bpgd_run_capture(const bpgd_config *cfg, char *const argv[], const char *git_dir,
	const char *principal, const char *input, bpg_buf *out, bpg_buf *errout, int *status, bpg_error *err);

/* ---- our own commands (commands.c) --------------------------------------- */

typedef struct {
	const bpgd_config *cfg;
	const char *principal;
	bool admin;
	const char *key_fp;
	int monitor_fd;   /**< the session's channel to the monitor (approvals are signed there); -1 none */
} bpgd_caller;

/** Run one of our commands: output to out/errout, returns the exit status. */
int bpgd_command_run(const bpgd_cmd *cmd, const bpgd_caller *who, bpg_buf *out, bpg_buf *errout);

/* ---- the session side of `approve` (approve.c) ---------------------------- */

/**
 * approve <repo> <rev> --for <env>: resolve rev, ask the engine whether the
 * caller's principal holds a role whose approvals count for env (policy of
 * the repository's HEAD, the policy branch), have the monitor sign the
 * statement, store it under refs/bpgate/approvals/. Returns the exit status.
 */
int bpgd_approve_run(const bpgd_caller *who, const char *repo, const char *rev, const char *env,
	bpg_buf *out, bpg_buf *errout);

/* ---- privilege separation (monitor.c) ------------------------------------- */

/**
 * The monitor's state: the approval signing key (guarded memory) and the
 * session user. Created in the parent before it listens; owned by it.
 * Request table (session -> monitor, one line each, over the socketpair):
 *   "C <principal>"                     claim a per-principal slot (main.c), once, at authentication
 *   "A <repo> <env> <tree> <commit>"    sign an approval statement for the claimed principal, once
 * Answers: 'Y'/'N' for C; "S <stmtlen> <siglen>\n<stmt><sig>" or "E <reason>\n" for A.
 */
typedef struct bpgd_monitor bpgd_monitor;
#define BPGD_MONITOR_REQ_MAX 512

/** Make the approval key if missing, load it, PR_SET_DUMPABLE 0, check session_user. */
int bpgd_monitor_new(bpgd_monitor **out, const bpgd_config *cfg, bpg_error *err);
void bpgd_monitor_free(bpgd_monitor *m);
/** In a freshly forked session: wipe the inherited key, drop to session_user. -1 on failure. */
int bpgd_monitor_session_setup(bpgd_monitor *m);
/**
 * Answer one "A ..." request (no LF) for `principal` (the slot's claimed
 * principal, NULL when none): the whole reply into `reply`. 0 signed, 1
 * refused (reply is "E ..."), < 0 out of memory.
 */
int bpgd_monitor_answer(const bpgd_monitor *m, const char *principal, const char *req, bpg_buf *reply);
/** Session side: ask the monitor to sign; stmt and sig get the statement and the armored SSHSIG. */
int bpgd_monitor_sign_approval(bpg_buf *stmt, bpg_buf *sig, int fd, const char *repo, const char *env,
	const char *tree, const char *commit, bpg_error *err);

/* ---- sessions (session.c) and the parent (main.c) ------------------------- */

typedef struct ssh_session_struct *bpgd_ssh_session;

/** Serve one accepted connection in a forked child; never returns. */
void bpgd_session_serve(const bpgd_config *cfg, bpgd_ssh_session session, int parent_fd,
	const char *remote) __attribute__((noreturn));

/** Child -> parent: may this principal take a slot? true when granted. */
bool bpgd_parent_claim(int parent_fd, const char *principal);

/* ---- logging (log.c) ----------------------------------------------------- */

void bpgd_log_init(const char *prog, bool debug);
void bpgd_log_set_conn(const char *conn_id);
/** One line on stderr: "<level> event=<event> key=value ...". */
void bpgd_log(int level, const char *event, const char *fmt, ...) BPG_PRINTF(3, 4);
/**
 * Escape untrusted text for a log line into dst (always NUL-terminated):
 * printable ASCII except '"' and '\\' kept, everything else as \\xNN, at most
 * dstlen-1 bytes with "..." when cut. Returns dst, for use inside bpgd_log().
 */
const char *bpgd_esc(char *dst, size_t dstlen, const char *s);

#define BPGD_LOG_ERR 3
#define BPGD_LOG_WARN 4
#define BPGD_LOG_INFO 6
#define BPGD_LOG_DEBUG 7

#endif
