/* The scanner runs pcre2's interpreter until a pattern has seen 64 KiB, JIT after, and
 * where the one that ran stops at a limit the other runs the match again
 * (policy/scan/scan_rules.c, issue #20: a small commit's scan no longer pays for JIT
 * compiling). These tests hold the findings to be exactly those of a scanner that
 * JIT-compiles every pattern before its first match (test flag scan-jit-always): on every
 * file of the shared corpus and the repository's packs and tests, each with a scanner of
 * its own (so each is scanned by the interpreter), on one scanner that crosses the
 * threshold mid-way, and on inputs made to be slow to match. The same files hold the
 * patterns the build compiled and embedded (scan_patterns_pre.c, decoded at run time) to
 * the findings of the same patterns compiled at run time (test flag
 * scan-precompiled-never), and every embedded pattern must decode here. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/buf.h"
#include "bpgate/scan.h"
#include "../../policy/scan/scan_internal.h"

static size_t compared;

/* the findings of one scan of data, as JSON text; `s` NULL: a scanner of its own */
static char *findings(bpg_scanner *s, const char *path, const char *data, size_t len)
{
	bpg_scanner *own = NULL;
	bpg_findings *f = NULL;
	json_t *j = NULL;
	bpg_error err;
	char *text;

	if (!s) {
		cr_assert_eq(bpg_scanner_new(&own, NULL, &err), 0, "%s", err.message);
		s = own;
	}
	cr_assert_eq(bpg_findings_new(&f, &err), 0);
	cr_assert_eq(bpg_scan_buffer(s, f, path, data, len, &err), 0, "%s: %s", path, err.message);
	cr_assert_eq(bpg_findings_to_json(&j, f, &err), 0);
	text = json_dumps(j, JSON_COMPACT);
	cr_assert(text);
	json_decref(j);
	bpg_findings_free(f);
	bpg_scanner_free(own);
	return text;
}

static void same(const char *path, const char *data, size_t len)
{
	char *interp, *jit, *compiled;

	unsetenv("BPGATE_TEST_FLAGS");
	interp = findings(NULL, path, data, len);
	setenv("BPGATE_TEST_FLAGS", "scan-jit-always", 1);
	jit = findings(NULL, path, data, len);
	setenv("BPGATE_TEST_FLAGS", "scan-precompiled-never", 1);
	compiled = findings(NULL, path, data, len);
	unsetenv("BPGATE_TEST_FLAGS");
	cr_assert_str_eq(interp, jit, "%s: the interpreter and JIT differ", path);
	cr_assert_str_eq(interp, compiled, "%s: the embedded patterns and patterns compiled here differ", path);
	free(interp);
	free(jit);
	free(compiled);
	compared++;
}

static int on_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	(void)ftw;

	if (flag != FTW_F || sb->st_size > (8 << 20) || strstr(path, "/.git/") || strstr(path, "/build"))
		return 0;
	cr_assert_eq(bpg_file_read(&b, path, (size_t)8 << 20, &err), 0, "%s", err.message);
	same(path, b.ptr ? b.ptr : "", b.size);
	bpg_buf_dispose(&b);
	return 0;
}

Test(scan_jit, every_corpus_pack_and_test_file_same_findings)
{
	const char *src = getenv("BPG_SOURCE_ROOT"), *shared = getenv("BPG_SHARED_DIR");
	char p[PATH_MAX];

	cr_assert(src && shared, "run under meson test");
	snprintf(p, sizeof(p), "%s/corpus", shared);
	cr_assert_eq(nftw(p, on_file, 16, FTW_PHYS), 0);
	snprintf(p, sizeof(p), "%s/policy/packs", src);
	cr_assert_eq(nftw(p, on_file, 16, FTW_PHYS), 0);
	snprintf(p, sizeof(p), "%s/tests", src);
	cr_assert_eq(nftw(p, on_file, 16, FTW_PHYS), 0);
	cr_assert_gt(compared, 50, "only %zu files", compared);
}

/* one scanner over ~1 MiB: the patterns cross 64 KiB part-way and are JIT-compiled
 * between two buffers; the findings of each buffer are those of an all-JIT scanner */
Test(scan_jit, crossing_the_threshold_in_one_scanner_same_findings)
{
	bpg_scanner *mixed = NULL, *jit = NULL;
	bpg_buf doc = BPG_BUF_INIT;
	bpg_error err;

	for (int i = 0; i < 600; i++)
		cr_assert_eq(bpg_buf_printf(&doc, "{\"id\": %d, \"email\": \"jane.doe%d@acme-health.org\", "
			"\"phone\": \"+44 20 7946 %04d\", \"note\": \"token ghp_%036d and card 4111 1111 1111 %04d\"}\n",
			i, i, i % 10000, i, i % 10000), 0);
	cr_assert_eq(bpg_scanner_new(&mixed, NULL, &err), 0);
	setenv("BPGATE_TEST_FLAGS", "scan-jit-always", 1);
	cr_assert_eq(bpg_scanner_new(&jit, NULL, &err), 0);
	unsetenv("BPGATE_TEST_FLAGS");
	for (int round = 0; round < 12; round++) {
		char *a = findings(mixed, "big.jsonl", doc.ptr, doc.size);
		setenv("BPGATE_TEST_FLAGS", "scan-jit-always", 1);
		char *b = findings(jit, "big.jsonl", doc.ptr, doc.size);
		unsetenv("BPGATE_TEST_FLAGS");
		cr_assert_str_eq(a, b, "round %d", round);
		cr_assert(strstr(a, "EMAIL"), "round %d found no e-mail", round);
		free(a);
		free(b);
	}
	bpg_scanner_free(mixed);
	bpg_scanner_free(jit);
	bpg_buf_dispose(&doc);
}

