/*
 * Terminal text of a decision: one block per finding (where, rule, message,
 * how to fix), then a summary line. With by_rule (bpgate explain): every
 * rule of the registry with its mode and outcome, its findings under it.
 * Everything from the facts goes through bpg_safe_put.
 */
#include "bpgate/report.h"
#include "bpgate/util.h"

#include <string.h>

#define SGR(o, code) ((o)->color ? (code) : "")

static int put_safe(bpg_buf *b, const char *s)
{
	return s ? bpg_safe_put(b, s, strlen(s), 512) : 0;
}

static int put_where(bpg_buf *b, const bpg_finding *f)
{
	int rc = 0;
	bool any = false;
	if (f->file) {
		rc = put_safe(b, f->file);
		if (rc == 0 && f->line)
			rc = bpg_buf_printf(b, ":%u:%u", f->line, f->column);
		any = true;
	}
	if (rc == 0 && f->pointer && *f->pointer) {
		rc = bpg_buf_printf(b, "%s#", any ? " " : "");
		if (rc == 0)
			rc = put_safe(b, f->pointer);
		any = true;
	}
	if (rc == 0 && f->commit) {
		rc = bpg_buf_printf(b, "%scommit %.12s", any ? " " : "", "");
		if (rc == 0)
			rc = bpg_safe_put(b, f->commit, strlen(f->commit), 12);
		any = true;
	}
	if (rc == 0 && f->ref) {
		rc = bpg_buf_printf(b, "%sref ", any ? " " : "");
		if (rc == 0)
			rc = put_safe(b, f->ref);
		any = true;
	}
	if (rc == 0 && !any)
		rc = bpg_buf_puts(b, "change");
	return rc;
}

static int put_finding(bpg_buf *b, const bpg_finding *f, const bpg_report_options *o, const char *indent)
{
	const char *colour = f->blocking ? "\033[31m" : f->severity == BPG_SEV_INFO ? "\033[36m" : "\033[33m";
	const char *label = f->severity == BPG_SEV_INFO ? "info" :
		f->blocking ? "error" : f->mode == BPG_MODE_WARN && f->severity == BPG_SEV_ERROR ? "warning (rule in warn mode)" :
		bpg_severity_name(f->severity);
	int rc = bpg_buf_puts(b, indent);
	if (rc == 0)
		rc = put_where(b, f);
	if (rc == 0)
		rc = bpg_buf_printf(b, ": %s%s%s [%s]: ", SGR(o, colour), label, SGR(o, "\033[0m"), f->rule);
	if (rc == 0)
		rc = put_safe(b, f->message);
	if (rc == 0 && f->fix) {
		rc = bpg_buf_printf(b, "\n%s  fix: ", indent);
		if (rc == 0)
			rc = put_safe(b, f->fix);
	}
	if (rc == 0)
		rc = bpg_buf_putc(b, '\n');
	return rc;
}

static size_t visible(const bpg_decision *d, const bpg_report_options *o)
{
	size_t v = 0;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++)
		v += bpg_decision_finding(d, i)->severity != BPG_SEV_INFO || o->show_info;
	return v;
}

/* A long refusal: per rule (registry order) a header with the counts, its
 * findings one line each, then each distinct fix of the rule once, with how
 * many findings it fixes. Nothing is left out (JSON has the same findings). */
