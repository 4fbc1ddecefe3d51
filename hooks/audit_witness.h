/*
 * The witness guard shared by the `bpgate audit` commands that read a log
 * (audit_witness.c): every reader checks the log against the newest
 * checkpoint it kept and the checkpoints it was handed, and keeps the newer
 * one. Strings are borrowed.
 */
#ifndef BPGATE_HOOKS_AUDIT_WITNESS_H
#define BPGATE_HOOKS_AUDIT_WITNESS_H

#include "bpgate/witness.h"

#define AUDIT_MAX_WITNESS_FILES 64

typedef struct {
	const char *state;                            /* --state, or NULL for the default */
	const char *files[AUDIT_MAX_WITNESS_FILES];   /* --witness FILE (borrowed) */
	size_t nfiles;
	uint64_t kept_before, kept_after;            /* sizes, for the report */
	bool had_kept;
	char dir[4096];                               /* the state directory used */
} audit_witness_opts;

/* Check `log` (already verified with `v`) against the kept and handed-in checkpoints, then keep. */
int audit_witness_guard(audit_witness_opts *wo, const bpg_audit_log *log, const bpg_note_verifier *v,
	bpg_error *err);

/*
 * May `verify --since KEPT` skip the full pass? Only when checking against
 * KEPT is all the guard would do: no --witness files, nothing under seen/,
 * and the kept latest checkpoint absent or equal to KEPT (size and root).
 */
int audit_witness_fast_ok(audit_witness_opts *wo, const bpg_checkpoint *kept, const bpg_note_verifier *v,
	bool *ok, const char **why, bpg_error *err);
/* After such a verification: keep the log's checkpoint (log may be opened for appending only). */
int audit_witness_keep_only(audit_witness_opts *wo, const bpg_audit_log *log, const bpg_note_verifier *v,
	bpg_error *err);

/* `bpgate audit witness add FILE...|-` and `witness show`. */
int audit_witness_cmd(int argc, char **argv, audit_witness_opts *wo, const bpg_note_verifier *v);

#endif
