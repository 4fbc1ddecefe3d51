/* Unit tests of the scanner's formats (issue #19): token families of the
 * low-code world, placeholders, separators and issuer ranges, national phone
 * formats, names by their shape, and JSON with a syntax error read as its
 * repaired copy. Every expectation is the exact list of findings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

TestSuite(formats, .init = setup, .fini = teardown);

static void scan_as(const char *path, const char *text, size_t len)
{
	bpg_findings_free(fs);
	cr_assert_eq(bpg_findings_new(&fs, &err), 0);
	cr_assert_eq(bpg_scan_buffer(sc, fs, path, text, len, &err), 0, "%s", err.message);
}

/* "RULE line:col masked" of each finding, ';'-separated ("*" after synthetic ones). */
static const char *found(const char *text)
{
	static char out[2048];
	size_t o = 0;
	scan_as("t.txt", text, strlen(text));
	out[0] = '\0';
	for (size_t i = 0; i < bpg_findings_count(fs); i++) {
		const bpg_scan_finding *f = bpg_findings_get(fs, i);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%s %zu:%zu %s", i ? ";" : "",
			f->rule, f->synthetic ? "*" : "", f->line, f->column, f->masked);
	}
	return out;
}

/* everything a finding says, pointer and fingerprint included */
static char *all_of(const char *path, const char *text, size_t len, bool with_columns)
{
	char *out = calloc(1, 65536);
	size_t o = 0;
	cr_assert_not_null(out);
	scan_as(path, text, len);
	for (size_t i = 0; i < bpg_findings_count(fs); i++) {
		const bpg_scan_finding *f = bpg_findings_get(fs, i);
		if (with_columns)
			o += (size_t)snprintf(out + o, 65536 - o, "%s %zu:%zu ", f->rule, f->line, f->column);
		o += (size_t)snprintf(out + o, 65536 - o, "%s %s %s %s%s\n", f->rule,
			f->pointer ? f->pointer : "(text)", f->masked, f->fingerprint, f->synthetic ? " syn" : "");
	}
	return out;
}

Test(formats, slack_token_families)
{
	cr_assert_str_eq(found("\"access_token4\": \"xoxe.xoxb-1-Mi0yLTMxNzcwMjQ0MTcxMy0zNjU5NDY0Njg4MTctNTE1ODE1MjY5MTcxNC01MTU4MDI0MTgyOTc5LWRmY2YwY2U4ODhhNzY5ZGU5MTAyNDU4MDJjMGQ0ZDliMTZhMjNkMmEyYzliNjkzMDRlN2VjZTI4MWNiMzRkNGQ\""), "SLACK_TOKEN 1:24 xoxb********kNGQ");
	cr_assert_str_eq(found("refresh xoxe-1-My0xLTMxNzcwMjQ0MTcxMy01MTU4MTUyNjkxNzE0LTUxODE4NDI0MDY3MzYtMjA5MGFkOTFlZThkZWE2OGFlZDYwYWJjODNhYzAxYjA5ZjVmODBhYjgzN2QyNDdjOTNlOGY5NTg2YWM1OGM4Mg"), "SLACK_TOKEN 1:9 xoxe********M4Mg");
	cr_assert_str_eq(found("xapp-1-A052FGTS2DL-5171572773297-610b6a11f4b7eb819e87b767d80e6575a3634791acb9a9ead051da879eb5b55e"), "SLACK_TOKEN 1:1 xapp********b55e");
	cr_assert_str_eq(found("rotated xoxr-1-Qm9iU2VjcmV0UmVmcmVzaDEy and xoxa-2-511111111-31111111111-3111111111111-e039d02840a0b9379c"), "SLACK_TOKEN 1:9 xox********DEy;SLACK_TOKEN 1:45 xoxa********379c");
	/* placeholders of the same shapes */
	cr_assert_str_eq(found("xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere xoxe-1-xxx xoxb-Slack_BOT_TOKEN"), "");
}

