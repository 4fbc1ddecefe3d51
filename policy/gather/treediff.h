/* Per-commit changed paths by a direct walk of raw tree objects (treediff.c). */
#ifndef BPG_GATHER_TREEDIFF_H
#define BPG_GATHER_TREEDIFF_H

#include <git2.h>
#include <jansson.h>

#include "bpgate/common.h"

/* Holds the object database (a reference of its own: the repository stays
 * the caller's) and the trees kept from one commit for the next. */
typedef struct g_treediff g_treediff;

int g_treediff_new(g_treediff **out, git_repository *repo, bpg_error *err);
void g_treediff_free(g_treediff *t);

/* The paths of blobs that differ between parent_tree (NULL: none) and tree,
 * in git's tree order, as a new JSON array the caller owns; NULL with err set
 * on failure. Call it for commits parents first: each call keeps the trees it
 * read on the new side for the next call. */
json_t *g_treediff_paths(g_treediff *t, const git_oid *parent_tree, const git_oid *tree, bpg_error *err);

#endif
