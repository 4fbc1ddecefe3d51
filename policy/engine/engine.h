/*
 * Internal header of the policy engine (not installed).
 *
 * - schema: a tiny declarative validator shared by policy files, contracts,
 *   policy tests, rule parameters and facts; every problem becomes a located
 *   diagnostic (file:line:column via bpgate/jsonloc.h).
 * - the policy object: validated JSON kept as jansson values (read-only).
 * - the evaluation context handed to rules, and the rule registry.
 *
 * Adding a rule = one file policy/engine/rule_<x>.c defining
 * `const bpg_rule_def bpg_rule_<x>` + one row in registry.c.
 */
#ifndef BPG_ENGINE_INTERNAL_H
#define BPG_ENGINE_INTERNAL_H

#include "bpgate/policy.h"
#include "bpgate/query.h"
#include "bpgate/testhook.h"
#include "bpgate/buf.h"
#include "bpgate/util.h"

#include <stdbool.h>
#include <jansson.h>

/* ---- schema ------------------------------------------------------------- */

typedef enum {
	SK_ANY = 0,   /* anything */
	SK_OBJECT_ANY,/* any object */
	SK_STRING,
	SK_NONEMPTY,  /* non-empty string */
	SK_NULLSTR,   /* string or null */
	SK_BOOL,
	SK_INT,
	SK_NUMBER,
	SK_SCALAR,    /* string, number, boolean or null */
	SK_ENUM,      /* string among choices */
	SK_TIME,      /* RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.frac]Z */
	SK_DATE,      /* YYYY-MM-DD */
	SK_STRINGS,   /* array of non-empty strings */
	SK_STR_OR_STRINGS,
	SK_ARRAY,     /* array of items */
	SK_OBJECT,    /* object with known fields; unknown keys are errors */
	SK_MAP,       /* object with free keys, values of `items` */
} bpg_skind;

typedef struct bpg_schema bpg_schema;

typedef struct {
	const char *name;
	const bpg_schema *schema;
	bool required;
	const char *def;  /* default as JSON text (rule parameters), or NULL */
} bpg_sfield;

struct bpg_schema {
	bpg_skind kind;
	const bpg_sfield *fields;     /* SK_OBJECT: NULL-name terminated */
	const bpg_schema *items;      /* SK_ARRAY / SK_MAP */
	const char *const *choices;   /* SK_ENUM: NULL terminated */
};

extern const bpg_schema bpg_s_any, bpg_s_object_any, bpg_s_string, bpg_s_nonempty,
	bpg_s_nullstr, bpg_s_bool, bpg_s_int, bpg_s_number, bpg_s_scalar, bpg_s_time,
	bpg_s_date, bpg_s_strings, bpg_s_str_or_strings, bpg_s_map_strings;

/* Diagnostics list (bpg_diags) with owned strings. */
int bpg_diags_new(bpg_diags **out);
int bpg_diags_add(bpg_diags *d, const char *file, const char *text, size_t len,
	const char *pointer, bool at_key, const char *rule, const char *fmt, ...) BPG_PRINTF(8, 9);

/* Copy every diagnostic of from to the end of d (up to d's limit). < 0 only on OOM. */
int bpg_diags_append(bpg_diags *d, const bpg_diags *from);
/* Order by file, line, column, message (deterministic output). */
void bpg_diags_sort(bpg_diags *d);
int bpg_diags_add_at(bpg_diags *d, const char *file, unsigned line, unsigned column,
	const char *rule, const char *fmt, ...) BPG_PRINTF(6, 7);

/* A member of an object checked ahead (on another thread): what checking it found. */
typedef struct {
	const char *pointer;     /* where it was checked, e.g. "/commits" */
	const json_t *value;     /* the very value checked */
	const bpg_diags *diags;  /* its findings, in the order checking it in place would give */
} bpg_prechecked;

