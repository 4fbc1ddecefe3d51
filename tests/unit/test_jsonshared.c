/* Short JSON strings shared by text within a thread (bpgate/jsonshared.h). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bpgate/jsonshared.h"

Test(jsonshared, off_until_begun_and_after_the_last_end)
{
	json_t *a = bpg_json_shared_str("flow"), *b = bpg_json_shared_str("flow");
	cr_assert(a && b && a != b, "shared before any begin");
	json_decref(a);
	json_decref(b);

	bpg_json_shared_begin();
	bpg_json_shared_begin(); /* nested */
	a = bpg_json_shared_str("flow");
	b = bpg_json_shared_str("flow");
	cr_assert_eq(a, b);
	cr_assert_str_eq(json_string_value(a), "flow");
	bpg_json_shared_end(); /* the inner end: still on */
	json_t *c = bpg_json_shared_str("flow");
	cr_assert_eq(c, a);
	bpg_json_shared_end();
	json_t *d = bpg_json_shared_str("flow");
	cr_assert(d != a, "shared after the last end");
	bpg_json_shared_end(); /* an end without a begin changes nothing */
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

Test(jsonshared, exact_bytes_utf8_checked_long_texts_apart)
{
	char long_text[80];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';

	bpg_json_shared_begin();
	json_t *ab = bpg_json_shared_string("ab", 2), *abc = bpg_json_shared_string("ab\0c", 4);
	cr_assert(ab && abc && ab != abc);
	cr_assert_eq(json_string_length(abc), 4);
	cr_assert_eq(memcmp(json_string_value(abc), "ab\0c", 4), 0);
	cr_assert_null(bpg_json_shared_string("\xff\xfe", 2), "invalid UTF-8 taken");
	cr_assert_null(bpg_json_shared_str(NULL));
	json_t *l1 = bpg_json_shared_str(long_text), *l2 = bpg_json_shared_str(long_text);
	cr_assert(l1 && l2 && l1 != l2, "a text over 64 bytes shared");
	cr_assert_str_eq(json_string_value(l1), long_text);
	bpg_json_shared_end();
	json_decref(ab);
	json_decref(abc);
	json_decref(l1);
	json_decref(l2);
}

/* Many texts, more than the table's slots: each value has its own text, whichever slot it
 * took or lost; the same text again is either the same value or an equal new one. */
Test(jsonshared, collisions_never_share_different_texts)
{
	enum { N = 6000 };
	static json_t *v[N], *again[N];
	char t[32];

	bpg_json_shared_begin();
	for (int i = 0; i < N; i++) {
		snprintf(t, sizeof(t), "/flow/%d", i);
		v[i] = bpg_json_shared_str(t);
		cr_assert_str_eq(json_string_value(v[i]), t);
	}
	for (int i = 0; i < N; i++) {
		snprintf(t, sizeof(t), "/flow/%d", i);
		again[i] = bpg_json_shared_str(t);
		cr_assert_str_eq(json_string_value(again[i]), t);
	}
	bpg_json_shared_end();
	for (int i = 0; i < N; i++) {
		json_decref(v[i]);
		json_decref(again[i]);
	}
}

static void *share_on_a_thread(void *arg)
{
	json_t **out = arg;
	bpg_json_shared_begin();
	out[0] = bpg_json_shared_str("alice@example.com");
	out[1] = bpg_json_shared_str("alice@example.com");
	bpg_json_shared_end(); /* the thread's table lets go; the values live on in out[] */
	return NULL;
}

/* Values a thread shared outlive it and are released on another (AddressSanitizer
 * checks the blocks; jansson counts references atomically). */
Test(jsonshared, values_outlive_the_thread_that_shared_them)
{
	json_t *out[2] = { NULL, NULL };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, share_on_a_thread, out), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert(out[0] && out[0] == out[1]);
	cr_assert_str_eq(json_string_value(out[0]), "alice@example.com");
	json_decref(out[0]);
	json_decref(out[1]);
}
