/*
 * Unit tests of the evidence module: escaping (HTML, Markdown, CSV), dates,
 * the offline checks of a Statement, the renderings, and the audit export
 * over a log written here in the gate's entry format.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpgate/evidence.h"
#include "bpgate/dsse.h"

static char *esc_html(const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_html_escape(&b, s, strlen(s)), 0);
	return bpg_buf_detach(&b);
}

static char *esc_csv(const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	cr_assert_eq(bpg_csv_cell(&b, s, strlen(s)), 0);
	return b.ptr ? bpg_buf_detach(&b) : strdup("");
}

#define EXPECT_STR(got, want) do { char *g_ = (got); cr_expect_str_eq(g_, want); free(g_); } while (0)

Test(escape, html)
{
	EXPECT_STR(esc_html("<script>alert('x')</script> & \"q\""),
		"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
	EXPECT_STR(esc_html("a\x1b[31mb\x7f\tc\nd"), "a[31mb\tc\nd");
	EXPECT_STR(esc_html("Zoë — ok"), "Zoë — ok");
}

Test(escape, csv_injection_and_quoting)
{
	EXPECT_STR(esc_csv("plain"), "plain");
	EXPECT_STR(esc_csv("=1+2"), "'=1+2");
	EXPECT_STR(esc_csv("+cmd"), "'+cmd");
	EXPECT_STR(esc_csv("-2"), "'-2");
	EXPECT_STR(esc_csv("@SUM(A1)"), "'@SUM(A1)");
	EXPECT_STR(esc_csv("\tx"), "'\tx");
	EXPECT_STR(esc_csv("a,b"), "\"a,b\"");
	EXPECT_STR(esc_csv("say \"hi\""), "\"say \"\"hi\"\"\"");
	EXPECT_STR(esc_csv("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	EXPECT_STR(esc_csv("a\nb"), "\"a\nb\"");
	EXPECT_STR(esc_csv(""), "");
	EXPECT_STR(esc_csv("a=b"), "a=b");
}

Test(dates, parse_and_format)
{
	time_t t;
	char s[21];
	bpg_error err;

	cr_assert_eq(bpg_evidence_parse_time(&t, "2025-06-04", false, &err), 0);
	cr_expect_eq(t, (time_t)1748995200);
	cr_assert_eq(bpg_evidence_parse_time(&t, "2025-06-04", true, &err), 0);
	cr_expect_eq(t, (time_t)1748995200 + 86400);
	cr_assert_eq(bpg_evidence_parse_time(&t, "2025-06-04T10:30:00Z", true, &err), 0);
	bpg_evidence_format_time(s, t);
	cr_expect_str_eq(s, "2025-06-04T10:30:00Z");
	cr_expect_eq(bpg_evidence_parse_time(&t, "2025-13-01", false, &err), BPG_EINVALID);
	cr_expect_str_eq(err.message, "'2025-13-01' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
	cr_expect_eq(bpg_evidence_parse_time(&t, "2025-06-04T10:30:00", false, &err), BPG_EINVALID);
	cr_expect_eq(bpg_evidence_parse_time(&t, "yesterday", false, &err), BPG_EINVALID);
}

/* A minimal statement: one changed blueprint, no audit, no approvals. */
static json_t *statement(const char *subject_sha, const char *change_sha)
{
	json_t *stmt = NULL;
	bpg_error err;
	cr_assert_eq(bpg_intoto_statement_new(&stmt, BPG_EVIDENCE_PREDICATE_V1, &err), 0);
	cr_assert_eq(bpg_intoto_add_subject(stmt, "scenarios/a/main.blueprint.json", "sha256", subject_sha, &err), 0);
	json_t *pred = json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b},"
		" s:n, s:{s:s, s:n}, s:[], s:{s:[{s:s, s:s, s:[s], s:s, s:s}], s:[{s:s, s:s, s:s, s:b, s:s,"
		" s:{s:[{s:s, s:i, s:s, s:s, s:s, s:s}]}}]}, s:[], s:i, s:[], s:n, s:[], s:{s:n, s:n, s:s}, s:{s:s, s:s}}",
		"release", "repository", "acme/<repo>", "environment", "prod", "commit",
		"1111111111111111111111111111111111111111", "tree", "2222222222222222222222222222222222222222", "kind",
		"release", "pusher", "erin | <b>", "time", "2025-06-04T09:00:00Z", "rollback", 0, "break_glass", 0,
		"audit", "policy", "commit", "3333333333333333333333333333333333333333", "allowed_signers", "commits",
		"changes", "scenarios", "id", "a", "name", "A | <i>", "files", "scenarios/a/main.blueprint.json", "risk",
		"low", "owner", "bob", "files", "path", "scenarios/a/main.blueprint.json", "status", "modified", "scenario",
		"a", "blueprint", 1, "sha256", change_sha, "diff", "changes", "kind", "mapper", "module_id", 1, "module",
		"util:SetVariable2", "field", "mapper.value", "old", "\"x\"", "new", "\"<script>|y\"",
		"approvals", "approvals_rejected", 0, "uat_evidence", "stage_health", "bundles", "rollback", "to_commit",
		"to_tree", "how", "first release", "times", "first_commit", "2025-06-03T09:00:00Z", "released",
		"2025-06-04T09:00:00Z");
	cr_assert_not_null(pred);
	cr_assert_eq(bpg_intoto_set_predicate(stmt, pred, &err), 0);
	return stmt;
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

