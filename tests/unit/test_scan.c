/* Unit tests of the scan module: rules, validators, positions, JSON pointers,
 * output formats, the ignore file, the staged check and hostile input. */
#include <criterion/criterion.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bpgate/scan.h"
#include "../../policy/scan/scan_internal.h" /* the features/candidate cross-check */

static bpg_scanner *sc;
static bpg_findings *fs;
static bpg_error err;

static void setup(void)
{
	cr_assert_eq(bpg_scanner_new(&sc, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_findings_new(&fs, &err), 0);
}

static void teardown(void)
{
	bpg_findings_free(fs);
	bpg_scanner_free(sc);
}

TestSuite(scan, .init = setup, .fini = teardown);

static size_t scan(const char *text)
{
	bpg_findings_free(fs);
	cr_assert_eq(bpg_findings_new(&fs, &err), 0);
	cr_assert_eq(bpg_scan_buffer(sc, fs, "t.txt", text, strlen(text), &err), 0, "%s", err.message);
	return bpg_findings_count(fs);
}

/* "RULE,RULE" of the findings in order ("*" after synthetic ones). */
static const char *rules(const char *text)
{
	static char out[512];
	size_t o = 0;
	scan(text);
	out[0] = '\0';
	for (size_t i = 0; i < bpg_findings_count(fs); i++) {
		const bpg_scan_finding *f = bpg_findings_get(fs, i);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%s", i ? "," : "", f->rule,
			f->synthetic ? "*" : "");
	}
	return out;
}

