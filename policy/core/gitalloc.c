/*
 * libgit2's allocations, bounded while the gate reads one object
 * (bpgate/gitobj.h: bpg_git_alloc_install).
 *
 * Why: the size of an object a push chose must be bounded before the object
 * is in memory. Asking libgit2 for the size first (git_odb_read_header)
 * does that, but for a deltified object in a pack it opens a zlib stream
 * (~40 KiB of state) to read the delta's first bytes: on a 2,000-commit push
 * that was a quarter of the gate's time, for trees read right afterwards
 * anyway. Instead, while a bounded read runs on a thread, every allocation
 * libgit2 makes on that thread larger than the bound is refused: the object
 * itself (one block of its size + 1), its delta bases and its compressed
 * bytes alike, so nothing larger than the bound is ever allocated — a
 * stronger guarantee than the header, which never bounded the delta bases.
 * The refused size is recorded for the error message.
 *
 * Only libgit2's own allocations pass here (zlib's state is allocated by
 * zlib). Outside a bounded read nothing is refused: libgit2's maps and
 * caches keep growing as before.
 */
#include "bpgate/gitobj.h"

#include <git2/sys/alloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Per thread: the bound of the read in progress (0: none) and what was refused. */
static _Thread_local size_t read_bound;
static _Thread_local size_t refused_size;
static _Thread_local bool refused_oom;
static atomic_bool installed;

/* Whether a block of n bytes may be allocated now; records the refusal. */
static bool allowed(size_t n)
{
	if (read_bound && n > read_bound) {
		if (n > refused_size)
			refused_size = n;
		return false;
	}
	return true;
}

/* libgit2 before 1.7 expects its allocator to record an allocation that failed
 * (GIT_ERROR_CHECK_ALLOC only returns -1); 1.7 records it itself. */
static void *failed(void)
{
#if LIBGIT2_VER_MAJOR < 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR < 7)
	git_error_set_oom();
#endif
	return NULL;
}

static void *noted(void *p)
{
	if (p)
		return p;
	if (read_bound)
		refused_oom = true;
	return failed();
}

static void *a_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return allowed(n) ? noted(malloc(n)) : failed();
}

static void *a_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return allowed(n) ? noted(realloc(p, n)) : failed();
}

static void a_free(void *p)
{
	free(p);
}

#if LIBGIT2_VER_MAJOR < 1 || (LIBGIT2_VER_MAJOR == 1 && LIBGIT2_VER_MINOR < 7)
/* libgit2 before 1.7 asks its allocator for these too (1.7 keeps only the three above). */
static bool array_size(size_t *out, size_t nelem, size_t elsize)
{
	if (elsize && nelem > SIZE_MAX / elsize)
		return false;
	*out = nelem * elsize;
	return true;
}

static void *a_calloc(size_t nelem, size_t elsize, const char *file, int line)
{
	size_t n;
	(void)file;
	(void)line;
	return array_size(&n, nelem, elsize) && allowed(n) ? noted(calloc(nelem, elsize)) : failed();
}

static char *a_substrdup(const char *s, size_t n, const char *file, int line)
{
	char *p = n < SIZE_MAX ? a_malloc(n + 1, file, line) : failed();
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static char *a_strdup(const char *s, const char *file, int line)
{
	return a_substrdup(s, strlen(s), file, line);
}

static char *a_strndup(const char *s, size_t n, const char *file, int line)
{
	const char *nul = memchr(s, '\0', n);
	return a_substrdup(s, nul ? (size_t)(nul - s) : n, file, line);
}

static void *a_reallocarray(void *p, size_t nelem, size_t elsize, const char *file, int line)
{
	size_t n;
	return array_size(&n, nelem, elsize) ? a_realloc(p, n, file, line) : failed();
}

static void *a_mallocarray(size_t nelem, size_t elsize, const char *file, int line)
{
	return a_reallocarray(NULL, nelem, elsize, file, line);
}

static git_allocator bounded_allocator = {
	a_malloc, a_calloc, a_strdup, a_strndup, a_substrdup, a_realloc, a_reallocarray, a_mallocarray, a_free
};
_Static_assert(sizeof(git_allocator) == 9 * sizeof(void (*)(void)), "libgit2's allocator has 9 members before 1.7");
#else
static git_allocator bounded_allocator = { a_malloc, a_realloc, a_free };
_Static_assert(sizeof(git_allocator) == 3 * sizeof(void (*)(void)), "libgit2's allocator has 3 members from 1.7");
#endif

int bpg_git_alloc_install(bpg_error *err)
{
	if (atomic_load(&installed))
		return 0;
	if (git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &bounded_allocator) < 0) {
		git_error_clear();
		return bpg_error_set(err, BPG_ERROR, "cannot install the bounded allocator in libgit2");
	}
	atomic_store(&installed, true);
	return 0;
}

bool bpg_git_alloc_bounds_reads(void)
{
	return atomic_load(&installed);
}

void bpg_git_alloc_bound(size_t max)
{
	read_bound = max;
	refused_size = 0;
	refused_oom = false;
}

int bpg_git_alloc_unbound(size_t *refused, bool *oom)
{
	bool hit = refused_size || refused_oom;

	if (refused)
		*refused = refused_size;
	if (oom)
		*oom = refused_oom && !refused_size;
	read_bound = 0;
	refused_size = 0;
	refused_oom = false;
	return hit ? -1 : 0;
}
