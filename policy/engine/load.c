/*
 * Loading a policy: parse every file (JSON_REJECT_DUPLICATES), validate its
 * shape against the tables below (unknown keys are errors: a typo must never
 * switch a control off), check references between files, and merge each
 * rule's parameters over its defaults. Every problem is a located diagnostic.
 */
#include "engine.h"
#include "files.h"
#include "bpgate/jsonfast.h"

#include <stdlib.h>
#include <string.h>

/* ---- policy.json ---------------------------------------------------------- */

static const bpg_sfield environment_fields[] = {
	{ "branch", &bpg_s_nonempty, true, NULL },
	{ "promotes_from", &bpg_s_nullstr, false, NULL },
	{ "protected", &bpg_s_bool, false, NULL },
	{ "paths", &bpg_s_strings, false, NULL },
	{ "description", &bpg_s_string, false, NULL },
	{ "make", &bpg_s_env_make, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema environment_s = { SK_OBJECT, environment_fields, NULL, NULL };
static const bpg_schema environments_s = { SK_MAP, NULL, &environment_s, NULL };

static const bpg_sfield roles_fields[] = {
	{ "builders", &bpg_s_strings, false, NULL },
	{ "reviewers", &bpg_s_strings, false, NULL },
	{ "releasers", &bpg_s_strings, false, NULL },
	{ "cab", &bpg_s_strings, false, NULL },
	{ "admins", &bpg_s_strings, false, NULL },
	{ "emergency", &bpg_s_strings, false, NULL },
	{ "observers", &bpg_s_strings, false, NULL }, /* sign stage health records only (bpgate make health) */
	{ NULL, NULL, false, NULL },
};
static const bpg_schema roles_s = { SK_OBJECT, roles_fields, NULL, NULL };

static const bpg_sfield paths_fields[] = {
	{ "blueprints", &bpg_s_strings, false, NULL },
	{ "fixtures", &bpg_s_strings, false, NULL },
	{ "uat", &bpg_s_strings, false, NULL },
	{ "bundles", &bpg_s_strings, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema paths_s = { SK_OBJECT, paths_fields, NULL, NULL };

static const bpg_sfield exception_fields[] = {
	{ "rule", &bpg_s_nonempty, true, NULL },
	{ "module_id", &bpg_s_int, false, NULL },
	{ "reason", &bpg_s_nonempty, true, NULL },
	{ "ticket", &bpg_s_nonempty, true, NULL },
	{ "approved_by", &bpg_s_string, false, NULL },
	{ "expires", &bpg_s_date, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema exception_s = { SK_OBJECT, exception_fields, NULL, NULL };
static const bpg_schema exceptions_s = { SK_ARRAY, NULL, &exception_s, NULL };

static const bpg_sfield scenario_fields[] = {
	{ "id", &bpg_s_nonempty, true, NULL },
	{ "paths", &bpg_s_strings, true, NULL },
	{ "name", &bpg_s_string, false, NULL },
	{ "owner", &bpg_s_nonempty, true, NULL },
	{ "risk", &bpg_s_nonempty, true, NULL },
	{ "data_classes", &bpg_s_strings, false, NULL },
	{ "writes_to", &bpg_s_strings, false, NULL },
	{ "contracts", &bpg_s_strings, false, NULL },
	{ "connections", &bpg_s_map_strings, false, NULL },
	{ "webhooks", &bpg_s_map_strings, false, NULL },
	{ "exceptions", &exceptions_s, false, NULL },
	{ "description", &bpg_s_string, false, NULL },
	{ "blueprint", &bpg_s_nonempty, false, NULL },
	{ "make", &bpg_s_scenario_make, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema scenario_s = { SK_OBJECT, scenario_fields, NULL, NULL };
static const bpg_schema catalog_s = { SK_ARRAY, NULL, &scenario_s, NULL };

static const bpg_sfield policy_fields[] = {
	{ "version", &bpg_s_int, true, NULL },
	{ "description", &bpg_s_string, false, NULL },
	/* the repository's unique id (32 lower-case hex): approvals bind to it */
	{ "repository_id", &bpg_s_string, false, NULL },
	{ "environments", &environments_s, true, NULL },
	{ "roles", &roles_s, true, NULL },
	{ "risk_tiers", &bpg_s_strings, true, NULL },
	{ "high_risk_tiers", &bpg_s_strings, false, NULL },
	{ "data_classes", &bpg_s_strings, false, NULL },
	{ "paths", &paths_s, false, NULL },
	{ "catalog", &catalog_s, true, NULL },
	{ "rules", &bpg_s_object_any, false, NULL }, /* checked rule by rule below */
	{ NULL, NULL, false, NULL },
};
static const bpg_schema policy_s = { SK_OBJECT, policy_fields, NULL, NULL };

/* ---- contracts/<x>.json ------------------------------------------------------ */

static const char *const field_types[] = { "string", "number", "integer", "boolean", "date", "email", NULL };
static const bpg_schema field_type_s = { SK_ENUM, NULL, NULL, field_types };
static const bpg_schema scalars_s = { SK_ARRAY, NULL, &bpg_s_scalar, NULL };
static const bpg_sfield cfield_fields[] = {
	{ "type", &field_type_s, false, NULL },
	{ "enum", &scalars_s, false, NULL },
	{ "minimum", &bpg_s_number, false, NULL },
	{ "maximum", &bpg_s_number, false, NULL },
	{ "pii", &bpg_s_bool, false, NULL },
	{ "masked", &bpg_s_bool, false, NULL },
	{ "description", &bpg_s_string, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema cfield_s = { SK_OBJECT, cfield_fields, NULL, NULL };
static const bpg_schema cfields_s = { SK_MAP, NULL, &cfield_s, NULL };
static const bpg_schema scalar_map_s = { SK_MAP, NULL, &bpg_s_scalar, NULL };
static const bpg_sfield match_fields[] = {
	{ "modules", &bpg_s_strings, true, NULL },
	{ "parameters", &scalar_map_s, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema match_s = { SK_OBJECT, match_fields, NULL, NULL };
static const bpg_sfield consent_fields[] = {
	{ "required", &bpg_s_bool, true, NULL },
	{ "field", &bpg_s_nonempty, false, NULL },
	{ NULL, NULL, false, NULL },
};
static const bpg_schema consent_s = { SK_OBJECT, consent_fields, NULL, NULL };
static const bpg_sfield contract_fields[] = {
	{ "id", &bpg_s_nonempty, true, NULL },
	{ "system", &bpg_s_nonempty, true, NULL },
	{ "object", &bpg_s_nonempty, true, NULL },
	{ "description", &bpg_s_string, false, NULL },
	{ "match", &match_s, true, NULL },
	{ "key_fields", &bpg_s_strings, true, NULL },
	{ "required_fields", &bpg_s_strings, false, NULL },
	{ "fields", &cfields_s, false, NULL },
	{ "consent", &consent_s, false, NULL },
	{ "masking", &bpg_s_strings, false, NULL },
	{ NULL, NULL, false, NULL },
};
const bpg_schema bpg_s_contract = { SK_OBJECT, contract_fields, NULL, NULL };

/* ---- helpers --------------------------------------------------------------- */

bool bpg_strings_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	if (json_is_string(arr))
		return strcmp(json_string_value(arr), s) == 0;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

const char *bpg_jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool bpg_jbool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* Parse one file; a syntax error becomes a diagnostic at jansson's position. */
static int parse_file(json_t **out, bpg_diags *diags, const bpg_policy_file *f)
{
	json_error_t je;

	*out = bpg_json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je);
	if (*out)
		return 0;
	return bpg_diags_add_at(diags, f->display, (unsigned)(je.line > 0 ? je.line : 1),
		(unsigned)(je.column > 0 ? je.column : 1), NULL, "not valid JSON: %s", je.text);
}

#define DIAG(vc, ptr, key, rule, ...) \
	bpg_diags_add((vc)->diags, (vc)->file, (vc)->text, (vc)->len, (ptr), (key), (rule), __VA_ARGS__)

static const char *const default_data_classes[] = { "PII", "PHI", "financial", NULL };

static bool data_class_known(const json_t *root, const char *c)
{
	const json_t *dc = json_object_get(root, "data_classes");
	if (dc)
		return bpg_strings_has(dc, c);
	for (size_t i = 0; default_data_classes[i]; i++)
		if (strcmp(default_data_classes[i], c) == 0)
			return true;
	return false;
}

/* Keys of an env map (connections/webhooks) must be environments. */
static int check_env_keys(bpg_vctx *vc, const json_t *root, const json_t *map, const char *base)
{
	const json_t *envs = json_object_get(root, "environments");
	const char *k;
	json_t *v;
	int rc = 0;

	json_object_foreach((json_t *)map, k, v) {
		if (json_object_get(envs, k))
			continue;
		bpg_buf p = BPG_BUF_INIT;
		if ((rc = bpg_buf_puts(&p, base)) == 0 && (rc = bpg_jsonptr_push(&p, k, strlen(k))) == 0)
			rc = DIAG(vc, p.ptr, true, NULL, "'%s' is not an environment of this policy; "
				"expected one of the keys of 'environments'", k);
		bpg_buf_dispose(&p);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_scenario(bpg_vctx *vc, const json_t *root, const json_t *sc, size_t i,
	const json_t *contracts)
{
	char base[64];
	char p[160];
	const json_t *tiers = json_object_get(root, "risk_tiers");
	const char *risk = bpg_jstr(sc, "risk");
	size_t j;
	json_t *v;
	int rc = 0;

	snprintf(base, sizeof(base), "/catalog/%zu", i);
	if (risk && !bpg_strings_has(tiers, risk)) {
		snprintf(p, sizeof(p), "%s/risk", base);
		if ((rc = DIAG(vc, p, false, NULL, "risk tier \"%s\" is not one of 'risk_tiers'", risk)) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(sc, "data_classes"), j, v) {
		if (!json_is_string(v) || data_class_known(root, json_string_value(v)))
			continue;
		snprintf(p, sizeof(p), "%s/data_classes/%zu", base, j);
		if ((rc = DIAG(vc, p, false, NULL, "data class \"%s\" is not one of 'data_classes' "
			"(default: PII, PHI, financial)", json_string_value(v))) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(sc, "contracts"), j, v) {
		bool found = false;
		size_t k;
		json_t *c;
		json_array_foreach(contracts, k, c)
			if (json_is_string(v) && bpg_jstr(c, "id") && strcmp(bpg_jstr(c, "id"), json_string_value(v)) == 0)
				found = true;
		if (found || !json_is_string(v))
			continue;
		snprintf(p, sizeof(p), "%s/contracts/%zu", base, j);
		if ((rc = DIAG(vc, p, false, NULL, "no data contract with id \"%s\" in contracts/",
			json_string_value(v))) < 0)
			return rc;
	}
	const char *maps[] = { "connections", "webhooks" };
	for (int m = 0; m < 2; m++) {
		const json_t *map = json_object_get(sc, maps[m]);
		snprintf(p, sizeof(p), "%s/%s", base, maps[m]);
		if (json_is_object(map) && (rc = check_env_keys(vc, root, map, p)) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(sc, "exceptions"), j, v) {
		const char *r = bpg_jstr(v, "rule");
		if (!r || bpg_rule_index(r) >= 0)
			continue;
		snprintf(p, sizeof(p), "%s/exceptions/%zu/rule", base, j);
		if ((rc = DIAG(vc, p, false, NULL, "exception names rule \"%s\", which does not exist; "
			"see 'bpgate policy rules'", r)) < 0)
			return rc;
	}
	return 0;
}

static int check_cross(bpg_vctx *vc, const json_t *root, const json_t *contracts)
{
	const json_t *envs = json_object_get(root, "environments");
	const json_t *v = json_object_get(root, "version");
	const char *k;
	json_t *e;
	size_t i;
	int rc = 0;

	if (json_is_integer(v) && json_integer_value(v) != 1 &&
	    (rc = DIAG(vc, "/version", false, NULL, "expected policy format version 1")) < 0)
		return rc;
	const char *rid = bpg_jstr(root, "repository_id");
	if (rid && (strlen(rid) != 32 || strspn(rid, "0123456789abcdef") != 32) &&
	    (rc = DIAG(vc, "/repository_id", false, NULL, "repository_id must be 32 lower-case hex digits")) < 0)
		return rc;
	json_object_foreach((json_t *)envs, k, e) {
		const char *from = bpg_jstr(e, "promotes_from");
		if (!from || json_object_get(envs, from))
			continue;
		bpg_buf p = BPG_BUF_INIT;
		if ((rc = bpg_buf_puts(&p, "/environments")) == 0 &&
		    (rc = bpg_jsonptr_push(&p, k, strlen(k))) == 0 &&
		    (rc = bpg_buf_puts(&p, "/promotes_from")) == 0)
			rc = DIAG(vc, p.ptr, false, NULL, "promotes_from names \"%s\", which is not an environment", from);
		bpg_buf_dispose(&p);
		if (rc < 0)
			return rc;
	}
	json_array_foreach(json_object_get(root, "high_risk_tiers"), i, e) {
		if (!json_is_string(e) || bpg_strings_has(json_object_get(root, "risk_tiers"), json_string_value(e)))
			continue;
		char p[64];
		snprintf(p, sizeof(p), "/high_risk_tiers/%zu", i);
		if ((rc = DIAG(vc, p, false, NULL, "\"%s\" is not one of 'risk_tiers'", json_string_value(e))) < 0)
			return rc;
	}
	json_array_foreach(json_object_get(root, "catalog"), i, e) {
		for (size_t j = 0; j < i; j++) {
			const char *a = bpg_jstr(e, "id"), *b = bpg_jstr(json_array_get(json_object_get(root, "catalog"), j), "id");
			if (a && b && strcmp(a, b) == 0) {
				char p[64];
				snprintf(p, sizeof(p), "/catalog/%zu/id", i);
				if ((rc = DIAG(vc, p, false, NULL, "scenario id \"%s\" is used twice in the catalog", a)) < 0)
					return rc;
			}
		}
		if (json_is_object(e) && (rc = check_scenario(vc, root, e, i, contracts)) < 0)
			return rc;
	}
	return 0;
}

/* Validate rules.<id> and build the configuration of every registry rule. */
static int load_rules(bpg_policy *p, bpg_vctx *vc)
{
	const json_t *rules = json_object_get(p->root, "rules");
	const char *k;
	json_t *v;
	bpg_buf ptr = BPG_BUF_INIT;
	int rc = 0;

	if (!(p->rules = bpg_calloc(bpg_rule_table_len, sizeof(*p->rules))))
		return BPG_ENOMEM;
	for (size_t i = 0; i < bpg_rule_table_len; i++) {
		const bpg_rule_def *r = bpg_rule_table[i];
		p->rules[i].mode = r->info.default_mode;
		if (!(p->rules[i].params = json_object()))
			return BPG_ENOMEM;
		for (size_t j = 0; r->params && r->params[j].name; j++) {
			if (!r->params[j].def)
				continue;
			json_t *d = json_loads(r->params[j].def, JSON_DECODE_ANY, NULL);
			if (!d || json_object_set_new(p->rules[i].params, r->params[j].name, d) < 0)
				return BPG_ENOMEM;
		}
	}
	json_object_foreach((json_t *)rules, k, v) {
		int idx = bpg_rule_index(k);
		bpg_buf_clear(&ptr);
		if ((rc = bpg_buf_puts(&ptr, "/rules")) < 0 || (rc = bpg_jsonptr_push(&ptr, k, strlen(k))) < 0)
			goto done;
		if (idx < 0) {
			bpg_buf known = BPG_BUF_INIT;
			for (size_t i = 0; rc == 0 && i < bpg_rule_table_len; i++)
				rc = bpg_buf_printf(&known, "%s%s", i ? ", " : "", bpg_rule_table[i]->info.id);
			if (rc == 0)
				rc = DIAG(vc, ptr.ptr, true, NULL, "unknown rule '%s'; expected one of: %s", k, known.ptr);
			bpg_buf_dispose(&known);
			if (rc < 0)
				goto done;
			continue;
		}
		const bpg_rule_def *r = bpg_rule_table[idx];
		static const char *const modes[] = { "enforce", "warn", "off", NULL };
		static const bpg_schema mode_s = { SK_ENUM, NULL, NULL, modes };
		bpg_schema ps = { SK_OBJECT, r->params, NULL, NULL };
		vc->rule = r->info.id;
		if (!json_is_object(v)) {
			rc = DIAG(vc, ptr.ptr, false, r->info.id, "expected an object at '%s' ({\"mode\": ...} and "
				"the rule's parameters), found %s", ptr.ptr, bpg_json_type_name(v));
			vc->rule = NULL;
			if (rc < 0)
				goto done;
			continue;
		}
		json_t *copy = json_copy(v);
		if (!copy) {
			rc = BPG_ENOMEM;
			goto done;
		}
		json_t *mode = json_object_get(v, "mode");
		size_t mark = ptr.size;
		if (mode) {
			if ((rc = bpg_buf_puts(&ptr, "/mode")) == 0)
				rc = bpg_schema_check(vc, mode, &mode_s, &ptr);
			ptr.size = mark;
			ptr.ptr[mark] = '\0';
			if (json_is_string(mode)) {
				const char *m = json_string_value(mode);
				p->rules[idx].mode = strcmp(m, "warn") == 0 ? BPG_MODE_WARN :
					strcmp(m, "off") == 0 ? BPG_MODE_OFF : BPG_MODE_ENFORCE;
			}
			json_object_del(copy, "mode");
		}
		if (rc == 0)
			rc = bpg_schema_check(vc, copy, &ps, &ptr);
		if (rc == 0 && r->check)
			rc = r->check(copy, p->root, vc, &ptr);
		if (rc == 0 && json_object_update(p->rules[idx].params, copy) < 0)
			rc = BPG_ENOMEM;
		json_decref(copy);
		vc->rule = NULL;
		if (rc < 0)
			goto done;
	}
done:
	bpg_buf_dispose(&ptr);
	return rc;
}

static int cmp_contract(const void *a, const void *b)
{
	const char *x = bpg_jstr(*(json_t *const *)a, "id"), *y = bpg_jstr(*(json_t *const *)b, "id");
	return strcmp(x ? x : "", y ? y : "");
}

static int load_contracts(bpg_policy *p, bpg_diags *diags, const bpg_policy_files *files)
{
	json_t **v = NULL;
	size_t n = 0;
	int rc = 0;

	if (!(p->contracts = json_array()))
		return BPG_ENOMEM;
	if (!(v = bpg_calloc(files->n + 1, sizeof(*v))))
		return BPG_ENOMEM;
	for (size_t i = 0; i < files->n; i++) {
		const bpg_policy_file *f = &files->v[i];
		json_t *c = NULL;
		bpg_buf ptr = BPG_BUF_INIT;
		if (strncmp(f->path, "contracts/", 10) != 0)
			continue;
		if ((rc = parse_file(&c, diags, f)) < 0 || !c)
			goto next;
		bpg_vctx vc = { diags, f->display, f->data, f->len, NULL, NULL, 0 };
		size_t before = bpg_diags_count(diags);
		if ((rc = bpg_schema_check(&vc, c, &bpg_s_contract, &ptr)) < 0)
			goto next;
		for (size_t j = 0; j < n && bpg_diags_count(diags) == before; j++)
			if (cmp_contract(&v[j], &c) == 0)
				rc = DIAG(&vc, "/id", false, NULL, "contract id \"%s\" is used by another file "
					"in contracts/", bpg_jstr(c, "id"));
		if (rc == 0 && bpg_diags_count(diags) == before) {
			v[n++] = c;
			c = NULL;
		}
next:
		json_decref(c);
		bpg_buf_dispose(&ptr);
		if (rc < 0)
			goto done;
	}
	qsort(v, n, sizeof(*v), cmp_contract);
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(p->contracts, v[i]) < 0)
			rc = BPG_ENOMEM;
		v[i] = NULL;
	}
done:
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	return rc;
}

static int load_tests(bpg_policy *p, bpg_diags *diags, const bpg_policy_files *files)
{
	int rc = 0;

	if (!(p->tests = bpg_calloc(files->n + 1, sizeof(*p->tests))))
		return BPG_ENOMEM;
	for (size_t i = 0; i < files->n; i++) {
		const bpg_policy_file *f = &files->v[i];
		json_t *t = NULL;
		if (strncmp(f->path, "tests/", 6) != 0)
			continue;
		if ((rc = parse_file(&t, diags, f)) < 0 || !t)
			goto next;
		bpg_vctx vc = { diags, f->display, f->data, f->len, NULL, NULL, 0 };
		size_t before = bpg_diags_count(diags);
		if ((rc = bpg_ptest_validate(&vc, t)) < 0 || bpg_diags_count(diags) != before)
			goto next;
		bpg_ptest *pt = &p->tests[p->ntests];
		const char *name = bpg_jstr(t, "name");
		size_t l = strlen(f->path) + strlen(name) + 3;
		pt->file = bpg_strdup(f->display);
		pt->name = bpg_malloc(l);
		if (!pt->file || !pt->name) {
			free(pt->file);
			free(pt->name);
			rc = BPG_ENOMEM;
			goto next;
		}
		snprintf(pt->name, l, "%s: %s", f->path, name);
		pt->json = t;
		t = NULL;
		p->ntests++;
next:
		json_decref(t);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* allowed_signers: a light check of the shape (the sign module verifies keys). */
static int check_signers(bpg_diags *diags, const bpg_policy_file *f)
{
	unsigned line = 1;
	const char *s = f->data, *end = f->data + f->len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;
		const char *t = s;
		while (t < e && (*t == ' ' || *t == '\t'))
			t++;
		if (t < e && *t != '#' && *t != '\r') {
			size_t fields = 0;
			bool key = false;
			for (const char *q = t; q < e;) {
				while (q < e && (*q == ' ' || *q == '\t'))
					q++;
				const char *w = q;
				while (q < e && *q != ' ' && *q != '\t')
					q++;
				if (q > w) {
					fields++;
					if ((q - w > 4 && memcmp(w, "ssh-", 4) == 0) || (q - w > 6 && memcmp(w, "ecdsa-", 6) == 0) ||
					    (q - w > 3 && memcmp(w, "sk-", 3) == 0))
						key = true;
				}
			}
			if (fields < 3 || !key) {
				int rc = bpg_diags_add_at(diags, f->display, line, (unsigned)(t - s) + 1, NULL,
					"expected 'principal [options] key-type base64-key' (OpenSSH allowed_signers)");
				if (rc < 0)
					return rc;
			}
		}
		s = nl ? nl + 1 : end;
		line++;
	}
	return 0;
}

void bpg_policy_free(bpg_policy *p)
{
	if (!p)
		return;
	json_decref(p->root);
	json_decref(p->contracts);
	for (size_t i = 0; i < p->ntests; i++) {
		free(p->tests[i].file);
		free(p->tests[i].name);
		json_decref(p->tests[i].json);
	}
	free(p->tests);
	if (p->rules)
		for (size_t i = 0; i < bpg_rule_table_len; i++)
			json_decref(p->rules[i].params);
	free(p->rules);
	bpg_query_index_free(p->qx);
	bpg_make_index_free(p->mx);
	json_decref(p->envmaps);
	free(p);
}

const json_t *bpg_policy_json(const bpg_policy *p)
{
	return p->root;
}

bpg_mode bpg_policy_rule_mode(const bpg_policy *p, size_t i)
{
	return i < bpg_rule_table_len ? p->rules[i].mode : BPG_MODE_OFF;
}

int bpg_policy_load(bpg_policy **out, bpg_diags **diags_out, const bpg_policy_files *files,
	bpg_error *err)
{
	return bpg_policy_load_ex(out, diags_out, files, false, err);
}

/* A list from read_dir_hooks has no test bytes: read the folder again. */
static int load_reread(bpg_policy **out, bpg_diags **diags_out, const bpg_policy_files *hashed, bpg_error *err)
{
	bpg_policy_files *full = NULL;
	int rc;

	*out = NULL;
	if (diags_out)
		*diags_out = NULL;
	if ((rc = bpg_policy_files_read_dir(&full, hashed->root, err)) == 0)
		rc = bpg_policy_load_ex(out, diags_out, full, false, err);
	bpg_policy_files_free(full);
	return rc;
}

int bpg_policy_load_ex(bpg_policy **out, bpg_diags **diags_out, const bpg_policy_files *files,
	bool skip_tests, bpg_error *err)
{
	bpg_policy *p = NULL;
	bpg_diags *diags = NULL;
	bpg_buf ptr = BPG_BUF_INIT;
	const bpg_policy_file *pf;
	int rc;

	if (files->tests_hashed && !skip_tests)
		return load_reread(out, diags_out, files, err);
	*out = NULL;
	if (diags_out)
		*diags_out = NULL;
	if ((rc = bpg_diags_new(&diags)) < 0 || !(p = bpg_calloc(1, sizeof(*p)))) {
		rc = BPG_ENOMEM;
		goto done;
	}
	/* Contracts first: the catalog refers to them. */
	if ((rc = load_contracts(p, diags, files)) < 0)
		goto done;
	if (!(pf = bpg_policy_files_find(files, "policy.json"))) {
		rc = bpg_diags_add_at(diags, *files->root ? files->root : ".", 0, 0, NULL,
			"policy.json is missing; copy one from a pack (bpgate init --pack regulated)");
	} else if ((rc = parse_file(&p->root, diags, pf)) == 0 && p->root) {
		bpg_vctx vc = { diags, pf->display, pf->data, pf->len, NULL, NULL, 0 };
		size_t before = bpg_diags_count(diags);
		/* cross checks read through type-safe getters: run them even after
		 * shape errors so one pass reports everything */
		(void)before;
		if ((rc = bpg_schema_check(&vc, p->root, &policy_s, &ptr)) == 0)
			rc = check_cross(&vc, p->root, p->contracts);
		if (rc == 0)
			rc = bpg_check_make(&vc, p->root);
		if (rc == 0)
			rc = load_rules(p, &vc);
	}
	if (rc < 0 || (rc = bpg_load_refmaps(p, diags, files)) < 0)
		goto done;
	if ((pf = bpg_policy_files_find(files, "allowed_signers")) && (rc = check_signers(diags, pf)) < 0)
		goto done;
	if (!skip_tests && (rc = load_tests(p, diags, files)) < 0)
		goto done;
	for (size_t i = 0; i < files->n; i++) {
		const char *fp = files->v[i].path;
		if (strcmp(fp, "policy.json") == 0 || strcmp(fp, "allowed_signers") == 0 || bpg_is_refmap_path(fp) ||
		    ((strncmp(fp, "contracts/", 10) == 0 || strncmp(fp, "tests/", 6) == 0) && !strchr(strchr(fp, '/') + 1, '/')))
			continue;
		if ((rc = bpg_diags_add_at(diags, files->v[i].display, 0, 0, NULL,
			"not a policy file; expected policy.json, allowed_signers, contracts/*.json, "
			"environments/*.json or tests/*.json")) < 0)
			goto done;
	}
	bpg_diags_sort(diags);
	if (bpg_diags_count(diags) > 0) {
		bpg_buf msg = BPG_BUF_INIT;
		size_t n = bpg_diags_count(diags);
		if (bpg_diag_format(&msg, bpg_diags_get(diags, 0)) == 0 && n > 1)
			BPG_IGNORE(bpg_buf_printf(&msg, " (and %zu more problem%s)", n - 1, n > 2 ? "s" : ""));
			/* failing already (EINVALID below): only the count of further problems is lost */
		rc = bpg_error_set(err, BPG_EINVALID, "%s", msg.ptr ? msg.ptr : "invalid policy");
		bpg_buf_dispose(&msg);
		goto done;
	}
	if ((rc = bpg_query_index_build(p)) < 0 || (rc = bpg_make_index_build(p)) < 0)
		goto done;
	*out = p;
	p = NULL;
done:
	if (rc == BPG_ENOMEM)
		bpg_error_set(err, rc, "out of memory while loading the policy");
	if (diags_out)
		*diags_out = diags;
	else
		bpg_diags_free(diags);
	bpg_policy_free(p);
	bpg_buf_dispose(&ptr);
	return rc;
}

int bpg_policy_load_dir(bpg_policy **out, const char *dir, bpg_error *err)
{
	bpg_policy_files *files = NULL;
	int rc;

	*out = NULL;
	if ((rc = bpg_policy_files_read_dir(&files, dir, err)) == 0)
		rc = bpg_policy_load(out, NULL, files, err);
	if (rc == BPG_EINVALID)
		bpg_error_prefix(err, "the policy is broken, so every change is refused until it is fixed "
			"(run 'bpgate policy check %s' to see every problem): ", dir);
	bpg_policy_files_free(files);
	return rc;
}