Test(check, subjects)
{
	bpg_evidence_summary sum;
	bpg_error err;
	json_t *good = statement(SHA_A, SHA_A), *bad = statement(SHA_B, SHA_A);

	cr_expect_eq(bpg_evidence_check(&sum, good, NULL, &err), 0, "%s", err.message);
	cr_expect_eq(sum.subjects, 1);
	cr_expect_eq(bpg_evidence_check(&sum, bad, NULL, &err), BPG_EVERIFY);
	cr_expect_str_eq(err.message, "/predicate/changes/files/0: scenarios/a/main.blueprint.json: the subject's "
		"sha256 bbbbbbbbbbbbbbbb... differs from the change's aaaaaaaaaaaaaaaa...");
	bpg_intoto_add_subject(good, "scenarios/a/main.blueprint.json", "sha256", SHA_A, &err);
	cr_expect_eq(bpg_evidence_check(&sum, good, NULL, &err), BPG_EVERIFY);
	cr_expect_str_eq(err.message, "/subject/1: scenarios/a/main.blueprint.json is a subject twice");
	json_object_set_new(good, "predicateType", json_string("https://example.com/other"));
	cr_expect_eq(bpg_evidence_check(&sum, good, NULL, &err), BPG_EINVALID);
	json_decref(good);
	json_decref(bad);
}

Test(check, audit_needs_the_log_key)
{
	bpg_error err;
	json_t *s = statement(SHA_A, SHA_A);
	json_object_set_new(json_object_get(s, "predicate"), "audit",
		json_pack("{s:s, s:[], s:[], s:i}", "checkpoint", "x", "entries", "proofs", "release_entry", 0));
	cr_expect_eq(bpg_evidence_check(NULL, s, NULL, &err), BPG_EINVALID);
	cr_expect_str_eq(err.message, "the package carries audit proofs: pass the audit log's verifier key (--log-key VKEY)");
	json_decref(s);
}

