/*
 * The auditor's rendering of a release evidence Statement: one
 * self-contained HTML page (inline CSS with print rules, no script, no
 * external resource) or Markdown. Both come from one walk of the
 * predicate through a tiny writer, so they always say the same thing.
 * Every string from the data is escaped for the target format.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define CELL_MAX 400 /* characters of one diff value shown; the package has them all */

typedef struct {
	bpg_buf *out;
	bool html;
	int rc;
	size_t cols;
} wr;

int bpg_html_escape(bpg_buf *out, const char *s, size_t len)
{
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': rc = bpg_buf_puts(out, "&amp;"); break;
		case '<': rc = bpg_buf_puts(out, "&lt;"); break;
		case '>': rc = bpg_buf_puts(out, "&gt;"); break;
		case '"': rc = bpg_buf_puts(out, "&quot;"); break;
		case '\'': rc = bpg_buf_puts(out, "&#39;"); break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				break;
			rc = bpg_buf_putc(out, (char)c);
		}
	}
	return rc;
}

/* Markdown: backslash-escape ASCII punctuation that means something; no line breaks inside a cell. */
static int md_escape(bpg_buf *out, const char *s, size_t len, bool cell)
{
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c && strchr("\\`*_[]<>|&~", c))
			rc = bpg_buf_putc(out, '\\') < 0 ? BPG_ENOMEM : bpg_buf_putc(out, (char)c);
		else if (c == '\n' || c == '\r' || c == '\t')
			rc = bpg_buf_putc(out, cell ? ' ' : (char)c);
		else if (c >= 0x20 && c != 0x7f)
			rc = bpg_buf_putc(out, (char)c);
	}
	return rc;
}

static void text(wr *w, const char *s)
{
	size_t len = s ? strlen(s) : 0, cut = len;
	if (w->rc)
		return;
	if (cut > CELL_MAX) { /* do not cut inside a UTF-8 sequence */
		cut = CELL_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	w->rc = w->html ? bpg_html_escape(w->out, s ? s : "", cut) : md_escape(w->out, s ? s : "", cut, true);
	if (!w->rc && cut < len)
		w->rc = bpg_buf_puts(w->out, w->html ? "&#8230;" : "...");
}

static void raw(wr *w, const char *s)
{
	if (!w->rc)
		w->rc = bpg_buf_puts(w->out, s);
}

static void heading(wr *w, int level, const char *title)
{
	if (w->html) {
		char t[16];
		snprintf(t, sizeof(t), "<h%d>", level);
		raw(w, t);
		text(w, title);
		snprintf(t, sizeof(t), "</h%d>\n", level);
		raw(w, t);
	} else {
		raw(w, level == 1 ? "# " : level == 2 ? "\n## " : "\n### ");
		text(w, title);
		raw(w, "\n\n");
	}
}

static void para(wr *w, const char *s)
{
	raw(w, w->html ? "<p>" : "");
	text(w, s);
	raw(w, w->html ? "</p>\n" : "\n\n");
}

/* A table: head(w, n, names...), row(w, cells...) with exactly n cells, end(w). */
static void head(wr *w, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	w->cols = n;
	raw(w, w->html ? "<table><thead><tr>" : "|");
	for (size_t i = 0; i < n; i++) {
		raw(w, w->html ? "<th>" : " ");
		text(w, va_arg(ap, const char *));
		raw(w, w->html ? "</th>" : " |");
	}
	va_end(ap);
	raw(w, w->html ? "</tr></thead><tbody>\n" : "\n|");
	for (size_t i = 0; i < n && !w->html; i++)
		raw(w, "---|");
	raw(w, w->html ? "" : "\n");
}

static void row(wr *w, ...)
{
	va_list ap;
	va_start(ap, w);
	raw(w, w->html ? "<tr>" : "|");
	for (size_t i = 0; i < w->cols; i++) {
		const char *c = va_arg(ap, const char *);
		raw(w, w->html ? "<td>" : " ");
		text(w, c && *c ? c : "-");
		raw(w, w->html ? "</td>" : " |");
	}
	va_end(ap);
	raw(w, w->html ? "</tr>\n" : "\n");
}

static void end(wr *w)
{
	raw(w, w->html ? "</tbody></table>\n" : "\n");
}

static void pre(wr *w, const char *s)
{
	if (w->rc)
		return;
	if (w->html) {
		raw(w, "<pre>");
		w->rc = bpg_html_escape(w->out, s ? s : "", s ? strlen(s) : 0);
		raw(w, "</pre>\n");
		return;
	}
	/* a fence longer than any backtick run in the text */
	size_t run = 0, best = 2;
	for (const char *p = s ? s : ""; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		best = run > best ? run : best;
	}
	for (size_t i = 0; i <= best; i++)
		raw(w, "`");
	raw(w, "\n");
	for (const char *p = s ? s : ""; *p && !w->rc; p++)
		if ((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t')
			w->rc = bpg_buf_putc(w->out, *p);
	raw(w, "\n");
	for (size_t i = 0; i <= best; i++)
		raw(w, "`");
	raw(w, "\n\n");
}

static const char *S(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *yesno(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k)) ? "yes" : "no";
}

/* "a, b, c" of a string array or object keys=values (trailers). */
static char *joined(const json_t *v, const char *sep)
{
	bpg_buf b = BPG_BUF_INIT;
	const char *k;
	json_t *x;
	size_t i;
	int jrc = 0; /* NULL (out of memory) rather than a list with items missing */

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (json_is_string(x))
				jrc |= bpg_buf_printf(&b, "%s%s", b.size ? sep : "", json_string_value(x));
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			char *inner = json_is_array(x) ? joined(x, "; ") : NULL;
			if (json_is_array(x) && !inner)
				jrc = BPG_ENOMEM;
			jrc |= bpg_buf_printf(&b, "%s%s: %s", b.size ? sep : "", k,
				inner ? inner : json_is_string(x) ? json_string_value(x) : "");
			free(inner);
		}
	}
	if (jrc != 0) {
		bpg_buf_dispose(&b);
		return NULL;
	}
	if (!b.ptr)
		return strdup("");
	return bpg_buf_detach(&b);
}

