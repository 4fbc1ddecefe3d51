/* Unit tests of the small-block heap for jansson (bpgate/jsonheap.h): the same
 * values and bytes as with malloc(), blocks freed on one thread taken again,
 * malloc() once the region is used up, bpg_json_dumps() in malloc()'s memory.
 * Criterion runs each test in a process of its own: each installs the heap once.
 * The test build's sanitizer checks that no block reaches the wrong free(). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/jsonheap.h"

/* A document with strings of every length up to 400 bytes, nested objects and
 * arrays, integers and reals: blocks of every size class and past them. */
static json_t *sample(int seed)
{
	json_t *root = json_object(), *arr = json_array();
	char s[401];

	cr_assert(root && arr);
	for (int n = 0; n <= 400; n++) {
		memset(s, 'a' + (n + seed) % 26, (size_t)n);
		s[n] = '\0';
		char key[32];
		snprintf(key, sizeof(key), "k%d-%d", seed, n);
		json_t *o = json_pack("{s:s, s:I, s:f, s:[i, i, s]}", "s", s, "n", (json_int_t)n * seed,
			"r", n / 8.0, "a", n, -n, key);
		cr_assert_not_null(o);
		cr_assert_eq(json_object_set_new(root, key, json_string(s)), 0);
		cr_assert_eq(json_array_append_new(arr, o), 0);
	}
	cr_assert_eq(json_object_set_new(root, "all", arr), 0);
	return root;
}

Test(jsonheap, same_values_and_bytes_as_malloc)
{
	json_t *before = sample(3);
	char *want = bpg_json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);

	cr_assert_not_null(want);
	cr_assert_eq(bpg_json_heap_install_sized((size_t)64 << 20), 1);
	cr_assert_eq(bpg_json_heap_install_sized((size_t)64 << 20), 0, "installed once only");
	json_t *after = sample(3), *s = json_string("x");
	cr_assert(bpg_json_heap_owns(s), "a small value comes from the heap");
	cr_assert_not(bpg_json_heap_owns(before), "a value made before stays malloc()'s");
	char *got = bpg_json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_not_null(got);
	cr_assert_not(bpg_json_heap_owns(got), "bpg_json_dumps gives malloc()'s memory");
	cr_assert_str_eq(got, want);
	cr_assert(json_equal(before, after));
	/* values of both heaps in one document, freed together */
	cr_assert_eq(json_object_set(after, "before", before), 0);
	json_decref(before);
	json_decref(after);
	json_decref(s);
	free(got); /* malloc()'s: the sanitizer would see a block of the heap here */
	free(want);
	/* small dumps too (they would come from the heap through json_dumps) */
	got = bpg_json_dumps(json_true(), JSON_ENCODE_ANY);
	cr_assert_str_eq(got, "true");
	free(got);
}

Test(jsonheap, freed_blocks_are_taken_again)
{
	enum { N = 1000 };
	json_t *v[N];
	void *first[N];

	cr_assert_eq(bpg_json_heap_install_sized((size_t)64 << 20), 1);
	for (int i = 0; i < N; i++) {
		v[i] = json_integer(i);
		first[i] = v[i];
	}
	for (int i = 0; i < N; i++)
		json_decref(v[i]);
	/* the same class, the same thread: the blocks just freed, latest first */
	for (int i = N - 1; i >= 0; i--) {
		v[i] = json_integer(-i);
		cr_assert_eq((void *)v[i], first[i], "block %d", i);
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(json_integer_value(v[i]), -i);
		json_decref(v[i]);
	}
}

/* values made on one thread and freed on another; each thread keeps its own
 * freed blocks, and the values are intact throughout */
typedef struct {
	json_t *doc;
	char *dump;
} handoff;

static void *make_doc(void *arg)
{
	handoff *h = arg;
	h->doc = sample(11);
	h->dump = bpg_json_dumps(h->doc, JSON_COMPACT | JSON_SORT_KEYS);
	return NULL;
}

static void *free_doc(void *arg)
{
	handoff *h = arg;
	json_decref(h->doc);
	h->doc = sample(11); /* from the blocks this thread just freed, and new ones */
	char *again = bpg_json_dumps(h->doc, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(again, h->dump);
	free(again);
	return NULL;
}

Test(jsonheap, values_cross_threads)
{
	handoff h[4];
	pthread_t t[4];

	cr_assert_eq(bpg_json_heap_install_sized((size_t)256 << 20), 1);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, make_doc, &h[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, free_doc, &h[(i + 1) % 4]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++) {
		char *s = bpg_json_dumps(h[i].doc, JSON_COMPACT | JSON_SORT_KEYS);
		cr_assert_str_eq(s, h[i].dump);
		free(s);
		free(h[i].dump);
		json_decref(h[i].doc);
	}
}

/* A region of 2 MiB: the blocks past it are malloc()'s, and all of them are
 * values like any other. */
Test(jsonheap, a_used_up_region_falls_back_to_malloc)
{
	enum { N = 200000 };
	json_t *arr;
	size_t in = 0, out = 0;

	cr_assert_eq(bpg_json_heap_install_sized((size_t)2 << 20), 1);
	arr = json_array();
	for (int i = 0; i < N; i++) {
		json_t *s = json_sprintf("value %d", i);
		cr_assert_not_null(s);
		if (bpg_json_heap_owns(s))
			in++;
		else
			out++;
		cr_assert_eq(json_array_append_new(arr, s), 0);
	}
	cr_assert_gt(in, 0);
	cr_assert_gt(out, 0, "the region should have been used up");
	for (int i = 0; i < N; i += 9973) {
		char want[32];
		snprintf(want, sizeof(want), "value %d", i);
		cr_assert_str_eq(json_string_value(json_array_get(arr, (size_t)i)), want);
	}
	json_decref(arr);
	/* freed blocks of the region serve again */
	json_t *s = json_string("again");
	cr_assert(bpg_json_heap_owns(s));
	json_decref(s);
}
