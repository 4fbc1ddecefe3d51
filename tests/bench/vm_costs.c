/* What a first touch of memory costs on this machine (tests/bench/vm_costs.sh): fresh
 * 4 KiB pages one fault each, the same after MADV_POPULATE_WRITE, and one transparent huge
 * page (2 MiB, advised). Why the hooks put their heap in a huge page (policy/core/heap.c). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PAGES 512
#define PAGE 4096
#define HUGE ((uintptr_t)2 << 20)

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static char *fresh(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
	char *a = fresh(PAGES * PAGE), *b = fresh(PAGES * PAGE), *c = fresh(2 * HUGE), *h;
	double t0, t1, t2, t3, t4, t5;

	if (!a || !b || !c)
		return 2;
	t0 = now_us();
	for (size_t i = 0; i < PAGES; i++)
		a[i * PAGE] = 1;
	t1 = now_us();
	(void)madvise(b, PAGES * PAGE, MADV_POPULATE_WRITE);
	t2 = now_us();
	for (size_t i = 0; i < PAGES; i++)
		b[i * PAGE] = 1;
	t3 = now_us();
	h = (char *)(((uintptr_t)c + HUGE - 1) & ~(HUGE - 1));
	(void)madvise(h, HUGE, MADV_HUGEPAGE);
	t4 = now_us();
	for (size_t i = 0; i < HUGE / PAGE; i++)
		h[i * PAGE] = 1;
	t5 = now_us();
	printf("4 KiB page, first touch: %.2f us each | populated: %.2f us each + touch %.2f us each | "
		"one 2 MiB huge page, first touches of its 512 pages: %.0f us in all\n",
		(t1 - t0) / PAGES, (t2 - t1) / PAGES, (t3 - t2) / PAGES, t5 - t4);
	return 0;
}
