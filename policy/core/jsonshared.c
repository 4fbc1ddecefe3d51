/* Short JSON strings shared by text within a thread (jsonshared.h says when and why). */
#include "bpgate/jsonshared.h"

#include <stdint.h>
#include <string.h>

/* A shared value's references are taken and dropped on several threads. */
#if !(defined(JSON_HAVE_ATOMIC_BUILTINS) && JSON_HAVE_ATOMIC_BUILTINS) && \
    !(defined(JSON_HAVE_SYNC_BUILTINS) && JSON_HAVE_SYNC_BUILTINS)
#error "jansson without atomic reference counts: values cannot be shared between threads"
#endif

#define SLOTS 2048          /* per thread: 16 KiB of pointers */
#define SHARED_MAX 64       /* longer texts are rarely repeated */

static _Thread_local json_t *slot[SLOTS];
static _Thread_local unsigned depth;

void bpg_json_shared_begin(void)
{
	depth++;
}

void bpg_json_shared_end(void)
{
	if (depth == 0 || --depth > 0)
		return;
	for (size_t i = 0; i < SLOTS; i++) {
		json_decref(slot[i]);
		slot[i] = NULL;
	}
}

static size_t slot_of(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return (h ^ (uint32_t)len) & (SLOTS - 1);
}

json_t *bpg_json_shared_string(const char *s, size_t len)
{
	json_t *v, **at;

	if (!s)
		return NULL;
	if (depth == 0 || len > SHARED_MAX)
		return json_stringn(s, len);
	at = &slot[slot_of(s, len)];
	if (*at && json_string_length(*at) == len && memcmp(json_string_value(*at), s, len) == 0)
		return json_incref(*at);
	if (!(v = json_stringn(s, len)))
		return NULL;
	json_decref(*at); /* the slot's earlier text: its value lives on where it is used */
	*at = json_incref(v);
	return v;
}

json_t *bpg_json_shared_str(const char *s)
{
	return s ? bpg_json_shared_string(s, strlen(s)) : NULL;
}
