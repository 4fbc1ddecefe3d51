/*
 * bpgate — the policy engine: load and validate policy files, evaluate the
 * facts of a change, run policy tests.
 *
 *   gathering (git, files; not here) ──> facts (JSON, see bpgate-policy(5))
 *   bpg_policy_load(files)            ──> policy
 *   bpg_evaluate(policy, facts)       ──> decision (pure: no I/O, no clock)
 *   report.h                          ──> text / JSON / SARIF
 *
 * Policy files are read from a directory (bpg_policy_files_read_dir) or
 * handed over in memory (bpg_policy_files_add): the server reads them from a
 * git tree, never from the filesystem. Names are relative to the policy
 * root (the `.bpgate/` folder): "policy.json", "contracts/<x>.json",
 * "tests/<x>.json", "allowed_signers".
 *
 * Ownership: every object returned through an `out` pointer is the caller's
 * and freed with its *_free() (NULL accepted). Getters return borrowed
 * pointers valid while the object they came from lives. A bpg_policy is
 * immutable after loading and may be shared by concurrent evaluations.
 */
#ifndef INCLUDE_bpgate_policy_h__
#define INCLUDE_bpgate_policy_h__

#include "common.h"
#include "buf.h"
#include "budget.h"
#include <stdbool.h>
#include <jansson.h>

BPG_BEGIN_DECL

/** Size ceiling of one policy file and of a facts document. */
#define BPG_POLICY_FILE_MAX ((size_t)4 << 20)
#define BPG_POLICY_MAX_FILES 4096
#define BPG_FACTS_MAX ((size_t)256 << 20)

typedef struct bpg_policy bpg_policy;
typedef struct bpg_policy_files bpg_policy_files;
typedef struct bpg_diags bpg_diags;
typedef struct bpg_decision bpg_decision;

/* ---- the files of a policy --------------------------------------------- */

/** An empty list. `display_root` prefixes file names in messages ("" or e.g. ".bpgate"). */
BPG_EXTERN(int) bpg_policy_files_new(bpg_policy_files **out, const char *display_root, bpg_error *err);
/** Add a copy of one file; `path` relative to the policy root. Duplicates are refused. */
BPG_EXTERN(int) bpg_policy_files_add(bpg_policy_files *files, const char *path,
	const void *data, size_t len, bpg_error *err);
/**
 * Read policy.json, allowed_signers, contracts/ *.json and tests/ *.json of a
 * directory. `dir` is either the policy root itself (it holds policy.json)
 * or a repository whose `.bpgate/` is the root. BPG_ENOTFOUND when neither.
 */
BPG_EXTERN(int) bpg_policy_files_read_dir(bpg_policy_files **out, const char *dir, bpg_error *err);
/**
 * bpg_policy_files_read_dir for the client hooks (bpg_policy_load_cached):
 * the tests/ files are read and hashed but listed without their bytes, so
 * that a hook does not keep ~100 test files in memory to learn that they
 * have not changed. Any load of such a list that needs the tests reads the
 * folder again (files->root) first; errors and limits are read_dir's.
 */
BPG_EXTERN(int) bpg_policy_files_read_dir_hooks(bpg_policy_files **out, const char *dir, bpg_error *err);
BPG_EXTERN(void) bpg_policy_files_free(bpg_policy_files *files);

/* ---- loading and validation -------------------------------------------- */

/** One validation problem, located in its file. */
typedef struct {
	const char *file;    /**< display name, e.g. ".bpgate/policy.json" */
	unsigned line, column; /**< 1-based; 0 when unknown (e.g. a missing file) */
	const char *pointer; /**< JSON pointer of the offending value or key, "" for the file */
	const char *rule;    /**< the rule concerned, or NULL */
	const char *message; /**< what was found and what was expected */
} bpg_diag;

