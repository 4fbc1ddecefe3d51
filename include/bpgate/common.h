/*
 * bpgate — common definitions: return codes, the caller-supplied error
 * record, and the export macro.
 *
 * Conventions for every bpgate function (in the style of libgit2):
 *  - functions return 0 on success or a negative BPG_E* code;
 *  - on failure they fill the caller's bpg_error (when not NULL) with the
 *    code and a readable message that says what and where;
 *  - objects returned through a pointer-to-pointer (`out`, first argument)
 *    are owned by the caller and freed with the matching *_free(), which
 *    accepts NULL;
 *  - `const` pointers returned by getters are borrowed: valid while the
 *    object they came from is alive, never freed by the caller.
 */
#ifndef INCLUDE_bpgate_common_h__
#define INCLUDE_bpgate_common_h__

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define BPG_BEGIN_DECL extern "C" {
#define BPG_END_DECL }
#else
#define BPG_BEGIN_DECL
#define BPG_END_DECL
#endif

#define BPG_EXTERN(type) extern __attribute__((visibility("default"))) type
#define BPG_PRINTF(a, b) __attribute__((format(printf, a, b)))
/** A result that must be looked at: a failure ignored is a fault passed on. */
#define BPG_MUST_CHECK __attribute__((warn_unused_result))
#define BPG_WARN_UNUSED BPG_MUST_CHECK
/** Drop a BPG_MUST_CHECK result on purpose (a (void) cast does not silence GCC).
 * Only where a failure provably cannot matter, with a comment that says why. */
#define BPG_IGNORE(expr) do { if ((expr) < 0) { /* dropped on purpose */ } } while (0)

BPG_BEGIN_DECL

/** Return codes. Only a few are "expected"; everything else is BPG_ERROR. */
typedef enum {
	BPG_OK = 0,
	BPG_ERROR = -1,     /**< generic failure, see the message */
	BPG_EINVALID = -2,  /**< the input is malformed (bad JSON, bad signature file, ...) */
	BPG_ENOTFOUND = -3, /**< a file, key, ref or object does not exist */
	BPG_ENOMEM = -4,    /**< out of memory */
	BPG_ETOOBIG = -5,   /**< the input exceeds a documented limit */
	BPG_EVERIFY = -6,   /**< a signature or hash does not verify */
	BPG_EIO = -7,       /**< reading or writing failed */
	BPG_ENOBASE = -8,   /**< the old side of a ref update is not in this repository */
} bpg_code;

/** Caller-supplied error record (like jansson's json_error_t): on the stack. */
typedef struct {
	int code;          /**< the bpg_code of the failure, 0 when none */
	char message[1024]; /**< NUL-terminated, never contains raw control bytes */
} bpg_error;

/** Reset an error record. */
BPG_EXTERN(void) bpg_error_clear(bpg_error *err);

/**
 * Record an error: stores code and message (printf-style) in err when err is
 * not NULL and returns code, so `return bpg_error_set(err, BPG_EINVALID, ...)`
 * reads naturally. Control characters in the formatted text are replaced.
 */
BPG_EXTERN(int) bpg_error_set(bpg_error *err, int code, const char *fmt, ...) BPG_PRINTF(3, 4);

/** Prepend context ("file.json: ") to an existing error message. */
BPG_EXTERN(void) bpg_error_prefix(bpg_error *err, const char *fmt, ...) BPG_PRINTF(2, 3);

/** The library version string, e.g. "0.1.0". Borrowed, static. */
BPG_EXTERN(const char *) bpg_version(void);

BPG_END_DECL

#endif
