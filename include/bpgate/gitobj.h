/*
 * bpgate — reading git objects the size of which a push chose.
 *
 * libgit2 inflates a whole object into memory on lookup, so a 1 GiB blob of
 * zeros (a few MB in a pack) would cost the gate 1 GiB before any size check
 * on the object. Every place the gate or the gatherer reads a blob, commit or
 * tree that came from outside goes through here (or checks
 * bpg_git_object_size first), and is refused with BPG_ETOOBIG naming `what`,
 * the size and the limit, one of two ways:
 *
 *  - in a process that installed the bounded allocator
 *    (bpg_git_alloc_install: bpgate-receive, and the bpgate command's hooks and
 *    checks, which start through cli_libgit2_init), libgit2 may not allocate a
 *    block larger than BPG_GIT_READ_MAX (or the read's own limit, when larger)
 *    while the read runs: an object over that, or one whose delta base is, is
 *    never in memory whole; the exact limit is checked on the object read (for
 *    a small limit, up to three blocks of BPG_GIT_READ_MAX may be held before);
 *  - elsewhere, the size is read from the object's header first
 *    (git_odb_read_header: the loose object's first bytes or the pack entry's
 *    header), which for a deltified object opens a zlib stream: a quarter of
 *    the gate's time on a 2,000-commit push, hence the allocator.
 *
 * Ownership: the repository stays the caller's; bytes go into the caller's
 * bpg_buf (appended); objects returned are the caller's to free with
 * libgit2's *_free.
 */
#ifndef INCLUDE_bpgate_gitobj_h__
#define INCLUDE_bpgate_gitobj_h__

#include "common.h"
#include "buf.h"
#include <git2.h>
#include <stdbool.h>

BPG_BEGIN_DECL

/** Largest commit object the gate reads (headers, signature and message). */
#define BPG_GIT_COMMIT_MAX ((size_t)1 << 20)
/** Largest tree object the gate reads (about 700,000 entries). */
#define BPG_GIT_TREE_MAX ((size_t)64 << 20)

/** Largest block libgit2 may allocate during a bounded read whose own limit is smaller. */
#define BPG_GIT_READ_MAX ((size_t)64 << 20)

/**
 * Once, early in main() before any thread starts and after git_libgit2_init:
 * give libgit2 an allocator that refuses, on a thread where a bounded read
 * runs, any block over the read's bound (outside those reads it is malloc).
 * Returns 0, or a negative code when libgit2 refused it (reads then check the
 * header first, as without it).
 */
BPG_EXTERN(int) bpg_git_alloc_install(bpg_error *err);

/** Whether bpg_git_alloc_install() took effect in this process. */
BPG_EXTERN(bool) bpg_git_alloc_bounds_reads(void);

/**
 * Bound this thread's libgit2 allocations to blocks of at most `max` bytes
 * until bpg_git_alloc_unbound(). Used by the reads below; exposed for tests.
 */
BPG_EXTERN(void) bpg_git_alloc_bound(size_t max);

/**
 * End the bound. Returns -1 when an allocation was refused since
 * bpg_git_alloc_bound (*refused: the largest size asked for; *oom: none was
 * too large, the C library had no memory), else 0.
 */
BPG_EXTERN(int) bpg_git_alloc_unbound(size_t *refused, bool *oom);

/**
 * Around libgit2 work that reads objects itself, with none of the reads below
 * (a revision walk, a diff of two trees): while it runs, libgit2 may allocate
 * no block over BPG_GIT_READ_MAX on this thread, so a huge commit or tree of a
 * push is refused as it is read instead of held. bpg_git_work_end() is 0, or
 * BPG_ETOOBIG naming `what` and the limit when a block was refused (the
 * libgit2 call failed then: report this error, not libgit2's), or BPG_ENOMEM.
 * Without the bounded allocator both do nothing and the work is not bounded.
 */
BPG_EXTERN(void) bpg_git_work_begin(void);
BPG_EXTERN(int) bpg_git_work_end(const char *what, bpg_error *err) BPG_WARN_UNUSED;
/**
 * The size and type of object `id` from its header. BPG_ENOTFOUND when the
 * object does not exist; BPG_ETOOBIG when it is larger than `max` (size
 * still set); BPG_EINVALID when `want` is not GIT_OBJECT_ANY and the type
 * differs. Messages name `what` ("tests/fixtures/x.bin").
 */
BPG_EXTERN(int) bpg_git_object_size(size_t *size, git_object_t *type, git_repository *repo,
	const git_oid *id, git_object_t want, size_t max, const char *what, bpg_error *err);

/**
 * git_odb_read of object `id`, of type `want` (GIT_OBJECT_ANY: any) and at
 * most max bytes, bounded as above. *out is the caller's (git_odb_object_free).
 */
BPG_EXTERN(int) bpg_git_odb_read(git_odb_object **out, git_odb *odb, const git_oid *id, git_object_t want,
	size_t max, const char *what, bpg_error *err);

/** Append the blob `id` (at most max bytes, bounded as above) to out. */
BPG_EXTERN(int) bpg_git_blob_read(bpg_buf *out, git_repository *repo, const git_oid *id, size_t max,
	const char *what, bpg_error *err);

/** git_commit_lookup after the header check (max BPG_GIT_COMMIT_MAX). */
BPG_EXTERN(int) bpg_git_commit_lookup(git_commit **out, git_repository *repo, const git_oid *id,
	const char *what, bpg_error *err);

/** git_tree_lookup, bounded as above (max BPG_GIT_TREE_MAX). */
BPG_EXTERN(int) bpg_git_tree_lookup(git_tree **out, git_repository *repo, const git_oid *id,
	const char *what, bpg_error *err);

/**
 * libgit2's last error message of this thread, or "git error" when it left
 * none. The text is libgit2's (valid until its next call on this thread);
 * nothing is cleared.
 */
BPG_EXTERN(const char *) bpg_git_message(void);

/**
 * Set err to "<what>: <libgit2's last message>" (BPG_ERROR), clear
 * libgit2's error and return BPG_ERROR: for a libgit2 call that failed.
 */
BPG_EXTERN(int) bpg_git_fail(bpg_error *err, const char *what);

BPG_END_DECL

#endif
