/*
 * bpgate — questions front ends ask of a loaded policy, answered by the
 * engine with the rules' own definitions (defaults applied exactly as the
 * rules apply them: the rules call these same functions). A front end never
 * reads rule parameters, roles, tiers, trailer names or path globs out of
 * policy.json itself.
 *
 * Ownership: every pointer returned is borrowed from the policy and valid
 * while it lives; a bpg_policy stays immutable, so these calls may run
 * concurrently. No call allocates; none fails on a loaded policy.
 */
#ifndef INCLUDE_bpgate_query_h__
#define INCLUDE_bpgate_query_h__

#include "common.h"
#include "policy.h"
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

BPG_BEGIN_DECL

/* ---- environments ----------------------------------------------------------- */

/**
 * The environment whose branch is ref: a full ref name ("refs/heads/main") or
 * a short branch name ("main"); the policy may write its branch either way.
 * NULL when none (or ref is NULL).
 */
BPG_EXTERN(const char *) bpg_policy_env_for_ref(const bpg_policy *policy, const char *ref);
/** The branch of an environment as the policy writes it, or NULL. */
BPG_EXTERN(const char *) bpg_policy_env_branch(const bpg_policy *policy, const char *env);

/* ---- rules ---------------------------------------------------------------- */

/**
 * The mode a policy gives a rule and its parameters, every default merged
 * (an object; borrowed). A rule the policy does not name has its default
 * mode and default parameters. BPG_ENOTFOUND for an id that is not a rule.
 * mode and params may each be NULL.
 */
BPG_EXTERN(int) bpg_policy_rule_find(bpg_mode *mode, const json_t **params, const bpg_policy *policy,
	const char *rule);
/** Is the rule on (mode enforce or warn)? false for an unknown id. */
BPG_EXTERN(bool) bpg_policy_rule_on(const bpg_policy *policy, const char *rule);
/** One parameter of a rule, default applied; NULL when it has none or the id is unknown. */
BPG_EXTERN(const json_t *) bpg_policy_rule_param(const bpg_policy *policy, const char *rule, const char *name);

/* ---- roles ----------------------------------------------------------------- */

/** The principals of a role (policy order); *out NULL-terminated, count returned (0 for an unknown role). */
BPG_EXTERN(size_t) bpg_policy_role_principals(const char *const **out, const bpg_policy *policy, const char *role);
/** Does principal hold role? false when either is NULL. */
BPG_EXTERN(bool) bpg_policy_has_role(const bpg_policy *policy, const char *role, const char *principal);
/** Does principal hold any role of the policy that lets it push (every role but "observers", who only sign stage health records)? */
BPG_EXTERN(bool) bpg_policy_has_any_role(const bpg_policy *policy, const char *principal);
/** The role whose keys may sign release bundles (rule bundle-signed, signer_role). */
BPG_EXTERN(const char *) bpg_policy_bundle_signer_role(const bpg_policy *policy);

/* ---- risk ------------------------------------------------------------------ */

/** Position of a tier in policy.json risk_tiers (low to high), -1 when it is not one. */
BPG_EXTERN(int) bpg_policy_tier_rank(const bpg_policy *policy, const char *tier);
/** Is the tier high-risk (high_risk_tiers; default: the tier "high")? */
BPG_EXTERN(bool) bpg_policy_tier_is_high(const bpg_policy *policy, const char *tier);
/** The risk tier of the catalog entry whose paths match path (first match), or NULL. */
BPG_EXTERN(const char *) bpg_policy_path_tier(const bpg_policy *policy, const char *path);
/**
 * The higher of two tiers by risk_tiers order, as the server rules rank a
 * change: a tier that is not in risk_tiers only wins over NULL.
 */
BPG_EXTERN(const char *) bpg_policy_tier_max(const bpg_policy *policy, const char *a, const char *b);

/* ---- trailers (rule change-template) ---------------------------------------- */

/** The change-template trailers every blueprint commit carries (parameter trailers). */
BPG_EXTERN(size_t) bpg_policy_trailer_count(const bpg_policy *policy);
BPG_EXTERN(const char *) bpg_policy_trailer(const bpg_policy *policy, size_t i);
/** The trailer naming the risk tier (risk_trailer, default "Risk"). */
BPG_EXTERN(const char *) bpg_policy_risk_trailer(const bpg_policy *policy);
/** The trailer naming UAT evidence of high-risk changes (uat_trailer, default "UAT-Evidence"). */
BPG_EXTERN(const char *) bpg_policy_uat_trailer(const bpg_policy *policy);
/**
 * Whether the change-template rule finds anything in `commit` (a commit's facts,
 * bpgate-policy(5); its "trailers" are read) should it touch blueprints: a field
 * missing or empty, a risk that is not one of the policy's tiers, a high-risk
 * change without its UAT evidence. The rule's own checks. The rule reads a
 * commit's "paths" only to know whether it touched blueprints, and no other rule
 * reads them, so where this is false a gatherer may leave the paths out
 * (bpg_gather_opts.commit_paths_wanted). True when it cannot tell without
 * allocating (more than 64 trailers).
 */
BPG_EXTERN(bool) bpg_policy_template_incomplete(const bpg_policy *policy, const json_t *commit);