/* "role, role" of a principal from /predicate/roles (NULL: none recorded); caller frees. */
static char *roles_of(wr *w, const json_t *pred, const char *who)
{
	const json_t *r = who ? json_object_get(json_object_get(pred, "roles"), who) : NULL;
	char *s;

	if (!json_array_size(r))
		return NULL;
	if (!(s = joined(r, ", ")))
		w->rc = BPG_ENOMEM;
	return s;
}

static void section_summary(wr *w, const json_t *stmt, const json_t *pred)
{
	const json_t *rel = json_object_get(pred, "release"), *times = json_object_get(pred, "times");
	char n[32], ct[64] = "";
	json_int_t cts = json_integer_value(json_object_get(times, "cycle_time_seconds"));

	snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(stmt, "subject")));
	if (json_is_integer(json_object_get(times, "cycle_time_seconds")))
		snprintf(ct, sizeof(ct), "%lld s (%.1f h)", (long long)cts, (double)cts / 3600.0);
	head(w, 2, "Field", "Value");
	row(w, "Repository", S(rel, "repository"));
	row(w, "Environment", S(rel, "environment"));
	row(w, "Commit released", S(rel, "commit"));
	row(w, "Tree released", S(rel, "tree"));
	row(w, "Kind", S(rel, "kind"));
	row(w, "Released by", S(rel, "pusher"));
	char *rr = roles_of(w, pred, S(rel, "pusher"));
	row(w, "Releaser's roles (policy)", rr);
	free(rr);
	row(w, "Released at", S(rel, "time"));
	row(w, "Previous state", S(rel, "previous_commit"));
	row(w, "Rollback", yesno(rel, "rollback"));
	row(w, "Break-glass", yesno(rel, "break_glass"));
	row(w, "Incident", S(rel, "incident"));
	row(w, "Policy commit", S(json_object_get(pred, "policy"), "commit"));
	row(w, "First commit of the change", S(times, "first_commit"));
	row(w, "Cycle time (first commit to release)", ct);
	row(w, "Blueprints attested (subjects)", n);
	row(w, "Package built at", S(times, "built"));
	end(w);
}

