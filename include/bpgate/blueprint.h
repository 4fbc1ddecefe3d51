/*
 * bpgate — the Make.com blueprint model.
 *
 * bpg_blueprint_parse() turns the bytes of an exported blueprint into a
 * read-only model: the scenario name, every module of the six containers
 * (main flow, router routes, error handlers, if-else branches, AI-agent
 * tools, designer orphans) flattened in walk order, and the scenario
 * settings. Unknown fields are kept in the underlying JSON and ignored.
 *
 * Ownership: the bpg_blueprint is the caller's, freed with
 * bpg_blueprint_free(). Every pointer the getters return (modules, strings,
 * JSON values) is borrowed from it and lives exactly as long as it does.
 *
 * Limits: input size (BPG_BLUEPRINT_MAX_BYTES by default), JSON nesting
 * (jansson's 2048 levels) and container nesting (BPG_BLUEPRINT_MAX_DEPTH);
 * past them parsing fails with BPG_ETOOBIG and a located message.
 */
#ifndef INCLUDE_bpgate_blueprint_h__
#define INCLUDE_bpgate_blueprint_h__

#include "common.h"
#include <stdbool.h>
#include <jansson.h>

BPG_BEGIN_DECL

#define BPG_BLUEPRINT_MAX_BYTES ((size_t)64 << 20)
#define BPG_BLUEPRINT_MAX_DEPTH 64

typedef struct bpg_blueprint bpg_blueprint;

/** Where a module sits. */
typedef enum {
	BPG_CONTAINER_FLOW = 0, /**< the main flow */
	BPG_CONTAINER_ROUTE,    /**< a route of a builtin:BasicRouter */
	BPG_CONTAINER_ONERROR,  /**< the error-handler route of a module */
	BPG_CONTAINER_BRANCH,   /**< a branch of a builtin:BasicIfElse */
	BPG_CONTAINER_TOOL,     /**< a tool flow of an AI agent */
	BPG_CONTAINER_ORPHAN,   /**< metadata.designer.orphans: never executed */
} bpg_container;

/** What a module does to the outside world (see bpg_module_effect_of()). */
typedef enum {
	BPG_EFFECT_NONE = 0, /**< control flow and transformation */
	BPG_EFFECT_TRIGGER,  /**< watches or receives (first module) */
	BPG_EFFECT_READ,     /**< reads from an external system */
	BPG_EFFECT_WRITE,    /**< creates/updates/deletes in a system of record */
	BPG_EFFECT_MESSAGE,  /**< sends a message to a person or channel */
	BPG_EFFECT_HTTP_WRITE, /**< generic API call with a method other than GET */
	BPG_EFFECT_CALL,     /**< calls another scenario */
	BPG_EFFECT_EGRESS,   /**< sends data to a third-party processor (AI, PDF) */
	BPG_EFFECT_CODE,     /**< runs arbitrary code */
} bpg_effect;

/** A reference to an account resource, e.g. a connection id. */
typedef struct {
	const char *kind;    /**< "connection", "webhook", "keychain", "datastore", "datastructure", "device", "scenario" */
	const char *key;     /**< the parameter key, e.g. "__IMTCONN__" */
	const char *value;   /**< the id as text ("13762532", "<CONN_01>", "{{var.input.x}}") */
	const char *pointer; /**< JSON pointer of the value in the file */
} bpg_reference;

/**
 * The reference-map kind of a bpg_reference kind: connection -> "account",
 * webhook -> "hook", keychain -> "keychain", datastore -> "datastore",
 * datastructure -> "udt", device -> "device" (Make's names, as in the clone
 * endpoint and .bpgate/environments/<env>.json); NULL for kinds that are not
 * mapped ("scenario") and for NULL. Static strings.
 */
BPG_EXTERN(const char *) bpg_reference_map_kind(const char *kind);

/** A literal string found in a module's mapper or parameters. */
typedef struct {
	const char *pointer; /**< JSON pointer in the file */
	const char *value;   /**< the string (may contain NUL: use len) */
	size_t len;
} bpg_literal;