/**
 * Does any rule read a blueprint file's semantic "diff" (facts files[].diff)?
 * None does: the rules judge the models ("blueprint", "old_blueprint") themselves,
 * and the diff is there for people (reports, `bpgate check --format json`). The gate
 * asks, and leaves the diff out of its facts (bpg_gather_opts.no_blueprint_diff):
 * 6 % of its time on a 2,000-commit push. A rule that comes to read the diff makes
 * this true (tests/unit/test_diff_unread.c judges real changes with and without it).
 */
BPG_EXTERN(bool) bpg_policy_reads_blueprint_diff(const bpg_policy *policy);

/* ---- paths ------------------------------------------------------------------ */

/**
 * Does path belong to a kind of policy.json "paths" ("blueprints", "fixtures",
 * "uat", "bundles")? A kind the policy does not list has its defaults:
 * blueprints: any *.blueprint.json; fixtures: anything under a folder named
 * fixtures or testdata; uat: anything under a folder named uat; bundles: any
 * *.bundle.json (at any depth).
 */
BPG_EXTERN(bool) bpg_policy_path_is(const bpg_policy *policy, const char *kind, const char *path);
/**
 * The globs whose files the scanner reads: those of every kind the
 * scan-findings rule covers (its parameter paths), defaults applied per kind
 * as above. *out NULL-terminated, all of them (no limit), count returned.
 */
BPG_EXTERN(size_t) bpg_policy_scan_globs(const char *const **out, const bpg_policy *policy);

/* ---- break-glass-overdue ---------------------------------------------------- */

typedef struct {
	bool rule_on;        /**< break-glass-overdue is not off */
	bool limited;        /**< on, and the environment is one of its environments */
	bool pending;        /**< fewer distinct retroactive approvals than it asks for */
	bool overdue;        /**< limited, pending and older than max_days */
	bool blocking;       /**< overdue and the rule enforces: the server refuses promotions */
	long long max_days;  /**< the rule's max_days (default 3) */
	long long approvals; /**< the rule's approvals (default 1) */
	long long age_days;  /**< whole days since the record (0 when not yet a day, or time unknown) */
} bpg_break_glass_state;

/**
 * The verdict of break-glass-overdue on one break-glass record: environment,
 * its time and now (seconds since the epoch; has_time false when the record
 * has none), and the number of distinct retroactive approvers who are not
 * the one who broke the glass. The rule itself decides with this function.
 */
BPG_EXTERN(void) bpg_policy_break_glass_state(bpg_break_glass_state *out, const bpg_policy *policy,
	const char *env, bool has_time, long long record_time, long long now, size_t approvers);

/* ---- Make (environments.<env>.make, catalog "make", reference maps) ------------ */

/** An environment's link to Make (policy.json environments.<env>.make). Borrowed strings. */
typedef struct {
	const char *zone;     /**< host, e.g. "eu1.make.com" (NULL when only api_url is given) */
	const char *api_url;  /**< full base URL replacing https://<zone>/api/v2, or NULL */
	long long team_id;    /**< > 0 */
	long long folder_id;  /**< 0 when none */
	const char *deploy;   /**< "manual" (default) or "auto": post-receive deploys accepted updates */
} bpg_make_env;

/** Fill *out for env; false when the environment has no "make" block (or is unknown). */
BPG_EXTERN(bool) bpg_policy_env_make(bpg_make_env *out, const bpg_policy *policy, const char *env);
/** The environments in policy order: *out NULL-terminated, count returned. */
BPG_EXTERN(size_t) bpg_policy_envs(const char *const **out, const bpg_policy *policy);
/**
 * The environments a change landing on env can reach by promotion: env
 * itself, then every environment that promotes from it, transitively
 * (dev -> stage -> prod). *out NULL-terminated (borrowed, static per policy),
 * count returned; 0 for an unknown env.
 */
BPG_EXTERN(size_t) bpg_policy_env_reach(const char *const **out, const bpg_policy *policy, const char *env);
/**
 * The reference map of env (.bpgate/environments/<env>.json "references"):
 * {"account": {"<id in git>": <id in env>}, "hook", "keychain", "datastore",
 * "udt", "device"}; NULL when the environment has no map file.
 */
BPG_EXTERN(const json_t *) bpg_policy_env_refmap(const bpg_policy *policy, const char *env);

/** Catalog entries in policy order (borrowed objects), count returned. */
BPG_EXTERN(size_t) bpg_policy_catalog(const json_t *const **out, const bpg_policy *policy);
/** The catalog entry with this id, or NULL. */
BPG_EXTERN(const json_t *) bpg_policy_catalog_find(const bpg_policy *policy, const char *scenario);
/** The Make scenario id of a catalog entry in env (entry "make": {"<env>": id}), 0 when none. */
BPG_EXTERN(long long) bpg_policy_scenario_make_id(const json_t *entry, const char *env);
/**
 * May principal do action ("deploy", "disable": disable and enable) on env's
 * Make scenarios? The roles are environments.<env>.make.roles.<action>
 * (defaults: deploy: releasers; disable: emergency, releasers).
 */
BPG_EXTERN(bool) bpg_policy_env_make_may(const bpg_policy *policy, const char *env, const char *action,
	const char *principal);
/** The blueprint file of a catalog entry (entry "blueprint"), or NULL. */
BPG_EXTERN(const char *) bpg_policy_scenario_blueprint(const json_t *entry);

BPG_END_DECL

#endif