static void section_changes(wr *w, const json_t *pred)
{
	const json_t *ch = json_object_get(pred, "changes"), *s, *f, *c;
	size_t i, k;

	heading(w, 2, "What changed");
	if (json_array_size(json_object_get(ch, "scenarios"))) {
		head(w, 5, "Scenario", "Name", "Risk", "Owner", "Files");
		json_array_foreach(json_object_get(ch, "scenarios"), i, s) {
			char *files = joined(json_object_get(s, "files"), ", ");
			if (!files)
				w->rc = BPG_ENOMEM;
			row(w, S(s, "id"), S(s, "name"), S(s, "risk"), S(s, "owner"), files);
			free(files);
		}
		end(w);
	}
	head(w, 4, "File", "Status", "Scenario", "SHA-256 (released)");
	json_array_foreach(json_object_get(ch, "files"), i, f)
		row(w, S(f, "path"), S(f, "status"), S(f, "scenario"), S(f, "sha256"));
	end(w);
	json_array_foreach(json_object_get(ch, "files"), i, f) {
		const json_t *changes = json_object_get(json_object_get(f, "diff"), "changes");
		if (!json_array_size(changes))
			continue;
		heading(w, 3, S(f, "path"));
		head(w, 5, "Change", "Module", "Field", "Before", "After");
		json_array_foreach(changes, k, c) {
			char mod[300] = "";
			if (json_is_integer(json_object_get(c, "module_id")))
				snprintf(mod, sizeof(mod), "%lld %s", (long long)json_integer_value(json_object_get(c, "module_id")),
					S(c, "module") ? S(c, "module") : "");
			else if (S(c, "module"))
				snprintf(mod, sizeof(mod), "%s", S(c, "module"));
			row(w, S(c, "kind"), mod, S(c, "field"), S(c, "old"), S(c, "new"));
		}
		end(w);
	}
}

static void section_people(wr *w, const json_t *pred)
{
	const json_t *c, *a;
	size_t i;

	heading(w, 2, "Commits, authors and change template");
	head(w, 6, "Commit", "Author", "Committer", "Authored", "Summary", "Change template");
	json_array_foreach(json_object_get(pred, "commits"), i, c) {
		char id[13], *tr = joined(json_object_get(c, "trailers"), "; ");
		if (!tr)
			w->rc = BPG_ENOMEM;
		snprintf(id, sizeof(id), "%.12s", S(c, "id") ? S(c, "id") : "");
		row(w, id, S(json_object_get(c, "author"), "name"), S(json_object_get(c, "committer"), "name"),
			S(json_object_get(c, "author"), "time"), S(c, "summary"), tr);
		free(tr);
	}
	end(w);
	heading(w, 2, "Who approved");
	if (!json_array_size(json_object_get(pred, "approvals"))) {
		para(w, "No approval of the released tree (a rollback to an earlier approved tree, or break-glass "
			"awaiting retroactive approval).");
	} else {
		head(w, 6, "Approver", "Environment", "Approved at", "Retroactive", "Signature", "Roles (policy)");
		json_array_foreach(json_object_get(pred, "approvals"), i, a) {
			char *ar = roles_of(w, pred, S(a, "approver"));
			row(w, S(a, "approver"), S(a, "environment"), S(a, "time"), yesno(a, "retroactive"),
				"SSHSIG bpgate-approval@v1 (embedded)", ar);
			free(ar);
		}
		end(w);
	}
	if (json_integer_value(json_object_get(pred, "approvals_rejected")) > 0) {
		char m[128];
		snprintf(m, sizeof(m), "%lld approval record(s) for this tree did not verify and are not counted.",
			(long long)json_integer_value(json_object_get(pred, "approvals_rejected")));
		para(w, m);
	}
}

