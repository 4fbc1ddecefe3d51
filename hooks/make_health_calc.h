/*
 * Stage health figures from Make execution logs (make-api.md §4, "Metrics
 * for a window"): a pure function, no I/O, so that it is unit-tested with
 * exact values (tests/unit/test_health.c).
 *
 * Executions are the records with status 1 (success), 2 (warning) or 3
 * (error); any other status (0: still running, unknown values) is not an
 * execution and is not counted. Rates are counts / executions. p50 and p95
 * are nearest-rank percentiles of `duration` (ms): durations sorted
 * ascending, the element at index ceil(q·N) − 1, computed in integers.
 *
 * Ownership: logs is borrowed; *out is the caller's (no heap inside).
 */
#ifndef BPG_HOOKS_MAKE_HEALTH_CALC_H
#define BPG_HOOKS_MAKE_HEALTH_CALC_H

#include <jansson.h>
#include <stddef.h>
#include "bpgate/common.h"

typedef struct {
	size_t executions;               /* status 1, 2 or 3 */
	size_t success, warning, error;  /* status 1, 2, 3 */
	size_t ignored;                  /* other statuses (not executions) */
	double success_rate, warning_rate, error_rate; /* 0 when executions == 0 */
	long long p50_ms, p95_ms;        /* -1 when executions == 0 */
} mk_health_figures;

/* Nearest-rank index of the pct-th percentile (1..100) of n > 0 sorted values: ceil(pct·n/100) − 1. */
size_t mk_health_rank(size_t n, unsigned pct);

/*
 * Figures of logs (a JSON array of Make "scenarioLogs" items). An execution
 * (status 1..3) without an integer duration >= 0, an item that is not an
 * object or has no integer status is malformed: BPG_EINVALID naming the
 * item (a figure is never guessed). More than max items (0: 1,000,000):
 * BPG_ETOOBIG.
 */
int mk_health_compute(mk_health_figures *out, const json_t *logs, size_t max, bpg_error *err);

/* The figures as the record's per-scenario object: {"make_id", "executions",
 * "successes", "warnings", "errors", "success_rate", "warning_rate",
 * "error_rate", "p50_ms", "p95_ms"} (rates and percentiles null when there
 * were no executions). New reference, NULL when out of memory. */
json_t *mk_health_json(const mk_health_figures *f, long long make_id);

#endif
