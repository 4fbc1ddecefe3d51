/* Changing one value of a JSON document at a time, for tests that compare two
 * versions of real blueprints (test_blueprint.c, test_diff_unread.c). */
#ifndef BPG_TEST_MUTATE_H
#define BPG_TEST_MUTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* true <-> false, null -> 0: jansson's singletons are replaced in their parent */
static inline json_t *mutate_flipped(const json_t *x)
{
	return json_is_true(x) ? json_false() : json_is_false(x) ? json_true() : json_integer(0);
}

static inline bool mutate_singleton(const json_t *x)
{
	return json_is_boolean(x) || json_is_null(x);
}

/* The k-th scalar leaf of v (strings, numbers, booleans, nulls), in a fixed walk
 * order, changed when found (in place, or replaced in its parent for true, false
 * and null). Returns the number of leaves seen so far: mutate_leaf(v, SIZE_MAX, 0,
 * &none) counts them. */
static inline size_t mutate_leaf(json_t *v, size_t k, size_t seen, bool *done)
{
	if (*done)
		return seen;
	if (json_is_object(v)) {
		const char *key;
		json_t *x;
		json_object_foreach(v, key, x) {
			if (seen == k && mutate_singleton(x)) {
				json_object_set_new(v, key, mutate_flipped(x)); /* replaces the value: the walk ends here */
				*done = true;
				return seen + 1;
			}
			seen = mutate_leaf(x, k, seen, done);
			if (*done)
				return seen;
		}
		return seen;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (seen == k && mutate_singleton(x)) {
				json_array_set_new(v, i, mutate_flipped(x));
				*done = true;
				return seen + 1;
			}
			seen = mutate_leaf(x, k, seen, done);
			if (*done)
				return seen;
		}
		return seen;
	}
	if (seen == k) {
		*done = true;
		if (json_is_string(v)) {
			char buf[256];
			snprintf(buf, sizeof(buf), "%.200s~", json_string_value(v));
			json_string_set(v, buf);
		} else if (json_is_integer(v)) {
			json_integer_set(v, json_integer_value(v) + 1);
		} else if (json_is_real(v)) {
			json_real_set(v, json_real_value(v) + 1);
		}
	}
	return seen + 1;
}

#endif
