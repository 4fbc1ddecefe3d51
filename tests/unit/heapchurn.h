/*
 * Malloc under the heap tuning, checked: the one churn both heap tests run
 * (test_core under Criterion, heap_plain without the sanitizers).
 */
#ifndef TESTS_UNIT_HEAPCHURN_H
#define TESTS_UNIT_HEAPCHURN_H

#include <stddef.h>

/* Allocate blocks of varied sizes (16 to ~4 KiB), fill each with a byte of its
 * own, check every block's first and last byte, and free them all. On a thread
 * started for the facts (tuned != 0) it first calls bpg_heap_thread_start().
 * 1 when every byte read back as written, 0 otherwise (or out of memory). */
int ut_heap_churn(size_t blocks, int tuned);

#endif
