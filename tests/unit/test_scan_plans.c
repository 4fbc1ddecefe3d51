/* Unit tests of issue #19, second round: phone numbers by each country's
 * numbering plan (+CC lengths, national groupings without a trunk prefix,
 * amounts and ids left alone), and the tolerant JSON reader's repairs.
 * Every expectation is the exact list of findings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bpgate/scan.h"

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

TestSuite(plans, .init = setup, .fini = teardown);

/* "RULE line:col masked [pointer]" of each finding, ';'-separated. */
static const char *found(const char *text)
{
	static char out[2048];
	size_t o = 0;
	bpg_findings_free(fs);
	cr_assert_eq(bpg_findings_new(&fs, &err), 0);
	cr_assert_eq(bpg_scan_buffer(sc, fs, "t", text, strlen(text), &err), 0, "%s", err.message);
	out[0] = '\0';
	for (size_t i = 0; i < bpg_findings_count(fs); i++) {
		const bpg_scan_finding *f = bpg_findings_get(fs, i);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s %zu:%zu %s%s%s", i ? ";" : "",
			f->rule, f->line, f->column, f->masked, f->pointer ? " " : "",
			f->pointer ? f->pointer : "");
	}
	return out;
}

Test(plans, country_code_numbers_follow_their_plan)
{
	cr_assert_str_eq(found("+34 612 34 56 78"), "PHONE 1:1 +3********78");
	cr_assert_str_eq(found("+34 612 34 56 7"), "");      /* ES numbers have 9 digits */
	cr_assert_str_eq(found("+48 512 345 678"), "PHONE 1:1 +********8");
	cr_assert_str_eq(found("+48 5123 456 789"), "");     /* PL: 9, not 10 */
	cr_assert_str_eq(found("+1 203 912 9767"), "PHONE 1:1 +********7");
	cr_assert_str_eq(found("+1 103 912 9767"), "");      /* NANP area codes start with 2-9 */
	cr_assert_str_eq(found("+39 02 9457 5508"), "PHONE 1:1 +3********08"); /* IT keeps its 0 */
	cr_assert_str_eq(found("+998 90 123 45 67"), "PHONE 1:1 +9********67"); /* no plan here: any */
	cr_assert_str_eq(found("0048 515 575 621"), "PHONE 1:1 00********21");
}

Test(plans, national_groupings_without_trunk_prefix)
{
	cr_assert_str_eq(found("Llámame al 612 34 56 78"), "PHONE 1:12 6********8");
	cr_assert_str_eq(found("Zadzwoń 512 345 678"), "PHONE 1:9 5********8");
	cr_assert_str_eq(found("Kontakt 22 568 71 10"), "PHONE 1:9 2********0");
	cr_assert_str_eq(found("34 51 62 46"), "PHONE 1:1 3********6");
}

Test(plans, amounts_ids_and_timestamps_are_no_phones)
{
	cr_assert_str_eq(found("Razem: 512 345 678,50 zł"), "");
	cr_assert_str_eq(found("Total 512 345 678 EUR"), "");
	cr_assert_str_eq(found("$ 512 345 678"), "");
	cr_assert_str_eq(found("Order 612345678"), "");
	cr_assert_str_eq(found("1733470422"), "");
	cr_assert_str_eq(found("0780511201"), "");
	cr_assert_str_eq(found("ref 12 34 56 78 90 12"), "");
}

#define XOXB "xoxb-282029623751-BVtmnS3BQitmjZvjpQL7PSGP"

Test(plans, tolerant_json_reads_the_repair)
{
	/* single quotes, an unquoted key, a comment and a missing colon */
	cr_assert_str_eq(found("{'token': '" XOXB "'}"), "SLACK_TOKEN 1:12 xoxb********PSGP /token");
	cr_assert_str_eq(found("{token: \"" XOXB "\"}"), "SLACK_TOKEN 1:10 xoxb********PSGP /token");
	cr_assert_str_eq(found("{\"a\": 1 /* c */, \"token\" \"" XOXB "\"}"),
		"SLACK_TOKEN 1:27 xoxb********PSGP /token");
	/* cut short inside the header value */
	cr_assert_str_eq(found("{\"headers\": [{\"name\": \"Authorization\", \"value\": \"Bearer " XOXB),
		"SLACK_TOKEN 1:57 xoxb********PSGP /headers/0/value");
	/* a doubled comma, a stray byte and a trailing comma together */
	cr_assert_str_eq(found("{\"email\": \"ana.souza@acme-logistics.io\",, x \"phone\": \"+34 612 34 56 78\",}"),
		"EMAIL 1:12 ana********.io /email;PHONE 1:55 +3********78 /phone");
	/* a closer too many after the document is skipped; a second document
	 * (JSON lines) is text, as before (findings and fingerprints unchanged) */
	cr_assert_str_eq(found("{\"phone\": \"+34 612 34 56 78\"}}"), "PHONE 1:12 +3********78 /phone");
	cr_assert_str_eq(found("{\"a\": 1}\n{\"phone\": \"+34 612 34 56 78\"}"), "PHONE 2:12 +3********78");
}

Test(plans, names_by_key_label_and_contact_record)
{
	cr_assert_str_eq(found("First name: Dagny"), "PERSON_NAME 1:13 *****");
	cr_assert_str_eq(found("Surname: Nakamura"), "PERSON_NAME 1:10 N******a");
	cr_assert_str_eq(found("Name: Oksana"), "");        /* one word after a bare "Name:" */
	cr_assert_str_eq(found("Last name: Report"), "");   /* a word, not a name */
	cr_assert_str_eq(found("{\"createdBy\": \"Oyelaran Adeyemi\"}"), "PERSON_NAME 1:16 Oy********mi /createdBy");
	cr_assert_str_eq(found("{\"createdBy\": \"Make\"}"), "");
	cr_assert_str_eq(found("{\"vorname\": \"Jürgen\", \"nachname\": \"Maier\"}"),
		"PERSON_NAME 1:14 ******* /vorname;PERSON_NAME 1:36 ***** /nachname");
	cr_assert_str_eq(found("{\"name\": \"Dmitri Volkov\", \"email\": \"d.v@acme.io\"}"),
		"PERSON_NAME 1:11 D********v /name;EMAIL 1:37 d********o /email");
	cr_assert_str_eq(found("{\"name\": \"Sync HubSpot Contacts\", \"email\": \"x@y.io\"}"), "EMAIL 1:45 ****** /email");
	cr_assert_str_eq(found("{\"name\": \"Kwabena Owusu\"}"), ""); /* a bare name key: a module's, perhaps */
}

Test(plans, token_families)
{
	cr_assert_str_eq(found("cookie d=xoxd-kT9%2FzQ1%2BbXk3Lm9WrP2aYv8Hc4Nn6Jd0Fs5Gt7Ue1Ri3Ow%3D%3D; d-s=1700000000"),
		"SLACK_TOKEN 1:10 xoxd********D%3D");
	cr_assert_str_eq(found("xoxd-your-cookie-here-please-set-it-now-ok"), "");
	cr_assert_str_eq(found("https://hooks.zapier.com/hooks/standard/1234567/2a5f7c9e1b3d4f6a8c0e2b4d6f8a0c2e/"),
		"ZAPIER_WEBHOOK_URL 1:1 http********0c2e");
}
