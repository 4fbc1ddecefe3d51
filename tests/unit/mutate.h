/* Changing one value of a JSON document at a time, for tests that compare two
 * versions of real blueprints (test_blueprint.c, test_diff_unread.c). */
#ifndef BPG_TEST_MUTATE_H
#define BPG_TEST_MUTATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* The k-th scalar leaf of v (strings, numbers, booleans, nulls), in a fixed walk
 * order, changed in place when found (true, false and null are jansson's
 * singletons: left alone, counted). Returns the number of leaves seen so far:
 * mutate_leaf(v, SIZE_MAX, 0, &none) counts them. */
static inline size_t mutate_leaf(json_t *v, size_t k, size_t seen, bool *done)
{
	if (*done)
		return seen;
	if (json_is_object(v)) {
		const char *key;
		json_t *x;
		json_object_foreach(v, key, x)
			seen = mutate_leaf(x, k, seen, done);
		return seen;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			seen = mutate_leaf(x, k, seen, done);
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
