/*
 * bpgate — a heap of small blocks for jansson's values, for a short process
 * that builds a large facts document (the gate, bpgate-receive).
 *
 * A 2,000-commit push makes the gate hold ~480,000 JSON values and strings
 * at once, ~60 bytes each. malloc() gives each a header and rounds it to 16
 * bytes: about a fifth of that memory is overhead, and the gate's own time
 * in a push grows with every fresh page it touches (on the test VM freed
 * memory goes back to the host, which must provide it again). Here blocks of
 * up to 256 bytes are rounded to 8, without a header, from pages of one size
 * each; a freed block is kept for the freeing thread's next block of its
 * size. Larger blocks are malloc()'s, and so is every block once the region
 * reserved for the small ones (4 GiB of address space, made usable 2 MiB at
 * a time; under an address-space limit, RLIMIT_AS, a quarter of the limit at
 * most, and no heap when that is under 64 MiB) is used up. Memory freed here is not returned to the system before
 * the process exits, which is why this is for short processes only.
 *
 * jansson has one allocator per process: once installed, json_dumps()
 * returns memory of this heap, which free() must not see. The project calls
 * bpg_json_dumps() instead, everywhere (tests/e2e/sources.sh).
 *
 * Without Linux nothing is installed; under a sanitizer (whose checks must
 * see every block) only when a test asks (test flag json-heap, testhook.h).
 */
#ifndef INCLUDE_bpgate_jsonheap_h__
#define INCLUDE_bpgate_jsonheap_h__

#include "common.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

BPG_BEGIN_DECL

/**
 * Once, early in main(), before any other thread starts: make jansson take
 * its blocks from this heap. Returns 1 when installed, 0 when not (nothing
 * changed). Values allocated before stay valid: each block is freed by the
 * heap it came from.
 */
BPG_EXTERN(int) bpg_json_heap_install(void);

/** The same with a region of `region` bytes (tests: a region that runs out), also
 * under a sanitizer. */
BPG_EXTERN(int) bpg_json_heap_install_sized(size_t region);

/** Whether p is a block of this heap (tests). */
BPG_EXTERN(bool) bpg_json_heap_owns(const void *p);

/**
 * json_dumps(json, flags), in memory of malloc() (the caller free()s it),
 * whichever heap jansson uses. NULL on failure.
 */
BPG_EXTERN(char *) bpg_json_dumps(const json_t *json, size_t flags);

BPG_END_DECL

#endif
