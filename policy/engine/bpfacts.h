/*
 * Internal: reading the blueprint model JSON inside facts (the form of
 * bpg_blueprint_to_json: top-level "name", "settings", "modules"[...]).
 * Everything is borrowed from the facts and tolerant of absent members.
 */
#ifndef BPG_ENGINE_BPFACTS_H
#define BPG_ENGINE_BPFACTS_H

#include "engine.h"

/* The value mapped into `field` of a module: mapper[field], or, when the model
 * carries no "mapper", the literal whose pointer is <module>/mapper/<field>. */
const json_t *bpg_bp_mapper_value(const json_t *module, const char *field);
/* Is `field` mapped to a non-empty value? */
bool bpg_bp_is_mapped(const json_t *module, const char *field);
/* module "parameters"[key] (or a literal at <module>/parameters/<key>) */
const json_t *bpg_bp_param_value(const json_t *module, const char *key);
/* Does a write module match a data contract's "match"? */
bool bpg_bp_contract_matches(const json_t *contract, const json_t *module);
/* Contracts that apply to a catalog entry (its "contracts" list, or all). */
bool bpg_bp_contract_applies(const json_t *entry, const json_t *contract);
/* Module never runs (designer orphan). */
bool bpg_bp_is_orphan(const json_t *module);
/* Module id, 0 when absent. */
long long bpg_bp_module_id(const json_t *module);
/* Is this mapped value a literal (not a {{...}} expression)? */
bool bpg_bp_is_literal(const json_t *v);

#endif