typedef struct {
	bpg_diags *diags;
	const char *file;  /* display name */
	const char *text;  /* the file's bytes, for positions (may be NULL) */
	size_t len;
	const char *rule;  /* rule being validated, or NULL */
	/* members checked ahead: an object member that is the same value at the same
	 * pointer takes their findings instead of being checked again (NULL: none) */
	const bpg_prechecked *pre;
	size_t npre;
} bpg_vctx;

/* Check a facts document; members in pre (checked ahead) are not checked again.
 * As bpg_facts_validate: BPG_EINVALID naming the first problem. */
int bpg_facts_check(const json_t *facts, const bpg_prechecked *pre, size_t npre, bpg_error *err);
/* bpg_evaluate_budget, with the members in pre checked ahead (bpg_facts_check). */
int bpg_evaluate_checked(bpg_decision **out, const bpg_policy *policy, const json_t *facts,
	const bpg_budget *budget, const bpg_prechecked *pre, size_t npre, bpg_error *err);
/* The schema of a top-level facts member ("commits", ...), or NULL. */
const bpg_schema *bpg_facts_member_schema(const char *name);

/* Validate v against s at pointer ptr (restored on return). < 0 only on OOM. */
int bpg_schema_check(bpg_vctx *vc, const json_t *v, const bpg_schema *s, bpg_buf *ptr) BPG_MUST_CHECK;
const char *bpg_json_type_name(const json_t *v);
bool bpg_time_valid(const char *s);

/* ---- the policy --------------------------------------------------------- */

typedef struct {
	char *file;     /* display name */
	char *name;     /* "tests/x.json: <name>" */
	json_t *json;   /* the whole test file */
} bpg_ptest;

typedef struct {
	bpg_mode mode;
	json_t *params; /* defaults merged with the policy's values */
} bpg_rule_cfg;

struct bpg_policy {
	json_t *root;        /* policy.json */
	json_t *contracts;   /* array of contract objects, sorted by id */
	bpg_ptest *tests;
	size_t ntests;
	bpg_rule_cfg *rules; /* one per registry entry */
	struct bpg_query_index *qx; /* query.c: answers built once at load (roles, scan globs) */
	json_t *envmaps;     /* environments/<env>.json: env -> "references" (all six kinds present) */
	struct bpg_make_index *mx; /* query_make.c: environments, reach, catalog, foreign ids */
};

/* Build / free p->qx (query.c); called by bpg_policy_load once the policy is valid. */
int bpg_query_index_build(bpg_policy *p);
void bpg_query_index_free(struct bpg_query_index *qx);

/* The Make link (load_make.c, query_make.c). */
extern const bpg_schema bpg_s_env_make, bpg_s_scenario_make;
/* "account", "hook", "keychain", "datastore", "udt", "device", NULL */
extern const char *const bpg_refmap_kinds[];
/* Checks of environments.<env>.make and the catalog's "blueprint"/"make" beyond their shape. */
int bpg_check_make(bpg_vctx *vc, const json_t *root);
/* Is path a reference map (environments/<x>.json, one level)? */
bool bpg_is_refmap_path(const char *path);
/* Parse and check every environments/<env>.json into p->envmaps (needs p->root; < 0 only on OOM). */
int bpg_load_refmaps(bpg_policy *p, bpg_diags *diags, const bpg_policy_files *files);
int bpg_make_index_build(bpg_policy *p);
void bpg_make_index_free(struct bpg_make_index *mx);
/* The map kind of a blueprint reference kind (connection -> account, webhook -> hook,
 * keychain, datastore, datastructure -> udt, device), or NULL (scenario, ...). */
const char *bpg_refmap_kind(const char *ref_kind);
/* Does any environment have a reference map? */
bool bpg_pol_has_refmaps(const bpg_policy *p);
/* Is id, of map kind mkind, some environment's target id for another id in git (and not
 * mapped to itself there)? *env and *git_id (borrowed) say whose and for which id. */
bool bpg_pol_refmap_foreign(const char **env, const char **git_id, const bpg_policy *p, const char *mkind,
	const char *id);
/* A map value as text (an integer in decimal); buf of at least 24 bytes. NULL when v is neither. */
const char *bpg_refmap_value(char *buf, size_t size, const json_t *v);