Test(formats, low_code_webhooks_and_bot_tokens)
{
	cr_assert_str_eq(found("{\"url\": \"https://discordapp.com/api/webhooks/812034918203941234/Zq8-HKEo1lK2bYpX0aZfN2m3Qw9sT4vUa7cDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab\"}"), "DISCORD_WEBHOOK_URL 1:10 http********89ab");
	cr_assert_str_eq(found("this.base = 'https://discord.com/api/webhooks';"), "");
	cr_assert_str_eq(found("curl -X POST https://maker.ifttt.com/trigger/new_lead/json/with/key/hT7_qW2eR9tY4uI1oP6aS3dF8gH"), "IFTTT_WEBHOOK_KEY 1:14 http********F8gH");
	cr_assert_str_eq(found("https://maker.ifttt.com/use/c9Xk2mP4qL7wZ1vB8nR5tY3hJ6"), "IFTTT_WEBHOOK_KEY 1:1 http********3hJ6");
	cr_assert_str_eq(found("https://maker.ifttt.com/trigger/{event}/with/key/{key} or https://maker.ifttt.com/trigger/x/with/key/1234567-12345678901234"), "");
	cr_assert_str_eq(found("TELEGRAM_API_TOKEN = 7364918254:AAH9kX2mQ4pL7wZ1vB8nR5tY3hJ6cF0dS2e"), "TELEGRAM_BOT_TOKEN 1:22 7364********dS2e");
	cr_assert_str_eq(found("https://api.telegram.org/bot5839201746:AAEr4Ty7Ui9Op2As5Df8Gh1Jk3Lz6Xc0Vbq/sendMessage"), "TELEGRAM_BOT_TOKEN 1:29 5839********0Vbq");
	cr_assert_str_eq(found("type=\"clm54321:AgencyIdentificationCodeContentType\" telegram = 1234:AAFlw3Pq9Rz7Xc2Vb5Nm8Kj4Hg6Fd1Sa0Qw"), "");
	cr_assert_str_eq(found("POST https://hooks.zapier.com/hooks/catch/12345678/abcd3fg/silent/"), "ZAPIER_WEBHOOK_URL 1:6 http********d3fg");
	cr_assert_str_eq(found("{\"flowUrl\": \"https://prod-27.westeurope.logic.azure.com:443/workflows/3f8a2c1d9b7e4f6a8c0d2e4f6a8b0c1d/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Xk2mP4qL7wZ1vB8nR5tY3hJ6cF0dS2eQ9aW4sE7rT1y\"}"), "POWER_AUTOMATE_URL 1:14 http********rT1y");
	cr_assert_str_eq(found("https://prod-27.westeurope.logic.azure.com:443/workflows/{id}/triggers/manual/paths/invoke?api-version=2016-06-01&sig={signature}"), "");
	cr_assert_str_eq(found("{\"webhook\": \"https://contoso.webhook.office.com/webhookb2/3f8a2c1d-9b7e-4f6a-8c0d-2e4f6a8b0c1d@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f\"}"), "TEAMS_WEBHOOK_URL 1:14 http********4e5f");
}

Test(formats, provider_tokens)
{
	cr_assert_str_eq(found("SENDGRID_API_KEY=\"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\""), "SENDGRID_KEY 1:19 SG.n********s5cr");
	cr_assert_str_eq(found("gitlab_token = \"glpat-Xq8mK2pL7wZ1vB8nR5tY\""), "GITLAB_TOKEN 1:17 glp********5tY");
	cr_assert_str_eq(found("\"npm_token\": \"npm_h6Kx9mQ2pL7wZ1vB8nR5tY3hJ6cF0dS2eQ9a\""), "NPM_TOKEN 1:15 npm_********eQ9a");
	cr_assert_str_eq(found("const key = \"AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe\";"), "GOOGLE_API_KEY 1:14 AIza********ewQe");
	cr_assert_str_eq(found("shopify_token = \"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\""), "SHOPIFY_TOKEN 1:18 shpa********1b3c");
	cr_assert_str_eq(found("OPENAI_API_KEY=sk-proj-Xq8mK2pL7wZ1vB8nR5tYT3BlbkFJ3hJ6cF0dS2eQ9aW4sE7rT1y"), "OPENAI_KEY 1:16 sk-p********rT1y");
}

Test(formats, password_in_url_with_empty_user)
{
	cr_assert_str_eq(found("redis://:Xk2mP4qL7wZ1@cache.internal.acme.io:6379/0"), "PASSWORD_IN_URL 1:1 redi********e.io");
	cr_assert_str_eq(found("postgres://:password@localhost:5432/db"), "");
}

