/*
 * Reference maps: rewrite a blueprint's references (connections, webhooks,
 * keys, data stores, data structures, devices) from the ids in git to an
 * environment's ids, or back.
 *
 * Which parameter is a reference, and of which kind, is decided by the
 * blueprint module's own walk (bpg_blueprint_parse: every container, the
 * kind from metadata.parameters[].type, else from well-known parameter
 * keys), never by a second table here: the blueprint is parsed from its
 * compact text and each reference's JSON pointer is rewritten in the
 * caller's object. All or nothing: every replacement is planned first, and
 * the blueprint is touched only when all references have a mapping.
 *
 * Not rewritten: references to other scenarios (no map kind), values that
 * are Make expressions ("{{...}}") or empty, and metadata.restore (the UI's
 * labels, kept as exported).
 */
#include "internal.h"
#include "bpgate/blueprint.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds[] = { "account", "hook", "keychain", "datastore", "udt", "device" };

static int oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "reference map: out of memory");
}

/* The id as text: an integer's decimal form, or the string. */
static int id_text(bpg_buf *out, const json_t *v)
{
	bpg_buf_clear(out);
	if (json_is_integer(v))
		return bpg_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return bpg_buf_put(out, json_string_value(v), json_string_length(v));
}

/* Check the map and, for reverse, invert it: {kind: {"<env id>": "<git id>" | null (ambiguous)}}. */
static int prepare(json_t **out, const json_t *map, bool reverse, bpg_error *err)
{
	json_t *inv = NULL;
	const char *kind, *id;
	json_t *ids, *target;
	bpg_buf t = BPG_BUF_INIT;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(map))
		return bpg_error_set(err, BPG_EINVALID, "reference map: expected an object of reference kinds");
	if (!(inv = json_object())) {
		rc = oom(err);
		goto done;
	}
	json_object_foreach((json_t *)map, kind, ids) {
		bool known = false;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			known |= strcmp(kinds[i], kind) == 0;
		bpg_buf_clear(&t);
		if (!known) {
			if (bpg_safe_put(&t, kind, strlen(kind), 60) < 0) {
				rc = oom(err);
				goto done;
			}
			rc = bpg_error_set(err, BPG_EINVALID,
				"reference map: unknown kind \"%s\" (expected account, hook, keychain, datastore, udt, device)",
				t.ptr);
			goto done;
		}
		if (!json_is_object(ids)) {
			rc = bpg_error_set(err, BPG_EINVALID, "reference map: /%s: expected an object of ids", kind);
			goto done;
		}
		json_t *k = json_object();
		if (!k || json_object_set_new(inv, kind, k) < 0) {
			rc = oom(err);
			goto done;
		}
		json_object_foreach(ids, id, target) {
			if (!((json_is_integer(target) && json_integer_value(target) > 0) ||
			      (json_is_string(target) && json_string_length(target) > 0))) {
				if (bpg_safe_put(&t, id, strlen(id), 60) < 0) {
					rc = oom(err);
					goto done;
				}
				rc = bpg_error_set(err, BPG_EINVALID,
					"reference map: /%s/%s: expected an id (an integer > 0 or a string)", kind, t.ptr);
				goto done;
			}
			if (!reverse) {
				if (json_object_set(k, id, target) < 0) {
					rc = oom(err);
					goto done;
				}
				continue;
			}
			if (id_text(&t, target) < 0) {
				rc = oom(err);
				goto done;
			}
			json_t *prev = json_object_get(k, t.ptr);
			if (json_object_set_new(k, t.ptr, prev ? json_null() : json_string(id)) < 0) {
				rc = oom(err);
				goto done;
			}
		}
	}
	*out = inv;
	inv = NULL;
done:
	bpg_buf_dispose(&t);
	json_decref(inv);
	return rc;
}

/* The container and the member/index a JSON pointer names. */
static int resolve_parent(json_t **parent, char **last, json_t *doc, const char *pointer)
{
	json_t *cur = doc;
	char *copy = bpg_strdup(pointer), *p, *tok;

	*parent = NULL;
	*last = NULL;
	if (!copy)
		return BPG_ENOMEM;
	if (copy[0] != '/') {
		free(copy);
		return BPG_EINVALID;
	}
	p = copy + 1;
	for (;;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		/* unescape ~1 then ~0 (RFC 6901) in place */
		char *w = p;
		for (char *r = p; *r; r++) {
			if (r[0] == '~' && r[1] == '1') {
				*w++ = '/';
				r++;
			} else if (r[0] == '~' && r[1] == '0') {
				*w++ = '~';
				r++;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		tok = p;
		if (!slash)
			break;
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			char *end;
			errno = 0;
			unsigned long i = strtoul(tok, &end, 10);
			cur = errno || *end || end == tok ? NULL : json_array_get(cur, i);
		} else {
			cur = NULL;
		}
		if (!cur) {
			free(copy);
			return BPG_ENOTFOUND;
		}
		p = slash + 1;
	}
	if (!json_is_object(cur)) {
		free(copy);
		return BPG_ENOTFOUND;
	}
	*parent = cur;
	*last = bpg_strdup(tok);
	free(copy);
	return *last ? 0 : BPG_ENOMEM;
}

/* The replacement value: an integer when the old value was an integer and
 * the new id is one (or all digits), else a string. */
static json_t *new_value(const json_t *old, const json_t *target)
{
	if (json_is_integer(old)) {
		if (json_is_integer(target))
			return json_integer(json_integer_value(target));
		const char *s = json_string_value(target);
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!errno && *end == '\0' && end != s && s[0] != '+' && s[0] != '-' && v > 0 &&
		    !(s[0] == '0' && s[1]))
			return json_integer(v);
		return json_string(s);
	}
	if (json_is_integer(target)) {
		char b[32];
		snprintf(b, sizeof(b), "%" JSON_INTEGER_FORMAT, json_integer_value(target));
		return json_string(b);
	}
	return json_string(json_string_value(target));
}

