/*
 * bpgate — personal data and secret scanner.
 *
 * A bpg_scanner is compiled once (pcre2 patterns with JIT, match data and
 * match limits) and then scans any number of buffers, files or staged git
 * changes. Every hit is validated (checksums, ranges, context words, JSON
 * key names, entropy, placeholder lists) before it becomes a finding.
 *
 * Findings go into a bpg_findings list owned by the caller. A finding never
 * holds the whole sensitive value: only a masked excerpt and a fingerprint.
 *
 * Ownership:
 *  - bpg_scanner_new() / bpg_findings_new() / bpg_scan_ignore_load() return
 *    objects owned by the caller, freed with the matching *_free() (NULL ok);
 *  - a bpg_scan_finding returned by bpg_findings_get() is borrowed from its list
 *    and lives until the list is freed or filtered;
 *  - a scanner is not thread-safe (it reuses its match data); use one per
 *    thread.
 *
 * Limits (documented behaviour on hostile input):
 *  - files are mapped, not read, and released behind the scan, so memory
 *    does not grow with file size; files over opts.max_file_size (default
 *    4 GiB) and files that look binary (a NUL byte in the first 8 KiB) are
 *    skipped and reported as a skip, never scanned partially in silence;
 *  - text is matched in windows of BPG_SCAN_WINDOW bytes overlapping by
 *    BPG_SCAN_OVERLAP bytes, so a 1 GB single line is linear time; no match
 *    is longer than the overlap;
 *  - every pcre2 pattern has bounded quantifiers and a match limit;
 *  - JSON nesting deeper than BPG_SCAN_MAX_DEPTH is scanned as text.
 */
#ifndef INCLUDE_bpgate_scan_h__
#define INCLUDE_bpgate_scan_h__

#include "common.h"
#include <stdbool.h>
#include <jansson.h>

BPG_BEGIN_DECL

#define BPG_SCAN_WINDOW ((size_t)256 << 10)
#define BPG_SCAN_OVERLAP ((size_t)8 << 10)
#define BPG_SCAN_MAX_DEPTH 256

typedef struct bpg_scanner bpg_scanner;
typedef struct bpg_findings bpg_findings;
typedef struct bpg_scan_ignore bpg_scan_ignore;
/* libgit2's repository type; include <git2.h> to call bpg_scan_staged(). */
typedef struct git_repository git_repository;

typedef enum {
	BPG_SCAN_PII = 1,    /**< personal or health data */
	BPG_SCAN_SECRET = 2, /**< credentials, keys, webhook URLs */
} bpg_scan_kind;

/** One finding. Every string is borrowed from the bpg_findings list. */
typedef struct {
	const char *rule;        /**< entity name, e.g. "EMAIL", "MAKE_WEBHOOK_URL" */
	const char *path;        /**< display path given to the scan */
	size_t line;             /**< 1-based line of the first byte of the value */
	size_t column;           /**< 1-based, in characters (UTF-8 code points) */
	const char *pointer;     /**< RFC 6901 pointer of the JSON string/number, or NULL */
	const char *masked;      /**< masked excerpt: never the whole value */
	bool synthetic;          /**< a known test value (example.com, 555-01xx, test cards, ...) */
	const char *fingerprint; /**< 32 hex chars, stable when lines move (see docs/readme/scan.md) */
	bpg_scan_kind kind;
} bpg_scan_finding;

/** A file or blob that was not scanned, and why (binary, too large, ...). */
typedef struct {
	const char *path;
	const char *reason;
} bpg_scan_skip;

#define BPG_SCAN_OPTIONS_VERSION 1
typedef struct {
	int version;
	uint64_t max_file_size; /**< larger files are skipped and reported; 0 = 4 GiB */
	bool json_autodetect;   /**< parse JSON when the text starts with '{' or '[' (default true) */
} bpg_scan_options;
#define BPG_SCAN_OPTIONS_INIT { BPG_SCAN_OPTIONS_VERSION, 0, true }

/** Compile the rules. opts may be NULL (defaults). */
BPG_EXTERN(int) bpg_scanner_new(bpg_scanner **out, const bpg_scan_options *opts, bpg_error *err);
BPG_EXTERN(void) bpg_scanner_free(bpg_scanner *s);

