/*
 * data-contract: a write module that targets a contracted system object
 * (contract "match": module globs and parameter values) maps every key and
 * required field, maps the consent field when the contract needs consent,
 * and any literal it writes into an enumerated or ranged field is valid.
 */
#include "engine.h"
#include "bpfacts.h"
#include "bpgate/jsonheap.h"

#include <stdlib.h>
#include <string.h>

static const bpg_sfield no_params[] = { { NULL, NULL, false, NULL } };

typedef struct {
	bpg_eval *ev;
	const char *path;
	const json_t *module;
	const json_t *contract;
} ctx;

static int missing(ctx *c, const char *field, const char *what)
{
	bpg_where w = { c->path, bpg_jstr(c->module, "pointer"), NULL, NULL, 0, 0 };
	return bpg_ev_emit(c->ev, BPG_SEV_ERROR, &w,
		"map the field in the module, or change the data contract (a reviewed change)",
		"module %lld writes %s %s (contract %s) without mapping %s field '%s'",
		bpg_bp_module_id(c->module), bpg_jstr(c->contract, "system"), bpg_jstr(c->contract, "object"),
		bpg_jstr(c->contract, "id"), what, field);
}

static bool value_as_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v) && json_string_length(v) > 0) {
		char *end;
		*out = strtod(json_string_value(v), &end);
		return *end == '\0';
	}
	return false;
}

static bool enum_has(const json_t *en, const json_t *v)
{
	size_t i;
	json_t *e;
	json_array_foreach(en, i, e) {
		if (json_is_string(e) && json_is_string(v) && strcmp(json_string_value(e), json_string_value(v)) == 0)
			return true;
		if (!json_is_string(e) && json_equal(e, (json_t *)v))
			return true;
		double a, b;
		if (json_is_number(e) && value_as_number(v, &b) && (a = json_number_value(e)) == b)
			return true;
	}
	return false;
}

static int check_fields(ctx *c)
{
	const char *name;
	json_t *spec;
	int rc = 0;

	json_object_foreach(json_object_get(c->contract, "fields"), name, spec) {
		const json_t *v = bpg_bp_mapper_value(c->module, name);
		const json_t *en = json_object_get(spec, "enum");
		const json_t *min = json_object_get(spec, "minimum"), *max = json_object_get(spec, "maximum");
		double d;
		bpg_buf ptr = BPG_BUF_INIT;
		if (!bpg_bp_is_literal(v))
			continue;
		if ((rc = bpg_buf_printf(&ptr, "%s/mapper", bpg_jstr(c->module, "pointer") ?
			bpg_jstr(c->module, "pointer") : "")) < 0 || (rc = bpg_jsonptr_push(&ptr, name, strlen(name))) < 0)
			goto next;
		bpg_where w = { c->path, ptr.ptr, NULL, NULL, 0, 0 };
		if (en && !enum_has(en, v)) {
			char *allowed = bpg_json_dumps(en, JSON_COMPACT);
			/* out of memory: refused for that, never judged with "?" for the list */
			rc = !allowed ? BPG_ENOMEM : bpg_ev_emit(c->ev, BPG_SEV_ERROR, &w,
				"use one of the values the contract lists",
				"value %s%s%s mapped into '%s' is not in the enumeration of contract %s: %s",
				json_is_string(v) ? "\"" : "", json_is_string(v) ? json_string_value(v) : "(non-string)",
				json_is_string(v) ? "\"" : "", name, bpg_jstr(c->contract, "id"), allowed);
			free(allowed);
		} else if ((min || max) && value_as_number(v, &d) &&
			   ((min && d < json_number_value(min)) || (max && d > json_number_value(max)))) {
			rc = bpg_ev_emit(c->ev, BPG_SEV_ERROR, &w, "use a value inside the contract's range",
				"value %g mapped into '%s' is outside the range of contract %s [%g, %g]", d, name,
				bpg_jstr(c->contract, "id"), min ? json_number_value(min) : -1e308,
				max ? json_number_value(max) : 1e308);
		}
next:
		bpg_buf_dispose(&ptr);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_module(ctx *c)
{
	size_t i;
	json_t *k;
	int rc;

	json_array_foreach(json_object_get(c->contract, "key_fields"), i, k)
		if (!bpg_bp_is_mapped(c->module, json_string_value(k)) &&
		    (rc = missing(c, json_string_value(k), "key")) < 0)
			return rc;
	json_array_foreach(json_object_get(c->contract, "required_fields"), i, k)
		if (!bpg_bp_is_mapped(c->module, json_string_value(k)) &&
		    !bpg_strings_has(json_object_get(c->contract, "key_fields"), json_string_value(k)) &&
		    (rc = missing(c, json_string_value(k), "required")) < 0)
			return rc;
	const json_t *consent = json_object_get(c->contract, "consent");
	const char *cf = bpg_jstr(consent, "field");
	if (bpg_jbool(consent, "required") && cf && !bpg_bp_is_mapped(c->module, cf) &&
	    (rc = missing(c, cf, "consent")) < 0)
		return rc;
	return check_fields(c);
}

static int eval(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	size_t i, j, k;
	json_t *f, *m, *contract;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path");
		if (!bp || !bpg_file_is_blueprint(p, f))
			continue;
		const json_t *entry = bpg_pol_catalog_for(p, path);
		json_array_foreach(json_object_get(bp, "modules"), j, m) {
			if (!bpg_jbool(m, "writes") || bpg_bp_is_orphan(m))
				continue;
			json_array_foreach(p->contracts, k, contract) {
				ctx c = { ev, path, m, contract };
				if (!bpg_bp_contract_applies(entry, contract) || !bpg_bp_contract_matches(contract, m))
					continue;
				if (bpg_pol_exception(p, entry, "data-contract", bpg_bp_module_id(m), bpg_ev_now(ev)))
					continue;
				if ((rc = check_module(&c)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_data_contract = {
	.info = { "data-contract", "mappings into a write-back target satisfy its data contract", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval,
};
