/* bpg_json_loadb() against json_loadb(): the same values, in the same order,
 * of the same types, and the same errors (text, line, column, position), on
 * every JSON file of the repository and the shared corpus, on hand-written
 * edge cases and on every one-byte edit of a few documents. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/jsonfast.h"

static size_t compared;

static void same(const char *buf, size_t len, size_t flags, const char *what)
{
	json_error_t e1, e2;
	json_t *a, *b;

	memset(&e1, 0x5a, sizeof(e1));
	memset(&e2, 0x5a, sizeof(e2));
	a = bpg_json_loadb(buf, len, flags, &e1);
	b = json_loadb(buf, len, flags, &e2);
	cr_assert_eq(!a, !b, "%s: fast %s, jansson %s (%s)", what, a ? "parsed" : "failed", b ? "parsed" : "failed",
		a ? e2.text : e1.text);
	cr_assert_str_eq(e1.text, e2.text, "%s", what);
	cr_assert_str_eq(e1.source, e2.source, "%s", what);
	cr_assert_eq(e1.line, e2.line, "%s", what);
	cr_assert_eq(e1.column, e2.column, "%s", what);
	cr_assert_eq(e1.position, e2.position, "%s", what);
	if (a) {
		char *da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY), *db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
		cr_assert(json_equal(a, b), "%s: values differ", what);
		cr_assert(da && db);
		cr_assert_str_eq(da, db, "%s: order or types differ", what); /* dumps keep the key order */
		free(da);
		free(db);
	}
	json_decref(a);
	json_decref(b);
	compared++;
}

static void same_both(const char *buf, size_t len, const char *what)
{
	same(buf, len, 0, what);
	same(buf, len, JSON_REJECT_DUPLICATES, what);
}

static int on_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t n = strlen(path);
	(void)ftw;
	if (flag != FTW_F || n < 5 || strcmp(path + n - 5, ".json") != 0 || sb->st_size > (4 << 20) ||
	    strstr(path, "/build") || strstr(path, "/.git/"))
		return 0;
	FILE *f = fopen(path, "rb");
	cr_assert(f, "%s", path);
	char *buf = malloc((size_t)sb->st_size + 1);
	size_t got = fread(buf, 1, (size_t)sb->st_size, f);
	fclose(f);
	same_both(buf, got, path);
	free(buf);
	return 0;
}

Test(jsonfast, every_json_file_of_the_repository_and_the_corpus)
{
	const char *src = getenv("BPG_SOURCE_ROOT"), *shared = getenv("BPG_SHARED_DIR");
	char p[PATH_MAX];

	cr_assert(src && shared, "run under meson test");
	snprintf(p, sizeof(p), "%s/policy", src);
	cr_assert_eq(nftw(p, on_file, 16, FTW_PHYS), 0);
	snprintf(p, sizeof(p), "%s/tests", src);
	cr_assert_eq(nftw(p, on_file, 16, FTW_PHYS), 0);
	cr_assert_eq(nftw(shared, on_file, 16, FTW_PHYS), 0);
	cr_assert_gt(compared, 100, "only %zu files", compared);
}

