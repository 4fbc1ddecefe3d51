/* Getters of the blueprint model and its stable JSON form. */
#include "internal.h"
#include "bpgate/jsonshared.h"

#include <stdlib.h>
#include <string.h>

const char *bpg_blueprint_name(const bpg_blueprint *bp) { return bp->name; }
size_t bpg_blueprint_module_count(const bpg_blueprint *bp) { return bp->nmodules; }
const json_t *bpg_blueprint_json(const bpg_blueprint *bp) { return bp->doc; }
const char *bpg_blueprint_zone(const bpg_blueprint *bp) { return bp->zone; }

const bpg_module *bpg_blueprint_module(const bpg_blueprint *bp, size_t i)
{
	return i < bp->nmodules ? &bp->modules[i] : NULL;
}

const bpg_module *bpg_blueprint_module_by_id(const bpg_blueprint *bp, long long id)
{
	for (size_t i = 0; i < bp->nmodules; i++)
		if (bp->modules[i].id == id)
			return &bp->modules[i];
	return NULL;
}

const json_t *bpg_blueprint_settings(const bpg_blueprint *bp)
{
	const json_t *s = json_object_get(json_object_get(bp->doc, "metadata"), "scenario");
	return json_is_object(s) ? s : NULL;
}

bpg_flag bpg_blueprint_flag(const bpg_blueprint *bp, const char *name)
{
	const json_t *v = json_object_get(bpg_blueprint_settings(bp), name);
	if (!v)
		return BPG_FLAG_UNSET;
	if (json_is_true(v))
		return BPG_FLAG_TRUE;
	if (json_is_false(v))
		return BPG_FLAG_FALSE;
	return BPG_FLAG_OTHER;
}

bool bpg_blueprint_writes(const bpg_blueprint *bp)
{
	for (size_t i = 0; i < bp->nmodules; i++)
		if (bp->modules[i].writes && bp->modules[i].container != BPG_CONTAINER_ORPHAN)
			return true;
	return false;
}

bool bpg_blueprint_looks_like(const char *data, size_t len)
{
	/* Cheap: the export always has "flow" and "metadata" keys near the top. */
	size_t n = len < 65536 ? len : 65536;
	size_t i = 0;

	if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t'))
		i++;
	if (i >= n || data[i] != '{')
		return false;
	return memmem(data, len, "\"flow\"", 6) && memmem(data, len, "\"metadata\"", 10);
}

/* ---- JSON form -------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
	return s ? bpg_json_shared_str(s) : json_null();
}

/* key: one of this file's ASCII literals, so not checked for UTF-8 again */
static int set(json_t *obj, const char *key, json_t *value)
{
	return value ? json_object_set_new_nocheck(obj, key, value) : -1;
}

