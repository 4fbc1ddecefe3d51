/*
 * The findings list: masking, fingerprints, skips, and the JSON and SARIF
 * renderings. Each finding owns one allocation holding its strings.
 */
#include "scan_internal.h"

#include "bpgate/util.h"
#include "bpgate/testhook.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	bpg_scan_finding f;
	char *mem;
} finding_slot;

struct bpg_findings {
	finding_slot *v;
	size_t n, cap;
	bpg_scan_skip *skips;
	size_t nskip, skip_cap;
};

int bpg_findings_new(bpg_findings **out, bpg_error *err)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
}

void bpg_findings_free(bpg_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].mem);
	for (size_t i = 0; i < f->nskip; i++) {
		free((char *)f->skips[i].path);
		free((char *)f->skips[i].reason);
	}
	free(f->v);
	free(f->skips);
	free(f);
}

size_t bpg_findings_count(const bpg_findings *f)
{
	return f ? f->n : 0;
}

const bpg_scan_finding *bpg_findings_get(const bpg_findings *f, size_t i)
{
	return f && i < f->n ? &f->v[i].f : NULL;
}

size_t bpg_findings_skip_count(const bpg_findings *f)
{
	return f ? f->nskip : 0;
}

const bpg_scan_skip *bpg_findings_skip_get(const bpg_findings *f, size_t i)
{
	return f && i < f->nskip ? &f->skips[i] : NULL;
}

int bpg_findings_add_skip(bpg_findings *f, const char *path, const char *reason, bpg_error *err)
{
	char *p, *r;
	bpg_scan_skip *ns = bpg_array_grow(f->skips, &f->skip_cap, f->nskip + 1, sizeof(*ns), 8);
	if (!ns)
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	f->skips = ns;
	p = strdup(path);
	r = strdup(reason);
	if (!p || !r) {
		free(p);
		free(r);
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	}
	f->skips[f->nskip++] = (bpg_scan_skip){ p, r };
	return 0;
}

void scan_findings_truncate(bpg_findings *f, size_t n)
{
	while (f->n > n)
		free(f->v[--f->n].mem);
}

/* At most a quarter of a value is shown (never more than 4 characters at
 * each end, none for values under 8); only printable ASCII is kept. */
static void mask(char *out, const char *v, size_t n)
{
	size_t keep = n / 8, o = 0;
	if (keep > 4)
		keep = 4;
	for (size_t i = 0; i < keep; i++)
		out[o++] = (v[i] > 0x20 && v[i] < 0x7f) ? v[i] : '?';
	for (size_t i = 0; i < (n - 2 * keep < 8 ? n - 2 * keep : 8); i++)
		out[o++] = '*';
	for (size_t i = n - keep; i < n; i++)
		out[o++] = (v[i] > 0x20 && v[i] < 0x7f) ? v[i] : '?';
	out[o] = '\0';
}

/* Normalised value for text fingerprints: digits only for numbers, lower
 * case, no blanks, so reformatting does not change it. */
static size_t normalise(char *out, size_t cap, const char *v, size_t n, scan_rule r)
{
	bool digits_only = r == R_PHONE || r == R_US_SSN || r == R_CREDIT_CARD || r == R_UK_NHS ||
		r == R_US_NPI || r == R_US_ITIN || r == R_US_BANK_NUMBER;
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		char ch = v[i];
		if (digits_only ? !isdigit((unsigned char)ch) : (ch == ' ' || ch == '\t' || ch == '\n'))
			continue;
		out[o++] = (char)tolower((unsigned char)ch);
	}
	return o;
}

int scan_findings_add(bpg_findings *f, scan_rule rule, const char *path, size_t line,
	size_t column, const char *pointer, const char *value, size_t vlen, bool synthetic,
	bpg_error *err)
{
	char masked[24], fp[65];
	bpg_buf key = BPG_BUF_INIT;
	size_t ordinal = 0, pl = strlen(path), ptl = pointer ? strlen(pointer) : 0, ml;
	finding_slot *slot;
	char *mem;
	int rc = 0;

	if (!(slot = bpg_array_grow(f->v, &f->cap, f->n + 1, sizeof(*slot), 16)))
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	f->v = slot;
	mask(masked, value, vlen);
	ml = strlen(masked);
	/* fingerprint: rule, path, and the JSON pointer (+ the ordinal among
	 * same-rule findings in that string) or, outside JSON, the normalised value */
	rc = bpg_buf_put(&key, scan_rule_table[rule].id, strlen(scan_rule_table[rule].id) + 1);
	if (rc == 0)
		rc = bpg_buf_put(&key, path, pl + 1);
	if (rc == 0 && pointer) {
		for (size_t i = f->n; i-- > 0;) {
			const bpg_scan_finding *p = &f->v[i].f;
			if (!p->pointer || strcmp(p->pointer, pointer) != 0 || strcmp(p->path, path) != 0)
				break;
			ordinal += strcmp(p->rule, scan_rule_table[rule].id) == 0;
		}
		rc = bpg_buf_printf(&key, "%s%c%zu", pointer, 0, ordinal);
	} else if (rc == 0) {
		char norm[512];
		size_t nl = normalise(norm, sizeof(norm), value, vlen, rule);
		rc = bpg_buf_put(&key, norm, nl);
	}
	if (rc < 0) {
		bpg_buf_dispose(&key);
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	}
	bpg_sha256_hex(fp, key.ptr, key.size);
	bpg_buf_dispose(&key);
	fp[32] = '\0';
	mem = malloc(pl + 1 + ptl + 1 + ml + 1 + 33);
	if (!mem)
		return bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
	slot = &f->v[f->n++];
	slot->mem = mem;
	memcpy(mem, path, pl + 1);
	slot->f.path = mem;
	mem += pl + 1;
	if (pointer) {
		memcpy(mem, pointer, ptl + 1);
		slot->f.pointer = mem;
		mem += ptl + 1;
	} else {
		slot->f.pointer = NULL;
	}
	memcpy(mem, masked, ml + 1);
	slot->f.masked = mem;
	mem += ml + 1;
	memcpy(mem, fp, 33);
	slot->f.fingerprint = mem;
	slot->f.rule = scan_rule_table[rule].id;
	slot->f.kind = scan_rule_table[rule].kind;
	slot->f.line = line;
	slot->f.column = column;
	slot->f.synthetic = synthetic;
	return 0;
}