Test(render, html_escapes_and_is_self_contained)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	json_t *s = statement(SHA_A, SHA_A);

	cr_assert_eq(bpg_evidence_render_html(&b, s, &err), 0);
	cr_expect_not_null(strstr(b.ptr, "<title>Release evidence: acme/&lt;repo&gt; prod 111111111111</title>"));
	cr_expect_not_null(strstr(b.ptr, "<tr><td>Released by</td><td>erin | &lt;b&gt;</td></tr>"));
	cr_expect_not_null(strstr(b.ptr, "<tr><td>a</td><td>A | &lt;i&gt;</td><td>low</td><td>bob</td>"
		"<td>scenarios/a/main.blueprint.json</td></tr>"));
	cr_expect_not_null(strstr(b.ptr, "<td>&quot;x&quot;</td><td>&quot;&lt;script&gt;|y&quot;</td>"));
	cr_expect_not_null(strstr(b.ptr, "@media print"));
	cr_expect_null(strstr(b.ptr, "<script"));
	cr_expect_null(strstr(b.ptr, "<i>"));
	cr_expect_null(strstr(b.ptr, "<b>"));
	bpg_buf_dispose(&b);
	json_decref(s);
}

Test(render, markdown_escapes_cells)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	json_t *s = statement(SHA_A, SHA_A);

	cr_assert_eq(bpg_evidence_render_markdown(&b, s, &err), 0);
	cr_expect_not_null(strstr(b.ptr, "# Release evidence: acme/\\<repo\\> prod 111111111111\n"));
	cr_expect_not_null(strstr(b.ptr, "| Released by | erin \\| \\<b\\> |\n"));
	cr_expect_not_null(strstr(b.ptr, "| mapper | 1 util:SetVariable2 | mapper.value | \"x\" | \"\\<script\\>\\|y\" |\n"));
	bpg_buf_dispose(&b);
	json_decref(s);
}

/* ---- the export over a log written in the gate's format ---- */

static void append(bpg_audit_log *log, const bpg_note_signer *k, const char *time, const char *kind,
	const char *commit, const char *old, const char *env)
{
	char e[1024];
	bpg_error err;
	snprintf(e, sizeof(e), "{\"decision\":\"accept\",\"findings\":[],\"policy_commit\":\"%040d\",\"policy_ref\":"
		"\"refs/heads/main\",\"push_options\":%s,\"pusher\":\"erin\",\"refs\":[{\"commits\":1,\"environment\":"
		"\"%s\",\"kind\":\"%s\",\"new\":\"%s\",\"old\":\"%s\",\"ref\":\"refs/heads/main\",\"scenarios\":"
		"[\"weekly-digest\"],\"tree\":\"%040d\"}],\"repository\":\"acme/x\",\"time\":\"%s\",\"type\":\"bpgate-push\"}",
		0, strcmp(kind, "break-glass") == 0 ? "[\"bpgate.break-glass=@INC-1, =cmd\"]" : "[]", env, kind, commit, old,
		0, time);
	cr_assert_eq(bpg_audit_append(log, e, strlen(e), k, NULL, &err), 0, "%s", err.message);
}

