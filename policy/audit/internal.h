/* Helpers shared by the files of the audit module (not part of the API). */
#ifndef BPG_AUDIT_INTERNAL_H
#define BPG_AUDIT_INTERNAL_H

#include "bpgate/audit.h"
#include "bpgate/dsse.h"
#include "bpgate/util.h"

/* Append standard padded base64 of data. */
int bpg_audit__b64_put(bpg_buf *out, const void *data, size_t len);

/*
 * Decode base64 text of exactly textlen bytes into out (at most outmax
 * bytes). `urlsafe_too` also accepts the URL-safe alphabet and missing
 * padding (DSSE); otherwise only the standard padded form. Rejects trailing
 * garbage. Returns 0 or BPG_EINVALID.
 */
int bpg_audit__b64_decode(unsigned char *out, size_t outmax, size_t *outlen,
	const char *text, size_t textlen, bool urlsafe_too);

/*
 * Parse one record line of the entries file (without its LF):
 * "<index> <64 hex> <entry>". Returns 0 and fills the outputs, or
 * BPG_EINVALID with what is wrong in err.
 */
int bpg_audit__record_parse(uint64_t *index, bpg_hash *stored, const char **entry,
	size_t *entry_len, const char *line, size_t len, bpg_error *err);

/* Is this a valid entry (one JSON object, UTF-8, no control bytes)? */
int bpg_audit__entry_check(const char *entry, size_t len, bpg_error *err) BPG_MUST_CHECK;

/* The base64 of the signature line by key `name` in a note (for the syslog SD). */
int bpg_audit__note_sig_line(const char **b64, size_t *b64_len, const char *note, size_t len,
	const char *name);

/* The text part of a note, unverified (the log reads its own checkpoint at open). */
int bpg_audit__note_text(const char **text, size_t *tlen, const char *note, size_t len,
	bpg_error *err);

/* Raw Ed25519 over bytes with a DSSE key (dsse_key.c). */
int bpg_audit__dsse_sign_raw(unsigned char sig[64], const unsigned char *m, size_t len,
	const bpg_dsse_key *key);
int bpg_audit__dsse_verify_raw(const unsigned char sig[64], const unsigned char *m, size_t len,
	const bpg_dsse_key *key) BPG_MUST_CHECK;

/* ------------------------------------------------ the log (log.c, frontier.c) */

typedef struct {
	size_t off;      /* offset of the record line */
	size_t line_len; /* without the LF */
	size_t entry_off;
	size_t entry_len;
	uint64_t index;  /* as written in the record */
	bpg_hash stored; /* as written in the record */
} record;

struct bpg_audit_log {
	char *dir;
	bpg_buf entries;
	record *recs;
	bpg_hash *leaves; /* computed from the entry bytes, one per record */
	size_t nrecs, arecs;
	size_t good_end;  /* offset after the last well-formed record */
	bool has_cp;
	bpg_checkpoint cp;
	bpg_buf cp_note;
	bool loaded;      /* entries read (bpg_audit_open), else append-only */
};

int bpg_audit__path(bpg_buf *out, const bpg_audit_log *log, const char *name, bpg_error *err);
int bpg_audit__fsync_dir(const char *dir, bpg_error *err);
int bpg_audit__write_all(int fd, const char *p, size_t len);
/* Read `checkpoint` into log->cp/cp_note/has_cp (unverified). */
int bpg_audit__load_checkpoint(bpg_audit_log *log, bpg_error *err);
/* Sign a checkpoint (size, root) and rename it into place (the commit point). */
int bpg_audit__write_checkpoint(bpg_audit_log *log, const bpg_note_signer *key, uint64_t size,
	const bpg_hash *root, bpg_error *err);
/* Save the tail [off, EOF) of `entries` to torn-* and cut it (caller holds the lock). */
int bpg_audit__cut_at(bpg_audit_log *log, uint64_t off, const char *bytes, size_t len, bpg_buf *saved,
	bpg_error *err);
/*
 * The append fast path (frontier.c), under the lock, checkpoint loaded and
 * its signature checked: bring `f` (read from <dir>/frontier) in line with
 * the checkpoint and the entries file or refuse; on success the entries file
 * ends exactly at f->length.
 */
int bpg_audit__frontier_check(bpg_audit_log *log, bpg_audit_frontier *f, bool *rewrite, bpg_error *err);

#endif
