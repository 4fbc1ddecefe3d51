/*
 * A heap of small blocks for jansson's values in a short process (jsonheap.h
 * says when and why). Blocks of up to SMALL_MAX bytes come from pages of one
 * size class each, carved in order from one reserved region; a freed block
 * goes on the freeing thread's list for its class. No header per block: the
 * class is the page's (class_of[]). Larger blocks, and every block once the
 * region is used up, are malloc()'s; free() tells the two apart by address.
 */
#define _DEFAULT_SOURCE
#include "bpgate/jsonheap.h"
#include "bpgate/buf.h"
#include "bpgate/testhook.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitized.h"

/* json_dumps() through jansson's allocator, copied out to malloc()'s: a caller
 * frees it with free() whichever heap jansson uses. */
static int dump_part(const char *buffer, size_t size, void *data)
{
	return bpg_buf_put(data, buffer, size) < 0 ? -1 : 0;
}

char *bpg_json_dumps(const json_t *json, size_t flags)
{
	bpg_buf b = BPG_BUF_INIT;

	if (json_dump_callback(json, dump_part, &b, flags) < 0 || bpg_buf_put(&b, "", 1) < 0) {
		bpg_buf_dispose(&b);
		return NULL;
	}
	return b.ptr; /* bpg_buf's memory is malloc()'s (buf.h) */
}

#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define STEP 8                      /* class k holds blocks of (k + 1) * STEP bytes */
#define SMALL_MAX 256
#define NCLASS (SMALL_MAX / STEP)
#define PAGE ((size_t)16 << 10)     /* one class per page */
/* The region is made usable 2 MiB at a time, in 4 KiB pages (MADV_NOHUGEPAGE). In a push
 * on the test VM the heap in huge pages ended later (median of 30 pushes each, the gate's own
 * end: 67.2 ms against 62.5, docs/readme/server.md "Eleventh pass"): a huge page needs a free
 * 2 MiB block, which is what a VM with free page reporting has handed back to its host, so
 * the costliest memory to touch again; single pages come from smaller free blocks. */
#define GROW ((size_t)2 << 20)
#define REGION_DEFAULT ((size_t)4 << 30)
#define REGION_MIN ((size_t)64 << 20)   /* under an address-space limit: smaller, not at all */

typedef struct free_block {
	struct free_block *next;
} free_block;

static char *base;                  /* the region, GROW-aligned; NULL: not installed */
static size_t region_size;
static unsigned char *class_of;     /* per page of the region */
static atomic_size_t cursor;        /* the next page to hand out */
static size_t usable;               /* made readable and writable so far (under grow_lock) */
static atomic_size_t usable_seen;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static _Thread_local free_block *free_list[NCLASS];
static _Thread_local char *bump[NCLASS], *bump_end[NCLASS];

/* Make [0, end) of the region usable; false when it cannot be (malloc() then). */
static bool usable_to(size_t end)
{
	bool ok = true;

	if (atomic_load_explicit(&usable_seen, memory_order_acquire) >= end)
		return true;
	pthread_mutex_lock(&grow_lock);
	while (ok && usable < end) {
		ok = mprotect(base + usable, GROW, PROT_READ | PROT_WRITE) == 0;
		if (ok) {
			/* advice only: under THP "always" the kernel would otherwise pick huge pages */
			(void)madvise(base + usable, GROW, MADV_NOHUGEPAGE);
			usable += GROW;
		}
	}
	atomic_store_explicit(&usable_seen, usable, memory_order_release);
	pthread_mutex_unlock(&grow_lock);
	return ok;
}

static void *small_malloc(size_t n)
{
	size_t k = n ? (n - 1) / STEP : 0, size = (k + 1) * STEP, page;
	free_block *b;
	void *p;

	if (n > SMALL_MAX)
		return malloc(n);
	if ((b = free_list[k])) {
		free_list[k] = b->next;
		return b;
	}
	if (!bump[k] || (size_t)(bump_end[k] - bump[k]) < size) {
		page = atomic_fetch_add_explicit(&cursor, 1, memory_order_relaxed);
		if (page >= region_size / PAGE || !usable_to((page + 1) * PAGE))
			return malloc(n); /* the region is used up: malloc()'s, told apart by address */
		class_of[page] = (unsigned char)k; /* before any block of it leaves this thread */
		bump[k] = base + page * PAGE;
		bump_end[k] = bump[k] + PAGE;
	}
	p = bump[k];
	bump[k] += size;
	return p;
}

/* Whether p lies in the region (NULL, or below base, wraps to past it). */
static bool in_region(const void *p)
{
	return base && (uintptr_t)p - (uintptr_t)base < region_size;
}

static void small_free(void *p)
{
	free_block *b = p;
	size_t k;

	if (!in_region(p)) {
		free(p); /* malloc()'s, or NULL */
		return;
	}
	k = class_of[((uintptr_t)p - (uintptr_t)base) / PAGE];
	b->next = free_list[k];
	free_list[k] = b;
}

int bpg_json_heap_install_sized(size_t region)
{
	size_t pages;
	char *r;
	void *map;

	if (base || sizeof(void *) != 8 || region < GROW)
		return 0;
	region &= ~(GROW - 1);
	pages = region / PAGE;
	/* address space only until used: PROT_NONE counts against no commit limit */
	map = mmap(NULL, region + GROW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return 0;
	r = (char *)(((uintptr_t)map + GROW - 1) & ~(uintptr_t)(GROW - 1));
	class_of = mmap(NULL, pages, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (class_of == MAP_FAILED) {
		class_of = NULL;
		munmap(map, region + GROW);
		return 0;
	}
	base = r;
	region_size = region;
	json_set_alloc_funcs(small_malloc, small_free);
	return 1;
}

/* The region to reserve: `want`, or under an address-space limit (RLIMIT_AS, ulimit -v)
 * a quarter of it at most, where the reservation counts in full: the rest of the process
 * (malloc, pack maps, stacks) keeps the other three quarters. 0: none. */
static size_t json_heap_region(size_t want)
{
	struct rlimit rl;
	size_t quarter;

	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	quarter = (size_t)(rl.rlim_cur / 4) & ~(GROW - 1);
	if (quarter < REGION_MIN)
		return 0;
	return quarter < want ? quarter : want;
}

int bpg_json_heap_install(void)
{
#ifdef BPG_SANITIZED
	/* the sanitizer must see every block; a test asks for the heap to run the gate as
	 * release builds do (and the sanitizer then catches a block freed by the wrong heap) */
	if (!bpg_test_flag("json-heap"))
		return 0;
#endif
	return bpg_json_heap_install_sized(json_heap_region(REGION_DEFAULT));
}

bool bpg_json_heap_owns(const void *p)
{
	return in_region(p);
}

#else

bool bpg_json_heap_owns(const void *p)
{
	(void)p;
	return false;
}

int bpg_json_heap_install_sized(size_t region)
{
	(void)region;
	return 0;
}

int bpg_json_heap_install(void)
{
	return 0;
}

#endif
