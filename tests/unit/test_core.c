/* Unit tests for the core helpers: buffers, globs, pointers, masking. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpgate/buf.h"
#include "bpgate/heap.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"
#include "heapchurn.h"

Test(core, buf_grows_and_respects_max)
{
	bpg_buf b = BPG_BUF_INIT;
	b.max = 8;
	cr_assert_eq(bpg_buf_puts(&b, "abcd"), 0);
	cr_assert_eq(bpg_buf_printf(&b, "%d", 1234), 0);
	cr_assert_str_eq(b.ptr, "abcd1234");
	cr_assert_eq(bpg_buf_putc(&b, 'x'), BPG_ETOOBIG);
	cr_assert_eq(b.size, 8);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&b);
}

Test(core, array_grow_doubles_and_fails_without_losing_the_array)
{
	size_t cap = 0;
	int *v = bpg_array_grow(NULL, &cap, 1, sizeof(int), 4);

	cr_assert_not_null(v);
	cr_assert_eq(cap, 4);
	v[3] = 7;
	cr_assert_eq(bpg_array_grow(v, &cap, 4, sizeof(int), 4), v, "room already: the same array");
	cr_assert_eq(bpg_array_grow(v, &cap, 0, sizeof(int), 4), v, "need 0 asks for one");
	cr_assert_eq(cap, 4);
	v = bpg_array_grow(v, &cap, 5, sizeof(int), 4);
	cr_assert_not_null(v);
	cr_assert_eq(cap, 8);
	cr_assert_eq(v[3], 7, "the elements move with the array");
	v = bpg_array_grow(v, &cap, 33, sizeof(int), 4);
	cr_assert_eq(cap, 64, "doubles until the need fits");

	/* a size that would overflow: NULL, and the array and capacity as they were */
	cr_assert_null(bpg_array_grow(v, &cap, SIZE_MAX / 2 + 2, sizeof(int), 4));
	cr_assert_null(bpg_array_grow(v, &cap, SIZE_MAX / 8, 16, 4));
	cr_assert_null(bpg_array_grow(v, &cap, 65, 0, 4));
	cr_assert_eq(cap, 64);
	cr_assert_eq(v[3], 7);

	/* a failed allocation: the same */
	if (bpg_test_alloc_fail_at(0, 1) == 0) {
		cr_assert_null(bpg_array_grow(v, &cap, 65, sizeof(int), 4));
		bpg_test_alloc_fail_at(-1, 0);
		cr_assert_eq(cap, 64);
		cr_assert_eq(v[3], 7);
	}
	free(v);
}

Test(core, glob_matches_like_gitignore)
{
	cr_assert(bpg_glob_match("**/fixtures/**", "tests/fixtures/a.json"));
	cr_assert(bpg_glob_match("**/fixtures/**", "fixtures/a/b.json"));
	cr_assert_not(bpg_glob_match("**/fixtures/**", "tests/fixture/a.json"));
	cr_assert(bpg_glob_match("*.blueprint.json", "scenarios/x/a.blueprint.json"));
	cr_assert(bpg_glob_match("scenarios/*/main.json", "scenarios/crm/main.json"));
	cr_assert_not(bpg_glob_match("scenarios/*/main.json", "scenarios/crm/x/main.json"));
	cr_assert(bpg_glob_match("scenarios/**/*.json", "scenarios/a/b/c.json"));
	cr_assert(bpg_glob_match("scenarios/**/*.json", "scenarios/c.json"));
	cr_assert(bpg_glob_match("a/[bc]?d/e", "a/cxd/e"));
	cr_assert_not(bpg_glob_match("a/[!bc]?d/e", "a/cxd/e"));
	cr_assert(bpg_glob_match("/top/*.json", "top/a.json"));
}

Test(core, glob_is_not_exponential)
{
	char path[4096];
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	cr_assert_not(bpg_glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", path));
}

Test(core, jsonptr_escapes)
{
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_jsonptr_push(&b, "a/b~c", 5), 0);
	cr_assert_eq(bpg_jsonptr_push_index(&b, 12), 0);
	cr_assert_str_eq(b.ptr, "/a~1b~0c/12");
	cr_assert_eq(bpg_jsonptr_push(&b, "", 0), 0);
	cr_assert_eq(bpg_jsonptr_push_index(&b, 0), 0);
	cr_assert_eq(bpg_jsonptr_push(&b, "~~//", 4), 0);
	cr_assert_eq(bpg_jsonptr_push_index(&b, 18446744073709551615u), 0);
	cr_assert_str_eq(b.ptr, "/a~1b~0c/12//0/~0~0~1~1/18446744073709551615");
	cr_assert_eq(b.size, strlen(b.ptr));
	bpg_buf_dispose(&b);
	/* a bounded buffer refuses what does not fit, and stays as it was */
	b.max = 4;
	cr_assert_eq(bpg_jsonptr_push(&b, "ab", 2), 0);
	cr_assert_lt(bpg_jsonptr_push(&b, "cd", 2), 0);
	cr_assert_str_eq(b.ptr, "/ab");
	bpg_buf_dispose(&b);
}

