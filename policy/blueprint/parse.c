/*
 * Parsing a blueprint into the model: load the JSON strictly (duplicate keys,
 * invalid UTF-8 and depth are errors), then walk the six module containers.
 */
#include "internal.h"
#include "bpgate/jsonfast.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	bpg_blueprint *bp;
	const char *name;   /* file name for messages */
	bpg_error *err;
	bpg_buf ptr;        /* JSON pointer of the current container */
} walker;

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int oom(walker *w)
{
	return bpg_error_set(w->err, BPG_ENOMEM, "%s: out of memory", w->name);
}

/* ---- references ------------------------------------------------------- */

/* Reference kind from a metadata.parameters[].type ("account:google", ...). */
static const char *kind_from_type(const char *type)
{
	if (!type)
		return NULL;
	if (strncmp(type, "account", 7) == 0)
		return "connection";
	if (strncmp(type, "hook", 4) == 0)
		return "webhook";
	if (strncmp(type, "keychain", 8) == 0)
		return "keychain";
	if (strcmp(type, "datastore") == 0)
		return "datastore";
	if (strcmp(type, "udt") == 0)
		return "datastructure";
	if (strcmp(type, "scenario") == 0)
		return "scenario";
	if (strcmp(type, "device") == 0)
		return "device";
	return NULL;
}

/* The reference map kind (make.h, policy environments/<env>.json) of a
 * reference kind: Make's own names, those of the clone endpoint. */
const char *bpg_reference_map_kind(const char *kind)
{
	static const struct { const char *ref, *map; } table[] = {
		{ "connection", "account" }, { "webhook", "hook" }, { "keychain", "keychain" },
		{ "datastore", "datastore" }, { "datastructure", "udt" }, { "device", "device" },
	};
	for (size_t i = 0; kind && i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].ref, kind) == 0)
			return table[i].map;
	return NULL;
}

/* Parameter keys that are references whatever the metadata says (stripped
 * exports lose metadata.parameters). */
static const char *kind_from_key(const char *key)
{
	static const struct { const char *key, *kind; } table[] = {
		{ "__IMTCONN__", "connection" }, { "account", "connection" },
		{ "makeConnectionId", "connection" }, { "__IMTHOOK__", "webhook" },
		{ "hook", "webhook" }, { "apiKeyKeychain", "keychain" },
		{ "proxyKeychain", "keychain" }, { "datastore", "datastore" },
		{ "__IMTDEVICE__", "device" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].key, key) == 0)
			return table[i].kind;
	return NULL;
}

static const char *declared_type(const json_t *module, const char *key)
{
	const json_t *specs = json_object_get(json_object_get(module, "metadata"), "parameters");
	size_t i;
	json_t *spec;

	if (!json_is_array(specs))
		return NULL;
	json_array_foreach(specs, i, spec) {
		const char *name = json_string_value(json_object_get(spec, "name"));
		if (name && strcmp(name, key) == 0)
			return json_string_value(json_object_get(spec, "type"));
	}
	return NULL;
}

