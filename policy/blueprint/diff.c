/*
 * Semantic diff of two blueprints, keyed by module id: what a reviewer needs
 * to know (modules added, removed, moved, re-configured, re-mapped, filters,
 * connections, error handling, scenario settings), not a text diff.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define DISPLAY_MAX 120
#define LEAF_MAX_DEPTH 32

struct bpg_bpdiff {
	bpg_change *changes;
	size_t count, alloc;
	bp_pool pool;
	bool oom; /* a value could not be shown: the diff fails rather than show it as none */
};

static int push(bpg_bpdiff *d, bpg_change_kind kind, const bpg_module *m, const char *field,
	const char *old_value, const char *new_value)
{
	bpg_change *c;

	if (!(c = bpg_array_grow(d->changes, &d->alloc, d->count + 1, sizeof(*c), 32)))
		return BPG_ENOMEM;
	d->changes = c;
	c = &d->changes[d->count++];
	c->kind = kind;
	c->module_id = m ? m->id : 0;
	c->module = m ? m->module : NULL;
	c->field = field;
	c->old_value = old_value;
	c->new_value = new_value;
	return 0;
}

static const char *show(bpg_bpdiff *d, const json_t *v)
{
	const char *s = bp_display_value(&d->pool, v, DISPLAY_MAX);
	if (!s && v)
		d->oom = true;
	return s;
}