static int put_grouped(bpg_buf *out, const bpg_decision *d, const bpg_report_options *o)
{
	size_t n = bpg_decision_finding_count(d);
	json_t *fixes = json_object(), *order = json_array();
	int rc = fixes && order ? 0 : -1;

	for (size_t r = 0; rc == 0 && r < bpg_rule_count(); r++) {
		const char *id = bpg_rule_get(r)->id;
		size_t cnt[3] = { 0, 0, 0 }, shown = 0;
		for (size_t i = 0; i < n; i++) {
			const bpg_finding *f = bpg_decision_finding(d, i);
			if (strcmp(f->rule, id) == 0 && (f->severity != BPG_SEV_INFO || o->show_info))
				cnt[f->blocking ? 0 : f->severity == BPG_SEV_INFO ? 2 : 1]++;
		}
		if (cnt[0] + cnt[1] + cnt[2] == 0)
			continue;
		rc = bpg_buf_printf(out, "[%s] %zu finding%s: %zu error%s, %zu warning%s%s", id, cnt[0] + cnt[1] + cnt[2],
			cnt[0] + cnt[1] + cnt[2] == 1 ? "" : "s", cnt[0], cnt[0] == 1 ? "" : "s", cnt[1], cnt[1] == 1 ? "" : "s",
			o->show_info ? "" : "\n");
		if (rc == 0 && o->show_info)
			rc = bpg_buf_printf(out, ", %zu info\n", cnt[2]);
		json_object_clear(fixes);
		json_array_clear(order);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			const bpg_finding *f = bpg_decision_finding(d, i);
			if (strcmp(f->rule, id) != 0 || (f->severity == BPG_SEV_INFO && !o->show_info))
				continue;
			const char *colour = f->blocking ? "\033[31m" : f->severity == BPG_SEV_INFO ? "\033[36m" : "\033[33m";
			const char *label = f->severity == BPG_SEV_INFO ? "info" : f->blocking ? "error" :
				f->mode == BPG_MODE_WARN && f->severity == BPG_SEV_ERROR ? "warning (rule in warn mode)" :
				bpg_severity_name(f->severity);
			rc = bpg_buf_puts(out, "  ");
			if (rc == 0)
				rc = put_where(out, f);
			if (rc == 0)
				rc = bpg_buf_printf(out, ": %s%s%s: ", SGR(o, colour), label, SGR(o, "\033[0m"));
			if (rc == 0)
				rc = put_safe(out, f->message);
			if (rc == 0)
				rc = bpg_buf_putc(out, '\n');
			shown++;
			if (rc == 0 && f->fix) {
				json_t *k = json_object_get(fixes, f->fix);
				if (k)
					rc = json_integer_set(k, json_integer_value(k) + 1);
				else if (json_object_set_new(fixes, f->fix, json_integer(1)) < 0 ||
				    json_array_append_new(order, json_string(f->fix)) < 0)
					rc = -1;
			}
		}
		size_t k;
		json_t *fx;
		json_array_foreach(order, k, fx) {
			if (rc < 0)
				break;
			long long c = (long long)json_integer_value(json_object_get(fixes, json_string_value(fx)));
			if (c == (long long)shown && shown > 1)
				rc = bpg_buf_printf(out, "  fix (all %lld): ", c);
			else
				rc = bpg_buf_printf(out, "  fix (%lld of %zu): ", c, shown);
			if (rc == 0)
				rc = put_safe(out, json_string_value(fx));
			if (rc == 0)
				rc = bpg_buf_putc(out, '\n');
		}
	}
	json_decref(fixes);
	json_decref(order);
	return rc;
}

int bpg_report_text(bpg_buf *out, const bpg_decision *d, const bpg_report_options *opts, bpg_error *err)
{
	bpg_report_options def = BPG_REPORT_OPTIONS_INIT;
	const bpg_report_options *o = opts ? opts : &def;
	size_t n = bpg_decision_finding_count(d);
	int rc = 0;

	if (o->by_rule) {
		for (size_t r = 0; rc == 0 && r < bpg_rule_count(); r++) {
			const bpg_rule_info *ri = bpg_rule_get(r);
			size_t nf;
			bpg_rule_outcome oc = bpg_decision_rule_outcome(d, r, &nf);
			if (oc == BPG_RULE_SERVER_ONLY)
				rc = bpg_buf_printf(out, "%-26s not evaluated here (server only): %s\n", ri->id, ri->description);
			else
				rc = bpg_buf_printf(out, "%-26s %-5s %-7s %s\n", ri->id, bpg_rule_outcome_name(oc),
					oc == BPG_RULE_OFF ? "off" : "", ri->description);
			for (size_t i = 0; rc == 0 && i < n; i++) {
				const bpg_finding *f = bpg_decision_finding(d, i);
				if (strcmp(f->rule, ri->id) == 0)
					rc = put_finding(out, f, o, "    ");
			}
		}
	} else if (visible(d, o) > BPG_REPORT_GROUP_MIN) {
		rc = put_grouped(out, d, o);
	} else {
		for (size_t i = 0; rc == 0 && i < n; i++) {
			const bpg_finding *f = bpg_decision_finding(d, i);
			if (f->severity == BPG_SEV_INFO && !o->show_info)
				continue;
			rc = put_finding(out, f, o, "");
		}
	}
	if (rc == 0)
		rc = bpg_buf_printf(out, "%s%s%s: %zu error%s, %zu warning%s, %zu info\n",
			SGR(o, bpg_decision_refused(d) ? "\033[1;31m" : "\033[1;32m"),
			bpg_decision_refused(d) ? "refused" : "accepted", SGR(o, "\033[0m"),
			bpg_decision_count(d, BPG_SEV_ERROR), bpg_decision_count(d, BPG_SEV_ERROR) == 1 ? "" : "s",
			bpg_decision_count(d, BPG_SEV_WARNING), bpg_decision_count(d, BPG_SEV_WARNING) == 1 ? "" : "s",
			bpg_decision_count(d, BPG_SEV_INFO));
	if (rc < 0)
		return bpg_error_set(err, rc, "out of memory while rendering the report");
	return 0;
}