Test(export, rows_and_metrics_without_a_repository)
{
	char dir[] = "/tmp/bpg-ev-XXXXXX", *s;
	unsigned char seed[32] = { 7 };
	bpg_note_signer *k = NULL;
	bpg_audit_log *log = NULL;
	json_t *ex = NULL;
	bpg_buf csv = BPG_BUF_INIT, m = BPG_BUF_INIT;
	bpg_error err;
	char c1[41], c2[41], c3[41], c4[41], c5[41];

	snprintf(c1, 41, "%040d", 1);
	snprintf(c2, 41, "%040d", 2);
	snprintf(c3, 41, "%040d", 3);
	snprintf(c4, 41, "%040d", 4);
	snprintf(c5, 41, "%040d", 5);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(bpg_note_signer_from_seed(&k, "example.com/audit", seed, &err), 0);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	append(log, k, "2025-06-02T10:00:00Z", "update", c1, c5, "dev");   /* not prod */
	append(log, k, "2025-06-03T10:00:00Z", "release", c1, c5, "prod");
	append(log, k, "2025-06-04T09:00:00Z", "release", c2, c1, "prod");  /* failed: rolled back */
	append(log, k, "2025-06-04T09:45:00Z", "rollback", c3, c2, "prod");
	append(log, k, "2025-06-05T09:00:00Z", "release", c4, c3, "prod");  /* failed: break-glass next */
	append(log, k, "2025-06-05T12:00:00Z", "break-glass", c5, c4, "prod");
	append(log, k, "2025-07-01T09:00:00Z", "release", c1, c5, "prod");  /* outside the window */

	bpg_export_opts o = { NULL, 0, 0, NULL };
	bpg_evidence_parse_time(&o.since, "2025-06-01", false, &err);
	bpg_evidence_parse_time(&o.until, "2025-06-30", true, &err);
	cr_assert_eq(bpg_audit_export(&ex, log, &o, &err), 0, "%s", err.message);
	cr_expect_eq(json_array_size(json_object_get(ex, "rows")), 5);
	s = json_dumps(json_object_get(ex, "metrics"), JSON_COMPACT);
	cr_expect_str_eq(s, "{\"deployments\":5,\"changes\":4,\"failed_changes\":2,\"failed_change_rate\":0.5,"
		"\"rollbacks\":1,\"cycle_time_seconds\":null,\"time_to_recover_seconds\":{\"count\":1,\"min\":2700,"
		"\"median\":2700.0,\"mean\":2700.0,\"max\":2700}}");
	free(s);
	cr_assert_eq(bpg_export_csv(&csv, ex, &err), 0);
	cr_expect_not_null(strstr(csv.ptr, "time,environment,commit,kind,scenarios,authors,approvers,releaser,rollback,"
		"break_glass,incident,first_commit,cycle_time_seconds,failed,recovered_by,time_to_recover_seconds,audit_entry\r\n"));
	char want[512];
	snprintf(want, sizeof(want), "2025-06-05T12:00:00Z,prod,%s,break-glass,weekly-digest,,,erin,false,true,"
		"\"'@INC-1, =cmd\",,,false,,,5\r\n", c5);
	cr_expect_not_null(strstr(csv.ptr, want), "%s", csv.ptr);
	snprintf(want, sizeof(want), "2025-06-04T09:00:00Z,prod,%s,release,weekly-digest,,,erin,false,false,,,,true,%s,,2\r\n",
		c2, c3);
	cr_expect_not_null(strstr(csv.ptr, want), "%s", csv.ptr);
	cr_assert_eq(bpg_export_metrics_csv(&m, ex, &err), 0);
	cr_expect_str_eq(m.ptr, "metric,value\r\ndeployments,5\r\nchanges,4\r\nfailed_changes,2\r\nfailed_change_rate,0.5\r\n"
		"rollbacks,1\r\ncycle_time_seconds.count,\r\ncycle_time_seconds.min,\r\ncycle_time_seconds.median,\r\n"
		"cycle_time_seconds.mean,\r\ncycle_time_seconds.max,\r\ntime_to_recover_seconds.count,1\r\n"
		"time_to_recover_seconds.min,2700\r\ntime_to_recover_seconds.median,2700\r\ntime_to_recover_seconds.mean,2700\r\n"
		"time_to_recover_seconds.max,2700\r\n");
	bpg_buf_dispose(&csv);
	bpg_buf_dispose(&m);
	json_decref(ex);
	bpg_audit_free(log);
	bpg_note_signer_free(k);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "%s", dir);
	/* remove the log directory */
	static const char *const files[] = { "entries", "checkpoint", "lock", "log.vkey" };
	for (size_t i = 0; i < 4; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(cmd);
}

/* ---- a "judged" release counts once post-receive's bpgate-applied entry confirms it ---- */

static void append_raw(bpg_audit_log *log, const bpg_note_signer *k, const char *e)
{
	bpg_error err;
	cr_assert_eq(bpg_audit_append(log, e, strlen(e), k, NULL, &err), 0, "%s", err.message);
}

