/*
 * writeback-dlq: a scenario that writes to a system of record keeps its
 * incomplete executions (metadata.scenario.dlq = true), so a failed write
 * can be replayed instead of lost.
 * writeback-error-handling: every write module has an error handler whose
 * directive does not throw the failure away (builtin:Ignore by default).
 * Either may be waived by a documented, unexpired exception in the catalog.
 */
#include "engine.h"
#include "bpfacts.h"

#include <string.h>

static const bpg_sfield no_params[] = { { NULL, NULL, false, NULL } };
static const bpg_sfield eh_params[] = {
	{ "forbidden_directives", &bpg_s_strings, false, "[\"builtin:Ignore\"]" },
	{ NULL, NULL, false, NULL },
};

static bool writes(const json_t *bp)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(bp, "modules"), i, m)
		if (bpg_jbool(m, "writes") && !bpg_bp_is_orphan(m))
			return true;
	return false;
}

static int eval_dlq(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	size_t i;
	json_t *f;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path");
		if (!bp || !bpg_file_is_blueprint(p, f) || !writes(bp))
			continue;
		if (json_is_true(json_object_get(json_object_get(bp, "settings"), "dlq")))
			continue;
		if (bpg_pol_exception(p, bpg_pol_catalog_for(p, path), "writeback-dlq", 0, bpg_ev_now(ev)))
			continue;
		bpg_where w = { path, "/metadata/scenario/dlq", NULL, NULL, 0, 0 };
		if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
			"enable 'Allow storing of incomplete executions' in the scenario settings and re-export, "
			"or document an exception for writeback-dlq in the catalog",
			"scenario writes back to a system but does not keep incomplete executions (dlq)")) < 0)
			return rc;
	}
	return 0;
}

static int eval_errors(bpg_eval *ev)
{
	const bpg_policy *p = bpg_ev_policy(ev);
	const json_t *forbidden = bpg_ev_param(ev, "forbidden_directives");
	size_t i, j;
	json_t *f, *m;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const json_t *bp = json_object_get(f, "blueprint");
		const char *path = bpg_jstr(f, "path");
		if (!bp || !bpg_file_is_blueprint(p, f))
			continue;
		const json_t *entry = bpg_pol_catalog_for(p, path);
		json_array_foreach(json_object_get(bp, "modules"), j, m) {
			const char *dir = bpg_jstr(m, "error_directive");
			long long id = bpg_bp_module_id(m);
			if (!bpg_jbool(m, "writes") || bpg_bp_is_orphan(m))
				continue;
			bool ok = bpg_jbool(m, "has_error_handler") && !(dir && bpg_strings_has(forbidden, dir));
			if (ok || bpg_pol_exception(p, entry, "writeback-error-handling", id, bpg_ev_now(ev)))
				continue;
			bpg_where w = { path, bpg_jstr(m, "pointer"), NULL, NULL, 0, 0 };
			const char *mod = bpg_jstr(m, "module");
			if (!bpg_jbool(m, "has_error_handler"))
				rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
					"add an error handler route (Break or Resume, or Rollback/Commit) to this module, "
					"or document an exception for writeback-error-handling in the catalog",
					"write module %lld (%s) has no error handler", id, mod ? mod : "?");
			else
				rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
					"use Break (keeps the execution for replay) or Rollback instead",
					"write module %lld (%s) handles errors with %s, which discards the failed write",
					id, mod ? mod : "?", dir);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_writeback_dlq = {
	.info = { "writeback-dlq", "write-back scenarios keep incomplete executions (dlq)", BPG_MODE_ENFORCE },
	.params = no_params,
	.eval = eval_dlq,
};

const bpg_rule_def bpg_rule_writeback_errors = {
	.info = { "writeback-error-handling", "every write module handles its errors", BPG_MODE_ENFORCE },
	.params = eh_params,
	.eval = eval_errors,
};
