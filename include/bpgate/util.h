/*
 * bpgate — small helpers shared by the engine modules: path globs, JSON
 * pointers, hex, masking and safe printing of untrusted text.
 *
 * Everything here is pure (no I/O) and allocation-free unless it takes a
 * bpg_buf, whose memory stays the caller's.
 */
#ifndef INCLUDE_bpgate_util_h__
#define INCLUDE_bpgate_util_h__

#include "common.h"
#include "buf.h"
#include <stdbool.h>

BPG_BEGIN_DECL

/**
 * Match a '/'-separated path against a glob in the style of .gitignore:
 * `*` and `?` do not cross '/', `**` matches any number of directories
 * (including none), `[abc]`/`[a-z]`/`[!x]` classes. A glob with no '/'
 * matches the last path component anywhere ("*.json"). Bounded: the
 * matcher does no exponential backtracking.
 */
BPG_EXTERN(bool) bpg_glob_match(const char *glob, const char *path);

/** Append a JSON pointer token (RFC 6901 escaping of '~' and '/'): "/" + token. */
BPG_EXTERN(int) bpg_jsonptr_push(bpg_buf *ptr, const char *token, size_t len);
/** Append an array index token: "/" + index. */
BPG_EXTERN(int) bpg_jsonptr_push_index(bpg_buf *ptr, size_t index);

/** Lower-case hex of len bytes into out (2*len+1 bytes). */
BPG_EXTERN(void) bpg_hex_encode(char *out, const unsigned char *in, size_t len);
/** Decode exactly outlen bytes of hex; BPG_EINVALID on a bad digit or length. */
BPG_EXTERN(int) bpg_hex_decode(unsigned char *out, size_t outlen, const char *hex, size_t hexlen);

/** SHA-256 of a buffer as lower-case hex (65 bytes with the NUL). */
BPG_EXTERN(void) bpg_sha256_hex(char out[65], const void *data, size_t len);

/**
 * Append a masked form of a sensitive value: a few characters at each end at
 * most (never more than a quarter of the value) with '*' in between, so two
 * findings can be told apart but the value cannot be recovered.
 */
BPG_EXTERN(int) bpg_mask_put(bpg_buf *out, const char *value, size_t len);

/**
 * Append untrusted text for display on a terminal or in a single-line
 * message: control characters (C0, DEL, C1) and invalid UTF-8 are written
 * as \xNN escapes, at most max_chars bytes of input are shown ("..." after).
 */
BPG_EXTERN(int) bpg_safe_put(bpg_buf *out, const char *text, size_t len, size_t max_chars);

/** Is this byte sequence valid UTF-8 (no overlongs, no surrogates)? */
BPG_EXTERN(bool) bpg_utf8_valid(const char *s, size_t len);

BPG_END_DECL

#endif
