/*
 * bpgate — bounded growable byte buffer for bytes from outside.
 *
 * A bpg_buf is a value type: the caller owns the struct (usually on the
 * stack, initialised with BPG_BUF_INIT) and releases its memory with
 * bpg_buf_dispose(). Contents are always NUL-terminated so that text can be
 * handed to C string functions, but lengths are explicit: embedded NUL bytes
 * are preserved and callers that need text must check for them.
 */
#ifndef INCLUDE_bpgate_buf_h__
#define INCLUDE_bpgate_buf_h__

#include "common.h"
#include <stdarg.h>

BPG_BEGIN_DECL

typedef struct {
	char *ptr;      /**< owned; NULL until the first write */
	size_t size;    /**< bytes in use, excluding the terminating NUL */
	size_t asize;   /**< bytes allocated */
	size_t max;     /**< hard ceiling on size; 0 means BPG_BUF_DEFAULT_MAX */
} bpg_buf;

#define BPG_BUF_DEFAULT_MAX ((size_t)1 << 30)
#define BPG_BUF_INIT { NULL, 0, 0, 0 }

/** Make room for `extra` more bytes. BPG_ETOOBIG past max, BPG_ENOMEM on OOM. */
BPG_EXTERN(int) bpg_buf_grow(bpg_buf *buf, size_t extra) BPG_MUST_CHECK;
BPG_EXTERN(int) bpg_buf_put(bpg_buf *buf, const void *data, size_t len) BPG_MUST_CHECK;
BPG_EXTERN(int) bpg_buf_puts(bpg_buf *buf, const char *s) BPG_MUST_CHECK;
BPG_EXTERN(int) bpg_buf_putc(bpg_buf *buf, char c) BPG_MUST_CHECK;
BPG_EXTERN(int) bpg_buf_printf(bpg_buf *buf, const char *fmt, ...) BPG_PRINTF(2, 3) BPG_MUST_CHECK;
BPG_EXTERN(int) bpg_buf_vprintf(bpg_buf *buf, const char *fmt, va_list ap) BPG_MUST_CHECK;
/** Forget the contents but keep the allocation. */
BPG_EXTERN(void) bpg_buf_clear(bpg_buf *buf);
/** Free the memory; the struct may be reused after another BPG_BUF_INIT. */
BPG_EXTERN(void) bpg_buf_dispose(bpg_buf *buf);
/** Hand the contents to the caller (free() them); the buffer is reset. */
BPG_EXTERN(char *) bpg_buf_detach(bpg_buf *buf);

/**
 * Read a whole file (or stdin when path is "-") into buf, refusing files
 * larger than max bytes *before* reading them where the size is known, and
 * stopping at max+1 bytes otherwise, so memory stays bounded.
 */
BPG_EXTERN(int) bpg_file_read(bpg_buf *buf, const char *path, size_t max, bpg_error *err);

/**
 * Write a file atomically: a temporary file in the same directory, fsync,
 * rename. `mode` is the permission of the new file (e.g. 0644, 0600).
 */
BPG_EXTERN(int) bpg_file_write_atomic(const char *path, const void *data, size_t len,
	unsigned int mode, bpg_error *err);

BPG_END_DECL

#endif
