/*
 * Audit-log witnesses: a verifier's memory of the newest checkpoint it has
 * seen, so that a log rolled back to an older, validly signed checkpoint is
 * caught without the auditor keeping files by hand (the model of Go's
 * checksum-database client, which keeps the latest signed tree head and
 * refuses to go backwards).
 *
 * State lives in `<state_dir>/<origin>+<keyid>/`:
 *   latest           the newest checkpoint this verifier checked against a log
 *   seen/<S>-<R>.note checkpoints handed in from elsewhere (e.g. the ones the
 *                    server prints on every accepted push), not yet checked
 *                    against a log; removed once a log that extends them is
 *                    kept
 * Every note is verified with the verifier key before it is stored or used.
 *
 * Ownership: bpg_audit_witness_open() returns a handle the caller frees with
 * bpg_audit_witness_free() (NULL accepted). Strings passed in are borrowed.
 */
#ifndef INCLUDE_bpgate_witness_h__
#define INCLUDE_bpgate_witness_h__

#include "bpgate/audit.h"

BPG_BEGIN_DECL

/** Most checkpoints kept under seen/ (past it, adding refuses). */
#define BPG_WITNESS_MAX_SEEN 4096

typedef struct bpg_audit_witness bpg_audit_witness;

/**
 * The default state directory: $BPGATE_AUDIT_STATE, else
 * $XDG_STATE_HOME/bpgate/audit, else $HOME/.local/state/bpgate/audit.
 * Appended to `out`; BPG_ENOTFOUND when none of them is set.
 */
BPG_EXTERN(int) bpg_audit_witness_default_dir(bpg_buf *out, bpg_error *err) BPG_WARN_UNUSED;

/**
 * Load the state kept for the log signed by `key` (creating nothing yet).
 * Fails (BPG_EVERIFY) when a stored note does not verify with `key`: state
 * that was tampered with is reported, never ignored.
 */
BPG_EXTERN(int) bpg_audit_witness_open(bpg_audit_witness **out, const char *state_dir,
	const bpg_note_verifier *key, bpg_error *err) BPG_WARN_UNUSED;
BPG_EXTERN(void) bpg_audit_witness_free(bpg_audit_witness *w);

/** Size of the kept latest checkpoint (0 and *has = false when none). */
BPG_EXTERN(uint64_t) bpg_audit_witness_latest(const bpg_audit_witness *w, bool *has);
/** The kept latest checkpoint (borrowed), or NULL when none. */
BPG_EXTERN(const bpg_checkpoint *) bpg_audit_witness_latest_checkpoint(const bpg_audit_witness *w);
/** Number of checkpoints under seen/. */
BPG_EXTERN(size_t) bpg_audit_witness_seen(const bpg_audit_witness *w);

/**
 * Check that `log` (already verified against its own checkpoint) extends
 * the kept latest checkpoint and every seen one: "log rolled back" or "log
 * rewritten" (BPG_EVERIFY) naming which witness it fails.
 */
BPG_EXTERN(int) bpg_audit_witness_check(const bpg_audit_witness *w, const bpg_audit_log *log,
	bpg_error *err) BPG_WARN_UNUSED;

/**
 * After a successful check: keep the log's checkpoint as the latest when it
 * is newer (written atomically) and drop the seen checkpoints it covers.
 */
BPG_EXTERN(int) bpg_audit_witness_keep(bpg_audit_witness *w, const bpg_audit_log *log,
	bpg_error *err) BPG_WARN_UNUSED;

/**
 * Store the signed checkpoints found in `text`: a bare note, or output in
 * which each note line is printed behind "bpgate: checkpoint| " (what the
 * server prints on an accepted push; git's "remote: " prefix, trailing
 * "\r", spaces and the ESC [K that git adds on a terminal are ignored).
 * Each must verify with the key; `added` (may be NULL) receives how many
 * were new. BPG_ENOTFOUND when the text holds none.
 */
BPG_EXTERN(int) bpg_audit_witness_add(bpg_audit_witness *w, const char *text, size_t len,
	size_t *added, bpg_error *err) BPG_WARN_UNUSED;

/** The line prefix the server prints before each checkpoint line. */
#define BPG_WITNESS_LINE_PREFIX "bpgate: checkpoint| "

BPG_END_DECL

#endif
