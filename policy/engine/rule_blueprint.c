/*
 * blueprint-parses: every blueprint in the change parses.
 * catalogued: every blueprint belongs to a scenario of the catalog (owner,
 * risk tier, data classes), so no scenario escapes classification.
 */
#include "engine.h"

#include <string.h>

static const bpg_sfield no_params[] = { { NULL, NULL, false, NULL } };

static int eval_parses(bpg_eval *ev)
{
	size_t i;
	json_t *f;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *pe = json_object_get(f, "parse_error");
		if (!pe || !bpg_file_is_blueprint(bpg_ev_policy(ev), f))
			continue;
		long long line = json_integer_value(json_object_get(pe, "line"));
		long long col = json_integer_value(json_object_get(pe, "column"));
		bpg_where w = { bpg_jstr(f, "path"), NULL, NULL, NULL,
			line > 0 && line < 1u << 30 ? (unsigned)line : 0,
			col > 0 && col < 1u << 30 ? (unsigned)col : 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"re-export the scenario from Make or fix the JSON; check it with 'bpgate blueprint show FILE'",
			"blueprint does not parse: %s", bpg_jstr(pe, "message"))) < 0)
			return rc;
	}
	return 0;
}

static int eval_catalogued(bpg_eval *ev)
{
	size_t i;
	json_t *f;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const char *path = bpg_jstr(f, "path");
		if (!bpg_file_is_blueprint(bpg_ev_policy(ev), f) || bpg_pol_catalog_for(bpg_ev_policy(ev), path))
			continue;
		bpg_where w = { path, NULL, NULL, NULL, 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"add a catalog entry in .bpgate/policy.json (id, paths, owner, risk, data_classes) "
			"whose paths glob matches this file",
			"blueprint is not in the scenario catalog")) < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_blueprint_parses = {
	.info = { "blueprint-parses", "every blueprint in the change parses", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval_parses,
};

const bpg_rule_def bpg_rule_catalogued = {
	.info = { "catalogued", "every blueprint is in the scenario catalog", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval_catalogued,
};
