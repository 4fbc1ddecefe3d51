/* Reading blueprint-model facts (see bpfacts.h). */
#include "bpfacts.h"

#include <string.h>

static const json_t *literal_at(const json_t *module, const char *section, const char *key)
{
	const char *mp = bpg_jstr(module, "pointer");
	bpg_buf want = BPG_BUF_INIT;
	const json_t *found = NULL;
	size_t i;
	json_t *l;

	if (!mp || bpg_buf_printf(&want, "%s/%s", mp, section) < 0 ||
	    bpg_jsonptr_push(&want, key, strlen(key)) < 0)
		goto done;
	json_array_foreach(json_object_get(module, "literals"), i, l) {
		const char *p = bpg_jstr(l, "pointer");
		if (p && strcmp(p, want.ptr) == 0) {
			found = json_object_get(l, "value");
			break;
		}
	}
done:
	bpg_buf_dispose(&want);
	return found;
}

/* A contract field may name a nested mapper member with '/' ("record/Email"). */
static const json_t *walk(const json_t *v, const char *path)
{
	char tok[256];
	while (v && *path) {
		size_t n = strcspn(path, "/");
		if (n >= sizeof(tok))
			return NULL;
		memcpy(tok, path, n);
		tok[n] = '\0';
		v = json_object_get(v, tok);
		path += n + (path[n] == '/');
	}
	return v;
}

const json_t *bpg_bp_mapper_value(const json_t *module, const char *field)
{
	const json_t *mapper = json_object_get(module, "mapper");
	if (json_is_object(mapper))
		return walk(mapper, field);
	return literal_at(module, "mapper", field);
}

bool bpg_bp_is_mapped(const json_t *module, const char *field)
{
	const json_t *v = bpg_bp_mapper_value(module, field);
	if (!v || json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return true;
}

const json_t *bpg_bp_param_value(const json_t *module, const char *key)
{
	const json_t *params = json_object_get(module, "parameters");
	if (json_is_object(params))
		return json_object_get(params, key);
	return literal_at(module, "parameters", key);
}

static bool scalar_eq(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return false;
	if (json_is_string(a) && json_is_string(b))
		return strcmp(json_string_value(a), json_string_value(b)) == 0;
	return json_equal((json_t *)a, (json_t *)b);
}

bool bpg_bp_contract_matches(const json_t *contract, const json_t *module)
{
	const json_t *match = json_object_get(contract, "match");
	const char *mod = bpg_jstr(module, "module");
	bool glob_ok = false;
	size_t i;
	json_t *g;
	const char *k;
	json_t *v;

	if (!mod)
		return false;
	json_array_foreach(json_object_get(match, "modules"), i, g)
		if (json_is_string(g) && bpg_glob_match(json_string_value(g), mod))
			glob_ok = true;
	if (!glob_ok)
		return false;
	json_object_foreach(json_object_get(match, "parameters"), k, v)
		if (!scalar_eq(bpg_bp_param_value(module, k), v))
			return false;
	return true;
}

bool bpg_bp_contract_applies(const json_t *entry, const json_t *contract)
{
	const json_t *list = json_object_get(entry, "contracts");
	const char *id = bpg_jstr(contract, "id");
	return !list || (id && bpg_strings_has(list, id));
}

bool bpg_bp_is_orphan(const json_t *module)
{
	const char *c = bpg_jstr(module, "container");
	return c && strcmp(c, "orphan") == 0;
}

long long bpg_bp_module_id(const json_t *module)
{
	return json_integer_value(json_object_get(module, "id"));
}

bool bpg_bp_is_literal(const json_t *v)
{
	if (!v || json_is_null(v))
		return false;
	if (json_is_string(v))
		return strstr(json_string_value(v), "{{") == NULL;
	return !json_is_object(v) && !json_is_array(v);
}