Test(scan, checksums_decide)
{
	cr_assert_str_eq(rules("card 4972281866201165"), "CREDIT_CARD");
	cr_assert_str_eq(rules("card 4972281866201166"), "");         /* Luhn fails */
	cr_assert_str_eq(rules("test card 4111 1111 1111 1111"), "CREDIT_CARD*");
	cr_assert_str_eq(rules("GB82 WEST 1234 5698 7654 32"), "IBAN");
	cr_assert_str_eq(rules("GB82 WEST 1234 5698 7654 33"), "");
	cr_assert_str_eq(rules("401-023-2137"), "UK_NHS");
	cr_assert_str_eq(rules("401-023-2138"), "");
	cr_assert_str_eq(rules("NPI 1245319599"), "US_NPI");
	cr_assert_str_eq(rules("BB1388568"), "MEDICAL_LICENSE");
	cr_assert_str_eq(rules("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), "CRYPTO_WALLET");
	cr_assert_str_eq(rules("16Yeky6GMjeNkAiNcBY7ZhrLoMSgg1BoyZ2"), "");
}

Test(scan, ssn_rules_and_context)
{
	cr_assert_str_eq(rules("078-05-1123"), "US_SSN");
	cr_assert_str_eq(rules("078-05-1120"), "");        /* on the invalid list */
	cr_assert_str_eq(rules("666-45-1234"), "");
	cr_assert_str_eq(rules("911-70-1234"), "US_ITIN");
	cr_assert_str_eq(rules("078051121"), "");          /* bare 9 digits need context */
	cr_assert_str_eq(rules("my ssn is 078051121"), "US_SSN");
	cr_assert_str_eq(rules("{\"SSN\": \"130-34-2009\"}"), "US_SSN");
}

/* FHIR / HL7 identifiers: the type code, type text or system says what "value" is */
Test(scan, identifier_type_context)
{
	const bpg_scan_finding *f;

	cr_assert_str_eq(rules("{\"identifier\": [{\"type\": {\"coding\": [{\"system\": "
		"\"http://terminology.hl7.org/CodeSystem/v2-0203\", \"code\": \"MR\"}]}, "
		"\"value\": \"A10038475\"}]}"), "MEDICAL_RECORD_NUMBER");
	f = bpg_findings_get(fs, 0);
	cr_assert_str_eq(f->pointer, "/identifier/0/value");
	cr_assert_str_eq(rules("{\"id\": {\"type\": {\"text\": \"Medical record number\"}, "
		"\"value\": \"77345120\"}}"), "MEDICAL_RECORD_NUMBER");
	cr_assert_str_eq(rules("{\"id\": {\"system\": \"http://hl7.org/fhir/sid/us-ssn\", "
		"\"value\": \"078051121\"}}"), "US_SSN");
	cr_assert_str_eq(rules("{\"id\": {\"type\": {\"coding\": [{\"code\": \"PPN\"}]}, "
		"\"value\": \"912803456\"}}"), "US_PASSPORT");
	/* without the type the same values are not findings (a bare 9-digit number) */
	cr_assert_str_eq(rules("{\"id\": {\"value\": \"912803456\"}}"), "");
	/* a "code" outside a "type" member names nothing */
	cr_assert_str_eq(rules("{\"id\": {\"code\": \"MR\", \"value\": \"912803456\"}}"), "");
}

Test(scan, phones_and_synthetic)
{
	cr_assert_str_eq(rules("call (425) 882-9090"), "PHONE");
	cr_assert_str_eq(rules("US: 415-555-0132"), "PHONE*");
	cr_assert_str_eq(rules("+44 20 7123 4567"), "PHONE");
	cr_assert_str_eq(rules("{\"ts\": 1717171717, \"serial\": 2024031501}"), "");
	cr_assert_str_eq(rules("Version 1.2.3.4 and 10.0.0.1"), "");
	cr_assert_str_eq(rules("from 133.133.133.133:8080"), "IP_ADDRESS");
	cr_assert_str_eq(rules("doc 192.0.2.1"), "IP_ADDRESS*");
}

Test(scan, secrets_and_placeholders)
{
	cr_assert_str_eq(rules("AKIALALEMEL33243OLIB"), "AWS_ACCESS_KEY");
	cr_assert_str_eq(rules("aws_access_key_id = AKIAIOSFODNN7EXAMPLE"), "");
	cr_assert_str_eq(rules("ghs_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), "");
	cr_assert_str_eq(rules("secret = \"hunter2\""), "GENERIC_API_KEY");
	cr_assert_str_eq(rules("secret = ${hunter2}"), "");
	cr_assert_str_eq(rules("{\"api_key\": \"YOUR_API_KEY_HERE\"}"), "");
	cr_assert_str_eq(rules("{\"id\": \"0b181042-6231-44c7-8f05-48d1f56f8ef9\"}"), "");
	cr_assert_str_eq(rules("https://svc-bot:NLcr17jdfBQ3pTcK@git.acme.io/x"), "PASSWORD_IN_URL");
	cr_assert_str_eq(rules("https://username:password@example.com"), "");
}

Test(scan, make_rules)
{
	cr_assert_str_eq(rules("{\"url\": \"https://hook.eu1.make.com/hyf4tlbx2lja6yn2z5jlop0jtrsw4qot\"}"),
		"MAKE_WEBHOOK_URL");
	cr_assert_str_eq(rules("{\"url\": \"https://hook.eu1.make.com/YOUR_WEBHOOK_ID\"}"), "");
	cr_assert_str_eq(rules("{\"make\": {\"apiToken\": \"c7ab8172-bbc2-47eb-9ab2-dfe225415f7e\"}}"),
		"MAKE_API_TOKEN");
	cr_assert_str_eq(rules("curl -H 'Authorization: Token c7ab8172-bbc2-47eb-9ab2-dfe225415f7e'"),
		"MAKE_API_TOKEN");
	/* a blueprint header: the sibling "name" says what "value" holds */
	cr_assert_str_eq(rules("{\"headers\": [{\"name\": \"x-api-key\", \"value\": \"q8Zr2LmW9xT4vB7n\"}]}"),
		"GENERIC_API_KEY");
	cr_assert_str_eq(rules("{\"headers\": [{\"name\": \"x-api-key\", \"value\": \"YOUR_ANTHROPIC_API_KEY\"}]}"), "");
}

Test(scan, json_positions_pointer_and_mask)
{
	const char *doc = "{\n  \"flow\": [\n    {\"mapper\": {\"to\": \"a\\u00e9 jane.roe@acme-mail.com\"}}\n  ]\n}\n";
	const bpg_scan_finding *f;

	cr_assert_eq(scan(doc), 1);
	f = bpg_findings_get(fs, 0);
	cr_assert_str_eq(f->rule, "EMAIL");
	cr_assert_eq(f->line, 3);
	cr_assert_eq(f->column, 32); /* the \u00e9 escape is 6 characters of text */
	cr_assert_str_eq(f->pointer, "/flow/0/mapper/to");
	cr_assert_str_eq(f->masked, "ja********om");
	cr_assert_eq(strstr(f->masked, "roe@acme"), NULL);
	cr_assert_eq(strlen(f->fingerprint), 32);
}

Test(scan, fingerprint_stable_when_lines_move)
{
	char fp1[33], fp2[33];
	scan("{\"a\": {\"email\": \"jane.roe@acme-mail.com\"}}");
	strcpy(fp1, bpg_findings_get(fs, 0)->fingerprint);
	scan("\n\n\n{\n\"a\":\n {\"email\":\n \"jane.roe@acme-mail.com\"}}");
	strcpy(fp2, bpg_findings_get(fs, 0)->fingerprint);
	cr_assert_str_eq(fp1, fp2);
	cr_assert_eq(bpg_findings_get(fs, 0)->line, 7);
	scan("x\nx jane.roe@acme-mail.com");
	strcpy(fp1, bpg_findings_get(fs, 0)->fingerprint);
	scan("jane.roe@acme-mail.com");
	cr_assert_str_eq(fp1, bpg_findings_get(fs, 0)->fingerprint);
}

Test(scan, not_json_falls_back_to_text)
{
	const bpg_scan_finding *f;
	cr_assert_eq(scan("{\"a\": 1} trailing jane.roe@acme-mail.com"), 1);
	f = bpg_findings_get(fs, 0);
	cr_assert_null(f->pointer);
	cr_assert_eq(f->column, 19);
}

Test(scan, json_output_shape)
{
	json_t *j = NULL;
	char *s, want[512];
	scan("x 078-05-1123");
	cr_assert_eq(bpg_findings_to_json(&j, fs, &err), 0);
	s = json_dumps(j, JSON_COMPACT);
	snprintf(want, sizeof(want), "{\"findings\":[{\"rule\":\"US_SSN\",\"path\":\"t.txt\",\"line\":1,"
		"\"column\":3,\"pointer\":null,\"masked\":\"0********3\",\"synthetic\":false,"
		"\"fingerprint\":\"%s\"}]}", bpg_findings_get(fs, 0)->fingerprint);
	cr_assert_str_eq(s, want);
	free(s);
	json_decref(j);
}

Test(scan, sarif_output)
{
	json_t *j = NULL, *res;
	scan("x 078-05-1123");
	cr_assert_eq(bpg_findings_to_sarif(&j, fs, &err), 0);
	cr_assert_str_eq(json_string_value(json_object_get(j, "version")), "2.1.0");
	res = json_array_get(json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(res, "ruleId")), "US_SSN");
	json_decref(j);
}

Test(scan, ignore_file)
{
	bpg_scan_ignore *ig = NULL;
	char doc[512];
	scan("a 078-05-1123 b 401-023-2137");
	cr_assert_eq(bpg_findings_count(fs), 2);
	snprintf(doc, sizeof(doc), "{\"version\":1,\"ignore\":[{\"fingerprint\":\"%s\",\"reason\":\"test\","
		"\"accepted_by\":\"a@example.com\"}]}", bpg_findings_get(fs, 0)->fingerprint);
	cr_assert_eq(bpg_scan_ignore_parse(&ig, doc, strlen(doc), "ig", &err), 0, "%s", err.message);
	cr_assert_eq(bpg_findings_apply_ignore(fs, ig), 1);
	cr_assert_str_eq(bpg_findings_get(fs, 0)->rule, "UK_NHS");
	bpg_scan_ignore_free(ig);
	cr_assert_eq(bpg_scan_ignore_parse(&ig, "{\"ignore\":[{\"fingerprint\":\"00\"}]}", 33, "ig", &err),
		BPG_EINVALID);
	cr_assert_str_eq(err.message, "ig: /ignore/0: missing \"reason\"; every accepted finding needs a "
		"fingerprint, a reason and who accepted it");
	cr_assert_eq(bpg_scan_ignore_parse(&ig, "{\"ignore\": [", 12, "ig", &err), BPG_EINVALID);
	cr_assert(strncmp(err.message, "ig:1:", 5) == 0, "%s", err.message);
}

/* ---- hostile input --------------------------------------------------------- */

static char *filled(size_t n, char ch)
{
	char *b = malloc(n + 1);
	memset(b, ch, n);
	b[n] = '\0';
	return b;
}

Test(scan, long_line_and_regex_hostile)
{
	size_t n = (size_t)4 << 20;
	char *b = filled(n, 'a');
	memcpy(b + n - 40, " 078-05-1123 ", 13);
	cr_assert_eq(bpg_scan_buffer(sc, fs, "l", b, n, &err), 0);
	cr_assert_eq(bpg_findings_count(fs), 1);
	cr_assert_eq(bpg_findings_get(fs, 0)->column, n - 38);
	/* patterns that make naive regexes backtrack */
	for (size_t i = 0; i < n; i++)
		b[i] = "1 -.@a:A"[i % 8];
	cr_assert_eq(bpg_scan_buffer(sc, fs, "h", b, n, &err), 0);
	for (size_t i = 0; i < n; i++)
		b[i] = "eyJ.x-_"[i % 7];
	cr_assert_eq(bpg_scan_buffer(sc, fs, "h", b, n, &err), 0);
	memset(b, '@', n);
	cr_assert_eq(bpg_scan_buffer(sc, fs, "h", b, n, &err), 0);
	free(b);
}

Test(scan, deep_json_and_bad_utf8)
{
	size_t n = 100000;
	char *b = filled(n, '[');
	cr_assert_eq(bpg_scan_buffer(sc, fs, "d", b, n, &err), 0);
	free(b);
	cr_assert_eq(scan("{\"a\": \"\xff\xfe jane.roe@acme-mail.com \xc3\"}"), 1);
	cr_assert_eq(scan("{\"a\": \"\\ud800 x\"}"), 0);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

Test(scan, binary_file_is_a_reported_skip)
{
	char path[] = "/tmp/bpg-scan-binXXXXXX";
	int fd = mkstemp(path);
	const char data[] = "PK\0\0 078-05-1123";
	close(fd);
	write_file(path, data, sizeof(data));
	cr_assert_eq(bpg_scan_file(sc, fs, path, "bin", &err), 0);
	cr_assert_eq(bpg_findings_count(fs), 0);
	cr_assert_eq(bpg_findings_skip_count(fs), 1);
	cr_assert_str_eq(bpg_findings_skip_get(fs, 0)->reason, "binary (NUL bytes in the first 8 KiB)");
	unlink(path);
}

Test(scan, big_file_memory_is_bounded)
{
	char path[] = "/tmp/bpg-scan-bigXXXXXX";
	int fd = mkstemp(path);
	size_t n = (size_t)48 << 20;
	char *b = filled(n, 'x');
	struct rusage ru0, ru1;
	for (size_t i = 0; i < n; i += 4096)
		b[i] = ' ';
	close(fd);
	write_file(path, b, n);
	free(b);
	getrusage(RUSAGE_SELF, &ru0);
	cr_assert_eq(bpg_scan_file(sc, fs, path, "big", &err), 0);
	getrusage(RUSAGE_SELF, &ru1);
	/* the file is mapped and released behind the scan; allow for ASan overhead */
	cr_assert_lt(ru1.ru_maxrss - ru0.ru_maxrss, 80 * 1024, "grew %ld KiB", ru1.ru_maxrss - ru0.ru_maxrss);
	unlink(path);
}

/* ---- the staged check -------------------------------------------------------- */

static void sh(const char *dir, const char *cmd)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "cd '%s' && %s >/dev/null 2>&1", dir, cmd);
	cr_assert_eq(system(buf), 0, "%s", cmd);
}

Test(scan, staged_added_lines_only)
{
	char dir[] = "/tmp/bpg-scan-gitXXXXXX", p[256];
	git_repository *repo = NULL;
	const char *v1 = "{\n  \"a\": \"old.person@acme-mail.com\",\n  \"b\": 1\n}\n";
	const char *v2 = "{\n  \"a\": \"old.person@acme-mail.com\",\n  \"b\": 1,\n  \"c\": {\"phone\": \"+44 20 7123 4567\"}\n}\n";
	const bpg_scan_finding *f;

	cr_assert_not_null(mkdtemp(dir));
	sh(dir, "git init -q . && git config user.email t@example.com && git config user.name t && mkdir -p fixtures src");
	snprintf(p, sizeof(p), "%s/fixtures/a.json", dir);
	write_file(p, v1, strlen(v1));
	snprintf(p, sizeof(p), "%s/src/x.json", dir);
	write_file(p, v2, strlen(v2));
	sh(dir, "git add fixtures/a.json && git commit -q -m one");
	snprintf(p, sizeof(p), "%s/fixtures/a.json", dir);
	write_file(p, v2, strlen(v2));
	snprintf(p, sizeof(p), "%s/fixtures/new.blueprint.json", dir);
	write_file(p, "{\"x\": \"new.person@acme-mail.com\"}", 33);
	sh(dir, "git add fixtures src");
	git_libgit2_init();
	cr_assert_eq(git_repository_open(&repo, dir), 0);
	cr_assert_eq(bpg_scan_staged(sc, fs, repo, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_findings_count(fs), 2);
	f = bpg_findings_get(fs, 0);
	cr_assert_str_eq(f->path, "fixtures/a.json");
	cr_assert_str_eq(f->rule, "PHONE");
	cr_assert_eq(f->line, 4);
	cr_assert_str_eq(f->pointer, "/c/phone");
	f = bpg_findings_get(fs, 1);
	cr_assert_str_eq(f->path, "fixtures/new.blueprint.json");
	cr_assert_str_eq(f->rule, "EMAIL");
	cr_assert_str_eq(f->pointer, "/x");
	git_repository_free(repo);
	git_libgit2_shutdown();
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	cr_assert_eq(system(p), 0);
}

/* Keys read through the key cache (plain, with ~ / @, escaped, too long to
 * cache, the same text as key and as a value) give the same pointers and
 * context as the slow path, and keep doing so once cached. */
Test(scan, json_key_cache_and_pointers)
{
	static const char doc[] = "{\"a~b/c\": {\"ssn\": \"078-05-1123\"}, "
		"\"k\\u0065y\": [\"x\", {\"ssn\": \"078-05-1123\"}], "
		"\"customerContactEmailAddressForBillingNotificationsOfThisAccount\": "
		"{\"ssn\": \"078-05-1123\"}, "
		"\"jane.roe@acme-mail.com\": 1, "
		"\"list\": [{\"name\": \"ssn\", \"value\": \"078051123\"}, "
		"{\"name\": \"note\", \"value\": \"078051123\"}]}";
	/* a bare 9-digit value is an SSN by its sibling "name" only */
	static const char *const want[] = { "/a~0b~1c/ssn", "/key/1/ssn",
		"/customerContactEmailAddressForBillingNotificationsOfThisAccount/ssn",
		"/jane.roe@acme-mail.com", "/list/0/value" };

	for (int round = 0; round < 2; round++) { /* the second round hits the cache */
		cr_assert_eq(scan(doc), 5, "round %d: %zu findings", round, bpg_findings_count(fs));
		for (size_t i = 0; i < 5; i++)
			cr_assert_str_eq(bpg_findings_get(fs, i)->pointer, want[i], "round %d, finding %zu",
				round, i);
	}
}

/* The vector path of scan_features() and the candidate stops it gives equal
 * the byte loops on random text rich in the bytes they look at. */
Test(scan, features_vector_path_equals_byte_loop)
{
	static const char alpha[] = "aAbBdDeEhHkKMPrRsStTxXyYgG0123456789 _-.:@=+()/'\"J\n\xc3\xa9";
	char buf[16 + 140];
	uint64_t r = 0x9E3779B97F4A7C15ull;
	size_t vec = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t n, before;
		scan_seg_features a, b;
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		n = (size_t)(r >> 33) % 140;
		before = (size_t)(r >> 20) % 17;
		for (size_t i = 0; i < sizeof(buf); i++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = alpha[(r >> 40) % (sizeof(alpha) - 1)];
		}
		const char *s = buf + before;
		scan_features(s, n, before, &a);
		scan_features_ref(s, n, &b);
		cr_assert_eq(a.digits, b.digits);
		cr_assert_eq(a.colons, b.colons);
		cr_assert_eq(a.dots, b.dots);
		cr_assert_eq(a.maxrun, b.maxrun, "maxrun of %.*s", (int)n, s);
		cr_assert_eq(a.name_at, b.name_at);
		cr_assert(a.at == b.at && a.upper == b.upper && a.eq == b.eq && a.under == b.under);
		cr_assert(a.street == b.street && a.lead == b.lead && a.honorific == b.honorific &&
			a.birth == b.birth, "flags of %.*s", (int)n, s);
		if (!a.vec)
			continue;
		vec++;
		for (int w = P_SECRET; w <= P_KEYWORD; w++) {
			uint64_t stops = scan_cand_stops(w, s, n, &a);
			for (size_t i = 0; i <= n; i++)
				cr_assert_eq(scan_cand_next_mask(w, s, n, i, stops, a.alnum),
					scan_cand_next(w, s, n, i), "family %d from %zu in %.*s", w, i, (int)n, s);
		}
	}
	cr_assert_gt(vec, 50000); /* the vector path with candidate stops did run */
}

/* Columns count characters, not bytes, across long lines (the column
 * counter reads 16 bytes at a time, with a byte tail): every prefix length
 * from 0 to 300 characters of mixed 1-, 2-, 3- and 4-byte UTF-8. */
Test(scan, columns_count_utf8_characters)
{
	static const char *ch[] = { "a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", " " };
	char text[2048];
	for (size_t n = 0; n <= 300; n += (n < 40 ? 1 : 7)) {
		size_t o = 0;
		const bpg_scan_finding *f;
		for (size_t i = 0; i < n; i++) {
			const char *c = ch[(i * 7 + n) % 5];
			memcpy(text + o, c, strlen(c));
			o += strlen(c);
		}
		strcpy(text + o, " jane.roe@acme-mail.com");
		cr_assert_eq(scan(text), 1, "prefix of %zu characters", n);
		f = bpg_findings_get(fs, 0);
		cr_assert_eq(f->line, 1);
		cr_assert_eq(f->column, n + 2, "prefix of %zu characters: column %zu", n, f->column);
	}
	{ /* past 255 rounds of 16 bytes (the per-byte counters are summed before they wrap) */
		size_t n = 3001, o = 0;
		char *big = malloc(n * 4 + 64);
		cr_assert_not_null(big);
		for (size_t i = 0; i < n; i++) {
			const char *c = ch[i % 4];
			memcpy(big + o, c, strlen(c));
			o += strlen(c);
		}
		strcpy(big + o, " jane.roe@acme-mail.com");
		cr_assert_eq(scan(big), 1);
		cr_assert_eq(bpg_findings_get(fs, 0)->column, n + 2);
		free(big);
	}
}

/* String ends found 16, then 8 bytes at a time: an escaped quote or
 * backslash at every offset of strings up to 40 bytes keeps the walker in
 * step (the email in the next member is found, with its pointer and column). */
Test(scan, json_string_ends_at_every_offset)
{
	char text[256];
	for (size_t n = 0; n <= 40; n++)
		for (size_t at = 0; at <= n; at++)
			for (int kind = 0; kind < 3; kind++) {
				const bpg_scan_finding *f;
				size_t o = (size_t)snprintf(text, sizeof(text), "{\"a\":\"");
				for (size_t i = 0; i < n; i++) {
					if (i == at && kind < 2) {
						text[o++] = '\\';
						text[o++] = kind ? '\\' : '"';
					} else {
						text[o++] = 'x';
					}
				}
				o += (size_t)snprintf(text + o, sizeof(text) - o, "\",\"b\":\"jane.roe@acme-mail.com\"}");
				cr_assert_eq(scan(text), 1, "n %zu at %zu kind %d", n, at, kind);
				f = bpg_findings_get(fs, 0);
				cr_assert_str_eq(f->pointer, "/b");
				cr_assert_eq(f->column, o - 24 + 1, "n %zu at %zu kind %d", n, at, kind);
			}
}

/* Found by fuzzing: a long digit run under a birth-date key overflowed the
 * date check's int (UBSan); it is no date, and no finding. */
Test(scan, long_digit_run_is_no_birth_date)
{
	cr_assert(!v_date("12345678901234567890", 20));
	(void)v_date("362272062362272062-1-1", 22); /* defined behaviour under UBSan is the test */
	cr_assert(v_date("1971-03-03", 10));
	cr_assert(v_date("3 March 1971", 12));
	cr_assert(v_date("99999999999 1999 x", 18));
}
