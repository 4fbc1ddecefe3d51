/*
 * The byte-stable form of a blueprint in git: what JavaScript's
 * JSON.stringify(blueprint, null, 4) prints (Make's own export), so a pulled
 * blueprint reads like an exported one and pulling twice gives the same bytes:
 * keys in the order read, 4-space indent, ": " after keys, "[]"/"{}" when
 * empty, non-ASCII as UTF-8, only '"', '\\' and control characters escaped,
 * numbers in their shortest form that reads back to the same value, and a
 * final "\n".
 */
#include "internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_MAX_DEPTH 2048

static int indent(bpg_buf *out, int depth)
{
	int rc = bpg_buf_putc(out, '\n');
	for (int i = 0; rc == 0 && i < depth; i++)
		rc = bpg_buf_puts(out, "    ");
	return rc;
}

static int put_string(bpg_buf *out, const char *s, size_t len)
{
	size_t run = 0;
	int rc = bpg_buf_putc(out, '"');

	for (size_t i = 0; rc == 0 && i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *esc = NULL;
		char u[8];
		switch (ch) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (ch < 0x20) {
				snprintf(u, sizeof(u), "\\u%04x", ch);
				esc = u;
			}
		}
		if (!esc)
			continue;
		if ((rc = bpg_buf_put(out, s + run, i - run)) == 0)
			rc = bpg_buf_puts(out, esc);
		run = i + 1;
	}
	if (rc == 0)
		rc = bpg_buf_put(out, s + run, len - run);
	return rc ? rc : bpg_buf_putc(out, '"');
}

/* The shortest %g form that reads back as the same double. */
static int put_real(bpg_buf *out, double v)
{
	char s[40];

	for (int p = 1; p <= 17; p++) {
		snprintf(s, sizeof(s), "%.*g", p, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (!strpbrk(s, ".eEn"))
		strcat(s, ".0"); /* stays a real when read again */
	return bpg_buf_puts(out, s);
}

static int put_value(bpg_buf *out, const json_t *v, int depth, bool *deep)
{
	const char *key;
	json_t *child;
	size_t i, n;
	int rc = 0;

	if (depth > FORMAT_MAX_DEPTH) {
		*deep = true;
		return BPG_ETOOBIG;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 0)
			return bpg_buf_puts(out, "{}");
		rc = bpg_buf_putc(out, '{');
		n = 0;
		json_object_foreach((json_t *)v, key, child) {
			if (rc == 0 && n++)
				rc = bpg_buf_putc(out, ',');
			if (rc == 0)
				rc = indent(out, depth + 1);
			if (rc == 0)
				rc = put_string(out, key, strlen(key));
			if (rc == 0)
				rc = bpg_buf_puts(out, ": ");
			if (rc == 0)
				rc = put_value(out, child, depth + 1, deep);
			if (rc < 0)
				return rc;
		}
		if (rc == 0)
			rc = indent(out, depth);
		return rc ? rc : bpg_buf_putc(out, '}');
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			return bpg_buf_puts(out, "[]");
		rc = bpg_buf_putc(out, '[');
		json_array_foreach(v, i, child) {
			if (rc == 0 && i)
				rc = bpg_buf_putc(out, ',');
			if (rc == 0)
				rc = indent(out, depth + 1);
			if (rc == 0)
				rc = put_value(out, child, depth + 1, deep);
			if (rc < 0)
				return rc;
		}
		if (rc == 0)
			rc = indent(out, depth);
		return rc ? rc : bpg_buf_putc(out, ']');
	case JSON_STRING:
		return put_string(out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return bpg_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return put_real(out, json_real_value(v));
	case JSON_TRUE:
		return bpg_buf_puts(out, "true");
	case JSON_FALSE:
		return bpg_buf_puts(out, "false");
	default:
		return bpg_buf_puts(out, "null");
	}
}

int bpg_make_blueprint_format(bpg_buf *out, const json_t *blueprint, bpg_error *err)
{
	size_t mark = out->size;
	bool deep = false;
	int rc;

	if (!json_is_object(blueprint))
		return bpg_error_set(err, BPG_EINVALID, "blueprint: expected a JSON object");
	if ((rc = put_value(out, blueprint, 0, &deep)) == 0)
		rc = bpg_buf_putc(out, '\n');
	if (rc == 0)
		return 0;
	out->size = mark;
	if (out->ptr)
		out->ptr[mark] = '\0';
	if (deep)
		return bpg_error_set(err, BPG_ETOOBIG, "blueprint: nested deeper than %d levels", FORMAT_MAX_DEPTH);
	if (rc == BPG_ETOOBIG)
		return bpg_error_set(err, BPG_ETOOBIG, "blueprint: larger than the output buffer's limit");
	return bpg_error_set(err, BPG_ENOMEM, "blueprint: out of memory");
}