static void section_evidence(wr *w, const json_t *pred)
{
	const json_t *u, *h = json_object_get(pred, "stage_health"), *b;
	const char *k;
	json_t *m;
	size_t i;

	heading(w, 2, "Test and health evidence");
	if (!json_array_size(json_object_get(pred, "uat_evidence"))) {
		para(w, "No UAT evidence file in the released tree for these scenarios.");
	} else {
		head(w, 3, "Scenario", "UAT evidence", "SHA-256");
		json_array_foreach(json_object_get(pred, "uat_evidence"), i, u)
			row(w, S(u, "scenario"), S(u, "path"), S(u, "sha256"));
		end(w);
	}
	if (!json_is_object(h)) {
		para(w, "No stage health report in the released tree.");
	} else {
		head(w, 2, "Stage health report", "Value");
		row(w, "File", S(h, "path"));
		row(w, "SHA-256", S(h, "sha256"));
		row(w, "Measured at", S(h, "measured_at"));
		end(w);
		if (json_object_size(json_object_get(h, "scenarios"))) {
			head(w, 4, "Scenario", "Success rate", "Error rate", "p95 (ms)");
			json_object_foreach(json_object_get(h, "scenarios"), k, m) {
				char sr[32], er[32], p95[32];
				snprintf(sr, sizeof(sr), "%.4g", json_number_value(json_object_get(m, "success_rate")));
				snprintf(er, sizeof(er), "%.4g", json_number_value(json_object_get(m, "error_rate")));
				snprintf(p95, sizeof(p95), "%.0f", json_number_value(json_object_get(m, "p95_ms")));
				row(w, k, sr, er, p95);
			}
			end(w);
		}
	}
	if (json_array_size(json_object_get(pred, "bundles"))) {
		head(w, 3, "Release bundle", "SHA-256", "Signature");
		json_array_foreach(json_object_get(pred, "bundles"), i, b)
			row(w, S(b, "path"), S(b, "sha256"), S(b, "signature") ? S(b, "signature_path") : "unsigned");
		end(w);
	}
}

static void section_audit(wr *w, const json_t *pred)
{
	const json_t *audit = json_object_get(pred, "audit"), *p;
	size_t i, k;

	heading(w, 2, "Audit trail");
	if (!json_is_object(audit)) {
		para(w, "The package was built without the audit log: no decision is proven.");
		return;
	}
	head(w, 5, "Entry", "Time", "Decision", "Pushed by", "Ref updates");
	json_array_foreach(json_object_get(audit, "proofs"), i, p) {
		json_t *e = json_loads(S(p, "entry") ? S(p, "entry") : "", 0, NULL), *r;
		bpg_buf refs = BPG_BUF_INIT;
		char idx[32];
		snprintf(idx, sizeof(idx), "%lld", (long long)json_integer_value(json_object_get(p, "index")));
		json_array_foreach(json_object_get(e, "refs"), k, r)
			if (bpg_buf_printf(&refs, "%s%s %s %.12s", refs.size ? "; " : "", S(r, "kind") ? S(r, "kind") : "update",
				S(r, "ref") ? S(r, "ref") : "?", S(r, "new") ? S(r, "new") : "") < 0)
				w->rc = BPG_ENOMEM;
		row(w, idx, S(e, "time"), S(e, "decision"), S(e, "pusher"), refs.ptr);
		bpg_buf_dispose(&refs);
		json_decref(e);
	}
	end(w);
	para(w, "Each entry carries an RFC 6962 inclusion proof against this signed checkpoint of the audit log:");
	pre(w, S(audit, "checkpoint"));
}

static void section_rollback(wr *w, const json_t *pred)
{
	const json_t *rb = json_object_get(pred, "rollback"), *c;
	const char *cert = S(json_object_get(pred, "release"), "push_certificate");
	bpg_buf cmds = BPG_BUF_INIT;
	size_t i;

	heading(w, 2, "How to roll back");
	para(w, S(rb, "how"));
	if (S(rb, "to_commit")) {
		head(w, 2, "Roll back to", "Id");
		row(w, "Commit", S(rb, "to_commit"));
		row(w, "Tree", S(rb, "to_tree"));
		end(w);
		json_array_foreach(json_object_get(rb, "commands"), i, c)
			if (bpg_buf_printf(&cmds, "%s\n", json_string_value(c) ? json_string_value(c) : "") < 0)
				w->rc = BPG_ENOMEM;
		pre(w, cmds.ptr ? cmds.ptr : "");
	}
	bpg_buf_dispose(&cmds);
	if (cert) {
		heading(w, 2, "Push certificate of the release");
		pre(w, cert);
	}
}