int bpg_findings_to_json(json_t **out, const bpg_findings *f, bpg_error *err)
{
	json_t *arr = json_array(), *root = json_object();
	int rc = 0;

	*out = NULL;
	if (!arr || !root || json_object_set(root, "findings", arr) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		goto done;
	}
	for (size_t i = 0; i < bpg_findings_count(f); i++) {
		const bpg_scan_finding *x = bpg_findings_get(f, i);
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:o,s:s,s:b,s:s}", "rule", x->rule, "path", x->path,
			"line", (json_int_t)x->line, "column", (json_int_t)x->column, "pointer",
			x->pointer ? json_string(x->pointer) : json_null(), "masked", x->masked,
			"synthetic", x->synthetic, "fingerprint", x->fingerprint);
		if (!o || json_array_append_new(arr, o) < 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "scan: cannot render finding %zu (path not UTF-8?)", i);
			goto done;
		}
	}
	*out = root;
	root = NULL;
done:
	json_decref(arr);
	json_decref(root);
	return rc;
}

int bpg_findings_to_sarif(json_t **out, const bpg_findings *f, bpg_error *err)
{
	json_t *rules = json_array(), *results = json_array(), *root = NULL;
	bool used[R_COUNT] = { false };
	size_t ruleidx[R_COUNT];
	int rc = 0;

	*out = NULL;
	if (!rules || !results)
		goto oom;
	for (size_t i = 0; i < bpg_findings_count(f); i++)
		for (size_t r = 0; r < R_COUNT; r++)
			if (strcmp(bpg_findings_get(f, i)->rule, scan_rule_table[r].id) == 0)
				used[r] = true;
	for (size_t r = 0, k = 0; r < R_COUNT; r++) {
		if (!used[r])
			continue;
		ruleidx[r] = k++;
		if (json_array_append_new(rules, json_pack("{s:s,s:{s:s},s:{s:s},s:{s:s},s:{s:[s]}}",
			"id", scan_rule_table[r].id,
			"shortDescription", "text", scan_rule_table[r].kind == BPG_SCAN_SECRET ?
				"Secret in the repository" : "Personal data in the repository",
			"help", "text", scan_rule_table[r].hint,
			"defaultConfiguration", "level", "error",
			"properties", "tags", scan_rule_table[r].kind == BPG_SCAN_SECRET ? "security" : "privacy")) < 0)
			goto oom;
	}
	for (size_t i = 0; i < bpg_findings_count(f); i++) {
		const bpg_scan_finding *x = bpg_findings_get(f, i);
		size_t r = 0;
		json_t *res;
		char msg[256];
		while (r < R_COUNT && strcmp(x->rule, scan_rule_table[r].id) != 0)
			r++;
		snprintf(msg, sizeof(msg), "%s %s%s%s%s", x->rule, x->masked,
			x->pointer ? " at " : "", x->pointer ? x->pointer : "", x->synthetic ? " (synthetic)" : "");
		res = json_pack("{s:s,s:I,s:s,s:{s:s},s:[{s:{s:{s:s},s:{s:I,s:I}}}],s:{s:s},s:{s:b,s:o}}",
			"ruleId", x->rule, "ruleIndex", (json_int_t)ruleidx[r],
			"level", x->synthetic ? "note" : "error",
			"message", "text", msg,
			"locations", "physicalLocation", "artifactLocation", "uri", x->path,
			"region", "startLine", (json_int_t)x->line, "startColumn", (json_int_t)x->column,
			"partialFingerprints", "bpgateFingerprint/v1", x->fingerprint,
			"properties", "synthetic", x->synthetic, "jsonPointer",
			x->pointer ? json_string(x->pointer) : json_null());
		if (!res || json_array_append_new(results, res) < 0)
			goto oom;
	}
	root = json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:s,s:O}},s:O,s:s}]}",
		"$schema", "https://json.schemastore.org/sarif-2.1.0.json",
		"version", "2.1.0",
		"runs", "tool", "driver", "name", "bpgate-scan", "version", bpg_version(),
		"informationUri", "https://github.com/bpgate/bpgate", "rules", rules,
		"results", results, "columnKind", "unicodeCodePoints");
	if (!root)
		goto oom;
	*out = root;
	goto done;
oom:
	rc = bpg_error_set(err, BPG_ENOMEM, "scan: cannot build SARIF (out of memory or path not UTF-8)");
done:
	json_decref(rules);
	json_decref(results);
	return rc;
}

size_t bpg_findings_apply_ignore(bpg_findings *f, const bpg_scan_ignore *ig)
{
	size_t w = 0, removed = 0;
	if (!f || !ig)
		return 0;
	for (size_t i = 0; i < f->n; i++) {
		if (scan_ignore_has(ig, f->v[i].f.fingerprint)) {
			free(f->v[i].mem);
			removed++;
		} else {
			f->v[w++] = f->v[i];
		}
	}
	f->n = w;
	return removed;
}
