/* Internal layout of the blueprint model shared by the module's files. */
#ifndef BPG_BLUEPRINT_INTERNAL_H
#define BPG_BLUEPRINT_INTERNAL_H

#include "bpgate/blueprint.h"
#include "bpgate/testhook.h"
#include "bpgate/buf.h"
#include "bpgate/util.h"

/* Every string the model hands out (split names, pointers, paths, ids as
 * text) lives in this pool, freed with the blueprint. */
typedef struct {
	char **items;
	size_t count, alloc;
} bp_pool;

typedef struct {
	bpg_reference *refs;
	size_t nrefs, arefs;
	bpg_literal *lits;
	size_t nlits, alits;
} bp_module_extra;

struct bpg_blueprint {
	json_t *root;            /* owned */
	const json_t *doc;       /* the blueprint object (root, or an API wrapper's inner blueprint) */
	const char *name;
	const char *zone;
	bpg_module *modules;
	bp_module_extra *extra;  /* parallel to modules */
	size_t nmodules, amodules;
	bp_pool pool;
};

const char *bp_pool_strndup(bp_pool *pool, const char *s, size_t len);
const char *bp_pool_printf(bp_pool *pool, const char *fmt, ...) BPG_PRINTF(2, 3);
void bp_pool_dispose(bp_pool *pool);

/* Compact single-line JSON of a value for display, truncated to max bytes of
 * text ("..." appended); NULL for a NULL value. Stored in the pool. */
const char *bp_display_value(bp_pool *pool, const json_t *v, size_t max);

#endif