static void section_make(wr *w, const json_t *pred)
{
	const json_t *mk = json_object_get(pred, "make"), *d, *s;
	const char *id;
	size_t i;

	if (!json_is_object(mk))
		return;
	heading(w, 2, "Deployed to Make");
	if (json_is_object(json_object_get(mk, "deployed"))) {
		head(w, 5, "Scenario", "Make id", "Commit", "Deployed by", "When");
		json_object_foreach((json_t *)json_object_get(mk, "deployed"), id, d) {
			char mid[32];
			snprintf(mid, sizeof(mid), "%lld", (long long)json_integer_value(json_object_get(d, "make_id")));
			row(w, id, mid, S(d, "commit"), S(d, "who"), S(d, "time"));
		}
		end(w);
	} else {
		para(w, "No deployment record of this commit (not deployed to Make by bpgate, or not yet).");
	}
	json_array_foreach(json_object_get(mk, "disabled"), i, s) {
		if (i == 0)
			head(w, 4, "DISABLED scenario", "By", "Since", "Reason");
		row(w, S(s, "scenario"), S(s, "who"), S(s, "time"), S(s, "reason"));
		if (i + 1 == json_array_size(json_object_get(mk, "disabled")))
			end(w);
	}
	para(w, S(mk, "note"));
}

static void section_subjects(wr *w, const json_t *stmt)
{
	const json_t *s;
	size_t i;

	heading(w, 2, "Blueprints released (subjects)");
	head(w, 2, "Blueprint", "SHA-256");
	json_array_foreach(json_object_get(stmt, "subject"), i, s)
		row(w, S(s, "name"), S(json_object_get(s, "digest"), "sha256"));
	end(w);
	para(w, "Check this package offline: bpgate evidence verify FILE --key EVIDENCE.pub --log-key AUDIT.vkey "
		"[--repo DIR] (signature, subjects, audit proofs, approval signatures).");
}