Test(jsonfast, edge_cases)
{
	static const char *const cases[] = {
		"{}", "[]", " \t\r\n{ } \n", "{\"a\":1}", "[1,2,3]", "{\"a\":{\"b\":[true,false,null]}}",
		"{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":3}",                       /* repeated keys */
		"{\"a\\nb\":1}", "{\"a\":\"x\\\"y\\\\z\\/w\\b\\f\\n\\r\\t\"}",           /* escapes */
		"[\"\\u00e9\"]", "[\"\\ud83d\\ude00\"]", "[\"\\ud83d\"]", "[\"\\u0000\"]", "{\"\\u0000\":1}",
		"[\"\\x\"]", "[\"\\", "[\"abc", "[\"a\tb\"]", "[\"caf\xc3\xa9\"]", "[\"\xc0\x80\"]",
		"[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xf0\x9f\x98\x80\"]", "[\"\xe2\x82\"]", "[\xc3\xa9]",
		"[0]", "[-0]", "[01]", "[-]", "[1.5]", "[1e3]", "[1E-3]", "[-1.0e+2]", "[1.]", "[.5]", "[+1]",
		"[9223372036854775807]", "[9223372036854775808]", "[-9223372036854775808]", "[-9223372036854775809]",
		"[99999999999999999999999]", "[1e999]", "[1e-999]",
		/* reals, read by the fast reader since #20 (policy.json's health SLOs) */
		"{\"min_success_rate\":0.99,\"max_error_rate\":0.01}", "[-0.0]", "[0e0]", "[0.0e-0]", "[0E+00]",
		"[1e+]", "[1e-]", "[1.5e]", "[1.e5]", "[00.5]", "[-01.5]", "[1.5.5]", "[1e5e5]", "[1.5-]", "[-.5]",
		"[1.7976931348623157e308]", "[1.7976931348623159e308]", "[-1.7976931348623159e308]", "[4.9e-324]",
		"[2.4e-324]", "[12345678901234567890123.5]", "[99999999999999999999999e-5]", "[9223372036854775808.0]",
		"[0.1000000000000000055511151231257827021181583404541015625]",
		"[0.10000000000000000555111512312578270211815834045410156251]", /* past 64 characters */
		"[123456789012345678901234567890123456789012345678901234567890.12]",
		"[tru]", "[true", "[nulll]", "[null,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{1:2}",
		"[1]x", "[1] [2]", "", "   ", "1", "\"s\"", "null", "[1]\n\n", "{\"a\":[1,{\"b\":[]}]}",
		"[1 2]", "{\"a\":1 \"b\":2}", "[\"a\"\"b\"]", "\xef\xbb\xbf[]",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_both(cases[i], strlen(cases[i]), cases[i]);
	same_both("[\"a\0b\"]", 7, "NUL in a string");
	same_both("[1]\0", 4, "NUL after the document");
	same_both(NULL, 0, "NULL buffer");
}

Test(jsonfast, nesting_at_and_past_the_limits)
{
	static char buf[2 * 3000 + 1];
	size_t depths[] = { 511, 512, 513, 600, 2047, 2048, 2049, 3000 };

	for (size_t k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
		size_t d = depths[k];
		memset(buf, '[', d);
		memset(buf + d, ']', d);
		char what[32];
		snprintf(what, sizeof(what), "depth %zu", d);
		same_both(buf, 2 * d, what);
	}
}

/* every one-byte deletion and replacement of a few documents */
Test(jsonfast, every_one_byte_edit)
{
	static const char *const seeds[] = {
		"{\"name\":\"Sync \\\"CRM\\\"\",\"flow\":[{\"id\":1,\"module\":\"http:ActionSendData\",\"mapper\":{\"url\":\"https://x\","
		"\"n\":-42,\"ok\":true,\"v\":null}}],\"metadata\":{\"version\":1,\"scenario\":{\"roundtrips\":1}}}",
		"[1,-0,[],{},\"caf\xc3\xa9\",false,{\"a\":{\"b\":[null]}}]",
		"{\"r\":[0.99,-1.5e+3,2E-2,0.0,1e7]}",
	};
	static const char subs[] = { '"', '\\', '{', '}', '[', ']', ',', ':', '0', '9', '-', 'x', ' ', '\n', '\0',
		(char)0x80, (char)0xc3, 'e', '.', 'u', 't', 'n' };
	char buf[512];

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t n = strlen(seeds[s]);
		for (size_t i = 0; i < n; i++) {
			memcpy(buf, seeds[s], i);
			memcpy(buf + i, seeds[s] + i + 1, n - i - 1);
			same_both(buf, n - 1, "deletion");
			for (size_t k = 0; k < sizeof(subs); k++) {
				memcpy(buf, seeds[s], n);
				buf[i] = subs[k];
				same_both(buf, n, "replacement");
			}
		}
	}
}