/**
 * Load and validate. Every problem is collected (unknown keys, wrong types,
 * unknown rules and parameters, dangling references between files, invalid
 * policy tests); on any problem returns BPG_EINVALID, *out stays NULL, err
 * holds the first problem formatted as "file:line:column: message (rule X)"
 * and, when `diags` is not NULL, *diags receives all of them (the caller
 * frees it; it is also set on success, empty).
 */
BPG_EXTERN(int) bpg_policy_load(bpg_policy **out, bpg_diags **diags,
	const bpg_policy_files *files, bpg_error *err) BPG_WARN_UNUSED;
BPG_EXTERN(void) bpg_policy_free(bpg_policy *policy);

BPG_EXTERN(size_t) bpg_diags_count(const bpg_diags *diags);
BPG_EXTERN(const bpg_diag *) bpg_diags_get(const bpg_diags *diags, size_t i);
/** Append "file:line:column: message (rule X)" (no newline). */
BPG_EXTERN(int) bpg_diag_format(bpg_buf *out, const bpg_diag *diag);
BPG_EXTERN(void) bpg_diags_free(bpg_diags *diags);

/**
 * bpg_policy_load for the client hooks, which never run policy tests but must
 * refuse, as bpg_policy_load does, while a test file is invalid. `cache` names
 * a small file (the hooks use `<git dir>/bpgate-policy-tests.ok`) holding the
 * BLAKE2b digest of the tests/ files (paths and bytes) that last loaded
 * cleanly, and of this library's build. When the tests/ files are those, they
 * are not parsed and validated again (they were half of a hook's time);
 * otherwise this is bpg_policy_load (reading the folder again when `files`
 * came from bpg_policy_files_read_dir_hooks) and, on success, `cache` is rewritten
 * (atomically; a failure to write is ignored: it is only a cache). Results,
 * diagnostics and errors are bpg_policy_load's; only the policy's tests may
 * be missing (bpg_policy_test_count 0). cache NULL: bpg_policy_load.
 */
BPG_EXTERN(int) bpg_policy_load_cached(bpg_policy **out, bpg_diags **diags,
	const bpg_policy_files *files, const char *cache, bpg_error *err) BPG_WARN_UNUSED;

/**
 * For hooks: read a directory (as bpg_policy_files_read_dir) and load it.
 * On any failure the message says where the first problem is and how to see
 * them all ("run 'bpgate policy check DIR'"): callers fail closed with it.
 */
BPG_EXTERN(int) bpg_policy_load_dir(bpg_policy **out, const char *dir, bpg_error *err) BPG_WARN_UNUSED;

/** The validated policy.json (borrowed), for front ends that need e.g. environments. */
BPG_EXTERN(const json_t *) bpg_policy_json(const bpg_policy *policy);

/** Does a policy value (a string, or an array of strings) name s? Borrowed arguments. */
BPG_EXTERN(bool) bpg_strings_has(const json_t *arr, const char *s);

/**
 * The scenario catalog of a policy.json (its "catalog" array): the first
 * entry whose "paths" globs match a repository path (the rule the gate, the
 * evidence and the front ends all share), or the entry with a scenario id.
 * NULL when there is none or an argument is NULL; the entry is borrowed from
 * policy_json.
 */
BPG_EXTERN(const json_t *) bpg_catalog_match(const json_t *policy_json, const char *path);
BPG_EXTERN(const json_t *) bpg_catalog_find(const json_t *policy_json, const char *id);

/* ---- approvers ---------------------------------------------------------- */

/**
 * May `principal` record one more approval for `environment`, holding
 * `existing` approvals of the same tree there already? The one answer the
 * gate (rule server-refs), `bpgate approve --check-only` and bpgated's
 * `approve` share. The principal needs a role whose approvals count for the
 * environment: reviewers / cab where the `approvals` rule requires them (any
 * risk tier), admins on a protected environment where `policy-change` asks
 * for admin approvals, any of the three where `break-glass-overdue` asks for
 * retroactive approvals. And `existing` must stay below the `server-refs`
 * parameter max_approvals_per_tree (default 3). 0 when admitted;
 * BPG_EINVALID (no approving role) or BPG_ETOOBIG (the bound) with the
 * reason in err.
 */
