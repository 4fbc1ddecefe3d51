/*
 * bpgate — release evidence packages and the audit export (issue 7, items
 * 4 and 5).
 *
 *  - bpg_evidence_build(): the in-toto Statement of one release (a commit
 *    recorded by the server gate under refs/bpgate/releases/<env>/<commit>):
 *    subjects = every blueprint of the released tree with its SHA-256;
 *    predicate (type BPG_EVIDENCE_PREDICATE_V1) = the release record, the
 *    promoted range with its commits (authors, committers, change-template
 *    trailers), the changed files grouped by scenario with their semantic
 *    diff, the approvals with their signed statements and SSHSIG
 *    signatures, the allowed_signers of the policy commit, the UAT evidence
 *    and stage health digests, the release bundles (manifest and minisign
 *    signature text), the audit entries of the promotion with inclusion
 *    proofs against one signed checkpoint, the policy commit, the times,
 *    the rollback / break-glass flags and how to roll back.
 *    The caller signs it with bpg_dsse_sign() (dsse.h).
 *  - bpg_evidence_check(): everything in a (signature-verified) Statement
 *    that can be checked offline: subjects against the changed blueprints,
 *    every audit proof with the log key and against the one checkpoint, the
 *    release decision among the proven entries, every approval signature
 *    against allowed_signers (embedded or given), and, with a repository,
 *    every digest recomputed from git.
 *  - bpg_evidence_render_html() / _markdown(): the auditor's page. HTML is
 *    one self-contained document (inline CSS with print rules, no scripts,
 *    no external resources); every string from the data is escaped.
 *  - bpg_audit_export(): one chain-of-custody row per release of an
 *    environment in a time window, read from the audit log (and git for
 *    authors and approvers), and the change metrics (cycle time,
 *    failed-change rate, time to recover by rollback); rendered as JSON or
 *    CSV (cells that a spreadsheet would run as a formula are prefixed
 *    with ').
 *
 * No clock reads: times are parameters. Ownership: json_t outputs are new
 * references (json_decref); bpg_buf outputs are appended to the caller's
 * buffer. The git_repository and audit log stay the caller's.
 */
#ifndef INCLUDE_bpgate_evidence_h__
#define INCLUDE_bpgate_evidence_h__

#include "common.h"
#include "buf.h"
#include "audit.h"
#include <stdbool.h>
#include <time.h>
#include <git2.h>
#include <jansson.h>

BPG_BEGIN_DECL

#define BPG_EVIDENCE_RELEASE_REFS "refs/bpgate/releases/"
/** Most blueprints (subjects) and UAT files in one package. */
#define BPG_EVIDENCE_MAX_SUBJECTS 10000
/** Most audit entries proven in one package. */
#define BPG_EVIDENCE_MAX_ENTRIES 1000

typedef struct {
	const char *environment; /**< NULL: "prod" */
	const char *time;        /**< RFC 3339 UTC build time (the front end reads the clock) */
	const bpg_audit_log *log;/**< the audit log (verified by the caller), or NULL: no audit section */
} bpg_evidence_opts;

/**
 * Build the Statement of the release of `commit` to opts->environment.
 * BPG_ENOTFOUND when there is no release record for it; BPG_EVERIFY when
 * the audit log holds no accepted decision for it (a record without its
 * decision is not evidence).
 */
BPG_EXTERN(int) bpg_evidence_build(json_t **out, git_repository *repo, const git_oid *commit,
	const bpg_evidence_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

struct bpg_allowed_signers;

typedef struct {
	const bpg_note_verifier *log_key;          /**< required when the package carries audit proofs */
	const struct bpg_allowed_signers *signers; /**< NULL: the package's embedded allowed_signers */
	git_repository *repo;                      /**< NULL: digests are not recomputed */
} bpg_evidence_check_opts;

/** What bpg_evidence_check() verified. */
typedef struct {
	size_t subjects, approvals, audit_entries, digests_recomputed;
	uint64_t checkpoint_size;
	bool signers_embedded;
} bpg_evidence_summary;

/**
 * Check a Statement already verified by its DSSE signature. 0 when all of
 * it holds; BPG_EVERIFY (or BPG_EINVALID for a malformed package) with the
 * first failure named by its JSON pointer otherwise.
 */
BPG_EXTERN(int) bpg_evidence_check(bpg_evidence_summary *out, const json_t *stmt,
	const bpg_evidence_check_opts *opts, bpg_error *err) BPG_WARN_UNUSED;

/** Append the HTML page (UTF-8, one document) of a Statement. */
BPG_EXTERN(int) bpg_evidence_render_html(bpg_buf *out, const json_t *stmt, bpg_error *err);
/** Append the Markdown rendering of a Statement. */
BPG_EXTERN(int) bpg_evidence_render_markdown(bpg_buf *out, const json_t *stmt, bpg_error *err);
/**
 * The same renderings with the result of an offline verification at the top.
 * `verification` (borrowed; NULL = not verified, the page says so) is the object
 * `bpgate evidence verify` builds: {"time", "evidence_keys": [id...], "threshold",
 * "log_key": {"name", "keyid"} or null, "subjects", "audit_entries", "checkpoint_size",
 * "approvals", "signers" ("embedded"|"given"), "digests_recomputed" (null = no --repo)}.
 */
BPG_EXTERN(int) bpg_evidence_render_html_verified(bpg_buf *out, const json_t *stmt, const json_t *verification,
	bpg_error *err);
BPG_EXTERN(int) bpg_evidence_render_markdown_verified(bpg_buf *out, const json_t *stmt, const json_t *verification,
	bpg_error *err);

/** Append s with & < > " ' escaped as HTML entities and control bytes dropped. */
BPG_EXTERN(int) bpg_html_escape(bpg_buf *out, const char *s, size_t len);
/** Append one CSV cell: ' before a leading = + - @ TAB CR, quoted when needed. */
BPG_EXTERN(int) bpg_csv_cell(bpg_buf *out, const char *s, size_t len);

typedef struct {
	const char *environment; /**< NULL: "prod" */
	time_t since, until;     /**< rows with since <= time < until */
	git_repository *repo;    /**< NULL: no authors, approvers or cycle times */
} bpg_export_opts;

/**
 * The export of a (verified) audit log as {"environment","since","until",
 * "rows":[...],"metrics":{...}} (docs/readme/audit.md names every field).
 */
BPG_EXTERN(int) bpg_audit_export(json_t **out, const bpg_audit_log *log, const bpg_export_opts *opts,
	bpg_error *err) BPG_WARN_UNUSED;
/** Append the rows of an export as CSV (header line first, CRLF line ends as RFC 4180). */
BPG_EXTERN(int) bpg_export_csv(bpg_buf *out, const json_t *export, bpg_error *err);
/** Append the metrics of an export as CSV ("metric,value" lines). */
BPG_EXTERN(int) bpg_export_metrics_csv(bpg_buf *out, const json_t *export, bpg_error *err);

/** Parse "YYYY-MM-DD" (midnight UTC, or the next midnight when end_of_day) or "YYYY-MM-DDTHH:MM:SSZ". */
BPG_EXTERN(int) bpg_evidence_parse_time(time_t *out, const char *s, bool end_of_day, bpg_error *err);
/** Format as "YYYY-MM-DDTHH:MM:SSZ" into out[21]. */
BPG_EXTERN(void) bpg_evidence_format_time(char out[21], time_t t);

BPG_END_DECL

#endif
