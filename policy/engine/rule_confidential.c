/*
 * confidential: a scenario whose catalog entry names personal data classes
 * (PII, PHI by default) is marked confidential, so Make does not show its
 * execution data to every team member.
 */
#include "engine.h"

#include <string.h>

static const bpg_sfield params[] = {
	{ "data_classes", &bpg_s_strings, false, "[\"PII\", \"PHI\"]" },
	{ NULL, NULL, false, NULL },
};

static int eval(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const json_t *classes = bpg_ev_param(ev, "data_classes");
	size_t i, j;
	json_t *f, *c;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path"), *cls = NULL;
		const json_t *entry;
		if (!bp || !bpg_file_is_blueprint(p, f) || !(entry = bpg_pol_catalog_for(p, path)))
			continue;
		json_array_foreach(json_object_get(entry, "data_classes"), j, c)
			if (!cls && json_is_string(c) && bpg_strings_has(classes, json_string_value(c)))
				cls = json_string_value(c);
		if (!cls || json_is_true(json_object_get(json_object_get(bp, "settings"), "confidential")))
			continue;
		if (bpg_pol_exception(p, entry, "confidential", 0, bpg_ev_now(ev)))
			continue;
		bpg_where w = { path, "/metadata/scenario/confidential", NULL, NULL, 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"enable 'Data is confidential' in the scenario settings and re-export",
			"scenario '%s' handles %s data but is not marked confidential",
			bpg_jstr(entry, "id"), cls)) < 0)
			return rc;
	}
	return 0;
}

const bpg_rule_def bpg_rule_confidential = {
	.info = { "confidential", "PII/PHI scenarios are marked confidential", BPG_MODE_ENFORCE },
	.params = params,
	.eval = eval,
};
