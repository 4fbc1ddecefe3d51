/*
 * Heap tuning: large heap steps and transparent huge pages (see heap.h for
 * why). Advice and malloc settings only: a failure leaves malloc working as
 * it would by default (the break may have moved to a 2 MiB boundary first).
 */
#define _DEFAULT_SOURCE
#include "bpgate/heap.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "sanitized.h"

#if defined(__GLIBC__) && defined(__linux__) && !defined(BPG_SANITIZED)
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define TOP_PAD ((size_t)64 << 20)
/* glibc gives each thread arena one mapping of this size, aligned to it
 * (HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit). */
#define THREAD_HEAP ((uintptr_t)64 << 20)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1; glibc's headers have it from 2.37 */
#endif

#define GROW_TRIES 8

static atomic_bool taken;

/* Whether huge pages may be made by collapse: MADV_COLLAPSE ignores the
 * system's setting, so it is asked for only where the administrator has not
 * turned huge pages off (a setting that cannot be read counts as off). */
static bool collapse_allowed(void)
{
	static atomic_int allowed = -1; /* read once (threads that race read the same) */
	char buf[128];
	ssize_t n = -1;
	int fd, a = atomic_load(&allowed);

	if (a >= 0)
		return a;
	if ((fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n > 0)
		buf[n] = '\0';
	a = n > 0 && strstr(buf, "[never]") == NULL;
	atomic_store(&allowed, a);
	return a;
}

static void collapse(uintptr_t at)
{
	if (collapse_allowed())
		(void)madvise((void *)at, HUGE_PAGE, MADV_COLLAPSE);
}

static void advise(uintptr_t lo, uintptr_t hi)
{
	lo = (lo + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	hi &= ~(HUGE_PAGE - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

int bpg_heap_tune_for_facts(void)
{
	void *grow[GROW_TRIES] = { NULL };
	uintptr_t before, after;
	size_t i;

	mallopt(M_MXFAST, 0); /* see heap.h */
	if (sizeof(void *) != 8 || atomic_load(&taken) || mallopt(M_TOP_PAD, (int)TOP_PAD) != 1)
		return 0;
	/* Start the step on a huge-page boundary. Advice covers whole 2 MiB pages
	 * only, so the one the break sat in (up to 2 MiB of the memory malloc
	 * hands out first) was faulted 4 KiB at a time: ~440 faults, ~5 ms of a
	 * 2,000-commit push on the test VM. The memory up to the boundary is taken
	 * and never touched (address space only); glibc takes the break moving
	 * under it as a foreign sbrk, fences its old top off and keeps that small
	 * remainder for small blocks. */
	before = (uintptr_t)sbrk(0);
	if (before != (uintptr_t)-1 && (before & (HUGE_PAGE - 1)) &&
	    sbrk((intptr_t)(HUGE_PAGE - (before & (HUGE_PAGE - 1)))) != (void *)-1)
		before = (uintptr_t)sbrk(0);
	/* Make the main heap take its large step now, so the advice covers the
	 * memory malloc hands out next: a later brk extension is a new mapping
	 * without it. Each block stays under the mmap threshold; the first ones
	 * may come from the old top. */
	for (i = 0; i < GROW_TRIES && (uintptr_t)sbrk(0) - before < TOP_PAD / 2; i++)
		grow[i] = malloc(60 * 1024);
	after = (uintptr_t)sbrk(0);
	for (i = 0; i < GROW_TRIES; i++)
		free(grow[i]);
	if (before == (uintptr_t)-1 || after - before < TOP_PAD / 2) {
		mallopt(M_TOP_PAD, 128 * 1024); /* glibc's default: leave the heap as it was */
		return 0;
	}
	advise(before, after);
	/* malloc wrote its headers at the start of the step before the advice,
	 * which leaves that first 2 MiB to 4 KiB faults: make it one huge page
	 * now (kernels before 6.1 refuse; it then stays as it was) */
	if (!(before & (HUGE_PAGE - 1)))
		collapse(before);
	atomic_store(&taken, true);
	return 1;
}

/* what bpg_heap_tune_for_hook() allocates and keeps, where the compiler cannot drop it
 * (an unused malloc() result may be removed, and the filler is never used) */
static void *volatile hook_blocks[2];

int bpg_heap_tune_for_hook(void)
{
	uintptr_t big, aligned, hdr = 2 * sizeof(size_t);
	void *filler, *next;
	int in;

	if (sizeof(void *) != 8 || atomic_load(&taken) || mallopt(M_MMAP_THRESHOLD, 8 << 20) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, 64 << 20) != 1)
		return 0;
	/* A block spanning a whole aligned 2 MiB, carved from the top of the heap; once
	 * freed it is the top again and malloc hands memory out from its start. */
	if (!(hook_blocks[0] = malloc(2 * HUGE_PAGE + 4096)))
		return 0;
	big = (uintptr_t)hook_blocks[0];
	aligned = (big + hdr + 64 + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	(void)madvise((void *)aligned, HUGE_PAGE, MADV_HUGEPAGE);
	free(hook_blocks[0]);
	/* up to the boundary: a block never written past its header; the next chunk starts
	 * at the boundary (its header just below it), and malloc's first write past the
	 * boundary, the top chunk's header behind that chunk, faults the huge page */
	hook_blocks[0] = filler = malloc(aligned - big - hdr); /* kept: address space only */
	hook_blocks[1] = next = malloc(16);
	in = filler && next && (uintptr_t)next >= aligned && (uintptr_t)next < aligned + HUGE_PAGE;
	free(next);
	hook_blocks[1] = NULL;
	atomic_store(&taken, true);
	return in;
}

void bpg_heap_thread_start(void)
{
	void *probe;
	uintptr_t at, heap;

	if (!atomic_load(&taken) || !(probe = malloc(64)))
		return;
	at = (uintptr_t)probe;
	free(probe);
	if (at < (uintptr_t)sbrk(0))
		return; /* in the main heap (brk lies below the mmap area): advised already */
	heap = at & ~(THREAD_HEAP - 1);
	/* A fresh thread arena hands out its first blocks right after its header
	 * at the start of the aligned mapping; anything else (the main arena on
	 * mmap'd memory after brk failed) is not advised. */
	if (at - heap > ((uintptr_t)1 << 20))
		return;
	advise(heap, heap + THREAD_HEAP);
	/* The arena's first malloc wrote its header before the advice, so its
	 * first 2 MiB would go on in 4 KiB faults (~500 on the commits' thread of
	 * a 2,000-commit push): make it one huge page now, as the rest will be.
	 * Kernels before 6.1 refuse, and it stays as it was. */
	collapse(heap);
}

bool bpg_heap_exit_frees_skippable(void)
{
	return true;
}

#else

bool bpg_heap_exit_frees_skippable(void)
{
	return false;
}

int bpg_heap_tune_for_facts(void)
{
	return 0;
}

int bpg_heap_tune_for_hook(void)
{
	return 0;
}

void bpg_heap_thread_start(void)
{
}

#endif