/** An empty findings list. */
BPG_EXTERN(int) bpg_findings_new(bpg_findings **out, bpg_error *err);
BPG_EXTERN(void) bpg_findings_free(bpg_findings *f);
BPG_EXTERN(size_t) bpg_findings_count(const bpg_findings *f);
/** The i-th finding (borrowed) or NULL past the end. Order: path, then position. */
BPG_EXTERN(const bpg_scan_finding *) bpg_findings_get(const bpg_findings *f, size_t i);
BPG_EXTERN(size_t) bpg_findings_skip_count(const bpg_findings *f);
BPG_EXTERN(const bpg_scan_skip *) bpg_findings_skip_get(const bpg_findings *f, size_t i);
/** Record a skip (used by callers that decide not to scan something). */
BPG_EXTERN(int) bpg_findings_add_skip(bpg_findings *f, const char *path, const char *reason,
	bpg_error *err);

/**
 * Scan a buffer. `path` is only for display and fingerprints. JSON is
 * detected (first non-blank byte '{' or '['); text that fails to parse as
 * JSON is scanned as plain text. Findings are appended to `out`.
 */
BPG_EXTERN(int) bpg_scan_buffer(bpg_scanner *s, bpg_findings *out, const char *path,
	const char *data, size_t len, bpg_error *err);

/**
 * Scan a file ("-" is stdin). `display` names it in findings (NULL: fs_path).
 * Binary and oversized files are recorded as skips, not errors.
 */
BPG_EXTERN(int) bpg_scan_file(bpg_scanner *s, bpg_findings *out, const char *fs_path,
	const char *display, bpg_error *err);

/** Does the first 8 KiB of this data look binary (a NUL byte)? */
BPG_EXTERN(bool) bpg_scan_looks_binary(const char *data, size_t len);

/** `{"findings":[{"rule","path","line","column","pointer","masked","synthetic","fingerprint"}]}` */
BPG_EXTERN(int) bpg_findings_to_json(json_t **out, const bpg_findings *f, bpg_error *err);
/** SARIF 2.1.0 log with one run (tool "bpgate-scan") and one rule per entity found. */
BPG_EXTERN(int) bpg_findings_to_sarif(json_t **out, const bpg_findings *f, bpg_error *err);

/** The fix hint of a rule ("" for an unknown rule); static. */
BPG_EXTERN(const char *) bpg_scan_rule_hint(const char *rule);
/** Number of rules and their ids (static strings), for listings. */
BPG_EXTERN(size_t) bpg_scan_rule_count(void);
BPG_EXTERN(const char *) bpg_scan_rule_id(size_t i);

/**
 * The accepted-findings file, `.bpgate/ignore` (JSON):
 *   {"version": 1, "ignore": [{"fingerprint": "<32 hex>", "reason": "...",
 *     "accepted_by": "...", "rule": "EMAIL" (optional), "path": "..." (optional)}]}
 * Load fails with BPG_ENOTFOUND when the file does not exist, BPG_EINVALID
 * with file:line:column (syntax) or file: /ignore/<i>/<field> (content).
 */
BPG_EXTERN(int) bpg_scan_ignore_load(bpg_scan_ignore **out, const char *path, bpg_error *err);
BPG_EXTERN(int) bpg_scan_ignore_parse(bpg_scan_ignore **out, const char *data, size_t len,
	const char *display, bpg_error *err);
BPG_EXTERN(void) bpg_scan_ignore_free(bpg_scan_ignore *ig);
/** Remove the findings whose fingerprint is accepted; returns how many were removed. */
BPG_EXTERN(size_t) bpg_findings_apply_ignore(bpg_findings *f, const bpg_scan_ignore *ig);

/** The shipped defaults for the pre-commit check (NULL-terminated, static). */
BPG_EXTERN(const char *const *) bpg_scan_default_globs(void);

/**
 * The pre-commit check: scan what the index adds relative to HEAD (all of a
 * new file) in the staged files whose path matches one of `globs` (NULL:
 * bpg_scan_default_globs()). Whole staged blobs are scanned so that JSON
 * pointers and key context are right, and only findings whose line was
 * added are kept, with the file's real line numbers. Deleted files are
 * ignored; binary or oversized blobs are recorded as skips.
 */
BPG_EXTERN(int) bpg_scan_staged(bpg_scanner *s, bpg_findings *out, git_repository *repo,
	const char *const *globs, bpg_error *err);

BPG_END_DECL

#endif
