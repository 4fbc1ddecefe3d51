/* The budget of one judgement (bpgate/budget.h). */
#include "bpgate/budget.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct bpg_budget {
	struct timespec start;
	unsigned max_seconds;
	size_t max_memory;
	char seconds_name[128];
	char memory_name[128];
	atomic_ulong checks;
	atomic_ullong memory_at_ms; /* when the peak was last read; ULLONG_MAX: never */
	atomic_size_t over_peak;    /* the peak that exceeded the budget (0: none): every check after refuses */
};

static void name_copy(char *dst, size_t cap, const char *src, const char *def)
{
	const char *s = src && *src ? src : def;
	size_t n = strlen(s);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

int bpg_budget_new(bpg_budget **out, const bpg_budget_opts *opts, bpg_error *err)
{
	bpg_budget *b;

	*out = NULL;
	if (!(b = calloc(1, sizeof(*b))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &b->start);
	b->max_seconds = opts->max_seconds;
	b->max_memory = opts->max_memory;
	name_copy(b->seconds_name, sizeof(b->seconds_name), opts->seconds_name, "the time budget");
	name_copy(b->memory_name, sizeof(b->memory_name), opts->memory_name, "the memory budget");
	atomic_init(&b->checks, 0);
	atomic_init(&b->memory_at_ms, ULLONG_MAX);
	atomic_init(&b->over_peak, 0);
	*out = b;
	return 0;
}

void bpg_budget_free(bpg_budget *b)
{
	free(b);
}

/* Milliseconds since the start. */
static unsigned long long elapsed_ms(const bpg_budget *b)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long s = (long long)(now.tv_sec - b->start.tv_sec);
	long long ns = (long long)(now.tv_nsec - b->start.tv_nsec);
	long long ms = s * 1000 + ns / 1000000;
	return ms < 0 ? 0 : (unsigned long long)ms;
}

static size_t peak_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0 || ru.ru_maxrss < 0)
		return 0;
	return (size_t)ru.ru_maxrss * 1024; /* Linux: kilobytes */
}

/*
 * Whether to read the peak now: at the first check, then at most once per
 * millisecond. The judgement checks its budget per commit and per file; a
 * getrusage() each time was ~2 % of the gate's time on a 2,000-commit push.
 * What a millisecond can add is still refused, at the next check after it.
 */
static bool memory_due(bpg_budget *b, unsigned long long ms, bool final)
{
	unsigned long long last = atomic_load(&b->memory_at_ms);

	if (final)
		return true;
	if (last != ULLONG_MAX && ms <= last)
		return false;
	return atomic_compare_exchange_strong(&b->memory_at_ms, &last, ms);
}

static int check(const bpg_budget *b, bool final, bpg_error *err)
{
	unsigned long long ms;
	size_t peak, now;

	if (!b)
		return 0;
	atomic_fetch_add(&((bpg_budget *)b)->checks, 1);
	/* 0 seconds: spent before the first check, whatever the clock says */
	if (b->max_seconds == 0 || (ms = elapsed_ms(b)) >= (unsigned long long)b->max_seconds * 1000)
		return bpg_error_set(err, BPG_ETOOBIG, "the judgement ran out of time: it took longer than "
			"its budget of %u s (%s); the change is refused, not judged in part", b->max_seconds,
			b->seconds_name);
	if (b->max_memory == BPG_BUDGET_UNLIMITED)
		return 0;
	if (!(peak = atomic_load(&b->over_peak)) && memory_due((bpg_budget *)b, ms, final) &&
	    (now = peak_bytes()) > b->max_memory) {
		atomic_store(&((bpg_budget *)b)->over_peak, now);
		peak = now;
	}
	if (peak)
		return bpg_error_set(err, BPG_ETOOBIG, "the judgement ran out of memory: it used %zu MiB, more "
			"than its budget of %zu MiB (%s); the change is refused, not judged in part",
			peak >> 20, b->max_memory >> 20, b->memory_name);
	return 0;
}

int bpg_budget_check(const bpg_budget *b, bpg_error *err)
{
	return check(b, false, err);
}

int bpg_budget_check_final(const bpg_budget *b, bpg_error *err)
{
	return check(b, true, err);
}

bool bpg_budget_exceeded(const bpg_budget *b)
{
	return bpg_budget_check(b, NULL) < 0;
}

unsigned long bpg_budget_checks(const bpg_budget *b)
{
	return b ? atomic_load(&((bpg_budget *)b)->checks) : 0;
}

int bpg_budget_parse_size(size_t *out, const char *s, bpg_error *err)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	*out = 0;
	if (!s || !isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || (shift && v > (SIZE_MAX >> shift)) || v > SIZE_MAX)
		goto bad;
	*out = (size_t)v << shift;
	return 0;
bad:
	return bpg_error_set(err, BPG_EINVALID, "'%s' is not a size (a number of bytes, or with a k, m or g suffix)",
		s ? s : "");
}
