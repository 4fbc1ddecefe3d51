/* String pool of the blueprint model: one owner for every derived string. */
#include "internal.h"
#include "bpgate/jsonheap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *pool_keep(bp_pool *pool, char *s)
{
	if (!s)
		return NULL;
	char **items = bpg_array_grow(pool->items, &pool->alloc, pool->count + 1, sizeof(*items), 256);
	if (!items) {
		free(s);
		return NULL;
	}
	pool->items = items;
	pool->items[pool->count++] = s;
	return s;
}

const char *bp_pool_strndup(bp_pool *pool, const char *s, size_t len)
{
	char *copy = bpg_malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return pool_keep(pool, copy);
}

const char *bp_pool_printf(bp_pool *pool, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	return pool_keep(pool, s);
}

void bp_pool_dispose(bp_pool *pool)
{
	for (size_t i = 0; i < pool->count; i++)
		free(pool->items[i]);
	free(pool->items);
	pool->items = NULL;
	pool->count = pool->alloc = 0;
}

const char *bp_display_value(bp_pool *pool, const json_t *v, size_t max)
{
	bpg_buf out = BPG_BUF_INIT;
	const char *result = NULL;
	char *dump;

	if (!v)
		return NULL;
	dump = bpg_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	if (!dump)
		return NULL;
	if (bpg_safe_put(&out, dump, strlen(dump), max) == 0)
		result = bp_pool_strndup(pool, out.ptr ? out.ptr : "", out.size);
	free(dump);
	bpg_buf_dispose(&out);
	return result;
}
