/* JSON and SARIF 2.1.0 forms of a decision (built with jansson, _new setters only). */
#include "bpgate/report.h"
#include "bpgate/jsonheap.h"

#include <stdlib.h>
#include <string.h>

static int set_str(json_t *o, const char *k, const char *v)
{
	if (!v)
		return 0;
	return json_object_set_new(o, k, json_string(v));
}

static json_t *finding_json(const bpg_finding *f)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int rc = set_str(o, "rule", f->rule) | set_str(o, "severity", bpg_severity_name(f->severity)) |
		set_str(o, "mode", bpg_mode_name(f->mode)) |
		json_object_set_new(o, "blocking", json_boolean(f->blocking)) |
		set_str(o, "file", f->file) | set_str(o, "pointer", f->pointer) |
		set_str(o, "commit", f->commit) | set_str(o, "ref", f->ref) |
		set_str(o, "message", f->message) | set_str(o, "fix", f->fix);
	if (rc == 0 && f->line)
		rc = json_object_set_new(o, "line", json_integer(f->line)) |
			json_object_set_new(o, "column", json_integer(f->column));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int bpg_decision_to_json(json_t **out, const bpg_decision *d, bpg_error *err)
{
	json_t *root = json_object(), *findings = json_array(), *rules = json_array();
	int rc = 0;

	*out = NULL;
	if (!root || !findings || !rules)
		goto oom;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++)
		if (json_array_append_new(findings, finding_json(bpg_decision_finding(d, i))) < 0)
			goto oom;
	for (size_t r = 0; r < bpg_rule_count(); r++) {
		size_t nf;
		bpg_rule_outcome oc = bpg_decision_rule_outcome(d, r, &nf);
		json_t *ro = json_pack("{s:s, s:s, s:I}", "id", bpg_rule_get(r)->id,
			"outcome", bpg_rule_outcome_name(oc), "findings", (json_int_t)nf);
		if (json_array_append_new(rules, ro) < 0)
			goto oom;
	}
	rc = set_str(root, "decision", bpg_decision_refused(d) ? "refuse" : "accept") |
		json_object_set_new(root, "errors", json_integer((json_int_t)bpg_decision_count(d, BPG_SEV_ERROR))) |
		json_object_set_new(root, "warnings", json_integer((json_int_t)bpg_decision_count(d, BPG_SEV_WARNING))) |
		json_object_set_new(root, "infos", json_integer((json_int_t)bpg_decision_count(d, BPG_SEV_INFO))) |
		json_object_set_new(root, "findings", findings) | json_object_set_new(root, "rules", rules);
	findings = rules = NULL;
	if (rc != 0)
		goto oom;
	*out = root;
	return 0;
oom:
	json_decref(root);
	json_decref(findings);
	json_decref(rules);
	return bpg_error_set(err, BPG_ENOMEM, "out of memory while building the JSON report");
}

static const char *sarif_level(const bpg_finding *f)
{
	if (f->severity == BPG_SEV_INFO)
		return "note";
	return f->blocking ? "error" : "warning";
}

static json_t *sarif_result(const bpg_decision *d, const bpg_finding *f, size_t rule_index)
{
	json_t *res = json_pack("{s:s, s:I, s:s, s:{s:s}}", "ruleId", f->rule, "ruleIndex",
		(json_int_t)rule_index, "level", sarif_level(f), "message", "text", f->message);
	json_t *props = json_object();
	if (!res || !props)
		goto fail;
	{
		/* every result has a physical location (code-scanning uploads reject those without):
		 * the finding's file and line, else its commit's first changed file, else the
		 * change's first file, else the policy; line 1 when there is none */
		const char *anchor = bpg_decision_anchor(d, f->commit);
		const char *uri = f->file ? f->file : anchor ? anchor : ".bpgate/policy.json";
		json_t *phys = json_pack("{s:{s:s}}", "artifactLocation", "uri", uri);
		if (!phys)
			goto fail;
		if (json_object_set_new(phys, "region", json_pack("{s:I, s:I}", "startLine",
			(json_int_t)(f->file && f->line ? f->line : 1), "startColumn",
			(json_int_t)(f->file && f->line && f->column ? f->column : 1))) < 0) {
			json_decref(phys);
			goto fail;
		}
		json_t *loc = json_pack("{s:o}", "physicalLocation", phys);
		if (!loc || json_object_set_new(res, "locations", json_pack("[o]", loc)) < 0)
			goto fail;
	}
	if (set_str(props, "pointer", f->pointer) | set_str(props, "commit", f->commit) |
	    set_str(props, "ref", f->ref) | set_str(props, "mode", bpg_mode_name(f->mode)) |
	    set_str(props, "fix", f->fix) | set_str(props, "severity", bpg_severity_name(f->severity)))
		goto fail;
	if (json_object_set_new(res, "properties", props) < 0) {
		props = NULL;
		goto fail;
	}
	return res;
fail:
	json_decref(res);
	json_decref(props);
	return NULL;
}

int bpg_decision_to_sarif(json_t **out, const bpg_decision *d, bpg_error *err)
{
	json_t *rules = json_array(), *results = json_array(), *log = NULL;

	*out = NULL;
	if (!rules || !results)
		goto oom;
	for (size_t r = 0; r < bpg_rule_count(); r++) {
		const bpg_rule_info *ri = bpg_rule_get(r);
		json_t *rj = json_pack("{s:s, s:{s:s}, s:{s:s}}", "id", ri->id, "shortDescription", "text",
			ri->description, "defaultConfiguration", "level",
			ri->default_mode == BPG_MODE_ENFORCE ? "error" : "warning");
		if (json_array_append_new(rules, rj) < 0)
			goto oom;
	}
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		size_t idx = 0;
		for (size_t r = 0; r < bpg_rule_count(); r++)
			if (strcmp(bpg_rule_get(r)->id, f->rule) == 0)
				idx = r;
		if (json_array_append_new(results, sarif_result(d, f, idx)) < 0)
			goto oom;
	}
	log = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:o}}, s:o}]}",
		"$schema", "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
		"tool", "driver", "name", "bpgate", "version", bpg_version(), "informationUri",
		"https://github.com/bpgate/bpgate", "rules", rules, "results", results);
	rules = results = NULL;
	if (!log)
		goto oom;
	*out = log;
	return 0;
oom:
	json_decref(rules);
	json_decref(results);
	return bpg_error_set(err, BPG_ENOMEM, "out of memory while building the SARIF report");
}

int bpg_report_json(bpg_buf *out, const bpg_decision *d, bool sarif, bpg_error *err)
{
	json_t *j = NULL;
	char *s = NULL;
	int rc = sarif ? bpg_decision_to_sarif(&j, d, err) : bpg_decision_to_json(&j, d, err);

	if (rc < 0)
		return rc;
	if (!(s = bpg_json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII)) ||
	    (rc = bpg_buf_puts(out, s)) < 0 || (rc = bpg_buf_putc(out, '\n')) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory while writing the report");
	free(s);
	json_decref(j);
	return rc;
}