typedef struct {
	long long id;             /**< module id, unique across the blueprint */
	const char *module;       /**< "app:action" as written */
	const char *app;          /**< the part before ':' */
	const char *action;       /**< the part after ':' ("" when none) */
	long long version;        /**< -1 when absent */
	bpg_container container;
	const char *path;         /**< human-readable container path, e.g. "flow > 8.route[1]" */
	const char *pointer;      /**< JSON pointer of the module object */
	long long parent_id;      /**< the module whose route/branch/tool/onerror holds it, 0 for none */
	int depth;                /**< container nesting depth, 0 for the main flow */
	const char *label;        /**< metadata.designer.name, or NULL */
	bpg_effect effect;
	bool writes;              /**< effect is WRITE, MESSAGE or HTTP_WRITE */
	bool has_error_handler;   /**< a non-empty onerror route */
	const char *error_directive; /**< last builtin:* directive of the onerror route, or NULL */
	const char *filter_name;  /**< NULL when there is no filter */
	const json_t *filter;     /**< the filter object, or NULL */
	const json_t *mapper;     /**< the mapper (object/null), or NULL when absent */
	const json_t *parameters; /**< the parameters object, or NULL */
	const json_t *json;       /**< the whole module object */
	const bpg_reference *refs;
	size_t nrefs;
	const bpg_literal *literals;
	size_t nliterals;
} bpg_module;

/** Tri-state of a scenario flag: missing is not the same as false. */
typedef enum { BPG_FLAG_UNSET = -1, BPG_FLAG_FALSE = 0, BPG_FLAG_TRUE = 1, BPG_FLAG_OTHER = 2 } bpg_flag;

/**
 * Parse a blueprint. `name` is used in error messages (a path, or "<stdin>").
 * On error returns BPG_EINVALID (not JSON, not a blueprint, duplicate keys,
 * invalid UTF-8), BPG_ETOOBIG (size or depth limit) or BPG_ENOMEM, with a
 * message naming line and column or a JSON pointer.
 */
BPG_EXTERN(int) bpg_blueprint_parse(bpg_blueprint **out, const char *data, size_t len,
	const char *name, bpg_error *err) BPG_WARN_UNUSED;

/** Read a file (or "-") and parse it, refusing files over BPG_BLUEPRINT_MAX_BYTES. */
BPG_EXTERN(int) bpg_blueprint_load(bpg_blueprint **out, const char *path, bpg_error *err) BPG_WARN_UNUSED;

BPG_EXTERN(void) bpg_blueprint_free(bpg_blueprint *bp);

/** Cheap structural test used to pick blueprints out of a tree: an object with a "flow" array and a "metadata" object. */
BPG_EXTERN(bool) bpg_blueprint_looks_like(const char *data, size_t len);

BPG_EXTERN(const char *) bpg_blueprint_name(const bpg_blueprint *bp);
BPG_EXTERN(size_t) bpg_blueprint_module_count(const bpg_blueprint *bp);
BPG_EXTERN(const bpg_module *) bpg_blueprint_module(const bpg_blueprint *bp, size_t i);
/** Look a module up by id; NULL when absent. */
BPG_EXTERN(const bpg_module *) bpg_blueprint_module_by_id(const bpg_blueprint *bp, long long id);
/** metadata.scenario.<name> as a tri-state. */
BPG_EXTERN(bpg_flag) bpg_blueprint_flag(const bpg_blueprint *bp, const char *name);
/** metadata.scenario (object) or NULL; metadata.zone or NULL. */
BPG_EXTERN(const json_t *) bpg_blueprint_settings(const bpg_blueprint *bp);
BPG_EXTERN(const char *) bpg_blueprint_zone(const bpg_blueprint *bp);
/** The whole parsed document. */
BPG_EXTERN(const json_t *) bpg_blueprint_json(const bpg_blueprint *bp);

/** Does any module write back (bpg_module.writes)? */
BPG_EXTERN(bool) bpg_blueprint_writes(const bpg_blueprint *bp);

/**
 * Classify an "app:action" (plus the HTTP method for generic API modules,
 * NULL when unknown): an explicit table first, then name heuristics.
 */