BPG_EXTERN(int) bpg_policy_approval_admit(const bpg_policy *policy, const char *environment,
	const char *principal, size_t existing, bpg_error *err);

/* ---- rules -------------------------------------------------------------- */

typedef enum { BPG_SEV_ERROR = 0, BPG_SEV_WARNING, BPG_SEV_INFO } bpg_severity;
typedef enum { BPG_MODE_ENFORCE = 0, BPG_MODE_WARN, BPG_MODE_OFF } bpg_mode;

BPG_EXTERN(const char *) bpg_severity_name(bpg_severity s);
BPG_EXTERN(const char *) bpg_mode_name(bpg_mode m);

typedef struct {
	const char *id;
	const char *description;
	bpg_mode default_mode;
} bpg_rule_info;

/** The rule registry, in evaluation order (static, borrowed). */
BPG_EXTERN(size_t) bpg_rule_count(void);
BPG_EXTERN(const bpg_rule_info *) bpg_rule_get(size_t i);
/** The mode a policy gives rule i. */
BPG_EXTERN(bpg_mode) bpg_policy_rule_mode(const bpg_policy *policy, size_t i);

/**
 * Which roles' approvals count for `environment`, as the rules that count
 * approvals see it: `approvals` (the roles its `required` parameter asks
 * for there, in any risk tier) and `policy-change` (admins, when the
 * environment is protected). Rules whose mode is off count nothing.
 * Returns true when `principal` holds one of them. Otherwise false, and
 * `why` (may be NULL) gets a sentence for the principal: which roles would
 * do, or that the environment is unknown / counts no approvals.
 */
BPG_EXTERN(bool) bpg_policy_may_approve(const bpg_policy *policy, const char *environment,
	const char *principal, bpg_buf *why);

/* ---- evaluation --------------------------------------------------------- */

typedef struct {
	const char *rule;      /**< rule id */
	bpg_severity severity;
	bpg_mode mode;         /**< the rule's mode in this policy */
	bool blocking;         /**< severity error and mode enforce */
	const char *file;      /**< path in the repository, or NULL */
	const char *pointer;   /**< JSON pointer in that file, or NULL */
	const char *commit;    /**< commit id, or NULL */
	const char *ref;       /**< ref name, or NULL */
	unsigned line, column; /**< 0 when unknown */
	const char *message;   /**< never contains raw control bytes nor an unmasked secret */
	const char *fix;       /**< how to fix it */
} bpg_finding;

/** BPG_RULE_SERVER_ONLY: a rule that judges pushes on the server (context
 * pre-receive) in a decision made elsewhere (CI, client hooks): it was not
 * evaluated, which is not a pass. */
typedef enum { BPG_RULE_PASS = 0, BPG_RULE_FAIL, BPG_RULE_WARN, BPG_RULE_NOTE, BPG_RULE_OFF,
	BPG_RULE_SERVER_ONLY } bpg_rule_outcome;

/** Does rule i judge only on the server (a push in context pre-receive)? */
BPG_EXTERN(bool) bpg_rule_server_only(size_t i);

/**
 * Evaluate the facts of a change under a policy. Pure: reads nothing but its
 * arguments, not even the clock (the facts carry "time"). Findings come out
 * in a deterministic order (file, rule, JSON pointer, commit, ref, message).
 * Facts that do not have the documented shape are refused with BPG_EINVALID
 * and a message naming the JSON pointer: callers must fail closed.
 */
BPG_EXTERN(int) bpg_evaluate(bpg_decision **out, const bpg_policy *policy,
	const json_t *facts, bpg_error *err) BPG_WARN_UNUSED;
/**
 * bpg_evaluate under the budget of the judgement (budget.h; NULL: none),
 * checked before each rule and every BPG_BUDGET_EVERY findings: the only
 * clock read, and it never changes a decision, it only refuses to make one
 * (BPG_ETOOBIG naming the limit).
 *
 * Both refuse with BPG_ETOOBIG ("too many findings to judge") when the rules
 * find more than BPG_FINDINGS_MAX findings: no finding is ever dropped, so a
 * blocking one cannot hide behind a flood of warnings. Callers refuse.
 */