static json_t *refs_json(const bpg_module *m)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < m->nrefs; i++) {
		json_t *r = json_object();
		if (!r || set(r, "kind", bpg_json_shared_str(m->refs[i].kind)) < 0 ||
		    set(r, "key", bpg_json_shared_str(m->refs[i].key)) < 0 ||
		    set(r, "value", bpg_json_shared_str(m->refs[i].value)) < 0 ||
		    set(r, "pointer", bpg_json_shared_str(m->refs[i].pointer)) < 0 ||
		    json_array_append_new(arr, r) < 0) {
			json_decref(r);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *literals_json(const bpg_module *m)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < m->nliterals; i++) {
		json_t *l = json_object();
		if (!l || set(l, "pointer", bpg_json_shared_str(m->literals[i].pointer)) < 0 ||
		    set(l, "value", bpg_json_shared_string(m->literals[i].value, m->literals[i].len)) < 0 ||
		    json_array_append_new(arr, l) < 0) {
			json_decref(l);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *filter_json(const bpg_module *m)
{
	if (!m->filter)
		return json_null();
	json_t *conditions = json_object_get(m->filter, "conditions");
	return json_pack("{s:s, s:o}", "name", m->filter_name,
		"conditions", conditions ? json_incref(conditions) : json_array());
}

static json_t *module_json(const bpg_module *m)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (set(o, "id", json_integer(m->id)) < 0 ||
	    set(o, "module", bpg_json_shared_str(m->module)) < 0 ||
	    set(o, "app", bpg_json_shared_str(m->app)) < 0 ||
	    set(o, "action", bpg_json_shared_str(m->action)) < 0 ||
	    set(o, "version", m->version >= 0 ? json_integer(m->version) : json_null()) < 0 ||
	    set(o, "container", bpg_json_shared_str(bpg_container_name(m->container))) < 0 ||
	    set(o, "path", bpg_json_shared_str(m->path)) < 0 ||
	    set(o, "pointer", bpg_json_shared_str(m->pointer)) < 0 ||
	    set(o, "parent_id", m->parent_id ? json_integer(m->parent_id) : json_null()) < 0 ||
	    set(o, "depth", json_integer(m->depth)) < 0 ||
	    set(o, "label", str_or_null(m->label)) < 0 ||
	    set(o, "effect", bpg_json_shared_str(bpg_effect_name(m->effect))) < 0 ||
	    set(o, "writes", json_boolean(m->writes)) < 0 ||
	    set(o, "has_error_handler", json_boolean(m->has_error_handler)) < 0 ||
	    set(o, "error_directive", str_or_null(m->error_directive)) < 0 ||
	    set(o, "filter", filter_json(m)) < 0 ||
	    set(o, "refs", refs_json(m)) < 0 ||
	    set(o, "mapper", m->mapper ? json_incref((json_t *)m->mapper) : json_null()) < 0 ||
	    set(o, "literals", literals_json(m)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, de-duplicated reference values of one kind. */
static json_t *ref_set(const bpg_blueprint *bp, const char *kind)
{
	const char **vals = NULL;
	size_t n = 0, total = 0;
	json_t *arr = json_array();

	for (size_t i = 0; i < bp->nmodules; i++)
		total += bp->modules[i].nrefs;
	if (!arr || (total && !(vals = bpg_calloc(total, sizeof(*vals)))))
		goto fail;
	for (size_t i = 0; i < bp->nmodules; i++)
		for (size_t r = 0; r < bp->modules[i].nrefs; r++)
			if (strcmp(bp->modules[i].refs[r].kind, kind) == 0)
				vals[n++] = bp->modules[i].refs[r].value;
	if (n)
		qsort(vals, n, sizeof(*vals), cmp_str);
	for (size_t i = 0; i < n; i++)
		if ((i == 0 || strcmp(vals[i], vals[i - 1]) != 0) &&
		    json_array_append_new(arr, bpg_json_shared_str(vals[i])) < 0)
			goto fail;
	free(vals);
	return arr;
fail:
	free(vals);
	json_decref(arr);
	return NULL;
}

/* ---- sharing what did not change with another version ----------------- */

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool json_same(const json_t *a, const json_t *b)
{
	return a == b || (a && b && json_equal((json_t *)a, (json_t *)b));
}

/* Would module_json() write the same value for a and for b? Every field it
 * writes, compared here: keep the two in step (tests/unit/test_blueprint.c
 * changes each value of the corpus in turn and compares the JSON forms). */
static bool module_same(const bpg_module *a, const bpg_module *b)
{
	if (a->id != b->id || a->version != b->version || a->container != b->container ||
	    a->parent_id != b->parent_id || a->depth != b->depth || a->effect != b->effect ||
	    a->writes != b->writes || a->has_error_handler != b->has_error_handler ||
	    a->nrefs != b->nrefs || a->nliterals != b->nliterals || !a->filter != !b->filter ||
	    !str_same(a->module, b->module) || !str_same(a->app, b->app) || !str_same(a->action, b->action) ||
	    !str_same(a->path, b->path) || !str_same(a->pointer, b->pointer) || !str_same(a->label, b->label) ||
	    !str_same(a->error_directive, b->error_directive) || !json_same(a->mapper, b->mapper))
		return false;
	if (a->filter && (!str_same(a->filter_name, b->filter_name) ||
	    !json_same(json_object_get(a->filter, "conditions"), json_object_get(b->filter, "conditions"))))
		return false;
	for (size_t i = 0; i < a->nrefs; i++)
		if (!str_same(a->refs[i].kind, b->refs[i].kind) || !str_same(a->refs[i].key, b->refs[i].key) ||
		    !str_same(a->refs[i].value, b->refs[i].value) || !str_same(a->refs[i].pointer, b->refs[i].pointer))
			return false;
	for (size_t i = 0; i < a->nliterals; i++)
		if (a->literals[i].len != b->literals[i].len || !str_same(a->literals[i].pointer, b->literals[i].pointer) ||
		    (a->literals[i].len && memcmp(a->literals[i].value, b->literals[i].value, a->literals[i].len) != 0))
			return false;
	return true;
}

/* other's module with bp's i-th module's id: at the same place in the common case
 * (an edit keeps the order), else looked up in `ids`, other's positions sorted by id
 * (built on the first miss). SIZE_MAX when other has no such module. */
typedef struct {
	long long id;
	size_t at;
} id_at;

static int cmp_id_at(const void *a, const void *b)
{
	const id_at *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static size_t counterpart(const bpg_blueprint *other, long long id, size_t i, id_at **ids, bool *oom)
{
	size_t lo = 0, hi = other->nmodules;

	if (i < other->nmodules && other->modules[i].id == id)
		return i;
	if (!*ids) {
		if (!(*ids = bpg_calloc(other->nmodules ? other->nmodules : 1, sizeof(**ids)))) {
			*oom = true;
			return SIZE_MAX;
		}
		for (size_t k = 0; k < other->nmodules; k++)
			(*ids)[k] = (id_at){ other->modules[k].id, k };
		qsort(*ids, other->nmodules, sizeof(**ids), cmp_id_at);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((*ids)[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ids are unique within a parsed blueprint (the parser refuses repeats) */
	return lo < other->nmodules && (*ids)[lo].id == id ? (*ids)[lo].at : SIZE_MAX;
}

static int model_json(json_t **out, const bpg_blueprint *bp, const bpg_blueprint *other,
	const json_t *other_json, bpg_error *err)
{
	json_t *o = json_object(), *mods = json_array();
	const json_t *settings = bpg_blueprint_settings(bp);
	const json_t *instant = json_object_get(json_object_get(bp->doc, "metadata"), "instant");
	const json_t *other_mods = json_object_get(other_json, "modules");
	const json_t *other_settings = json_object_get(other_json, "settings");
	id_at *ids = NULL;
	bool oom = false;
	int rc = BPG_ENOMEM;

	*out = NULL;
	if (!o || !mods)
		goto done;
	for (size_t i = 0; i < bp->nmodules; i++) {
		size_t j = other ? counterpart(other, bp->modules[i].id, i, &ids, &oom) : SIZE_MAX;
		if (oom)
			goto done;
		json_t *shared = j != SIZE_MAX && module_same(&bp->modules[i], &other->modules[j]) ?
			json_array_get(other_mods, j) : NULL;
		/* other_json's module there must be other's module j: same id, or not shared */
		if (shared && json_integer_value(json_object_get(shared, "id")) != bp->modules[i].id)
			shared = NULL;
		json_t *m = shared ? json_incref(shared) : module_json(&bp->modules[i]);
		if (!m || json_array_append_new(mods, m) < 0)
			goto done;
	}
	if (other_settings && settings && json_equal((json_t *)settings, (json_t *)other_settings))
		settings = other_settings;
	if (set(o, "name", json_string(bp->name)) < 0 ||
	    set(o, "zone", str_or_null(bp->zone)) < 0 ||
	    set(o, "instant", json_is_boolean(instant) ? json_boolean(json_is_true(instant)) : json_null()) < 0 ||
	    set(o, "settings", settings ? json_incref((json_t *)settings) : json_object()) < 0 ||
	    set(o, "module_count", json_integer((json_int_t)bp->nmodules)) < 0 ||
	    set(o, "writes", json_boolean(bpg_blueprint_writes(bp))) < 0 ||
	    set(o, "connections", ref_set(bp, "connection")) < 0 ||
	    set(o, "webhooks", ref_set(bp, "webhook")) < 0 ||
	    set(o, "datastores", ref_set(bp, "datastore")) < 0 ||
	    set(o, "keychains", ref_set(bp, "keychain")) < 0)
		goto done;
	if (json_object_set(o, "modules", mods) < 0)
		goto done;
	*out = o;
	o = NULL;
	rc = 0;
done:
	free(ids);
	json_decref(mods);
	json_decref(o);
	if (rc < 0)
		bpg_error_set(err, rc, "out of memory building the blueprint model");
	return rc;
}

int bpg_blueprint_to_json(json_t **out, const bpg_blueprint *bp, bpg_error *err)
{
	return model_json(out, bp, NULL, NULL, err);
}

int bpg_blueprint_to_json_sharing(json_t **out, const bpg_blueprint *bp, const bpg_blueprint *other,
	const json_t *other_json, bpg_error *err)
{
	/* other_json must be other's model (its modules in other's order) */
	if (json_array_size(json_object_get(other_json, "modules")) != other->nmodules)
		return bpg_error_set(err, BPG_EINVALID, "the model to share with is not the other blueprint's");
	return model_json(out, bp, other, other_json, err);
}
