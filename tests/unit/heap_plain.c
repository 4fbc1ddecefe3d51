/*
 * The heap tuning (bpgate/heap.h) as release builds run it. The test build is
 * sanitized, and under a sanitizer the tuning does nothing, so this program is
 * built without one by tests/unit/heap_plain.sh (install/test.sh runs it):
 * glibc's main heap after its break was moved to a 2 MiB boundary, the huge-page
 * advice on it, and malloc on the main thread and on a tuned thread, with every
 * block's bytes checked. Exit 0 when all holds, 77 when the tuning does not
 * apply here (not glibc on 64-bit Linux), 1 with a message otherwise.
 */
#define _GNU_SOURCE
#include "bpgate/heap.h"
#include "heapchurn.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCKS 50000

static int fail(const char *what)
{
	fprintf(stderr, "heap_plain: %s\n", what);
	return 1;
}

/* BLOCKS blocks of varied sizes, each filled with its own byte, checked, freed */
static void *churn(void *tuned)
{
	return ut_heap_churn(BLOCKS, tuned != NULL) ? (void *)1 : NULL;
}

/* THPeligible of the mapping holding addr, from /proc/self/smaps: 1, 0, or -1 if not found */
static int thp_eligible(uintptr_t addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, r = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line */
			in = addr >= lo && addr < hi;
			continue;
		}
		if (in && strncmp(line, "THPeligible:", 12) == 0) {
			r = atoi(line + 12);
			break;
		}
	}
	fclose(f);
	return r;
}

int main(void)
{
	char setting[128] = "";
	FILE *f;
	pthread_t t;
	void *ok = NULL;
	int tuned = bpg_heap_tune_for_facts();

	if (!tuned) {
		puts("heap_plain: SKIP: the tuning does not apply here (not glibc on 64-bit Linux, or the heap cannot grow)");
		return 77;
	}
	if (bpg_heap_tune_for_facts() != 0)
		return fail("the tuning was taken twice");
	if ((f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r"))) {
		if (!fgets(setting, sizeof(setting), f))
			setting[0] = '\0';
		fclose(f);
	}
	/* the 64 MiB step is advised (whole 2 MiB pages of it: 8 MiB under the break is one);
	 * checked where the system's setting and /proc/self/smaps can be read */
	if (setting[0] && !strstr(setting, "[never]") &&
	    thp_eligible((uintptr_t)sbrk(0) - ((uintptr_t)8 << 20)) == 0)
		return fail("the main heap's step is not eligible for huge pages");
	if (!churn(NULL))
		return fail("malloc on the main thread after the tuning lost bytes");
	if (pthread_create(&t, NULL, churn, (void *)1) != 0 || pthread_join(t, &ok) != 0 || !ok)
		return fail("malloc on a tuned thread lost bytes");
	if (!churn(NULL))
		return fail("malloc on the main thread after the thread lost bytes");
	puts("heap_plain: ok (tuned heap: main thread and a tuned thread, 50,000 blocks each, bytes checked)");
	return 0;
}