static int add_ref(walker *w, bp_module_extra *x, const char *kind, const char *key,
	const json_t *value, const char *pointer)
{
	bp_pool *pool = &w->bp->pool;
	bpg_reference r;

	if (json_is_integer(value))
		r.value = bp_pool_printf(pool, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
	else if (json_is_string(value) && json_string_length(value) > 0)
		r.value = json_string_value(value);
	else
		return 0; /* null/0/"" placeholders (an unset proxyKeychain, ...): no reference */
	if (json_is_integer(value) && json_integer_value(value) == 0)
		return 0;
	r.kind = kind;
	r.key = bp_pool_strndup(pool, key, strlen(key));
	r.pointer = bp_pool_strndup(pool, pointer, strlen(pointer));
	if (!r.value || !r.key || !r.pointer)
		return oom(w);
	bpg_reference *refs = bpg_array_grow(x->refs, &x->arefs, x->nrefs + 1, sizeof(*refs), 4);
	if (!refs)
		return oom(w);
	x->refs = refs;
	x->refs[x->nrefs++] = r;
	return 0;
}

static int collect_refs(walker *w, bp_module_extra *x, const json_t *module, const char *mptr)
{
	const json_t *params = json_object_get(module, "parameters");
	const char *key;
	json_t *value;
	bpg_buf p = BPG_BUF_INIT;
	int rc = 0;

	if (!json_is_object(params))
		return 0;
	json_object_foreach((json_t *)params, key, value) {
		const char *kind = kind_from_type(declared_type(module, key));
		if (!kind)
			kind = kind_from_key(key);
		if (!kind)
			continue;
		bpg_buf_clear(&p);
		if (bpg_buf_puts(&p, mptr) < 0 || bpg_buf_puts(&p, "/parameters") < 0 ||
		    bpg_jsonptr_push(&p, key, strlen(key)) < 0) {
			rc = oom(w);
			break;
		}
		if ((rc = add_ref(w, x, kind, key, value, p.ptr)) < 0)
			break;
	}
	bpg_buf_dispose(&p);
	return rc;
}

/* ---- literal strings -------------------------------------------------- */

#define LITERAL_MAX_DEPTH 64

static int collect_literals(walker *w, bp_module_extra *x, const json_t *v, bpg_buf *p, int depth)
{
	size_t mark = p->size, i;
	const char *key;
	json_t *child;
	int rc = 0;

	if (depth > LITERAL_MAX_DEPTH)
		return 0; /* deeper than any real mapper; the scanner still reads the raw file */
	if (json_is_string(v)) {
		bpg_literal l;
		if (json_string_length(v) == 0)
			return 0;
		l.pointer = bp_pool_strndup(&w->bp->pool, p->ptr, p->size);
		l.value = json_string_value(v);
		l.len = json_string_length(v);
		if (!l.pointer)
			return oom(w);
		bpg_literal *lits = bpg_array_grow(x->lits, &x->alits, x->nlits + 1, sizeof(*lits), 8);
		if (!lits)
			return oom(w);
		x->lits = lits;
		x->lits[x->nlits++] = l;
		return 0;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child) {
			if (bpg_jsonptr_push(p, key, strlen(key)) < 0)
				return oom(w);
			rc = collect_literals(w, x, child, p, depth + 1);
			p->size = mark;
			p->ptr[mark] = '\0';
			if (rc < 0)
				return rc;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			if (bpg_jsonptr_push_index(p, i) < 0)
				return oom(w);
			rc = collect_literals(w, x, child, p, depth + 1);
			p->size = mark;
			p->ptr[mark] = '\0';
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* ---- modules and containers ------------------------------------------- */

static const char *directive_of(const json_t *onerror)
{
	static const char *directives[] = { "builtin:Ignore", "builtin:Resume", "builtin:Break",
		"builtin:Commit", "builtin:Rollback" };
	const char *found = NULL;
	size_t i;
	json_t *m;

	json_array_foreach(onerror, i, m) {
		const char *name = json_string_value(json_object_get(m, "module"));
		for (size_t d = 0; name && d < sizeof(directives) / sizeof(directives[0]); d++)
			if (strcmp(name, directives[d]) == 0)
				found = directives[d];
	}
	return found;
}

/* A module's "id": a positive integer (or its decimal text). Missing or
 * anything else is refused at the module's JSON pointer: ids key the diff,
 * the approvals and the findings, so a silent 0 would merge modules. */
static int module_id(long long *out, walker *w, const json_t *m)
{
	const json_t *id = json_object_get(m, "id");
	long long v = 0;
	bool ok = false;

	if (json_is_integer(id)) {
		v = json_integer_value(id);
		ok = true;
	} else if (json_is_string(id)) {
		char *end;
		const char *s = json_string_value(id);
		errno = 0;
		v = strtoll(s, &end, 10);
		ok = !errno && *end == '\0' && end != s && *s >= '0' && *s <= '9';
	}
	if (ok && v >= 1) {
		*out = v;
		return 0;
	}
	if (!id)
		return bpg_error_set(w->err, BPG_EINVALID,
			"%s: %.200s/id: module without an \"id\"; export the scenario again from Make",
			w->name, w->ptr.ptr);
	return bpg_error_set(w->err, BPG_EINVALID,
		"%s: %.200s/id: module id must be a positive integer, found %s", w->name, w->ptr.ptr,
		json_is_string(id) ? "a string that is not one" : (ok ? "a number below 1" : json_type_name(id)));
}

static int walk_flow(walker *w, const json_t *flow, bpg_container c, const char *path,
	long long parent, int depth);

static int add_module(walker *w, const json_t *m, bpg_container c, const char *path,
	long long parent, int depth, size_t *index_out)
{
	bpg_blueprint *bp = w->bp;
	bp_pool *pool = &bp->pool;
	bpg_module *mod;
	bp_module_extra *x;
	const char *name, *colon, *method;
	const json_t *v;
	bpg_buf lp = BPG_BUF_INIT;
	int rc = 0;

	if (bp->nmodules == bp->amodules) { /* two arrays of one length: both grow to the first's new capacity */
		size_t n = bp->amodules, kept = bp->amodules;
		bpg_module *mods = bpg_array_grow(bp->modules, &n, bp->nmodules + 1, sizeof(*mods), 32);
		if (!mods)
			return oom(w);
		bp->modules = mods;
		bp_module_extra *xs = bpg_array_grow(bp->extra, &kept, n, sizeof(*xs), 32);
		if (!xs)
			return oom(w);
		bp->extra = xs;
		bp->amodules = n;
	}
	*index_out = bp->nmodules;
	mod = &bp->modules[bp->nmodules];
	x = &bp->extra[bp->nmodules];
	memset(mod, 0, sizeof(*mod));
	memset(x, 0, sizeof(*x));
	bp->nmodules++;

	mod->json = m;
	if ((rc = module_id(&mod->id, w, m)) < 0)
		return rc;
	name = json_string_value(json_object_get(m, "module"));
	mod->module = name ? name : "";
	colon = strchr(mod->module, ':');
	mod->app = colon ? bp_pool_strndup(pool, mod->module, (size_t)(colon - mod->module)) : mod->module;
	mod->action = colon ? colon + 1 : "";
	v = json_object_get(m, "version");
	mod->version = json_is_integer(v) ? json_integer_value(v) : -1;
	mod->container = c;
	mod->path = path;
	mod->pointer = bp_pool_strndup(pool, w->ptr.ptr, w->ptr.size);
	mod->parent_id = parent;
	mod->depth = depth;
	mod->label = json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"),
		"designer"), "name"));
	v = json_object_get(m, "filter");
	if (json_is_object(v)) {
		mod->filter = v;
		const char *fname = json_string_value(json_object_get(v, "name"));
		mod->filter_name = fname ? fname : "";
	}
	v = json_object_get(m, "mapper");
	mod->mapper = v;
	v = json_object_get(m, "parameters");
	mod->parameters = json_is_object(v) ? v : NULL;
	method = json_string_value(json_object_get(json_object_get(m, "mapper"), "method"));
	mod->effect = bpg_module_effect_of(mod->module, method);
	mod->writes = mod->effect == BPG_EFFECT_WRITE || mod->effect == BPG_EFFECT_MESSAGE ||
		mod->effect == BPG_EFFECT_HTTP_WRITE;
	v = json_object_get(m, "onerror");
	mod->has_error_handler = json_is_array(v) && json_array_size(v) > 0;
	mod->error_directive = json_is_array(v) ? directive_of(v) : NULL;
	if (!mod->app || !mod->pointer)
		return oom(w);

	if ((rc = collect_refs(w, x, m, mod->pointer)) < 0)
		goto done;
	if (bpg_buf_puts(&lp, mod->pointer) < 0) {
		rc = oom(w);
		goto done;
	}
	static const char *literal_keys[] = { "mapper", "parameters" };
	for (size_t k = 0; k < 2; k++) {
		const json_t *sub = json_object_get(m, literal_keys[k]);
		if (!sub)
			continue;
		lp.size = strlen(mod->pointer);
		if (bpg_buf_puts(&lp, k == 0 ? "/mapper" : "/parameters") < 0) {
			rc = oom(w);
			goto done;
		}
		if ((rc = collect_literals(w, x, sub, &lp, 0)) < 0)
			goto done;
	}
done:
	bpg_buf_dispose(&lp);
	return rc;
}