/* Flatten a JSON value into leaf pointer -> value pairs (object: key -> leaf). */
static int flatten(json_t *leaves, const json_t *v, bpg_buf *p, int depth)
{
	size_t mark = p->size, i;
	const char *key;
	json_t *child;

	if (depth >= LEAF_MAX_DEPTH || (!json_is_object(v) && !json_is_array(v)) ||
	    (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		return json_object_set(leaves, p->size ? p->ptr + 1 : "", (json_t *)v) < 0 ? BPG_ENOMEM : 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			if (bpg_jsonptr_push(p, key, strlen(key)) < 0 || flatten(leaves, child, p, depth + 1) < 0)
				return BPG_ENOMEM;
			p->size = mark;
			p->ptr[mark] = '\0';
		}
	} else {
		json_array_foreach(v, i, child) {
			if (bpg_jsonptr_push_index(p, i) < 0 || flatten(leaves, child, p, depth + 1) < 0)
				return BPG_ENOMEM;
			p->size = mark;
			p->ptr[mark] = '\0';
		}
	}
	return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The union of two objects' keys, sorted. *keys_obj owns the strings that
 * *out points to (decref it, free *out). */
static int union_keys(const char ***out, size_t *n, json_t **keys_obj, const json_t *a, const json_t *b)
{
	json_t *keys = json_object(), *v;
	const char *key;

	*out = NULL;
	*n = 0;
	*keys_obj = keys;
	if (!keys)
		return BPG_ENOMEM;
	json_object_foreach((json_t *)a, key, v)
		if (json_object_set(keys, key, json_true()) < 0)
			return BPG_ENOMEM;
	json_object_foreach((json_t *)b, key, v)
		if (json_object_set(keys, key, json_true()) < 0)
			return BPG_ENOMEM;
	if (json_object_size(keys) == 0)
		return 0;
	if (!(*out = bpg_calloc(json_object_size(keys), sizeof(**out))))
		return BPG_ENOMEM;
	json_object_foreach(keys, key, v)
		(*out)[(*n)++] = key;
	qsort(*out, *n, sizeof(**out), cmp_cstr);
	return 0;
}

/* Compare two flattened objects; one change per differing leaf, in key order.
 * `skip` names top-level keys compared elsewhere (connection references). */
static bool is_ref_leaf(const bpg_module *m, const char *leaf)
{
	for (size_t r = 0; m && r < m->nrefs; r++) {
		size_t kl = strlen(m->refs[r].key);
		if (strncmp(leaf, m->refs[r].key, kl) == 0 && (leaf[kl] == '\0' || leaf[kl] == '/'))
			return true;
	}
	return false;
}

/* Reference leaves of either side (skip_a, skip_b) are reported by diff_refs,
 * so an added or a removed reference is one change, not two. */
static int diff_leaves(bpg_bpdiff *d, bpg_change_kind kind, const bpg_module *m,
	const json_t *a, const json_t *b, const char *prefix, const bpg_module *skip_a,
	const bpg_module *skip_b)
{
	json_t *la = json_object(), *lb = json_object(), *keys = NULL;
	bpg_buf p = BPG_BUF_INIT;
	const char **sorted = NULL;
	size_t n = 0;
	int rc = BPG_ENOMEM;

	if (!la || !lb)
		goto done;
	if ((a && flatten(la, a, &p, 0) < 0) || (bpg_buf_clear(&p), b && flatten(lb, b, &p, 0) < 0))
		goto done;
	if (union_keys(&sorted, &n, &keys, la, lb) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const json_t *va = json_object_get(la, sorted[i]), *vb = json_object_get(lb, sorted[i]);
		const char *field;
		if (va && vb && json_equal(va, vb))
			continue;
		if (is_ref_leaf(skip_a, sorted[i]) || is_ref_leaf(skip_b, sorted[i]))
			continue;
		field = bp_pool_printf(&d->pool, "%s%s%s", prefix, *sorted[i] ? "." : "", sorted[i]);
		if (!field || push(d, kind, m, field, show(d, va), show(d, vb)) < 0)
			goto done;
	}
	rc = 0;
done:
	free(sorted);
	bpg_buf_dispose(&p);
	json_decref(la);
	json_decref(lb);
	json_decref(keys);
	return rc;
}

static const char *ref_value(const bpg_module *m, const char *key)
{
	for (size_t i = 0; i < m->nrefs; i++)
		if (strcmp(m->refs[i].key, key) == 0)
			return m->refs[i].value;
	return NULL;
}

static int diff_refs(bpg_bpdiff *d, const bpg_module *a, const bpg_module *b)
{
	for (size_t i = 0; i < a->nrefs; i++) {
		const char *nv = ref_value(b, a->refs[i].key);
		if (!nv || strcmp(nv, a->refs[i].value) != 0)
			if (push(d, BPG_CHANGE_CONNECTION, b, a->refs[i].key, a->refs[i].value, nv) < 0)
				return BPG_ENOMEM;
	}
	for (size_t i = 0; i < b->nrefs; i++)
		if (!ref_value(a, b->refs[i].key) &&
		    push(d, BPG_CHANGE_CONNECTION, b, b->refs[i].key, NULL, b->refs[i].value) < 0)
			return BPG_ENOMEM;
	return 0;
}

static const char *filter_text(bpg_bpdiff *d, const bpg_module *m)
{
	if (!m->filter)
		return NULL;
	return bp_pool_printf(&d->pool, "\"%s\" %s", m->filter_name,
		show(d, json_object_get(m->filter, "conditions")) ?: "[]");
}

static const char *handler_text(const bpg_module *m)
{
	if (!m->has_error_handler)
		return NULL;
	return m->error_directive ? m->error_directive : "error route without directive";
}

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static int diff_module(bpg_bpdiff *d, const bpg_module *a, const bpg_module *b)
{
	int rc = 0;

	if (strcmp(a->module, b->module) != 0)
		rc = push(d, BPG_CHANGE_MODULE, b, NULL, a->module, b->module);
	if (rc == 0 && a->version != b->version)
		rc = push(d, BPG_CHANGE_VERSION, b, NULL, bp_pool_printf(&d->pool, "%lld", a->version),
			bp_pool_printf(&d->pool, "%lld", b->version));
	if (rc == 0 && strcmp(a->path, b->path) != 0)
		rc = push(d, BPG_CHANGE_MOVED, b, NULL, a->path, b->path);
	if (rc == 0 && str_differs(a->label, b->label))
		rc = push(d, BPG_CHANGE_LABEL, b, NULL, a->label, b->label);
	if (rc == 0 && (!!a->filter != !!b->filter || (a->filter && !json_equal(a->filter, b->filter))))
		rc = push(d, BPG_CHANGE_FILTER, b, NULL, filter_text(d, a), filter_text(d, b));
	if (rc == 0)
		rc = diff_refs(d, a, b);
	if (rc == 0)
		rc = diff_leaves(d, BPG_CHANGE_MAPPER, b, a->mapper, b->mapper, "mapper", NULL, NULL);
	if (rc == 0)
		rc = diff_leaves(d, BPG_CHANGE_PARAMETER, b, a->parameters, b->parameters, "parameters", a, b);
	if (rc == 0 && (a->has_error_handler != b->has_error_handler ||
	    str_differs(a->error_directive, b->error_directive)))
		rc = push(d, BPG_CHANGE_ERROR_HANDLING, b, NULL, handler_text(a), handler_text(b));
	return rc;
}

static int diff_settings(bpg_bpdiff *d, const bpg_blueprint *a, const bpg_blueprint *b)
{
	const json_t *sa = bpg_blueprint_settings(a), *sb = bpg_blueprint_settings(b);
	json_t *keys = NULL;
	const char **sorted = NULL;
	size_t n = 0;
	int rc = BPG_ENOMEM;

	if (union_keys(&sorted, &n, &keys, sa, sb) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const json_t *va = json_object_get(sa, sorted[i]), *vb = json_object_get(sb, sorted[i]);
		const char *field;
		if (va && vb && json_equal(va, vb))
			continue;
		field = bp_pool_strndup(&d->pool, sorted[i], strlen(sorted[i]));
		if (!field || push(d, BPG_CHANGE_SETTING, NULL, field,
		    va ? show(d, va) : "(unset)", vb ? show(d, vb) : "(unset)") < 0)
			goto done;
	}
	rc = 0;
done:
	free(sorted);
	json_decref(keys);
	return rc;
}

static int cmp_module_ptr(const void *x, const void *y)
{
	const bpg_module *a = *(const bpg_module *const *)x, *b = *(const bpg_module *const *)y;
	return a->id < b->id ? -1 : a->id > b->id;
}

static const bpg_module **sorted_modules(const bpg_blueprint *bp)
{
	const bpg_module **v = bpg_calloc(bp->nmodules + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < bp->nmodules; i++)
		v[i] = &bp->modules[i];
	qsort(v, bp->nmodules, sizeof(*v), cmp_module_ptr);
	return v;
}

int bpg_bpdiff_compute(bpg_bpdiff **out, const bpg_blueprint *a, const bpg_blueprint *b, bpg_error *err)
{
	bpg_bpdiff *d = bpg_calloc(1, sizeof(*d));
	const bpg_module **ma = NULL, **mb = NULL;
	size_t i = 0, j = 0;
	int rc = BPG_ENOMEM;

	*out = NULL;
	if (!d || !(ma = sorted_modules(a)) || !(mb = sorted_modules(b)))
		goto done;
	if (strcmp(a->name, b->name) != 0 && push(d, BPG_CHANGE_NAME, NULL, NULL, a->name, b->name) < 0)
		goto done;
	if (diff_settings(d, a, b) < 0)
		goto done;
	/* Merge the two id-sorted lists. */
	while (i < a->nmodules || j < b->nmodules) {
		int r;
		if (i == a->nmodules)
			r = push(d, BPG_CHANGE_ADDED, mb[j], NULL, NULL, mb[j]->path), j++;
		else if (j == b->nmodules)
			r = push(d, BPG_CHANGE_REMOVED, ma[i], NULL, ma[i]->path, NULL), i++;
		else if (ma[i]->id < mb[j]->id)
			r = push(d, BPG_CHANGE_REMOVED, ma[i], NULL, ma[i]->path, NULL), i++;
		else if (ma[i]->id > mb[j]->id)
			r = push(d, BPG_CHANGE_ADDED, mb[j], NULL, NULL, mb[j]->path), j++;
		else
			r = diff_module(d, ma[i], mb[j]), i++, j++;
		if (r < 0)
			goto done;
	}
	if (d->oom)
		goto done;
	*out = d;
	d = NULL;
	rc = 0;
done:
	free(ma);
	free(mb);
	bpg_bpdiff_free(d);
	if (rc < 0)
		bpg_error_set(err, rc, "out of memory computing the blueprint diff");
	return rc;
}

void bpg_bpdiff_free(bpg_bpdiff *d)
{
	if (!d)
		return;
	free(d->changes);
	bp_pool_dispose(&d->pool);
	free(d);
}

size_t bpg_bpdiff_count(const bpg_bpdiff *d) { return d->count; }

const bpg_change *bpg_bpdiff_get(const bpg_bpdiff *d, size_t i)
{
	return i < d->count ? &d->changes[i] : NULL;
}

const char *bpg_change_kind_name(bpg_change_kind k)
{
	static const char *names[] = { "added", "removed", "moved", "module", "version", "mapper",
		"parameter", "filter", "connection", "error_handling", "setting", "name", "label" };
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

int bpg_bpdiff_to_json(json_t **out, const bpg_bpdiff *d, bpg_error *err)
{
	json_t *arr = json_array();

	*out = NULL;
	for (size_t i = 0; arr && i < d->count; i++) {
		const bpg_change *c = &d->changes[i];
		json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
			"kind", bpg_change_kind_name(c->kind),
			"module_id", c->module_id ? json_integer(c->module_id) : json_null(),
			"module", c->module ? json_string(c->module) : json_null(),
			"field", c->field ? json_string(c->field) : json_null(),
			"old", c->old_value ? json_string(c->old_value) : json_null(),
			"new", c->new_value ? json_string(c->new_value) : json_null());
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!arr)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	*out = json_pack("{s:o}", "changes", arr);
	return *out ? 0 : bpg_error_set(err, BPG_ENOMEM, "out of memory");
}
