/*
 * Declarative validation of JSON documents with located diagnostics.
 * Recursion follows the static schema tables (a handful of levels), never
 * the input: SK_ANY stops descending, so hostile nesting costs nothing.
 */
#include "engine.h"
#include "bpgate/jsonloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const bpg_schema bpg_s_any = { SK_ANY, NULL, NULL, NULL };
const bpg_schema bpg_s_object_any = { SK_OBJECT_ANY, NULL, NULL, NULL };
const bpg_schema bpg_s_string = { SK_STRING, NULL, NULL, NULL };
const bpg_schema bpg_s_nonempty = { SK_NONEMPTY, NULL, NULL, NULL };
const bpg_schema bpg_s_nullstr = { SK_NULLSTR, NULL, NULL, NULL };
const bpg_schema bpg_s_bool = { SK_BOOL, NULL, NULL, NULL };
const bpg_schema bpg_s_int = { SK_INT, NULL, NULL, NULL };
const bpg_schema bpg_s_number = { SK_NUMBER, NULL, NULL, NULL };
const bpg_schema bpg_s_scalar = { SK_SCALAR, NULL, NULL, NULL };
const bpg_schema bpg_s_time = { SK_TIME, NULL, NULL, NULL };
const bpg_schema bpg_s_date = { SK_DATE, NULL, NULL, NULL };
const bpg_schema bpg_s_strings = { SK_STRINGS, NULL, NULL, NULL };
const bpg_schema bpg_s_str_or_strings = { SK_STR_OR_STRINGS, NULL, NULL, NULL };
const bpg_schema bpg_s_map_strings = { SK_MAP, NULL, &bpg_s_strings, NULL };

/* ---- diagnostics -------------------------------------------------------- */

struct bpg_diags {
	bpg_diag *v;
	size_t n, cap;
};

#define BPG_DIAGS_MAX 1000

int bpg_diags_new(bpg_diags **out)
{
	*out = bpg_calloc(1, sizeof(**out));
	return *out ? 0 : BPG_ENOMEM;
}

size_t bpg_diags_count(const bpg_diags *d)
{
	return d ? d->n : 0;
}

const bpg_diag *bpg_diags_get(const bpg_diags *d, size_t i)
{
	return d && i < d->n ? &d->v[i] : NULL;
}

static int cmp_diag(const void *x, const void *y)
{
	const bpg_diag *a = x, *b = y;
	int c = strcmp(a->file, b->file);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->column != b->column)
		return a->column < b->column ? -1 : 1;
	return strcmp(a->message, b->message);
}

void bpg_diags_sort(bpg_diags *d)
{
	if (d && d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_diag);
}

void bpg_diags_free(bpg_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free((char *)d->v[i].file);
		free((char *)d->v[i].pointer);
		free((char *)d->v[i].rule);
		free((char *)d->v[i].message);
	}
	free(d->v);
	free(d);
}

int bpg_diag_format(bpg_buf *out, const bpg_diag *d)
{
	int rc = bpg_buf_puts(out, d->file);
	if (rc == 0 && d->line)
		rc = bpg_buf_printf(out, ":%u:%u", d->line, d->column);
	if (rc == 0)
		rc = bpg_buf_printf(out, ": %s", d->message);
	if (rc == 0 && d->rule)
		rc = bpg_buf_printf(out, " (rule %s)", d->rule);
	return rc;
}

/* Room for one more diagnostic in d: 0, or BPG_ENOMEM. */
static int diags_room(bpg_diags *d)
{
	bpg_diag *v = bpg_array_grow(d->v, &d->cap, d->n + 1, sizeof(*v), 16);

	if (!v)
		return BPG_ENOMEM;
	d->v = v;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? bpg_strdup(s) : NULL;
}

static int diags_addv(bpg_diags *d, const char *file, const char *text, size_t len,
	const char *pointer, bool at_key, unsigned line, unsigned column, const char *rule,
	const char *fmt, va_list ap) BPG_PRINTF(10, 0);
static int diags_addv(bpg_diags *d, const char *file, const char *text, size_t len,
	const char *pointer, bool at_key, unsigned line, unsigned column, const char *rule,
	const char *fmt, va_list ap)
{
	char msg[1024];
	bpg_buf safe = BPG_BUF_INIT;
	bpg_diag *e;
	int rc = 0;

	if (d->n >= BPG_DIAGS_MAX)
		return 0; /* enough to act on; the count says there were more */
	if (diags_room(d) < 0)
		return BPG_ENOMEM;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((rc = bpg_safe_put(&safe, msg, strlen(msg), sizeof(msg))) < 0)
		goto done;
	e = &d->v[d->n];
	memset(e, 0, sizeof(*e));
	e->line = line;
	e->column = column;
	if (text && pointer) {
		bpg_jsonloc loc;
		if (bpg_jsonloc_find(&loc, text, len, pointer, at_key, NULL) == 0) {
			e->line = loc.line;
			e->column = loc.column;
		}
	}
	e->file = bpg_strdup(file ? file : "<input>");
	e->pointer = bpg_strdup(pointer ? pointer : "");
	e->rule = dup_or_null(rule);
	e->message = bpg_strdup(safe.ptr ? safe.ptr : "");
	d->n++;
	if (!e->file || !e->pointer || (rule && !e->rule) || !e->message)
		rc = BPG_ENOMEM;
done:
	bpg_buf_dispose(&safe);
	return rc;
}

