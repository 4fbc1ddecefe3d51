/*
 * Shared helpers of the server rules (rules_server_*.c): the rules that
 * judge a push on the server (context "pre-receive") from the facts the
 * server gatherer (server/receive) adds under "extra.server". Documented in
 * docs/readme/server.md ("Server facts").
 *
 * Every server rule judges each ref of facts.refs[] that maps to an
 * environment. In any other context the server rules pass silently: the
 * client has none of these facts. In "pre-receive" a fact a rule needs but
 * cannot find is a blocking finding (fail closed), never a pass.
 *
 * All results are borrowed from the facts or the policy.
 */
#ifndef BPG_RULES_SERVER_H
#define BPG_RULES_SERVER_H

#include "engine.h"

/* The push option that declares break-glass, and its value format "INC-123: reason". */
#define SRV_BREAK_GLASS_OPT "bpgate.break-glass="

/* Is this evaluation the server's? */
bool srv_active(const bpg_eval *ev);
/* facts.extra.server.<key>, or NULL. */
const json_t *srv_fact(const bpg_eval *ev, const char *key);
/* Emit "missing fact" (fail closed) for the ref. */
int srv_missing(bpg_eval *ev, const json_t *ref, const char *key);

/* The ref updates a server rule judges, one at a time:
 *
 *     srv_ref r;
 *     for (size_t i = 0; srv_ref_next(ev, &i, SRV_REF_LISTED | SRV_REF_KEPT, &r);) ...
 *
 * Only refs of facts.refs[] that name an environment, and only in the
 * server's context; the flags narrow it down further. */
enum {
	SRV_REF_KNOWN = 1 << 0,   /* the environment is one of policy.json's */
	SRV_REF_LISTED = 1 << 1,  /* and the rule's "environments" parameter lists it */
	SRV_REF_KEPT = 1 << 2,    /* not a deletion */
	SRV_REF_JUDGED = 1 << 3,  /* not a valid break-glass push, not a rollback */
};
typedef struct {
	const json_t *ref;    /* facts.refs[i] */
	const char *name;     /* the ref name */
	const char *envname;  /* its environment */
	const json_t *env;    /* policy.json's environment object, or NULL */
	bpg_where where;      /* the ref and its new commit, for findings */
} srv_ref;
bool srv_ref_next(const bpg_eval *ev, size_t *i, unsigned flags, srv_ref *out);

/* The environment object of policy.json for a name, or NULL. */
const json_t *srv_env(const bpg_eval *ev, const char *name);
/* Is `env` listed in the rule's parameter `param` (array of names)? */
bool srv_env_listed(const bpg_eval *ev, const char *param, const char *env);

/* Valid break-glass for this push: the option is present once, well formed
 * and the pusher has the emergency role. *incident gets the text (borrowed). */
bool srv_break_glass(const bpg_eval *ev, const char **incident);
/* The raw option value when present (well formed or not; the first), else NULL. */
const char *srv_break_glass_option(const bpg_eval *ev);
/* How many break-glass options the push carries (more than one is refused). */
size_t srv_break_glass_count(const bpg_eval *ev);
/* Is "INC-123: reason" well formed (ticket id, colon, non-empty reason)? */
bool srv_incident_valid(const char *v);

/* Is this ref update a rollback: a fast-forward of an existing ref to a
 * tree the environment released before (extra.server.released_trees: the
 * server's verified records of judged releases), pushed by a releaser?
 * *commit (may be NULL) gets the released commit with that tree. */
bool srv_rollback(const bpg_eval *ev, const json_t *ref, const char **commit);

/* Did a principal author or commit any commit of the range? *which gets the commit. */
bool srv_authored(const bpg_eval *ev, const char *principal, const char **which);
/* Principal equality for separation of duties (case-insensitive: e-mail addresses). */
bool srv_same(const char *a, const char *b);

/* The highest risk tier of the change (catalog entries of the changed
 * blueprints, and Risk trailers), by the order of policy.json risk_tiers;
 * NULL when the change touches no catalogued scenario and declares none. */
const char *srv_change_tier(const bpg_eval *ev);

/* Scenario ids (catalog) the change touches, as a new JSON array. */
json_t *srv_changed_scenarios(const bpg_eval *ev);

/* Parse an RFC 3339 UTC time into seconds since the epoch; false when malformed. */
bool srv_time_parse(const char *s, long long *out);

/* Why an approval (facts.approvals[i]) does or does not count for a
 * target environment and tree at the facts' time. */
typedef enum {
	SRV_APPROVAL_OK = 0,
	SRV_APPROVAL_UNVERIFIED,   /* its signature did not verify */
	SRV_APPROVAL_OTHER_REPO,   /* made for another repository */
	SRV_APPROVAL_OTHER_ENV,    /* made for another environment */
	SRV_APPROVAL_STALE,        /* made for another tree: the content changed since */
	SRV_APPROVAL_EXPIRED,      /* older than max_age_days of the approvals rule */
	SRV_APPROVAL_FUTURE,       /* dated after the push (beyond the allowed clock skew) */
} srv_approval_state;
srv_approval_state srv_approval_check(const bpg_eval *ev, const json_t *approval, const char *env,
	const char *tree);
const char *srv_approval_state_name(srv_approval_state s);

/* A string array (JSON) joined with ", " into buf (truncated). */
void srv_join(char *buf, size_t size, const json_t *arr);

#endif