/* Walk an array of containers (routes, branches, tools) whose items hold a "flow". */
static int walk_subflows(walker *w, const json_t *m, long long id, const char *key,
	bpg_container c, const char *path, int depth)
{
	const json_t *arr = json_object_get(m, key);
	size_t mark = w->ptr.size, i;
	json_t *item;
	int rc;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bpg_error_set(w->err, BPG_EINVALID,
			"%s: %s/%s: expected an array, found %s", w->name, w->ptr.ptr, key, json_type_name(arr));
	json_array_foreach(arr, i, item) {
		const json_t *flow = json_object_get(item, "flow");
		const char *sub;
		if (bpg_buf_printf(&w->ptr, "/%s/%zu/flow", key, i) < 0)
			return oom(w);
		if (!json_is_object(item) || !json_is_array(flow))
			return bpg_error_set(w->err, BPG_EINVALID,
				"%s: %s: expected an object with a \"flow\" array", w->name, w->ptr.ptr);
		sub = bp_pool_printf(&w->bp->pool, "%s > %lld.%s[%zu]", path, id, key, i);
		if (!sub)
			return oom(w);
		if ((rc = walk_flow(w, flow, c, sub, id, depth + 1)) < 0)
			return rc;
		w->ptr.size = mark;
		w->ptr.ptr[mark] = '\0';
	}
	return 0;
}

