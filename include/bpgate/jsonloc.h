/*
 * bpgate — where is a JSON value in its text?
 *
 * jansson gives line and column only for syntax errors, never for values of a
 * document that parsed. Validation errors ("expected a string at /rules/x")
 * must still say file:line:column, so this small position index re-scans the
 * text along a JSON pointer.
 *
 * Pure and bounded: one forward pass over at most `len` bytes, no recursion,
 * no allocation beyond a scratch buffer for one decoded key at a time.
 * The text is expected to be JSON that jansson already accepted; on text that
 * is not, the functions fail with BPG_EINVALID rather than guess.
 */
#ifndef INCLUDE_bpgate_jsonloc_h__
#define INCLUDE_bpgate_jsonloc_h__

#include "common.h"
#include <stdbool.h>

BPG_BEGIN_DECL

typedef struct {
	unsigned line;   /**< 1-based */
	unsigned column; /**< 1-based, in characters (UTF-8 code points), like jansson */
	size_t offset;   /**< byte offset of the value (or key) */
} bpg_jsonloc;

/**
 * Locate the value named by the RFC 6901 pointer `pointer` ("" is the whole
 * document). With `key` true and the pointer ending in an object member,
 * locate the member's key (its opening quote) instead of its value.
 * Returns 0, BPG_ENOTFOUND when the pointer names nothing, or BPG_EINVALID
 * on malformed text or pointer. A leading UTF-8 BOM is skipped.
 */
BPG_EXTERN(int) bpg_jsonloc_find(bpg_jsonloc *out, const char *text, size_t len,
	const char *pointer, bool key, bpg_error *err);

/** Line and column of a byte offset (clamped to len). */
BPG_EXTERN(void) bpg_jsonloc_of_offset(bpg_jsonloc *out, const char *text, size_t len, size_t offset);

BPG_END_DECL

#endif
