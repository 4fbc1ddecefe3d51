/*
 * scan-findings: no personal data or secrets in test fixtures, UAT data or
 * blueprint literals. The scanner's findings arrive as facts (already
 * masked); values the scanner recognised as synthetic pass by default, and
 * fingerprints the policy lists as reviewed pass.
 */
#include "engine.h"

#include <string.h>

static const bpg_sfield params[] = {
	{ "allow_synthetic", &bpg_s_bool, false, "true" },
	{ "ignore_fingerprints", &bpg_s_strings, false, "[]" },
	{ "paths", &bpg_s_strings, false, "[\"fixtures\", \"uat\", \"blueprints\"]" },
	{ NULL, NULL, false, NULL },
};

static bool in_scope(const bpg_eval *ev, const json_t *file)
{
	const char *path = bpg_jstr(file, "path");
	size_t i;
	json_t *k;
	json_array_foreach(bpg_ev_param(ev, "paths"), i, k) {
		const char *kind = json_string_value(k);
		if (strcmp(kind, "blueprints") == 0 ? bpg_file_is_blueprint(bpg_ev_policy(ev), file)
		                                    : bpg_pol_path_is(bpg_ev_policy(ev), kind, path))
			return true;
	}
	return false;
}

static int eval(bpg_eval *ev)
{
	bool allow_syn = bpg_ev_param_bool(ev, "allow_synthetic");
	const json_t *ignored = bpg_ev_param(ev, "ignore_fingerprints");
	size_t i, j;
	json_t *f, *s;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "files"), i, f) {
		const char *status = bpg_jstr(f, "status");
		if ((status && strcmp(status, "deleted") == 0) || !in_scope(ev, f))
			continue;
		json_array_foreach(json_object_get(f, "scan_findings"), j, s) {
			const char *fp = bpg_jstr(s, "fingerprint"), *masked = bpg_jstr(s, "masked");
			if (allow_syn && bpg_jbool(s, "synthetic"))
				continue;
			if (fp && bpg_strings_has(ignored, fp))
				continue;
			long long line = json_integer_value(json_object_get(s, "line"));
			long long col = json_integer_value(json_object_get(s, "column"));
			bpg_where w = { bpg_jstr(f, "path"), bpg_jstr(s, "pointer"), NULL, NULL,
				line > 0 && line < 1u << 30 ? (unsigned)line : 0,
				col > 0 && col < 1u << 30 ? (unsigned)col : 0 };
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"replace it with a synthetic value; if it is a reviewed false positive, add its "
				"fingerprint to rules.scan-findings.ignore_fingerprints",
				"%s found (%s)%s%s", bpg_jstr(s, "rule"), masked ? masked : "value masked",
				fp ? ", fingerprint " : "", fp ? fp : "")) < 0)
				return rc;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_scan_findings = {
	.info = { "scan-findings", "no personal data or secrets in fixtures, UAT data or blueprint literals", BPG_MODE_ENFORCE },
	.params = params,
	.eval = eval,
};