static int walk_module(walker *w, const json_t *m, bpg_container c, const char *path,
	long long parent, int depth)
{
	size_t mark = w->ptr.size, index = 0;
	const json_t *onerror;
	bpg_container sub_route = BPG_CONTAINER_ROUTE, sub_branch = BPG_CONTAINER_BRANCH,
		sub_tool = BPG_CONTAINER_TOOL, sub_onerror = BPG_CONTAINER_ONERROR;
	long long id;
	int rc;

	if (!json_is_object(m))
		return bpg_error_set(w->err, BPG_EINVALID, "%s: %s: expected a module object, found %s",
			w->name, w->ptr.ptr, json_type_name(m));
	if ((rc = add_module(w, m, c, path, parent, depth, &index)) < 0)
		return rc;
	id = w->bp->modules[index].id;
	if (c == BPG_CONTAINER_ORPHAN) /* an orphan's routes and handlers are orphans too: never run */
		sub_route = sub_branch = sub_tool = sub_onerror = BPG_CONTAINER_ORPHAN;
	if ((rc = walk_subflows(w, m, id, "routes", sub_route, path, depth)) < 0 ||
	    (rc = walk_subflows(w, m, id, "branches", sub_branch, path, depth)) < 0 ||
	    (rc = walk_subflows(w, m, id, "tools", sub_tool, path, depth)) < 0)
		return rc;
	onerror = json_object_get(m, "onerror");
	if (onerror && !json_is_null(onerror)) {
		const char *sub = bp_pool_printf(&w->bp->pool, "%s > %lld.onerror", path, id);
		if (!sub)
			return oom(w);
		if (bpg_buf_puts(&w->ptr, "/onerror") < 0)
			return oom(w);
		if ((rc = walk_flow(w, onerror, sub_onerror, sub, id, depth + 1)) < 0)
			return rc;
		w->ptr.size = mark;
		w->ptr.ptr[mark] = '\0';
	}
	return 0;
}

