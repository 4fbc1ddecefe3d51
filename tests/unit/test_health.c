/* Stage health figures (hooks/make_health_calc.c): exact values. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "../../hooks/make_health_calc.h"

/* n records: the first nok status 1 (success), then nwarn status 2, the rest status 3; durations given by dur(i) */
static json_t *logs_of(size_t n, size_t nok, size_t nwarn, long long (*dur)(size_t))
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		int st = i < nok ? 1 : i < nok + nwarn ? 2 : 3;
		json_array_append_new(a, json_pack("{s:s, s:i, s:I}", "imtId", "x", "status", st, "duration",
			(json_int_t)dur(i)));
	}
	return a;
}

/* 1..1000 ms, shuffled deterministically: the sort is what orders them */
static long long dur_perm(size_t i) { return (long long)((i * 7919) % 1000) + 1; }
static long long dur_const(size_t i) { (void)i; return 500; }

Test(health, rank_is_nearest_rank)
{
	cr_expect_eq(mk_health_rank(1000, 95), 949);
	cr_expect_eq(mk_health_rank(1000, 50), 499);
	cr_expect_eq(mk_health_rank(1, 95), 0);
	cr_expect_eq(mk_health_rank(20, 95), 18);  /* ceil(19) - 1 */
	cr_expect_eq(mk_health_rank(21, 95), 19);  /* ceil(19.95) - 1 */
	cr_expect_eq(mk_health_rank(3, 50), 1);    /* ceil(1.5) - 1 */
	cr_expect_eq(mk_health_rank(4, 50), 1);    /* ceil(2) - 1 */
}

Test(health, success_998_of_1000_and_known_percentiles)
{
	json_t *logs = logs_of(1000, 998, 1, dur_perm);
	mk_health_figures f;
	bpg_error err;
	cr_assert_eq(mk_health_compute(&f, logs, 0, &err), 0);
	cr_expect_eq(f.executions, 1000);
	cr_expect_eq(f.success, 998);
	cr_expect_eq(f.warning, 1);
	cr_expect_eq(f.error, 1);
	cr_expect(f.success_rate == 998.0 / 1000.0);
	cr_expect(f.warning_rate == 1.0 / 1000.0);
	cr_expect(f.error_rate == 1.0 / 1000.0);
	/* durations are 1..1000: index 949 holds 950, index 499 holds 500 */
	cr_expect_eq(f.p95_ms, 950);
	cr_expect_eq(f.p50_ms, 500);
	json_t *j = mk_health_json(&f, 202);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(15));
	cr_expect_str_eq(s, "{\"error_rate\":0.001,\"errors\":1,\"executions\":1000,\"make_id\":202,\"p50_ms\":500,"
		"\"p95_ms\":950,\"success_rate\":0.998,\"successes\":998,\"warning_rate\":0.001,\"warnings\":1}");
	free(s);
	json_decref(j);
	json_decref(logs);
}

Test(health, other_statuses_are_not_executions)
{
	json_t *logs = logs_of(20, 20, 0, dur_const);
	json_array_append_new(logs, json_pack("{s:i}", "status", 0)); /* running: no duration needed */
	json_array_append_new(logs, json_pack("{s:i, s:i}", "status", 4, "duration", 99999));
	mk_health_figures f;
	bpg_error err;
	cr_assert_eq(mk_health_compute(&f, logs, 0, &err), 0);
	cr_expect_eq(f.executions, 20);
	cr_expect_eq(f.ignored, 2);
	cr_expect_eq(f.p95_ms, 500);
	json_decref(logs);
}

Test(health, no_executions_gives_nulls)
{
	json_t *logs = json_array();
	mk_health_figures f;
	bpg_error err;
	cr_assert_eq(mk_health_compute(&f, logs, 0, &err), 0);
	cr_expect_eq(f.executions, 0);
	json_t *j = mk_health_json(&f, 7);
	cr_expect(json_is_null(json_object_get(j, "success_rate")));
	cr_expect(json_is_null(json_object_get(j, "p95_ms")));
	cr_expect_eq(json_integer_value(json_object_get(j, "executions")), 0);
	json_decref(j);
	json_decref(logs);
}

Test(health, malformed_records_refused)
{
	mk_health_figures f;
	bpg_error err;
	json_t *logs = json_pack("[{s:s, s:i, s:s}]", "imtId", "1_scenario.2.auto.ab", "status", 1, "duration", "fast");
	cr_expect_eq(mk_health_compute(&f, logs, 0, &err), BPG_EINVALID);
	cr_expect(strstr(err.message, "1_scenario.2.auto.ab") != NULL, "%s", err.message);
	json_decref(logs);
	logs = json_pack("[{s:i, s:i}]", "status", 1, "duration", -5);
	cr_expect_eq(mk_health_compute(&f, logs, 0, &err), BPG_EINVALID);
	json_decref(logs);
	logs = json_pack("[{s:s}]", "status", "1");
	cr_expect_eq(mk_health_compute(&f, logs, 0, &err), BPG_EINVALID);
	json_decref(logs);
	logs = json_pack("[[]]");
	cr_expect_eq(mk_health_compute(&f, logs, 0, &err), BPG_EINVALID);
	json_decref(logs);
}

Test(health, over_the_limit_refused_not_cut)
{
	json_t *logs = logs_of(21, 21, 0, dur_const);
	mk_health_figures f;
	bpg_error err;
	cr_expect_eq(mk_health_compute(&f, logs, 20, &err), BPG_ETOOBIG);
	cr_expect(strstr(err.message, "more than the limit of 20") != NULL, "%s", err.message);
	cr_expect_eq(mk_health_compute(&f, logs, 21, &err), 0);
	json_decref(logs);
}