BPG_EXTERN(int) bpg_evaluate_budget(bpg_decision **out, const bpg_policy *policy,
	const json_t *facts, const struct bpg_budget *budget, bpg_error *err) BPG_WARN_UNUSED;
/** Findings per decision; one more refuses the decision as a whole. */
#define BPG_FINDINGS_MAX 100000
/**
 * Checking a large facts document's shape, started ahead. While the caller
 * gathers further facts, a thread of its own checks the members that are
 * complete by then ("commits" and "files", when there are at least 256 of
 * them together; fewer are checked in place, later). bpg_evaluate_prechecked
 * then checks the rest and judges: the decision, and the error for facts of
 * the wrong shape, are exactly those of bpg_evaluate_budget.
 *
 * Between the two calls the caller must not change "commits" or "files", nor
 * anything in them: the thread reads them. It may add, change or replace any
 * other member; a member replaced as a whole, or whose number of entries
 * changed, is checked again, in place (the precheck holds a reference on the
 * value it checks), as is everything when the thread ran out of memory. Both
 * calls run on the caller's thread. *out is the caller's, freed with bpg_facts_precheck_free
 * (which waits for the thread); BPG_ENOMEM is the only error.
 */
typedef struct bpg_facts_precheck bpg_facts_precheck;
BPG_EXTERN(int) bpg_facts_precheck_start(bpg_facts_precheck **out, const json_t *facts,
	bpg_error *err) BPG_MUST_CHECK;
/** bpg_evaluate_budget, taking what pc checked ahead (pc NULL: checks it all). */
BPG_EXTERN(int) bpg_evaluate_prechecked(bpg_decision **out, const bpg_policy *policy, const json_t *facts,
	const struct bpg_budget *budget, bpg_facts_precheck *pc, bpg_error *err) BPG_WARN_UNUSED;
BPG_EXTERN(void) bpg_facts_precheck_free(bpg_facts_precheck *pc);
/** Check the shape of a facts document (done by bpg_evaluate too). */
BPG_EXTERN(int) bpg_facts_validate(const json_t *facts, bpg_error *err) BPG_MUST_CHECK;
BPG_EXTERN(void) bpg_decision_free(bpg_decision *decision);

/** Refused when any finding is blocking. */
BPG_EXTERN(bool) bpg_decision_refused(const bpg_decision *d);
BPG_EXTERN(size_t) bpg_decision_count(const bpg_decision *d, bpg_severity severity);
BPG_EXTERN(size_t) bpg_decision_finding_count(const bpg_decision *d);
BPG_EXTERN(const bpg_finding *) bpg_decision_finding(const bpg_decision *d, size_t i);
/** Outcome of registry rule i (see bpg_rule_get) and how many findings it made. */
BPG_EXTERN(bpg_rule_outcome) bpg_decision_rule_outcome(const bpg_decision *d, size_t i, size_t *nfindings);
BPG_EXTERN(const char *) bpg_rule_outcome_name(bpg_rule_outcome o);

/* ---- policy tests ------------------------------------------------------- */

BPG_EXTERN(size_t) bpg_policy_test_count(const bpg_policy *policy);
/** "tests/<file>.json: <name>" (borrowed). */
BPG_EXTERN(const char *) bpg_policy_test_name(const bpg_policy *policy, size_t i);
/**
 * Run policy test i: evaluate its facts and compare with its expectations.
 * *passed tells the outcome; on a failure `why` (may be NULL) receives one
 * line per mismatch. Returns < 0 only when the test could not run.
 */
BPG_EXTERN(int) bpg_policy_test_run(bool *passed, bpg_buf *why, const bpg_policy *policy,
	size_t i, bpg_error *err);

BPG_END_DECL

#endif
