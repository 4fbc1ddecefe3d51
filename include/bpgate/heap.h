/*
 * bpgate — heap tuning for short processes that build large fact documents.
 *
 * A large push makes the gate allocate tens of megabytes of small JSON
 * values, libgit2 objects and blueprint models in a few hundred
 * milliseconds. On virtual machines every first touch of a 4 KiB page is an
 * expensive fault (about a third of the gate's CPU time on the 2,000-commit
 * benchmark). These calls ask glibc to grow its heaps in large steps and the
 * kernel to back them with transparent huge pages, which is what
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.top_pad=... would do
 * (a git hook cannot choose its environment). The main heap's step starts on
 * a 2 MiB boundary, and the first 2 MiB of it and of an advised thread arena,
 * which malloc wrote before the advice, are made one huge page
 * (MADV_COLLAPSE, Linux 6.1; not where huge pages are turned off): otherwise
 * the busiest 2 MiB of each went on in 4 KiB faults. A collapse is
 * synchronous and may compact memory whatever the system's defrag setting
 * (like a huge-page fault in an advised region with defrag = madvise, the
 * default); it looks at the system-wide setting only, not at the per-size
 * ones of Linux 6.8.
 *
 * Advice to the kernel only: without transparent huge pages
 * (/sys/kernel/mm/transparent_hugepage/enabled = never) the pages stay
 * 4 KiB. The malloc settings do change: glibc grows the main heap 64 MiB at
 * a time and, as with any fixed M_TOP_PAD, no longer raises its mmap
 * threshold by itself, so blocks over 128 KiB are always mapped afresh (the
 * gate has few of those). Without glibc or under a sanitizer nothing changes
 * at all; when the heap cannot grow by the step, the break may have moved to
 * the next 2 MiB boundary (address space only, counted by mallinfo2) and the
 * rest is as by default. Nothing is allocated for the caller.
 */
#ifndef INCLUDE_bpgate_heap_h__
#define INCLUDE_bpgate_heap_h__

#include "common.h"

#include <stdbool.h>

BPG_BEGIN_DECL

/**
 * Once, early in main(), before any thread starts: turn glibc's fastbins off
 * (the few hundred thousand small JSON values of a large push's facts would
 * otherwise be consolidated in one long pass inside the next large free,
 * ~8 % of a 2,000-commit push), grow the main heap in 64 MiB steps and
 * advise huge pages for it. Returns 1 when the huge-page advice was taken,
 * 0 when it does not apply here.
 */
BPG_EXTERN(int) bpg_heap_tune_for_facts(void);

/**
 * Once, first thing in main(), for a process with a small heap (a git hook judging one
 * staged change: a few hundred KiB): put the allocations that follow in one
 * transparent huge page. The heap grows from wherever the C library left it, rarely
 * on a 2 MiB boundary, so the memory up to the next one is taken by a block that is
 * never touched (address space only), and the 2 MiB after it are advised as a huge
 * page: one fault and 2 MiB zeroed (~0.2 ms on the test VM) instead of a fault per
 * 4 KiB page touched (~11 us each there, ~1.2 ms for a commit's hook). Blocks up to
 * 8 MiB then come from the heap, which is not trimmed. Returns 1 when the next block
 * malloc() gives is in the advised page, 0 otherwise (nothing to undo either way).
 */
BPG_EXTERN(int) bpg_heap_tune_for_hook(void);

/**
 * First thing on a worker thread that allocates much: advise huge pages for
 * that thread's own malloc heap too. Does nothing unless
 * bpg_heap_tune_for_facts() took effect or bpg_heap_tune_for_hook() was called.
 */
BPG_EXTERN(void) bpg_heap_thread_start(void);

/**
 * Whether a short process may leave to the kernel the values it would free
 * just before exiting. Freeing a large push's facts walks hundreds of
 * thousands of JSON values one by one (~5 % of the gate's time on the
 * 2,000-commit benchmark) for memory the exit returns anyway. False under a
 * sanitizer, whose leak check must see every free, so the tests still prove
 * that nothing else leaks.
 */
BPG_EXTERN(bool) bpg_heap_exit_frees_skippable(void);

BPG_END_DECL

#endif