Test(formats, placeholders_are_not_secrets)
{
	cr_assert_str_eq(found("password: \"fakePassword123\""), "");
	cr_assert_str_eq(found("api_key = \"sample-key-9f2b1c7d3e4a4b5c\""), "");
	cr_assert_str_eq(found("{\"auth\": \"username:token\", \"basic\": \"user:password\"}"), "");
	cr_assert_str_eq(found("{\"csrf_token\": \"a8f5f167f44f4964e6c998dee827110c\"}"), "");
	cr_assert_str_eq(found("{\"publicToken\": \"pt_9c2b7e4f1a8d3c6b0e5f2a9d7c4b1e8f\", \"publishableKey\": \"k_9c2b7e4f1a8d3c6b0e5f2a9d7c4b\"}"), "");
	cr_assert_str_eq(found("{\"token\": \"{token}\", \"password\": \"<your-password>\", \"secret\": \"XXXXXXXXXXXXXXXXXXXX\"}"), "");
	/* the same keys with a real-looking value still are */
	cr_assert_str_eq(found("{\"client_secret\": \"qL7wZ1vB8nR5tY3hJ6cF0dS2e\"}"), "GENERIC_API_KEY 1:20 qL7********S2e");
}

Test(formats, separators_and_ranges)
{
	cr_assert_str_eq(found("IBAN: DE89-3704-0044-0532-0130-00"), "IBAN 1:7 DE8********-00");
	cr_assert_str_eq(found("IBAN: DE89-3704-0044-0532-0130-01"), "");
	cr_assert_str_eq(found("SSN 536.22.8726 and 078.05.1120"), "US_SSN 1:5 5********6");
	cr_assert_str_eq(found("{\"dob\": \"19850412\", \"birthDate\": \"07031988\", \"orderDate\": \"19850412\"}"), "DATE_OF_BIRTH 1:10 1******2;DATE_OF_BIRTH 1:35 0******8");
	cr_assert_str_eq(found("DOB: 19761224, build 20231104"), "DATE_OF_BIRTH 1:6 1******4");
	cr_assert_str_eq(found("Geburtsdatum: 12.03.1979"), "DATE_OF_BIRTH 1:15 1********9");
	cr_assert_str_eq(found("UATP 122000000000003, Troy 9792000000000003, card 501800000009"), "CREDIT_CARD 1:6 1********3;CREDIT_CARD 1:28 97********03;CREDIT_CARD 1:51 5********9");
	cr_assert_str_eq(found("ref 501800000009"), "");
	cr_assert_str_eq(found("{\"patientMrn\": \"A10038475\", \"medical_record_no\": \"MR-445120\"}"), "MEDICAL_RECORD_NUMBER 1:17 A*******5;MEDICAL_RECORD_NUMBER 1:51 M*******0");
}

Test(formats, national_phone_formats)
{
	cr_assert_str_eq(found("Tel: 030 12345678"), "PHONE 1:6 0********8");
	cr_assert_str_eq(found("06 12 34 56 78"), "PHONE 1:1 0********8");
	cr_assert_str_eq(found("0151 23456789"), "PHONE 1:1 0********9");
	cr_assert_str_eq(found("call 020 7946 0958 today"), "PHONE 1:6 0********8");
	cr_assert_str_eq(found("celular (11) 96123-4567"), "PHONE 1:9 (********7");
	cr_assert_str_eq(found("0044 20 7946 0958"), "PHONE 1:1 00********58");
	cr_assert_str_eq(found("mobil 070-123 45 67"), "PHONE 1:7 0********7");
	cr_assert_str_eq(found("Teléfono: 912 34 56 78"), "PHONE 1:11 9********8");
	/* order ids, timestamps, amounts, codes */
	cr_assert_str_eq(found("order_id: 100234567890, timestamp 1699999999, amount: 1 234 567.89 EUR"), "");
	cr_assert_str_eq(found("total 12 345 678,00; 2024-01-05 10:22:33; ISBN 978 3 16 148410 0"), "");
	cr_assert_str_eq(found("tracking 1Z 999 AA1 01 2345 6784; ref 0151 2345 6789 0000 1111"), "");
	cr_assert_str_eq(found("078-05-0000 ticket 12 34 56 78 90 12"), "");
}