static void judged(bpg_audit_log *log, const bpg_note_signer *k, const char *time, const char *commit, const char *old)
{
	char e[1024];
	snprintf(e, sizeof(e), "{\"decision\":\"accept\",\"findings\":[],\"policy_commit\":\"%040d\",\"policy_ref\":"
		"\"refs/heads/main\",\"push_options\":[],\"pusher\":\"erin\",\"refs\":[{\"commits\":1,\"environment\":"
		"\"prod\",\"kind\":\"release\",\"new\":\"%s\",\"old\":\"%s\",\"ref\":\"refs/heads/main\",\"scenarios\":"
		"[\"weekly-digest\"],\"tree\":\"%040d\"}],\"repository\":\"acme/x\",\"stage\":\"judged\",\"time\":\"%s\","
		"\"type\":\"bpgate-push\"}", 0, commit, old, 0, time);
	append_raw(log, k, e);
}

static void applied(bpg_audit_log *log, const bpg_note_signer *k, const char *time, const char *ref, const char *commit,
	const char *old)
{
	char e[512];
	snprintf(e, sizeof(e), "{\"refs\":[{\"new\":\"%s\",\"old\":\"%s\",\"ref\":\"%s\"}],\"repository\":\"acme/x\","
		"\"time\":\"%s\",\"type\":\"bpgate-applied\"}", commit, old, ref, time);
	append_raw(log, k, e);
}

Test(export, only_applied_releases)
{
	char dir[] = "/tmp/bpg-ev-XXXXXX";
	unsigned char seed[32] = { 9 };
	bpg_note_signer *k = NULL;
	bpg_audit_log *log = NULL;
	json_t *ex = NULL, *row;
	bpg_error err;
	char c1[41], c2[41], c3[41], c4[41];
	size_t i;

	snprintf(c1, 41, "%040d", 1);
	snprintf(c2, 41, "%040d", 2);
	snprintf(c3, 41, "%040d", 3);
	snprintf(c4, 41, "%040d", 4);
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(bpg_note_signer_from_seed(&k, "example.com/audit", seed, &err), 0);
	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0);
	judged(log, k, "2025-06-03T10:00:00Z", c2, c1);                          /* 0: applied by 1 */
	applied(log, k, "2025-06-03T10:00:00Z", "refs/heads/main", c2, c1);      /* 1 */
	judged(log, k, "2025-06-04T10:00:00Z", c3, c1);                          /* 2: forged old id: never applied */
	judged(log, k, "2025-06-04T11:00:00Z", c3, c2);                          /* 3: judged, not applied (update hook) */
	judged(log, k, "2025-06-04T12:00:00Z", c3, c2);                          /* 4: the same update again: applied by 6 */
	applied(log, k, "2025-06-04T12:00:00Z", "refs/heads/stage", c3, c2);     /* 5: another ref: confirms nothing */
	applied(log, k, "2025-06-04T12:00:00Z", "refs/heads/main", c3, c2);      /* 6 */
	judged(log, k, "2025-06-05T10:00:00Z", c4, c3);                          /* 7: no post-receive yet */

	bpg_export_opts o = { NULL, 0, 0, NULL };
	bpg_evidence_parse_time(&o.since, "2025-06-01", false, &err);
	bpg_evidence_parse_time(&o.until, "2025-06-30", true, &err);
	cr_assert_eq(bpg_audit_export(&ex, log, &o, &err), 0, "%s", err.message);
	cr_assert_eq(json_array_size(json_object_get(ex, "rows")), 2);
	static const json_int_t want_entry[] = { 0, 4 };
	const char *want_commit[] = { c2, c3 };
	json_array_foreach(json_object_get(ex, "rows"), i, row) {
		cr_expect_str_eq(json_string_value(json_object_get(row, "commit")), want_commit[i]);
		cr_expect_eq(json_integer_value(json_object_get(row, "audit_entry")), want_entry[i]);
	}
	json_decref(ex);
	bpg_audit_free(log);
	bpg_note_signer_free(k);
	static const char *const files[] = { "entries", "checkpoint", "lock", "log.vkey" };
	for (size_t f = 0; f < 4; f++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/%s", dir, files[f]);
		unlink(p);
	}
	rmdir(dir);
}

