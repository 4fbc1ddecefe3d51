/* Stage health figures from execution logs (see make_health_calc.h). */
#include "make_health_calc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_MAX_ITEMS ((size_t)1000000)

size_t mk_health_rank(size_t n, unsigned pct)
{
	/* ceil(pct * n / 100) - 1 in integers: no floating-point rounding at the boundary */
	size_t r = (size_t)(((unsigned long long)pct * n + 99) / 100);
	return r ? r - 1 : 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int mk_health_compute(mk_health_figures *out, const json_t *logs, size_t max, bpg_error *err)
{
	long long *d = NULL;
	size_t i, n;
	json_t *it;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->p50_ms = out->p95_ms = -1;
	if (!max)
		max = HEALTH_MAX_ITEMS;
	if (!json_is_array(logs))
		return bpg_error_set(err, BPG_EINVALID, "the execution logs are not a JSON array");
	n = json_array_size(logs);
	if (n > max)
		return bpg_error_set(err, BPG_ETOOBIG, "%zu execution records, more than the limit of %zu; refused "
			"(ask for a narrower window)", n, max);
	if (n && !(d = calloc(n, sizeof(*d))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	json_array_foreach(logs, i, it) {
		const json_t *st = json_object_get(it, "status"), *du = json_object_get(it, "duration");
		const char *imt = json_string_value(json_object_get(it, "imtId"));
		if (!json_is_object(it) || !json_is_integer(st)) {
			rc = bpg_error_set(err, BPG_EINVALID, "execution record %zu%s%s%s has no integer status", i,
				imt ? " (" : "", imt ? imt : "", imt ? ")" : "");
			goto done;
		}
		json_int_t s = json_integer_value(st);
		if (s < 1 || s > 3) {
			out->ignored++;
			continue;
		}
		if (!json_is_integer(du) || json_integer_value(du) < 0) {
			rc = bpg_error_set(err, BPG_EINVALID, "execution record %zu%s%s%s has no duration in ms "
				"(an integer >= 0)", i, imt ? " (" : "", imt ? imt : "", imt ? ")" : "");
			goto done;
		}
		d[out->executions++] = (long long)json_integer_value(du);
		if (s == 1)
			out->success++;
		else if (s == 2)
			out->warning++;
		else
			out->error++;
	}
	if (out->executions) {
		double nd = (double)out->executions;
		out->success_rate = (double)out->success / nd;
		out->warning_rate = (double)out->warning / nd;
		out->error_rate = (double)out->error / nd;
		qsort(d, out->executions, sizeof(*d), cmp_ll);
		out->p50_ms = d[mk_health_rank(out->executions, 50)];
		out->p95_ms = d[mk_health_rank(out->executions, 95)];
	}
done:
	free(d);
	return rc;
}

json_t *mk_health_json(const mk_health_figures *f, long long make_id)
{
	bool any = f->executions > 0;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "make_id", (json_int_t)make_id,
		"executions", (json_int_t)f->executions, "successes", (json_int_t)f->success,
		"warnings", (json_int_t)f->warning, "errors", (json_int_t)f->error,
		"success_rate", any ? json_real(f->success_rate) : json_null(),
		"warning_rate", any ? json_real(f->warning_rate) : json_null(),
		"error_rate", any ? json_real(f->error_rate) : json_null(),
		"p50_ms", any ? json_integer(f->p50_ms) : json_null(),
		"p95_ms", any ? json_integer(f->p95_ms) : json_null());
}
