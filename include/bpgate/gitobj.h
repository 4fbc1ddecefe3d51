/*
 * bpgate — reading git objects the size of which a push chose.
 *
 * libgit2 inflates a whole object into memory on lookup, so a 1 GiB blob of
 * zeros (a few MB in a pack) would cost the gate 1 GiB before any size check
 * on the object. These read the size from the object's header first
 * (git_odb_read_header: the loose object's first bytes or the pack entry's
 * header) and refuse an object over `max` with BPG_ETOOBIG naming `what`,
 * its size and the limit, without inflating it. Every place the gate or the
 * gatherer reads a blob, commit or tree that came from outside goes through
 * here (or checks bpg_git_object_size first).
 *
 * Ownership: the repository stays the caller's; bytes go into the caller's
 * bpg_buf (appended).
 */
#ifndef INCLUDE_bpgate_gitobj_h__
#define INCLUDE_bpgate_gitobj_h__

#include "common.h"
#include "buf.h"
#include <git2.h>

BPG_BEGIN_DECL

/** Largest commit object the gate reads (headers, signature and message). */
#define BPG_GIT_COMMIT_MAX ((size_t)1 << 20)
/** Largest tree object the gate reads (about 700,000 entries). */
#define BPG_GIT_TREE_MAX ((size_t)64 << 20)

/**
 * The size and type of object `id` from its header. BPG_ENOTFOUND when the
 * object does not exist; BPG_ETOOBIG when it is larger than `max` (size
 * still set); BPG_EINVALID when `want` is not GIT_OBJECT_ANY and the type
 * differs. Messages name `what` ("tests/fixtures/x.bin").
 */
BPG_EXTERN(int) bpg_git_object_size(size_t *size, git_object_t *type, git_repository *repo,
	const git_oid *id, git_object_t want, size_t max, const char *what, bpg_error *err);

/** Append the blob `id` (at most max bytes, checked before it is read) to out. */
BPG_EXTERN(int) bpg_git_blob_read(bpg_buf *out, git_repository *repo, const git_oid *id, size_t max,
	const char *what, bpg_error *err);

/** git_commit_lookup after the header check (max BPG_GIT_COMMIT_MAX). */
BPG_EXTERN(int) bpg_git_commit_lookup(git_commit **out, git_repository *repo, const git_oid *id,
	const char *what, bpg_error *err);

/** git_tree_lookup after the header check (max BPG_GIT_TREE_MAX). */
BPG_EXTERN(int) bpg_git_tree_lookup(git_tree **out, git_repository *repo, const git_oid *id,
	const char *what, bpg_error *err);

BPG_END_DECL

#endif