BPG_EXTERN(bpg_effect) bpg_module_effect_of(const char *module, const char *method);
BPG_EXTERN(const char *) bpg_effect_name(bpg_effect e);
BPG_EXTERN(const char *) bpg_container_name(bpg_container c);

/**
 * The model as JSON (the documented, stable form used by `bpgate blueprint
 * show --format json` and by policy facts). New reference, caller decrefs.
 * Its modules' "mapper", filter "conditions" and its "settings" are the
 * blueprint document's own values, shared (not copied: a large push builds a
 * thousand models): read them, never change them. They stay valid after
 * bpg_blueprint_free(). Its short strings may be values shared by text
 * (bpgate/jsonshared.h) when the calling thread has turned that on.
 */
BPG_EXTERN(int) bpg_blueprint_to_json(json_t **out, const bpg_blueprint *bp, bpg_error *err);

/**
 * The same model as bpg_blueprint_to_json(bp), equal value for value as
 * json_equal() sees it (which does not tell the order of an object's keys
 * apart, nor -0.0 from 0.0), but each module whose JSON form is the same as
 * that of `other`'s module with its id is `other_json`'s value for that module,
 * shared (and so is "settings" when equal): an edit's two versions keep one copy of what it did not change (a
 * large push holds both versions of a thousand blueprints in its facts).
 * `other_json` must be other's model from bpg_blueprint_to_json() (checked
 * against other's module count: BPG_EINVALID); it is only read and referenced.
 * New reference, caller decrefs; as above, never change the values it holds.
 */
BPG_EXTERN(int) bpg_blueprint_to_json_sharing(json_t **out, const bpg_blueprint *bp,
	const bpg_blueprint *other, const json_t *other_json, bpg_error *err);

/* ---- semantic diff ---------------------------------------------------- */

typedef struct bpg_bpdiff bpg_bpdiff;

typedef enum {
	BPG_CHANGE_ADDED = 0,
	BPG_CHANGE_REMOVED,
	BPG_CHANGE_MOVED,       /**< container path differs */
	BPG_CHANGE_MODULE,      /**< app:action changed */
	BPG_CHANGE_VERSION,
	BPG_CHANGE_MAPPER,      /**< one mapper field (pointer names it) */
	BPG_CHANGE_PARAMETER,   /**< one parameter (not a connection) */
	BPG_CHANGE_FILTER,
	BPG_CHANGE_CONNECTION,  /**< a connection/webhook/keychain/data store reference */
	BPG_CHANGE_ERROR_HANDLING, /**< onerror route added, removed or its directive changed */
	BPG_CHANGE_SETTING,     /**< metadata.scenario.<key> */
	BPG_CHANGE_NAME,        /**< the scenario name */
	BPG_CHANGE_LABEL,       /**< the module's designer label */
} bpg_change_kind;

typedef struct {
	bpg_change_kind kind;
	long long module_id;  /**< 0 for scenario-level changes */
	const char *module;   /**< app:action (new side when present), or NULL */
	const char *field;    /**< mapper/parameter/setting key path, reference key, or NULL */
	const char *old_value; /**< short display text, NULL when absent on that side */
	const char *new_value;
} bpg_change;

/** Compare two parsed blueprints; changes are ordered by module id, then kind. */
BPG_EXTERN(int) bpg_bpdiff_compute(bpg_bpdiff **out, const bpg_blueprint *old_bp,
	const bpg_blueprint *new_bp, bpg_error *err) BPG_WARN_UNUSED;
BPG_EXTERN(void) bpg_bpdiff_free(bpg_bpdiff *diff);
BPG_EXTERN(size_t) bpg_bpdiff_count(const bpg_bpdiff *diff);
BPG_EXTERN(const bpg_change *) bpg_bpdiff_get(const bpg_bpdiff *diff, size_t i);
BPG_EXTERN(const char *) bpg_change_kind_name(bpg_change_kind k);
/** The diff as JSON {"changes":[...]} (new reference). */
BPG_EXTERN(int) bpg_bpdiff_to_json(json_t **out, const bpg_bpdiff *diff, bpg_error *err);

BPG_END_DECL

#endif