int bpg_diags_add(bpg_diags *d, const char *file, const char *text, size_t len,
	const char *pointer, bool at_key, const char *rule, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = diags_addv(d, file, text, len, pointer, at_key, 0, 0, rule, fmt, ap);
	va_end(ap);
	return rc;
}

int bpg_diags_append(bpg_diags *d, const bpg_diags *from)
{
	for (size_t i = 0; from && i < from->n && d->n < BPG_DIAGS_MAX; i++) {
		const bpg_diag *src = &from->v[i];
		bpg_diag *e;
		if (diags_room(d) < 0)
			return BPG_ENOMEM;
		e = &d->v[d->n++];
		*e = *src; /* line and column */
		e->file = bpg_strdup(src->file);
		e->pointer = bpg_strdup(src->pointer);
		e->rule = dup_or_null(src->rule);
		e->message = bpg_strdup(src->message);
		if (!e->file || !e->pointer || (src->rule && !e->rule) || !e->message)
			return BPG_ENOMEM; /* what was copied is freed with d */
	}
	return 0;
}

int bpg_diags_add_at(bpg_diags *d, const char *file, unsigned line, unsigned column,
	const char *rule, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = diags_addv(d, file, NULL, 0, "", false, line, column, rule, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- validation ----------------------------------------------------------- */

const char *bpg_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool date_valid(const char *s)
{
	if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2))
		return false;
	int mo = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

bool bpg_time_valid(const char *s)
{
	if (!date_valid(s) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p[0] == 'Z' && p[1] == '\0';
}

static const char *kind_expect(const bpg_schema *s)
{
	switch (s->kind) {
	case SK_OBJECT_ANY:
	case SK_OBJECT:
	case SK_MAP: return "an object";
	case SK_STRING: return "a string";
	case SK_NONEMPTY: return "a non-empty string";
	case SK_NULLSTR: return "a string or null";
	case SK_BOOL: return "true or false";
	case SK_INT: return "an integer";
	case SK_NUMBER: return "a number";
	case SK_SCALAR: return "a string, number, boolean or null";
	case SK_ENUM: return "a string";
	case SK_TIME: return "an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)";
	case SK_DATE: return "a date (YYYY-MM-DD)";
	case SK_STRINGS: return "an array of non-empty strings";
	case SK_STR_OR_STRINGS: return "a string or an array of strings";
	case SK_ARRAY: return "an array";
	default: return "a value";
	}
}

static int bad(bpg_vctx *vc, const bpg_buf *ptr, const bpg_schema *s, const json_t *v)
{
	return bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr ? ptr->ptr : "",
		false, vc->rule, "expected %s at '%s', found %s", kind_expect(s),
		ptr->ptr ? ptr->ptr : "", bpg_json_type_name(v));
}

static int list_choices(bpg_buf *b, const bpg_sfield *f, const char *const *c)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && ((f && f[i].name) || (c && c[i])); i++)
		rc = bpg_buf_printf(b, "%s%s", i ? ", " : "", f ? f[i].name : c[i]);
	if (rc == 0 && !b->ptr)
		rc = bpg_buf_puts(b, "(nothing)");
	return rc;
}

/* val at ptr, if it was checked ahead: the same value at the same pointer */
static const bpg_prechecked *prechecked(const bpg_vctx *vc, const json_t *val, const bpg_buf *ptr)
{
	for (size_t i = 0; i < vc->npre; i++)
		if (vc->pre[i].value == val && strcmp(vc->pre[i].pointer, ptr->ptr) == 0)
			return &vc->pre[i];
	return NULL;
}

/* A scalar kind's verdict on v: 1 it passes, 0 it does not, -1 not a scalar kind (the
 * value is checked member by member, or item by item). */
static int scalar_ok(const bpg_schema *s, const json_t *v)
{
	switch (s->kind) {
	case SK_ANY: return 1;
	case SK_OBJECT_ANY: return json_is_object(v);
	case SK_STRING: return json_is_string(v);
	case SK_NONEMPTY: return json_is_string(v) && json_string_length(v) > 0;
	case SK_NULLSTR: return json_is_string(v) || json_is_null(v);
	case SK_BOOL: return json_is_boolean(v);
	case SK_INT: return json_is_integer(v);
	case SK_NUMBER: return json_is_number(v);
	case SK_SCALAR: return !json_is_object(v) && !json_is_array(v);
	case SK_TIME: return json_is_string(v) && bpg_time_valid(json_string_value(v));
	case SK_DATE: return json_is_string(v) && json_string_length(v) == 10 && date_valid(json_string_value(v));
	case SK_ENUM:
		for (size_t i = 0; json_is_string(v) && s->choices[i]; i++)
			if (strcmp(s->choices[i], json_string_value(v)) == 0)
				return 1;
		return 0;
	default: return -1;
	}
}