Test(formats, names_by_shape)
{
	cr_assert_str_eq(found("{\"contactName\": \"Nguyễn Thị Minh Khai\"}"), "PERSON_NAME 1:18 Ngu********hai");
	cr_assert_str_eq(found("{\"customer_name\": \"Oluwaseun Adebayo\"}"), "PERSON_NAME 1:20 Ol********yo");
	cr_assert_str_eq(found("{\"recipient\": {\"name\": \"Fernanda Oliveira Costa\"}}"), "PERSON_NAME 1:25 Fe********ta");
	cr_assert_str_eq(found("{\"first_name\": \"Yusuf\", \"last_name\": \"Özdemir\"}"), "PERSON_NAME 1:17 *****;PERSON_NAME 1:39 ?******r");
	cr_assert_str_eq(found("Name: Svetlana Kuznetsova"), "PERSON_NAME 1:7 Sv********va");
	cr_assert_str_eq(found("Hello Wei Zhang,\nyour order has shipped."), "PERSON_NAME 1:7 W*******g");
	cr_assert_str_eq(found("Kind regards,\nAnanya Krishnamurthy"), "PERSON_NAME 2:1 An********hy");
	cr_assert_str_eq(found("Regards, Bartłomiej Wiśniewski"), "PERSON_NAME 1:10 Ba********ki");
	cr_assert_str_eq(found("{\"signer\": \"Siddharth Venkataraman\"}"), "PERSON_NAME 1:13 Si********an");
	/* scenario, module and app names, option labels, companies */
	cr_assert_str_eq(found("{\"label\": \"Event-App Member\", \"value\": \"Event-App Member\"}"), "");
	cr_assert_str_eq(found("{\"customer\": \"Acme Corp\", \"owner\": \"Sales Team\"}"), "");
	cr_assert_str_eq(found("{\"name\": \"Sync HubSpot Contacts\", \"scenarioName\": \"New Order Alert\"}"), "");
	cr_assert_str_eq(found("{\"appName\": \"Microsoft Teams\", \"connectionName\": \"My Gmail Connection\"}"), "");
	cr_assert_str_eq(found("Hello World. Best regards,\nThe Acme Team"), "");
	cr_assert_str_eq(found("- Name: Construction Dive Technology\n- Name: Invoice Template"), "");
	cr_assert_str_eq(found("{\"customerName\": \"{{1.first_name}} {{1.last_name}}\"}"), "");
}

/* A blueprint-like file with secrets in HTTP headers and request bodies. */
static const char blueprint_ok[] =
	"{\n"
	"  \"name\": \"Sync orders\",\n"
	"  \"flow\": [\n"
	"    {\n"
	"      \"id\": 1,\n"
	"      \"module\": \"http:ActionSendData\",\n"
	"      \"mapper\": {\n"
	"        \"url\": \"https://api.acme-corp.net/v1/orders\",\n"
	"        \"headers\": [\n"
	"          {\"name\": \"Authorization\", \"value\": \"Bearer 9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4\"},\n"
	"          {\"name\": \"x-api-key\", \"value\": \"qL7wZ1vB8nR5tY3hJ6cF0dS2e\"}\n"
	"        ],\n"
	"        \"body\": \"{\\\"totp_secret\\\": \\\"JBSWY3DPEHPK3PXPJBSWY3DP\\\"}\",\n"
	"        \"contactEmail\": \"maria.gonzalez@acme-corp.net\"\n"
	"      }\n"
	"    }\n"
	"  ]\n"
	"}\n";

static void check_repair(const char *broken)
{
	char *a = all_of("bp.json", blueprint_ok, strlen(blueprint_ok), true);
	char *b = all_of("bp.json", broken, strlen(broken), true);
	cr_assert_gt(strlen(a), 0);
	cr_assert_str_eq(b, a, "broken:\n%s\nrepaired:\n%s", b, a);
	free(a);
	free(b);
}

