/*
 * bpgate — the library's allocation wrappers and test-only hooks.
 *
 * bpg_malloc/bpg_calloc/bpg_realloc/bpg_strdup/bpg_strndup behave exactly
 * like the C library's functions (free what they return with free()). In a
 * build with tests (meson -Dtests=true, which defines BPG_TEST_HOOKS for the
 * core library) two hooks exist for the tests; in other builds they do
 * nothing:
 *  - bpg_test_alloc_fail_at(n, count): from the n-th wrapped allocation from
 *    now on (0 = the next one), count allocations return NULL (count < 0:
 *    every later one) until the hook is reset with n = -1. Thread-safe (an
 *    atomic counter).
 *  - bpg_test_point(name): when the environment variable
 *    BPGATE_TEST_PAUSE_AT equals name, the process writes its pid to the
 *    file named by BPGATE_TEST_PAUSE_MARKER (when set) and stops itself with
 *    SIGSTOP, so that a test can kill it at that exact point.
 *  - bpg_test_flag(name): true when name is one of the comma-separated
 *    words of BPGATE_TEST_FLAGS, for a test that compares a shortcut with
 *    the long way round; always false in other builds.
 */
#ifndef INCLUDE_bpgate_testhook_h__
#define INCLUDE_bpgate_testhook_h__

#include "common.h"

#include <stdbool.h>

BPG_BEGIN_DECL

BPG_EXTERN(void *) bpg_malloc(size_t n);
BPG_EXTERN(void *) bpg_calloc(size_t n, size_t size);
BPG_EXTERN(void *) bpg_realloc(void *p, size_t n);
BPG_EXTERN(char *) bpg_strdup(const char *s);
BPG_EXTERN(char *) bpg_strndup(const char *s, size_t n);

/**
 * Room for need elements of elem bytes in the array v of *cap elements, the
 * one growth rule of the library's arrays: when need > *cap the capacity
 * doubles (from first when it is 0) until need fits, through bpg_realloc.
 * Returns the array to use from now on, which the caller owns as it owned v,
 * and updates *cap; NULL when the memory cannot be had or the size in bytes
 * would overflow, v and *cap then unchanged (v still the caller's to free).
 * need 0 asks for one element.
 */
BPG_EXTERN(void *) bpg_array_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first);

/** Fail count wrapped allocations from the n-th from now (count < 0: all after
 * it); n = -1 resets. Returns 0, or BPG_ERROR in a build without test hooks. */
BPG_EXTERN(int) bpg_test_alloc_fail_at(long n, long count);
/** Wrapped allocations attempted since the last bpg_test_alloc_fail_at(). */
BPG_EXTERN(long) bpg_test_alloc_count(void);

/** A named point where a test may stop the process (see above). */
BPG_EXTERN(void) bpg_test_point(const char *name);

/** A test-only switch (see above). */
BPG_EXTERN(bool) bpg_test_flag(const char *name);

BPG_END_DECL

#endif