/* Queries used by rules (pure). Borrowed results. */
const json_t *bpg_pol_catalog_for(const bpg_policy *p, const char *path);
bool bpg_pol_path_is(const bpg_policy *p, const char *kind, const char *path);
const char *bpg_pol_env_for_path(const bpg_policy *p, const char *path);
bool bpg_pol_has_role(const bpg_policy *p, const char *role, const char *principal);
bool bpg_pol_is_high_risk(const bpg_policy *p, const char *tier);
/* The roles whose approvals count for env (approvers.c): "reviewers", "cab",
 * "admins" in that order, as the approvals, policy-change and
 * break-glass-overdue rules ask for them. Returns how many (0..3). */
size_t bpg_pol_approving_roles(const bpg_policy *p, const char *env, const char *roles[3]);
/* server-refs' max_approvals_per_tree. */
long long bpg_pol_max_approvals_per_tree(const bpg_policy *p);
/* A documented, unexpired exception of a catalog entry for rule (and module id, 0 = any). */
const json_t *bpg_pol_exception(const bpg_policy *p, const json_t *entry, const char *rule,
	long long module_id, const char *now);

/* ---- evaluation context -------------------------------------------------- */

typedef struct bpg_eval bpg_eval;

typedef struct {
	const char *file;
	const char *pointer;
	const char *commit;
	const char *ref;
	unsigned line, column;
} bpg_where;

const bpg_policy *bpg_ev_policy(const bpg_eval *ev);
const json_t *bpg_ev_facts(const bpg_eval *ev);
/* A parameter of the running rule (defaults applied); borrowed. */
const json_t *bpg_ev_param(const bpg_eval *ev, const char *name);
const char *bpg_ev_param_str(const bpg_eval *ev, const char *name);
bool bpg_ev_param_bool(const bpg_eval *ev, const char *name);
/* facts.time, "" when absent */
const char *bpg_ev_now(const bpg_eval *ev);
/* Record a finding of the running rule. fix may be NULL. Values from the
 * facts may be passed through %s: the message is escaped. */
int bpg_ev_emit(bpg_eval *ev, bpg_severity sev, const bpg_where *w, const char *fix,
	const char *fmt, ...) BPG_PRINTF(5, 6);

/* Count n steps of work of the running rule (module comparisons, ...): tests
 * read the total with bpg_decision_steps() to check a rule's cost without a
 * clock. */
void bpg_ev_count(bpg_eval *ev, size_t n);
size_t bpg_decision_steps(const bpg_decision *d);

/* Facts helpers. */
const char *bpg_jstr(const json_t *obj, const char *key); /* string member or NULL */
bool bpg_jbool(const json_t *obj, const char *key);
/* Is this changed file (facts.files[i]) a blueprint in the change, not deleted? */
bool bpg_file_is_blueprint(const bpg_policy *p, const json_t *file);

/* ---- rule registry ------------------------------------------------------ */

typedef struct {
	bpg_rule_info info;        /* id, description, default mode */
	const bpg_sfield *params;  /* NULL-name terminated; "mode" is implicit */
	int (*eval)(bpg_eval *ev);
	/* optional cross-check of parameters against the policy: add diags, return < 0 on OOM */
	int (*check)(const json_t *params, const json_t *policy_root, bpg_vctx *vc, bpg_buf *ptr);
} bpg_rule_def;

extern const bpg_rule_def *const bpg_rule_table[];
extern const size_t bpg_rule_table_len;
/* Registry index of a rule id, or -1. */
int bpg_rule_index(const char *id);

/* Loading helpers shared by load.c and ptest.c. */
extern const bpg_schema bpg_s_facts;
int bpg_ptest_validate(bpg_vctx *vc, const json_t *test);
/* bpg_policy_load; skip_tests: tests/ *.json are neither parsed nor validated
 * (bpg_policy_load_cached, when they are known to be valid). */
int bpg_policy_load_ex(bpg_policy **out, bpg_diags **diags, const bpg_policy_files *files,
	bool skip_tests, bpg_error *err);

#endif