/* long runs of what the patterns start with and backtrack over */
Test(scan_jit, inputs_slow_to_match_same_findings)
{
	static const char *const units[] = { "a", "a.", "a-", "1", "1-", "1 ", "+1", "@", "a@", "ab@c.", "eyJ",
		"ghp_", "sk_live_", "xox", "AKIA", "://", "https://hook.eu1.make.com/", "=", "%", "::", "1:", ":a",
		"\\u00", "\\\\", "0x", "1.", "19", "-19", "/" };
	bpg_buf b = BPG_BUF_INIT;

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		for (size_t n = 1; n <= 4096; n *= 8) {
			bpg_buf_clear(&b);
			for (size_t i = 0; i < n; i++)
				cr_assert_eq(bpg_buf_puts(&b, units[u]), 0);
			char what[64];
			snprintf(what, sizeof(what), "'%s' x %zu", units[u], n);
			same(what, b.ptr, b.size);
			/* the same inside a JSON string */
			bpg_buf json = BPG_BUF_INIT;
			cr_assert_eq(bpg_buf_puts(&json, "{\"v\": \""), 0);
			for (size_t i = 0; i < b.size; i++)
				cr_assert_eq(bpg_buf_printf(&json, b.ptr[i] == '"' || b.ptr[i] == '\\' ? "\\%c" : "%c", b.ptr[i]), 0);
			cr_assert_eq(bpg_buf_puts(&json, "\"}"), 0);
			same(what, json.ptr, json.size);
			bpg_buf_dispose(&json);
		}
	}
	bpg_buf_dispose(&b);
}

/* every pattern the build embedded decodes with this pcre2 (else each process would
 * compile it again, silently slower), and is the pattern compiled here: the same size
 * and the same matches on a sample of what it is for */
Test(scan_jit, embedded_patterns_decode_and_match_like_compiled_ones)
{
	static const char sample[] = "jane.doe@acme-health.org +44 20 7946 0958 GB82WEST12345698765432 "
		"ghp_abcdefghijklmnopqrstuvwxyz0123456789 password: hunter2 fe80::1 born 3rd March 1961 "
		"Mr. John Smith 221 Baker Street AKIAIOSFODNN7EXAMPLE";
	int decoded = 0;

	for (int k = 0; k < 2; k++)
		for (int which = 0; which < P_COUNT; which++) {
			const scan_precompiled *pre = &scan_patterns_pre[k][which];
			pcre2_code *a = NULL, *b;
			size_t sa = 0, sb = 0;
			int ec;
			PCRE2_SIZE eo;

			cr_assert_eq(pre->bytes != NULL, k == 0 || scan_pattern_anchored(which), "%d/%d", k, which);
			if (!pre->bytes)
				continue;
			cr_assert_eq(pcre2_serialize_decode(&a, 1, pre->bytes, NULL), 1, "%s does not decode",
				scan_pattern_name(which));
			cr_assert(b = scan_pattern_compile(which, k == 1, &ec, &eo));
			cr_assert_eq(pcre2_pattern_info(a, PCRE2_INFO_SIZE, &sa), 0);
			cr_assert_eq(pcre2_pattern_info(b, PCRE2_INFO_SIZE, &sb), 0);
			cr_assert_eq(sa, sb, "%s: %zu bytes embedded, %zu compiled", scan_pattern_name(which), sa, sb);
			pcre2_match_data *ma = pcre2_match_data_create_from_pattern(a, NULL);
			pcre2_match_data *mb = pcre2_match_data_create_from_pattern(b, NULL);
			for (size_t off = 0; off < sizeof(sample) - 1; off++) {
				int ra = pcre2_match(a, (PCRE2_SPTR)sample, sizeof(sample) - 1, off, 0, ma, NULL);
				int rb = pcre2_match(b, (PCRE2_SPTR)sample, sizeof(sample) - 1, off, 0, mb, NULL);
				cr_assert_eq(ra, rb, "%s at %zu", scan_pattern_name(which), off);
				if (ra <= 0)
					continue;
				/* the engine dispatches on the mark */
				cr_assert_eq(pcre2_get_ovector_pointer(ma)[0], pcre2_get_ovector_pointer(mb)[0]);
				cr_assert_eq(pcre2_get_ovector_pointer(ma)[1], pcre2_get_ovector_pointer(mb)[1]);
				const char *ka = (const char *)pcre2_get_mark(ma), *kb = (const char *)pcre2_get_mark(mb);
				cr_assert(ka == kb || (ka && kb && strcmp(ka, kb) == 0), "%s at %zu: mark %s against %s",
					scan_pattern_name(which), off, ka ? ka : "none", kb ? kb : "none");
			}
			pcre2_match_data_free(ma);
			pcre2_match_data_free(mb);
			pcre2_code_free(a);
			pcre2_code_free(b);
			decoded++;
		}
	cr_assert_eq(decoded, 10);
}

/* the pcre2 identity the build embedded is the running one's (the test links the same
 * pcre2 as the library), so the embedded patterns are used, not compiled again */
Test(scan_jit, embedded_patterns_made_by_this_pcre2)
{
	char id[SCAN_PCRE2_ID_MAX];

	cr_assert_eq(scan_pcre2_id(id), 0);
	cr_assert_str_eq(id, scan_patterns_pre_pcre2);
}