static int walk_flow(walker *w, const json_t *flow, bpg_container c, const char *path,
	long long parent, int depth)
{
	size_t mark = w->ptr.size, i;
	json_t *m;
	int rc;

	if (depth > BPG_BLUEPRINT_MAX_DEPTH)
		return bpg_error_set(w->err, BPG_ETOOBIG,
			"%s: modules nested more than %d containers deep (real exports stay under 20) at %.200s%s",
			w->name, BPG_BLUEPRINT_MAX_DEPTH, w->ptr.ptr, w->ptr.size > 200 ? "..." : "");
	if (!json_is_array(flow))
		return bpg_error_set(w->err, BPG_EINVALID, "%s: %s: expected an array of modules, found %s",
			w->name, w->ptr.size ? w->ptr.ptr : "/", json_type_name(flow));
	json_array_foreach(flow, i, m) {
		if (bpg_jsonptr_push_index(&w->ptr, i) < 0)
			return oom(w);
		if ((rc = walk_module(w, m, c, path, parent, depth)) < 0)
			return rc;
		w->ptr.size = mark;
		w->ptr.ptr[mark] = '\0';
	}
	return 0;
}

static int walk_orphans(walker *w, const json_t *metadata)
{
	const json_t *orphans = json_object_get(json_object_get(metadata, "designer"), "orphans");
	size_t i;
	json_t *flow;
	int rc;

	if (!orphans || json_is_null(orphans))
		return 0;
	if (!json_is_array(orphans))
		return bpg_error_set(w->err, BPG_EINVALID,
			"%s: /metadata/designer/orphans: expected an array of flows, found %s",
			w->name, json_type_name(orphans));
	json_array_foreach(orphans, i, flow) {
		const char *path = bp_pool_printf(&w->bp->pool, "orphans[%zu]", i);
		bpg_buf_clear(&w->ptr);
		if (!path || bpg_buf_printf(&w->ptr, "/metadata/designer/orphans/%zu", i) < 0)
			return oom(w);
		if ((rc = walk_flow(w, flow, BPG_CONTAINER_ORPHAN, path, 0, 1)) < 0)
			return rc;
	}
	return 0;
}

/* Two modules with one id: refused, naming both (ids key the diff and the
 * approvals). Sorted by (id, walk order), so the report is deterministic. */
static int cmp_by_id(const void *x, const void *y)
{
	const bpg_module *a = *(const bpg_module *const *)x, *b = *(const bpg_module *const *)y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int check_unique_ids(walker *w)
{
	bpg_blueprint *bp = w->bp;
	const bpg_module **v;
	int rc = 0;

	if (bp->nmodules < 2)
		return 0;
	if (!(v = bpg_calloc(bp->nmodules, sizeof(*v))))
		return oom(w);
	for (size_t i = 0; i < bp->nmodules; i++)
		v[i] = &bp->modules[i];
	qsort(v, bp->nmodules, sizeof(*v), cmp_by_id);
	for (size_t i = 1; i < bp->nmodules; i++)
		if (v[i]->id == v[i - 1]->id) {
			rc = bpg_error_set(w->err, BPG_EINVALID,
				"%s: %.200s/id: duplicate module id %lld (also at %.200s)",
				w->name, v[i]->pointer, v[i]->id, v[i - 1]->pointer);
			break;
		}
	free(v);
	return rc;
}

/* ---- entry points ----------------------------------------------------- */

static int load_json(json_t **out, const char *data, size_t len, const char *name, bpg_error *err)
{
	json_error_t jerr;

	*out = bpg_json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out)
		return 0;
	if (strstr(jerr.text, "maximum parsing depth"))
		return bpg_error_set(err, BPG_ETOOBIG,
			"%s:%d:%d: JSON nested deeper than %d levels; this is not a Make.com export",
			name, jerr.line, jerr.column, JSON_PARSER_MAX_DEPTH);
	return bpg_error_set(err, BPG_EINVALID,
		"%s:%d:%d: not valid JSON: %s; export the scenario again from Make (Export Blueprint)",
		name, jerr.line, jerr.column, jerr.text);
}