static int no_mapping(bpg_error *err, const bpg_module *m, const bpg_reference *r, const char *kind,
	bool reverse, bool ambiguous)
{
	bpg_buf name = BPG_BUF_INIT, id = BPG_BUF_INIT, ptr = BPG_BUF_INIT;
	int rc;

	if (bpg_safe_put(&name, m->module, strlen(m->module), 80) < 0 ||
	    bpg_safe_put(&id, r->value, strlen(r->value), 80) < 0 ||
	    bpg_safe_put(&ptr, r->pointer, strlen(r->pointer), 200) < 0)
		rc = oom(err);
	else if (ambiguous)
		rc = bpg_error_set(err, BPG_EINVALID,
			"reference map: module %lld (%s) at %s: %s %s is the environment's id of more than one id "
			"in git; the map cannot be read backwards", m->id, name.ptr, ptr.ptr, kind, id.ptr);
	else
		rc = bpg_error_set(err, BPG_ENOTFOUND,
			"reference map: module %lld (%s) at %s: %s %s has no mapping%s", m->id, name.ptr, ptr.ptr,
			kind, id.ptr, reverse ? " back to an id in git" : "");
	bpg_buf_dispose(&name);
	bpg_buf_dispose(&id);
	bpg_buf_dispose(&ptr);
	return rc;
}

int bpg_make_blueprint_map(json_t *blueprint, const json_t *map, bool reverse, size_t *rewritten,
	bpg_error *err)
{
	json_t *m = NULL, *plan = NULL, *doc = blueprint;
	bpg_blueprint *bp = NULL;
	char *text = NULL, *last = NULL;
	size_t i, n = 0;
	int rc;

	if (rewritten)
		*rewritten = 0;
	if (!json_is_object(blueprint))
		return bpg_error_set(err, BPG_EINVALID, "reference map: the blueprint is not a JSON object");
	if ((rc = prepare(&m, map, reverse, err)) < 0)
		goto done;
	if (!(text = bpg_json_dumps(blueprint, JSON_COMPACT))) {
		rc = oom(err);
		goto done;
	}
	if ((rc = bpg_blueprint_parse(&bp, text, strlen(text), "blueprint", err)) < 0)
		goto done;
	/* the pointers are relative to the blueprint inside an API answer, as the parser sees it */
	if (!json_object_get(doc, "flow") && json_is_object(json_object_get(json_object_get(doc, "response"), "blueprint")))
		doc = json_object_get(json_object_get(doc, "response"), "blueprint");
	if (!(plan = json_array())) {
		rc = oom(err);
		goto done;
	}
	for (i = 0; i < bpg_blueprint_module_count(bp); i++) {
		const bpg_module *mod = bpg_blueprint_module(bp, i);
		for (size_t k = 0; k < mod->nrefs; k++) {
			const bpg_reference *r = &mod->refs[k];
			const char *kind = bpg_reference_map_kind(r->kind);
			json_t *parent, *old, *target, *nv;
			if (!kind || !*r->value || strstr(r->value, "{{"))
				continue;
			target = json_object_get(json_object_get(m, kind), r->value);
			if (!target || json_is_null(target)) {
				rc = no_mapping(err, mod, r, kind, reverse, target != NULL);
				goto done;
			}
			free(last);
			if ((rc = resolve_parent(&parent, &last, doc, r->pointer)) < 0) {
				rc = rc == BPG_ENOMEM ? oom(err) : bpg_error_set(err, BPG_ERROR,
					"reference map: %s: the parsed blueprint and the object differ", r->pointer);
				goto done;
			}
			old = json_object_get(parent, last);
			if (!old || !(nv = new_value(old, target))) {
				rc = old ? oom(err) : bpg_error_set(err, BPG_ERROR,
					"reference map: %s: the parsed blueprint and the object differ", r->pointer);
				goto done;
			}
			json_t *step = json_pack("{s:O,s:s,s:o}", "parent", parent, "key", last, "value", nv);
			if (!step || json_array_append_new(plan, step) < 0) {
				rc = oom(err);
				goto done;
			}
		}
	}
	/* every reference has its mapping: now change the blueprint */
	json_t *step;
	json_array_foreach(plan, i, step) {
		if (json_object_set(json_object_get(step, "parent"), json_string_value(json_object_get(step, "key")),
			    json_object_get(step, "value")) < 0) {
			rc = oom(err);
			goto done;
		}
		n++;
	}
	if (rewritten)
		*rewritten = n;
done:
	free(last);
	free(text);
	bpg_blueprint_free(bp);
	json_decref(plan);
	json_decref(m);
	return rc;
}