static int check_object(bpg_vctx *vc, const json_t *v, const bpg_schema *s, bpg_buf *ptr)
{
	const bpg_prechecked *pre;
	size_t mark = ptr->size;
	const char *key;
	json_t *val;
	int rc = 0;

	json_object_foreach((json_t *)v, key, val) {
		const bpg_sfield *f = NULL;
		for (size_t i = 0; s->fields && s->fields[i].name; i++)
			if (strcmp(s->fields[i].name, key) == 0)
				f = &s->fields[i];
		if (f && scalar_ok(f->schema, val) == 1)
			continue; /* nothing to report: no pointer to build (a large push has ~400,000 of them) */
		if ((rc = bpg_jsonptr_push(ptr, key, strlen(key))) < 0)
			return rc;
		if (!f) {
			bpg_buf known = BPG_BUF_INIT;
			if ((rc = list_choices(&known, s->fields, NULL)) == 0)
				rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr, true,
					vc->rule, "unknown key '%s' at '%s'; expected one of: %s",
					key, ptr->ptr, known.ptr);
			bpg_buf_dispose(&known);
		} else if ((pre = prechecked(vc, val, ptr))) {
			rc = bpg_diags_append(vc->diags, pre->diags);
		} else {
			rc = bpg_schema_check(vc, val, f->schema, ptr);
		}
		ptr->size = mark;
		ptr->ptr[mark] = '\0';
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; s->fields && s->fields[i].name; i++)
		if (s->fields[i].required && !json_object_get(v, s->fields[i].name))
			if ((rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr, false,
				vc->rule, "missing required key '%s' in the object at '%s'",
				s->fields[i].name, ptr->ptr)) < 0)
				return rc;
	return 0;
}

int bpg_schema_check(bpg_vctx *vc, const json_t *v, const bpg_schema *s, bpg_buf *ptr)
{
	size_t mark;
	int rc = 0, ok;

	if (!ptr->ptr && (rc = bpg_buf_puts(ptr, "")) < 0)
		return rc;
	mark = ptr->size;
	if ((ok = scalar_ok(s, v)) == 1)
		return 0;
	if (ok == 0 && s->kind != SK_ENUM)
		return bad(vc, ptr, s, v);
	switch (s->kind) {
	case SK_ENUM: {
		bpg_buf c = BPG_BUF_INIT;
		if ((rc = list_choices(&c, NULL, s->choices)) == 0)
			rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr, false, vc->rule,
				"expected one of %s at '%s', found %s%s%s", c.ptr, ptr->ptr,
				json_is_string(v) ? "\"" : "", json_is_string(v) ? json_string_value(v) :
				bpg_json_type_name(v), json_is_string(v) ? "\"" : "");
		bpg_buf_dispose(&c);
		return rc;
	}
	case SK_STR_OR_STRINGS:
		if (json_is_string(v))
			return 0;
		/* fall through */
	case SK_STRINGS:
	case SK_ARRAY: {
		size_t i;
		json_t *item;
		if (!json_is_array(v))
			return bad(vc, ptr, s, v);
		json_array_foreach(v, i, item) {
			if ((rc = bpg_jsonptr_push_index(ptr, i)) < 0)
				return rc;
			if (s->kind == SK_ARRAY)
				rc = bpg_schema_check(vc, item, s->items, ptr);
			else if (!json_is_string(item) || json_string_length(item) == 0)
				rc = bpg_diags_add(vc->diags, vc->file, vc->text, vc->len, ptr->ptr, false,
					vc->rule, "expected a non-empty string at '%s', found %s",
					ptr->ptr, bpg_json_type_name(item));
			ptr->size = mark;
			ptr->ptr[mark] = '\0';
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	case SK_MAP: {
		const char *key;
		json_t *val;
		if (!json_is_object(v))
			return bad(vc, ptr, s, v);
		json_object_foreach((json_t *)v, key, val) {
			if ((rc = bpg_jsonptr_push(ptr, key, strlen(key))) < 0)
				return rc;
			rc = bpg_schema_check(vc, val, s->items, ptr);
			ptr->size = mark;
			ptr->ptr[mark] = '\0';
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	case SK_OBJECT:
		if (!json_is_object(v))
			return bad(vc, ptr, s, v);
		return check_object(vc, v, s, ptr);
	default: /* the scalar kinds: decided above */
		break;
	}
	return 0;
}