int bpg_blueprint_parse(bpg_blueprint **out, const char *data, size_t len,
	const char *name, bpg_error *err)
{
	walker w = { NULL, name ? name : "<blueprint>", err, BPG_BUF_INIT };
	bpg_blueprint *bp = NULL;
	const json_t *doc, *flow, *metadata;
	int rc;

	*out = NULL;
	if (len > BPG_BLUEPRINT_MAX_BYTES) {
		rc = bpg_error_set(err, BPG_ETOOBIG, "%s: %zu bytes, larger than the %zu-byte blueprint limit",
			w.name, len, BPG_BLUEPRINT_MAX_BYTES);
		goto done;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (!(bp = bpg_calloc(1, sizeof(*bp)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "%s: out of memory", w.name);
		goto done;
	}
	w.bp = bp;
	if ((rc = load_json(&bp->root, data, len, w.name, err)) < 0)
		goto done;
	doc = bp->root;
	if (!json_is_object(doc)) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: /: not a blueprint: expected a JSON object at the top level, found %s",
			w.name, json_type_name(doc));
		goto done;
	}
	/* The API returns {"response": {"blueprint": {...}}}: accept it as well. */
	if (!json_object_get(doc, "flow")) {
		const json_t *inner = json_object_get(json_object_get(doc, "response"), "blueprint");
		if (json_is_object(inner))
			doc = inner;
	}
	bp->doc = doc;
	flow = json_object_get(doc, "flow");
	if (!flow) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: /flow: not a blueprint: missing \"flow\" (the array of modules of a Make.com export)",
			w.name);
		goto done;
	}
	metadata = json_object_get(doc, "metadata");
	if (metadata && !json_is_object(metadata)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: /metadata: expected an object, found %s",
			w.name, json_type_name(metadata));
		goto done;
	}
	bp->name = json_string_value(json_object_get(doc, "name"));
	if (!bp->name)
		bp->name = "";
	bp->zone = json_string_value(json_object_get(metadata, "zone"));
	if (bpg_buf_puts(&w.ptr, "/flow") < 0) {
		rc = oom(&w);
		goto done;
	}
	if ((rc = walk_flow(&w, flow, BPG_CONTAINER_FLOW, "flow", 0, 0)) < 0)
		goto done;
	if ((rc = walk_orphans(&w, metadata)) < 0)
		goto done;
	if ((rc = check_unique_ids(&w)) < 0)
		goto done;
	for (size_t i = 0; i < bp->nmodules; i++) {
		bp->modules[i].refs = bp->extra[i].refs;
		bp->modules[i].nrefs = bp->extra[i].nrefs;
		bp->modules[i].literals = bp->extra[i].lits;
		bp->modules[i].nliterals = bp->extra[i].nlits;
	}
	*out = bp;
	bp = NULL;
done:
	bpg_buf_dispose(&w.ptr);
	bpg_blueprint_free(bp);
	return rc;
}

int bpg_blueprint_load(bpg_blueprint **out, const char *path, bpg_error *err)
{
	bpg_buf data = BPG_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = bpg_file_read(&data, path, BPG_BLUEPRINT_MAX_BYTES, err)) < 0)
		goto done;
	rc = bpg_blueprint_parse(out, data.ptr ? data.ptr : "", data.size,
		strcmp(path, "-") == 0 ? "<stdin>" : path, err);
done:
	bpg_buf_dispose(&data);
	return rc;
}

void bpg_blueprint_free(bpg_blueprint *bp)
{
	if (!bp)
		return;
	for (size_t i = 0; i < bp->nmodules; i++) {
		free(bp->extra[i].refs);
		free(bp->extra[i].lits);
	}
	free(bp->extra);
	free(bp->modules);
	bp_pool_dispose(&bp->pool);
	json_decref(bp->root);
	free(bp);
}
