/* No rule reads a blueprint's semantic diff (bpg_policy_reads_blueprint_diff,
 * bpgate/query.h), so the gate leaves it out of its facts: real changes, every
 * real export of the corpus and the regulated pack's blueprints with one value
 * changed at a time, judged by the regulated pack with and without files[].diff,
 * get the same decision, finding for finding. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/blueprint.h"
#include "bpgate/policy.h"
#include "bpgate/query.h"
#include "bpgate/report.h"
#include "mutate.h"

static json_t *model_json(const bpg_blueprint *bp)
{
	json_t *m = NULL;
	bpg_error err;
	cr_assert_eq(bpg_blueprint_to_json(&m, bp, &err), 0, "%s", err.message);
	return m;
}

/* Files of `source` changed one value at a time (about `versions` of them) into files[]. */
static void add_versions(json_t *files, const char *source, size_t versions)
{
	bpg_blueprint *base = NULL;
	bpg_error err;
	json_error_t je;
	json_t *root = json_load_file(source, 0, &je);
	bool none = false;
	size_t leaves;

	cr_assert_not_null(root, "%s: %s", source, je.text);
	cr_assert_eq(bpg_blueprint_load(&base, source, &err), 0, "%s: %s", source, err.message);
	leaves = mutate_leaf(root, SIZE_MAX, 0, &none);
	for (size_t k = 0; k < leaves; k += leaves / versions + 1) {
		json_t *copy = json_deep_copy(root), *file, *dj = NULL;
		bool done = false;
		bpg_blueprint *bp = NULL;
		bpg_bpdiff *d = NULL;
		char path[128];

		mutate_leaf(copy, k, 0, &done);
		char *text = json_dumps(copy, 0);
		cr_assert_not_null(text);
		if (bpg_blueprint_parse(&bp, text, strlen(text), "m.json", &err) == 0) {
			size_t n = json_array_size(files);
			/* half of them in a catalogued, high-risk scenario that writes a contract's target */
			snprintf(path, sizeof(path), "scenarios/%s/f%zu.blueprint.json",
				n % 2 ? "unlisted" : "crm-contact-sync", n);
			cr_assert_eq(bpg_bpdiff_compute(&d, base, bp, &err), 0);
			cr_assert_eq(bpg_bpdiff_to_json(&dj, d, &err), 0);
			file = json_pack("{s:s, s:s, s:o, s:o, s:o}", "path", path, "status", "modified",
				"blueprint", model_json(bp), "old_blueprint", model_json(base), "diff", dj);
			cr_assert_not_null(file);
			cr_assert_eq(json_array_append_new(files, file), 0);
		}
		bpg_bpdiff_free(d);
		bpg_blueprint_free(bp);
		free(text);
		json_decref(copy);
	}
	bpg_blueprint_free(base);
	json_decref(root);
}

static char *judged(const bpg_policy *p, const json_t *facts, size_t *findings, json_t *rules)
{
	bpg_decision *d = NULL;
	bpg_error err;
	json_t *j = NULL;
	char *s;

	cr_assert_eq(bpg_evaluate(&d, p, facts, &err), 0, "%s", err.message);
	*findings = bpg_decision_finding_count(d);
	for (size_t i = 0; rules && i < *findings; i++)
		json_object_set_new(rules, bpg_decision_finding(d, i)->rule, json_true());
	cr_assert_eq(bpg_decision_to_json(&j, d, &err), 0);
	s = json_dumps(j, JSON_COMPACT);
	cr_assert_not_null(s);
	json_decref(j);
	bpg_decision_free(d);
	return s;
}

Test(diff_unread, the_rules_decide_the_same_without_the_diff)
{
	char dir[4096], path[8192];
	const char *root = getenv("BPG_SOURCE_ROOT"), *shared = getenv("BPG_SHARED_DIR");
	bpg_policy *p = NULL;
	bpg_error err;
	json_error_t je;
	json_t *t, *facts, *files, *f, *rules = json_object();
	struct dirent *e;
	size_t i, with, without, changes = 0;
	DIR *dh;

	cr_assert_not_null(root);
	snprintf(dir, sizeof(dir), "%s/policy/packs/regulated", root);
	cr_assert_eq(bpg_policy_load_dir(&p, dir, &err), 0, "%s", err.message);
	/* what the gate asks; what keeps it true: this test and e2e-sources (no "diff" in the engine) */
	cr_assert(!bpg_policy_reads_blueprint_diff(p));
	snprintf(path, sizeof(path), "%s/tests/01-good-change.json", dir);
	cr_assert(t = json_load_file(path, 0, &je), "%s: %s", path, je.text);
	facts = json_deep_copy(json_object_get(t, "facts"));
	json_decref(t);
	files = json_array();
	json_object_set_new(facts, "files", files);

	snprintf(path, sizeof(path), "%s/blueprints/crm-contact-sync.good.blueprint.json", dir);
	add_versions(files, path, 40);
	snprintf(path, sizeof(path), "%s/blueprints/crm-contact-sync.bad.blueprint.json", dir);
	add_versions(files, path, 40);
	snprintf(dir, sizeof(dir), "%s/corpus/blueprints/real", shared ? shared : "../shared");
	cr_assert(dh = opendir(dir), "cannot open %s", dir);
	while ((e = readdir(dh))) {
		if (!strstr(e->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		add_versions(files, path, 8);
	}
	closedir(dh);
	json_array_foreach(files, i, f)
		changes += json_array_size(json_object_get(json_object_get(f, "diff"), "changes")) > 0;
	cr_assert_gt(changes, 80, "only %zu files of %zu with a change", changes, json_array_size(files));

	char *a = judged(p, facts, &with, rules);
	json_array_foreach(files, i, f)
		json_object_del(f, "diff");
	char *b = judged(p, facts, &without, NULL);
	cr_assert_eq(with, without);
	cr_assert_str_eq(a, b, "the decision changed without the diff");
	/* not a vacuous comparison: the changes are judged by several rules */
	cr_assert_gt(with, 100, "only %zu findings", with);
	cr_assert_geq(json_object_size(rules), 5, "findings of %zu rules only", json_object_size(rules));
	cr_assert(json_object_get(rules, "schema-drift") && json_object_get(rules, "connections"),
		"schema-drift and connections expected among the rules with findings");
	free(a);
	free(b);
	json_decref(rules);
	json_decref(facts);
	bpg_policy_free(p);
}