static const char CSS[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#111;max-width:72rem;margin:2rem auto;"
	"padding:0 1rem}h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #999;"
	"margin-top:1.8rem}h3{font-size:1rem;font-family:monospace}table{border-collapse:collapse;width:100%;"
	"margin:.5rem 0 1rem}th,td{border:1px solid #bbb;padding:.25rem .45rem;text-align:left;vertical-align:top;"
	"overflow-wrap:anywhere}th{background:#eee;overflow-wrap:normal;word-break:keep-all;white-space:nowrap}pre{background:#f6f6f6;border:1px solid #ccc;padding:.5rem;"
	"white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}.flag{font-weight:bold;color:#a00}"
	"@media print{body{font-size:10pt;max-width:none;margin:0}h2{page-break-after:avoid}"
	"thead{display:table-header-group}tr,pre{page-break-inside:avoid}th{background:#ddd!important;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}@page{margin:15mm}}";

static void section_verification(wr *w, const json_t *v)
{
	const json_t *k, *lk = json_object_get(v, "log_key");
	bpg_buf keys = BPG_BUF_INIT, t = BPG_BUF_INIT;
	size_t i;

	heading(w, 2, "Verification");
	if (!json_is_object(v)) {
		para(w, "Verified: NO. This page was rendered without verification; check the package with "
			"bpgate evidence verify FILE --key EVIDENCE.pub --log-key AUDIT.vkey --html FILE.");
		return;
	}
	json_array_foreach(json_object_get(v, "evidence_keys"), i, k)
		if (bpg_buf_printf(&keys, "%s%s", i ? ", " : "", json_string_value(k) ? json_string_value(k) : "") < 0)
			w->rc = BPG_ENOMEM;
	head(w, 2, "Check", "Result");
	row(w, "Verified", "yes: every check below passed");
	row(w, "Verified at", S(v, "time"));
	if (bpg_buf_printf(&t, "%s (threshold %lld)", keys.ptr ? keys.ptr : "",
		(long long)json_integer_value(json_object_get(v, "threshold"))) < 0)
		w->rc = BPG_ENOMEM;
	row(w, "Evidence signature, key id", t.ptr);
	bpg_buf_clear(&t);
	if (json_is_object(lk) && bpg_buf_printf(&t, "%s+%08llx", S(lk, "name") ? S(lk, "name") : "",
		(unsigned long long)json_integer_value(json_object_get(lk, "keyid"))) < 0)
		w->rc = BPG_ENOMEM;
	row(w, "Audit log key", json_is_object(lk) ? t.ptr : "none given");
	bpg_buf_clear(&t);
	if (bpg_buf_printf(&t, "%lld subject(s), every changed blueprint among them with the same sha256",
		(long long)json_integer_value(json_object_get(v, "subjects"))) < 0)
		w->rc = BPG_ENOMEM;
	row(w, "Subjects", t.ptr);
	bpg_buf_clear(&t);
	if (json_integer_value(json_object_get(v, "audit_entries")) > 0) {
		if (bpg_buf_printf(&t, "%lld entries proven against the signed checkpoint of %lld entries",
			(long long)json_integer_value(json_object_get(v, "audit_entries")),
			(long long)json_integer_value(json_object_get(v, "checkpoint_size"))) < 0)
			w->rc = BPG_ENOMEM;
	} else if (bpg_buf_puts(&t, "none in the package") < 0) {
		w->rc = BPG_ENOMEM;
	}
	row(w, "Audit proofs", t.ptr);
	bpg_buf_clear(&t);
	if (bpg_buf_printf(&t, "%lld signature(s) verified against the %s allowed_signers",
		(long long)json_integer_value(json_object_get(v, "approvals")),
		S(v, "signers") ? S(v, "signers") : "embedded") < 0)
		w->rc = BPG_ENOMEM;
	row(w, "Approvals", t.ptr);
	bpg_buf_clear(&t);
	if (json_is_integer(json_object_get(v, "digests_recomputed"))) {
		if (bpg_buf_printf(&t, "yes: %lld digest(s) recomputed from git, all equal",
			(long long)json_integer_value(json_object_get(v, "digests_recomputed"))) < 0)
			w->rc = BPG_ENOMEM;
	} else if (bpg_buf_puts(&t, "no (no --repo given)") < 0) {
		w->rc = BPG_ENOMEM;
	}
	row(w, "Digests recomputed", t.ptr);
	end(w);
	bpg_buf_dispose(&keys);
	bpg_buf_dispose(&t);
}

static int render(bpg_buf *out, const json_t *stmt, const json_t *verification, bool html, bpg_error *err)
{
	const json_t *pred = json_object_get(stmt, "predicate"), *rel = json_object_get(pred, "release");
	wr w = { out, html, 0, 0 };
	bpg_buf title = BPG_BUF_INIT;

	if (!json_is_object(pred) || !json_is_object(rel))
		return bpg_error_set(err, BPG_EINVALID, "not a release evidence statement: /predicate/release missing");
	if (bpg_buf_printf(&title, "Release evidence: %s %s %.12s", S(rel, "repository") ? S(rel, "repository") : "",
		S(rel, "environment") ? S(rel, "environment") : "", S(rel, "commit") ? S(rel, "commit") : "") < 0)
		w.rc = BPG_ENOMEM;
	if (html) {
		raw(&w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
			"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n<title>");
		text(&w, title.ptr);
		raw(&w, "</title>\n<style>");
		raw(&w, CSS);
		raw(&w, "</style></head><body>\n");
	}
	heading(&w, 1, title.ptr);
	if (json_is_true(json_object_get(rel, "rollback")) || json_is_true(json_object_get(rel, "break_glass"))) {
		raw(&w, html ? "<p class=\"flag\">" : "**");
		text(&w, json_is_true(json_object_get(rel, "rollback")) ? "This release is a ROLLBACK." :
			"This release was made under BREAK-GLASS (emergency).");
		raw(&w, html ? "</p>\n" : "**\n\n");
	}
	section_verification(&w, verification);
	section_summary(&w, stmt, pred);
	section_changes(&w, pred);
	section_people(&w, pred);
	section_evidence(&w, pred);
	section_audit(&w, pred);
	section_rollback(&w, pred);
	section_make(&w, pred);
	section_subjects(&w, stmt);
	if (html)
		raw(&w, "</body></html>\n");
	bpg_buf_dispose(&title);
	return w.rc ? bpg_error_set(err, BPG_ENOMEM, "out of memory rendering the evidence") : 0;
}

int bpg_evidence_render_html(bpg_buf *out, const json_t *stmt, bpg_error *err)
{
	return render(out, stmt, NULL, true, err);
}

int bpg_evidence_render_html_verified(bpg_buf *out, const json_t *stmt, const json_t *verification, bpg_error *err)
{
	return render(out, stmt, verification, true, err);
}

int bpg_evidence_render_markdown_verified(bpg_buf *out, const json_t *stmt, const json_t *verification,
	bpg_error *err)
{
	return render(out, stmt, verification, false, err);
}

int bpg_evidence_render_markdown(bpg_buf *out, const json_t *stmt, bpg_error *err)
{
	return render(out, stmt, NULL, false, err);
}
