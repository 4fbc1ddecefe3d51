/* The library's allocation wrappers, and the test-only hooks (compiled in
 * only with BPG_TEST_HOOKS, which meson defines in builds with tests). */
#include "bpgate/testhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef BPG_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_long fail_at = -1, fail_count = -1;
static atomic_long seen;

static int injected(void)
{
	long n = atomic_fetch_add(&seen, 1), at = atomic_load(&fail_at), count = atomic_load(&fail_count);
	return at >= 0 && n >= at && (count < 0 || n - at < count);
}

int bpg_test_alloc_fail_at(long n, long count)
{
	atomic_store(&fail_at, -1);
	atomic_store(&seen, 0);
	atomic_store(&fail_count, count);
	atomic_store(&fail_at, n);
	return 0;
}

long bpg_test_alloc_count(void)
{
	return atomic_load(&seen);
}

bool bpg_test_flag(const char *name)
{
	const char *flags = getenv("BPGATE_TEST_FLAGS"), *p;
	size_t n = name ? strlen(name) : 0;

	for (p = flags; n && p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

void bpg_test_point(const char *name)
{
	const char *want = getenv("BPGATE_TEST_PAUSE_AT"), *marker = getenv("BPGATE_TEST_PAUSE_MARKER");

	if (!want || !name || strcmp(want, name) != 0)
		return;
	if (marker) {
		char tmp[4096], pid[32];
		int n = snprintf(tmp, sizeof(tmp), "%s.tmp", marker), fd, len;
		if (n < 0 || (size_t)n >= sizeof(tmp))
			return;
		len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		/* written whole, then renamed: the test never reads half a pid */
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			return;
		if (write(fd, pid, (size_t)len) != len || close(fd) < 0 || rename(tmp, marker) < 0)
			return;
	}
	raise(SIGSTOP);
}
#else
#define injected() 0

int bpg_test_alloc_fail_at(long n, long count)
{
	(void)n, (void)count;
	return BPG_ERROR;
}

long bpg_test_alloc_count(void)
{
	return 0;
}

bool bpg_test_flag(const char *name)
{
	(void)name;
	return false;
}

void bpg_test_point(const char *name)
{
	(void)name;
}
#endif

void *bpg_malloc(size_t n)
{
	return injected() ? NULL : malloc(n);
}

void *bpg_calloc(size_t n, size_t size)
{
	return injected() ? NULL : calloc(n, size);
}

void *bpg_realloc(void *p, size_t n)
{
	return injected() ? NULL : realloc(p, n);
}

void *bpg_array_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap ? *cap : (first ? first : 1);

	if (!need)
		need = 1;
	if (need <= *cap && v)
		return v;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return NULL;
		n *= 2;
	}
	if (!elem || n > SIZE_MAX / elem)
		return NULL;
	if (!(v = bpg_realloc(v, n * elem)))
		return NULL;
	*cap = n;
	return v;
}

char *bpg_strdup(const char *s)
{
	return injected() ? NULL : strdup(s);
}

char *bpg_strndup(const char *s, size_t n)
{
	return injected() ? NULL : strndup(s, n);
}
