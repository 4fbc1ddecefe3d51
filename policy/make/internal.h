/* Internal layout of the Make API client, shared by the module's files (and
 * by its unit tests, which check the backoff arithmetic directly). */
#ifndef BPG_MAKE_INTERNAL_H
#define BPG_MAKE_INTERNAL_H

#include "bpgate/make.h"
#include "bpgate/buf.h"

#include <curl/curl.h>
#include "curl_dl.h" /* libcurl is opened on first use: mk_curl_load() */
#include <stdbool.h>
#include <stdint.h>

#define MK_DEFAULT_CONNECT_MS 10000L
#define MK_DEFAULT_TOTAL_MS 60000L
#define MK_DEFAULT_MAX_RESPONSE ((size_t)32 << 20)
#define MK_DEFAULT_RETRIES 5u
#define MK_DEFAULT_BACKOFF_MS 1000u
#define MK_DEFAULT_BACKOFF_MAX_MS 30000u
#define MK_DEFAULT_BUDGET 60u
#define MK_DEFAULT_MAX_REQUESTS 100000u
#define MK_WINDOW_MS 60000ULL

struct bpg_make_client {
	CURL *curl;
	struct curl_slist *headers;     /* Accept, Authorization (wiped on free) */
	struct curl_slist *json_headers; /* the same plus Content-Type: application/json */
	char *base_url;                 /* no trailing '/' */
	bpg_make_options o;             /* defaults applied; token/ca_file/base_url point into this struct's copies */
	char *token;                    /* wiped on free */
	char *ca_file;
	unsigned long requests;
	/* the rolling budget: times (ms) of the last budget_per_minute requests, a ring */
	uint64_t *times;
	size_t ntimes, next;
	/* the clock: real (CLOCK_MONOTONIC) or, in test builds, a fake one */
	bool fake_clock;
	uint64_t fake_now;
	uint64_t waited_ms;             /* total slept (or, with the fake clock, that would have been) */
};

/* One HTTP exchange, before any interpretation. */
typedef struct {
	long status;            /* 0 when the transfer failed */
	CURLcode curl;          /* CURLE_OK, or why the transfer failed */
	char curl_msg[CURL_ERROR_SIZE];
	bpg_buf body;           /* at most max_response bytes */
	bool too_big;           /* the body passed max_response: refused */
	char *content_type;     /* malloc'd, or NULL */
	long retry_after_s;     /* Retry-After in seconds, -1 when absent */
} mk_response;

void mk_response_reset(mk_response *r);
void mk_response_dispose(mk_response *r);

/* The clock and the only place that sleeps. */
uint64_t mk_now_ms(bpg_make_client *c);
void mk_sleep_ms(bpg_make_client *c, uint64_t ms);

/* The wait before retry number `attempt` (0-based): backoff_ms * 2^attempt,
 * +-20 % jitter (none with the fake clock, so that tests add up exactly),
 * capped at backoff_max_ms; a Retry-After (seconds, >= 0) replaces it, capped
 * the same way. */
uint64_t mk_backoff_ms(const bpg_make_client *c, unsigned attempt, long retry_after_s);
/* The jittered value of base (uniform in [0.8, 1.2] * base), from libsodium. */
uint64_t mk_jitter(uint64_t base);

/* Parse and check a base URL (url.c); *normal is malloc'd, without a trailing '/'. */
int mk_check_base_url(char **normal, bool *https, const char *url, bpg_error *err);

/* "METHOD /path" check of a path and a query the caller built. */
int mk_check_target(const char *method, const char *path, const char *query, bpg_error *err);

/* Sanitised display of the first max bytes of a body. */
int mk_excerpt(bpg_buf *out, const char *data, size_t len, size_t max);

#endif