Test(core, hex_roundtrip_and_sha256)
{
	unsigned char bin[3];
	char hex[7], sha[65];
	cr_assert_eq(bpg_hex_decode(bin, 3, "00fFa1", 6), 0);
	bpg_hex_encode(hex, bin, 3);
	cr_assert_str_eq(hex, "00ffa1");
	cr_assert_eq(bpg_hex_decode(bin, 3, "00fFa", 5), BPG_EINVALID);
	cr_assert_eq(bpg_hex_decode(bin, 3, "00fFg1", 6), BPG_EINVALID);
	bpg_sha256_hex(sha, "abc", 3);
	cr_assert_str_eq(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(core, mask_never_shows_the_whole_value)
{
	bpg_buf b = BPG_BUF_INIT;
	const char *v = "4111111111111111";
	cr_assert_eq(bpg_mask_put(&b, v, strlen(v)), 0);
	cr_assert_str_eq(b.ptr, "41********11");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_mask_put(&b, "abc", 3), 0);
	cr_assert_str_eq(b.ptr, "***");
	bpg_buf_dispose(&b);
}

Test(core, safe_put_escapes_controls)
{
	bpg_buf b = BPG_BUF_INIT;
	const char *v = "ok\x1b[31mred\x7f\xc2\x9b\xff";
	cr_assert_eq(bpg_safe_put(&b, v, strlen(v), 100), 0);
	cr_assert_str_eq(b.ptr, "ok\\x1b[31mred\\x7f\\xc2\\x9b\\xff");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_safe_put(&b, "abcdef", 6, 3), 0);
	cr_assert_str_eq(b.ptr, "abc...");
	/* runs of printable ASCII between other characters, and a character across the cut */
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_safe_put(&b, "h\xc3\xa9llo\x01 w\xc3\xb6rld\t!", 16, 100), 0);
	cr_assert_str_eq(b.ptr, "h\xc3\xa9llo\\x01 w\xc3\xb6rld\\x09!");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_safe_put(&b, "abc\xc3\xa9" "def", 8, 4), 0);
	cr_assert_str_eq(b.ptr, "abc\xc3\xa9...");
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_safe_put(&b, "\x7f\x7f", 2, 1), 0);
	cr_assert_str_eq(b.ptr, "\\x7f...");
	bpg_buf_dispose(&b);
}

Test(core, utf8_validation)
{
	cr_assert(bpg_utf8_valid("h\xc3\xa9llo \xf0\x9f\x91\x8b", 11));
	cr_assert_not(bpg_utf8_valid("\xc0\xaf", 2));       /* overlong */
	cr_assert_not(bpg_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
	cr_assert_not(bpg_utf8_valid("\xe2\x82", 2));       /* truncated */
}

Test(core, file_read_refuses_oversized_and_writes_atomically)
{
	char dir[] = "/tmp/bpg-core-XXXXXX";
	char path[256];
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	cr_assert_eq(bpg_file_write_atomic(path, "0123456789", 10, 0600, &err), 0);
	cr_assert_eq(bpg_file_read(&b, path, 9, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "limit") != NULL);
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_file_read(&b, path, 10, &err), 0);
	cr_assert_eq(b.size, 10);
	cr_assert_eq(bpg_file_read(&b, "/nonexistent/x", 10, &err), BPG_ENOTFOUND);
	unlink(path);
	rmdir(dir);
	bpg_buf_dispose(&b);
}

/* The heap advice is best effort: it must never break allocation, whether it
 * applies (plain glibc build) or not (sanitizers: returns 0). */
static void *heap_worker(void *tuned)
{
	return ut_heap_churn(20000, tuned != NULL) ? (void *)1 : NULL;
}

Test(core, heap_advice_keeps_malloc_working)
{
	pthread_t t;
	void *ok = NULL;
	int first = bpg_heap_tune_for_facts();

	cr_assert(first == 0 || first == 1);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	cr_assert_eq(first, 0, "under a sanitizer the heap is the sanitizer's");
#endif
	cr_assert_eq(bpg_heap_tune_for_facts(), 0, "the advice is taken once");
	cr_assert_eq(pthread_create(&t, NULL, heap_worker, (void *)1), 0);
	cr_assert_eq(pthread_join(t, &ok), 0);
	cr_assert_not_null(ok);
	cr_assert_not_null(heap_worker((void *)1));
}