/* issue #18 item 13: roles beside people, the verification result, unbroken table headers */
Test(render, roles_verification_and_headers)
{
	bpg_buf b = BPG_BUF_INIT, m = BPG_BUF_INIT;
	bpg_error err;
	json_t *s = statement(SHA_A, SHA_A), *pred = json_object_get(s, "predicate");
	json_t *v = json_pack("{s:s, s:[s], s:i, s:{s:s, s:i}, s:i, s:i, s:i, s:i, s:s, s:i}", "time",
		"2025-06-10T12:00:00Z", "evidence_keys", "SHA256:abcdef", "threshold", 1, "log_key", "name",
		"example.com/audit", "keyid", 0x1234abcd, "subjects", 1, "audit_entries", 3, "checkpoint_size", 9,
		"approvals", 1, "signers", "embedded", "digests_recomputed", 1);

	json_object_set_new(pred, "approvals", json_pack("[{s:s, s:s, s:s, s:b}]", "approver", "carol",
		"environment", "prod", "time", "2025-06-04T08:30:00Z", "retroactive", 0));
	json_object_set_new(pred, "roles", json_pack("{s:[s, s], s:[s]}", "erin | <b>", "releasers", "emergency",
		"carol", "reviewers"));
	cr_assert_eq(bpg_evidence_render_html(&b, s, &err), 0);
	cr_expect_not_null(strstr(b.ptr, "<tr><td>Releaser&#39;s roles (policy)</td><td>releasers, emergency</td></tr>"),
		"%s", b.ptr);
	cr_expect_not_null(strstr(b.ptr, "<th>Roles (policy)</th>"));
	cr_expect_not_null(strstr(b.ptr, "<td>SSHSIG bpgate-approval@v1 (embedded)</td><td>reviewers</td></tr>"));
	cr_expect_not_null(strstr(b.ptr, "th{background:#eee;overflow-wrap:normal;word-break:keep-all;white-space:nowrap}"));
	cr_expect_not_null(strstr(b.ptr, "<p>Verified: NO. This page was rendered without verification;"));
	bpg_buf_clear(&b);
	cr_assert_eq(bpg_evidence_render_html_verified(&b, s, v, &err), 0);
	cr_expect_not_null(strstr(b.ptr, "<h2>Verification</h2>\n<table><thead><tr><th>Check</th><th>Result</th></tr>"
		"</thead><tbody>\n<tr><td>Verified</td><td>yes: every check below passed</td></tr>\n"
		"<tr><td>Verified at</td><td>2025-06-10T12:00:00Z</td></tr>\n"
		"<tr><td>Evidence signature, key id</td><td>SHA256:abcdef (threshold 1)</td></tr>\n"
		"<tr><td>Audit log key</td><td>example.com/audit+1234abcd</td></tr>\n"
		"<tr><td>Subjects</td><td>1 subject(s), every changed blueprint among them with the same sha256</td></tr>\n"
		"<tr><td>Audit proofs</td><td>3 entries proven against the signed checkpoint of 9 entries</td></tr>\n"
		"<tr><td>Approvals</td><td>1 signature(s) verified against the embedded allowed_signers</td></tr>\n"
		"<tr><td>Digests recomputed</td><td>yes: 1 digest(s) recomputed from git, all equal</td></tr>\n"), "%s", b.ptr);
	cr_expect_null(strstr(b.ptr, "Verified: NO"));
	cr_expect(strstr(b.ptr, "<h2>Verification</h2>") < strstr(b.ptr, "<td>Released by</td>"), "at the top");
	cr_assert_eq(bpg_evidence_render_markdown_verified(&m, s, v, &err), 0);
	cr_expect_not_null(strstr(m.ptr, "| Verified | yes: every check below passed |\n"));
	cr_expect_not_null(strstr(m.ptr, "| Releaser's roles (policy) | releasers, emergency |\n"));
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&m);
	json_decref(v);
	json_decref(s);
}