Test(formats, broken_json_keeps_its_secrets)
{
	char buf[sizeof(blueprint_ok) + 8];
	const char *p;

	/* the findings of the valid file, exactly */
	cr_assert_str_eq(found(blueprint_ok), "GENERIC_API_KEY 10:54 9f2b********b3c4;GENERIC_API_KEY 11:43 qL7********S2e;GENERIC_API_KEY 13:38 JBS********3DP;EMAIL 14:26 mar********net");
	/* a trailing comma after the last header */
	p = strstr(blueprint_ok, "dS2e\\\"}\n") ? NULL : strstr(blueprint_ok, "dS2e\"}\n");
	cr_assert_not_null(p);
	snprintf(buf, sizeof(buf), "%.*s,%s", (int)(p - blueprint_ok + 6), blueprint_ok, p + 6);
	check_repair(buf);
	/* a trailing comma after the last member of the mapper */
	p = strstr(blueprint_ok, "acme-corp.net\"\n");
	cr_assert_not_null(p);
	snprintf(buf, sizeof(buf), "%.*s,%s", (int)(p - blueprint_ok + 14), blueprint_ok, p + 14);
	check_repair(buf);
	/* a doubled comma */
	p = strstr(blueprint_ok, "\"id\": 1,");
	snprintf(buf, sizeof(buf), "%.*s,%s", (int)(p - blueprint_ok + 8), blueprint_ok, p + 8);
	check_repair(buf);
	/* a missing comma between two members */
	p = strstr(blueprint_ok, "ActionSendData\",");
	snprintf(buf, sizeof(buf), "%.*s%s", (int)(p - blueprint_ok + 15), blueprint_ok, p + 16);
	check_repair(buf);
	/* the file cut short after the last value */
	p = strstr(blueprint_ok, "      }\n    }\n  ]\n}\n");
	snprintf(buf, sizeof(buf), "%.*s", (int)(p - blueprint_ok), blueprint_ok);
	check_repair(buf);
}

Test(formats, broken_one_line_json_is_no_flood)
{
	static const char ok[] = "{\"headers\": [{\"name\": \"Authorization\", \"value\": \"Bearer 9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4\"}], "
		"\"description\": \"reset your password here\", \"passwordHint\": \"the usual\", \"note\": \"token bucket size\", \"owner\": \"Dana Scully\"}";
	static const char bad[] = "{\"headers\": [{\"name\": \"Authorization\", \"value\": \"Bearer 9f2b1c7d3e4a4b5c8d6e7f8091a2b3c4\"},], "
		"\"description\": \"reset your password here\", \"passwordHint\": \"the usual\", \"note\": \"token bucket size\", \"owner\": \"Dana Scully\",}";
	char *a = all_of("one.json", ok, strlen(ok), false);
	char *b = all_of("one.json", bad, strlen(bad), false);
	cr_assert_str_eq(a, "GENERIC_API_KEY /headers/0/value 9f2b********b3c4 0d422e3a3ed21c3d619686108237f83f\n"
		"PERSON_NAME /owner D********y f48d7effa1da952a70c26c5c2a2bb6dd\n");
	cr_assert_str_eq(b, a);
	free(a);
	free(b);
}

/* The candidate stops and features of the new families (ifttt, invoke?, SG.,
 * npm_, AIza, glpat-, sk-, :A) against the byte loops, on random strings. */
Test(formats, features_vector_path_equals_byte_loop_new_leads)
{
	static const char alpha[] = "aAiIfnSGzkpl.ot_-:?/0123456789 @=\"xohesw";
	char buf[16 + 140];
	uint64_t r = 0x2545F4914F6CDD1Dull;

	for (int iter = 0; iter < 100000; iter++) {
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
		cr_assert(a.lead == b.lead && a.under == b.under && a.at == b.at, "flags of %.*s", (int)n, s);
		if (!a.vec)
			continue;
		for (int w = P_SECRET; w <= P_KEYWORD; w++) {
			uint64_t stops = scan_cand_stops(w, s, n, &a);
			for (size_t i = 0; i <= n; i++)
				cr_assert_eq(scan_cand_next_mask(w, s, n, i, stops, a.alnum),
					scan_cand_next(w, s, n, i), "family %d from %zu in %.*s", w, i, (int)n, s);
		}
	}
}
