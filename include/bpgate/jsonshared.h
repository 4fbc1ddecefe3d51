/*
 * bpgate — short JSON strings shared by text, within one thread.
 *
 * A large push's facts repeat the same short strings tens of thousands of
 * times: module names, containers, JSON pointers, reference kinds and ids,
 * authors' names and e-mail addresses, trailer values. Each is a jansson
 * value and a copy of its text (~56 bytes), and on the test VM the gate's
 * time in a push grows with every page of memory it touches. Between
 * bpg_json_shared_begin() and bpg_json_shared_end() a thread gets one value
 * per text from bpg_json_shared_string(), a new reference each time, as long
 * as the text stays in the thread's table (a fixed number of slots: another
 * text may take a slot, and later calls then make a new value).
 *
 * Values that may be shared must never be changed (json_string_set()): the
 * facts are read-only once gathered (gather.h), and so is a blueprint model
 * (blueprint.h). jansson counts references atomically (JSON_HAVE_ATOMIC_BUILTINS),
 * so a shared value may be released on another thread.
 *
 * Ownership: the caller owns each reference returned (json_decref()). The
 * table holds one reference on each value in it until bpg_json_shared_end(),
 * which a thread that began must call before it ends. Calls nest (a count per
 * thread); the table is dropped at the outermost end.
 */
#ifndef INCLUDE_bpgate_jsonshared_h__
#define INCLUDE_bpgate_jsonshared_h__

#include "common.h"

#include <jansson.h>
#include <stddef.h>

BPG_BEGIN_DECL

/** Start sharing on this thread (nests). */
BPG_EXTERN(void) bpg_json_shared_begin(void);
/** Stop: at the outermost call, the thread's table lets its values go. */
BPG_EXTERN(void) bpg_json_shared_end(void);

/**
 * json_stringn(s, len): a string value of these bytes, checked for UTF-8
 * (NULL when not valid, when s is NULL or out of memory). While sharing is on
 * and len is at most 64 bytes, the value for the same text made earlier on
 * this thread, when it is still in the table.
 */
BPG_EXTERN(json_t *) bpg_json_shared_string(const char *s, size_t len);

/** bpg_json_shared_string(s, strlen(s)); NULL for NULL. */
BPG_EXTERN(json_t *) bpg_json_shared_str(const char *s);

BPG_END_DECL

#endif
