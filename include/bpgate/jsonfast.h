/*
 * bpgate — a faster json_loadb() for the documents the gate reads by the
 * thousand (blueprints, contracts, policy files).
 *
 * jansson's reader costs ~125 instructions a byte (one call per byte of
 * input); a 2,000-commit push parses a thousand blueprint versions. This
 * reader covers the common case only: strict JSON, an object or an array at
 * the top, strings without \u escapes, integers that fit json_int_t, reals of
 * up to 64 characters read by strtod() as jansson reads them, no duplicate
 * keys, nesting under 512 levels. On anything else (a longer real, an overflow,
 * a \u escape, any error) it hands the whole input to json_loadb(), so
 * whatever it returns, values, key order, types and every error's text,
 * line and column, is exactly what json_loadb() returns
 * (tests/unit/test_jsonfast.c compares the two).
 *
 * Ownership: as json_loadb(): the caller owns the returned value
 * (json_decref()); NULL with *error filled on failure.
 */
#ifndef INCLUDE_bpgate_jsonfast_h__
#define INCLUDE_bpgate_jsonfast_h__

#include <jansson.h>

#include "common.h"

BPG_BEGIN_DECL

/** json_loadb(buffer, buflen, flags, error), faster; flags other than 0 and
 * JSON_REJECT_DUPLICATES go straight to json_loadb(). */
BPG_EXTERN(json_t *) bpg_json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error);

BPG_END_DECL

#endif
