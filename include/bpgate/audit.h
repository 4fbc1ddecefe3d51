/*
 * bpgate — the tamper-evident audit log.
 *
 * Four layers, each usable alone:
 *
 *  - Merkle trees (RFC 6962 / RFC 9162, SHA-256): leaf hash
 *    SHA-256(0x00 || bytes), node hash SHA-256(0x01 || left || right), the
 *    root of n leaves, inclusion and consistency proofs and their
 *    verification. Everything is iterative: no recursion, fixed stack use.
 *  - Signed notes (c2sp.org/signed-note, Go golang.org/x/mod/sumdb/note):
 *    Ed25519 keys in Go's text formats ("PRIVATE+KEY+<name>+<hash>+<b64>"
 *    signer key, "<name>+<hash>+<b64>" verifier key), note signing and
 *    opening with Go's acceptance rules.
 *  - Checkpoints (c2sp.org/tlog-checkpoint): "<origin>\n<size>\n<b64 root>\n"
 *    as the text of a signed note.
 *  - The log: a directory holding `entries` (one record per line:
 *    "<index> <leaf hash hex> <entry bytes>\n"), `checkpoint` (the latest
 *    signed checkpoint, replaced atomically), `frontier` (what an append
 *    needs, bound to the checkpoint's root: see bpg_audit_frontier) and
 *    `lock` (flock). An entry is
 *    committed when the checkpoint that covers it is in place; see
 *    bpg_audit_append() for the crash-safety argument.
 *
 * Ownership: objects returned through `out` pointers are the caller's and
 * freed with the matching *_free() (which accepts NULL). Pointers returned
 * by getters are borrowed from the object and live until it is freed or, for
 * a log, until the next bpg_audit_append()/bpg_audit_repair() on it.
 *
 * Threads: a bpg_audit_log is not thread-safe; separate processes may append
 * to one directory at the same time (the lock file orders them).
 */
#ifndef INCLUDE_bpgate_audit_h__
#define INCLUDE_bpgate_audit_h__

#include "common.h"
#include "buf.h"
#include <stdbool.h>

BPG_BEGIN_DECL

/* ---------------------------------------------------------------- Merkle */

#define BPG_HASH_SIZE 32
/** Longest proof we produce or accept (trees up to 2^63 leaves). */
#define BPG_MERKLE_MAX_PROOF 128

typedef struct {
	unsigned char b[BPG_HASH_SIZE];
} bpg_hash;

/** A proof: `len` hashes, leaf-to-root order (as RFC 6962 PATH/PROOF). */
typedef struct {
	size_t len;
	bpg_hash h[BPG_MERKLE_MAX_PROOF];
} bpg_merkle_proof;

/** SHA-256(0x00 || data). */
BPG_EXTERN(void) bpg_merkle_leaf_hash(bpg_hash *out, const void *data, size_t len);
/** SHA-256(0x01 || left || right). */
BPG_EXTERN(void) bpg_merkle_node_hash(bpg_hash *out, const bpg_hash *left, const bpg_hash *right);
/** Root of the tree over leaf hashes leaves[0..n); n == 0 gives SHA-256(""). */
BPG_EXTERN(void) bpg_merkle_root(bpg_hash *out, const bpg_hash *leaves, uint64_t n);

/** Inclusion proof of leaf `index` in the tree of the first `size` leaves. */
BPG_EXTERN(int) bpg_merkle_inclusion_proof(bpg_merkle_proof *out, const bpg_hash *leaves,
	uint64_t size, uint64_t index, bpg_error *err);
/** Consistency proof between the trees of the first old_size and new_size leaves. */
BPG_EXTERN(int) bpg_merkle_consistency_proof(bpg_merkle_proof *out, const bpg_hash *leaves,
	uint64_t old_size, uint64_t new_size, bpg_error *err);

/** 0 when `proof` shows leaf `leaf` at `index` in the tree (size, root); else BPG_EVERIFY. */
BPG_EXTERN(int) bpg_merkle_verify_inclusion(uint64_t index, uint64_t size, const bpg_hash *leaf,
	const bpg_merkle_proof *proof, const bpg_hash *root, bpg_error *err) BPG_WARN_UNUSED;
/** 0 when `proof` shows that tree (new_size, new_root) extends (old_size, old_root). */
BPG_EXTERN(int) bpg_merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
	const bpg_hash *old_root, const bpg_hash *new_root, const bpg_merkle_proof *proof,
	bpg_error *err) BPG_WARN_UNUSED;

/**
 * The right edge of a tree of `size` leaves: the roots of its perfect
 * subtrees, one per set bit of size, largest (leftmost) first. Enough to
 * compute the root and to append a leaf in O(log size) hashes.
 */
typedef struct {
	uint64_t size;
	size_t len;                     /**< popcount(size) */
	bpg_hash h[64];
} bpg_merkle_frontier;

/** The empty tree. */
BPG_EXTERN(void) bpg_merkle_frontier_init(bpg_merkle_frontier *f);
/** Append one leaf hash (size < 2^63). */
BPG_EXTERN(void) bpg_merkle_frontier_push(bpg_merkle_frontier *f, const bpg_hash *leaf);
/** The RFC 6962 root of the tree (SHA-256("") when empty). */
BPG_EXTERN(void) bpg_merkle_frontier_root(bpg_hash *out, const bpg_merkle_frontier *f);
/**
 * RFC 6962 consistency proof from the tree `old` (a frontier) to the tree of
 * old->size + nnew leaves whose new leaf hashes are `new_leaves[0..nnew)`:
 * the same bytes bpg_merkle_consistency_proof() gives over all the leaves,
 * computed without the old leaves (every node of the proof that lies left of
 * old->size is a subtree of the frontier). O(nnew + log) hashes.
 */
BPG_EXTERN(int) bpg_merkle_frontier_consistency_proof(bpg_merkle_proof *out,
	const bpg_merkle_frontier *old, const bpg_hash *new_leaves, uint64_t nnew, bpg_error *err);

/* ---------------------------------------------------------- signed notes */

#define BPG_NOTE_NAME_MAX 255
#define BPG_NOTE_MAX_BYTES ((size_t)64 << 10)
/** Signature lines read at most (Go accepts up to 100). */
#define BPG_NOTE_MAX_SIGS 100

typedef struct bpg_note_signer bpg_note_signer;
typedef struct bpg_note_verifier bpg_note_verifier;

/** New Ed25519 signer key named `name` (a schema-less URL such as "git.example.com/audit"). */
BPG_EXTERN(int) bpg_note_signer_generate(bpg_note_signer **out, const char *name, bpg_error *err);
/** From a seed (tests, reproducible keys). */
BPG_EXTERN(int) bpg_note_signer_from_seed(bpg_note_signer **out, const char *name,
	const unsigned char seed[32], bpg_error *err);
/** Parse "PRIVATE+KEY+<name>+<8 hex>+<base64(0x01 || seed)>" (one trailing LF allowed). */
BPG_EXTERN(int) bpg_note_signer_parse(bpg_note_signer **out, const char *text, size_t len,
	bpg_error *err);
/** Read a signer key file (refused when readable by group or others). */
BPG_EXTERN(int) bpg_note_signer_load(bpg_note_signer **out, const char *path, bpg_error *err);
/** The skey text, no LF. Secret: write it only to a 0600 file. */
BPG_EXTERN(int) bpg_note_signer_format(bpg_buf *out, const bpg_note_signer *s);
/** The matching verifier key text "<name>+<hash>+<b64>", no LF. */
BPG_EXTERN(int) bpg_note_signer_vkey(bpg_buf *out, const bpg_note_signer *s);
BPG_EXTERN(const char *) bpg_note_signer_name(const bpg_note_signer *s);
/** Zeroes the secret. */
BPG_EXTERN(void) bpg_note_signer_free(bpg_note_signer *s);

/** Parse "<name>+<8 hex>+<base64(0x01 || pk)>" (one trailing LF allowed). */
BPG_EXTERN(int) bpg_note_verifier_parse(bpg_note_verifier **out, const char *text, size_t len,
	bpg_error *err);
BPG_EXTERN(int) bpg_note_verifier_load(bpg_note_verifier **out, const char *path, bpg_error *err);
/** The verifier of a signer. */
BPG_EXTERN(int) bpg_note_verifier_from_signer(bpg_note_verifier **out, const bpg_note_signer *s,
	bpg_error *err);
BPG_EXTERN(int) bpg_note_verifier_format(bpg_buf *out, const bpg_note_verifier *v);
BPG_EXTERN(const char *) bpg_note_verifier_name(const bpg_note_verifier *v);
BPG_EXTERN(uint32_t) bpg_note_verifier_keyid(const bpg_note_verifier *v);
BPG_EXTERN(void) bpg_note_verifier_free(bpg_note_verifier *v);

/**
 * Sign `text` (non-empty, ends with LF, valid UTF-8 without control bytes
 * other than LF, no blank line at its end) and append the whole note to out:
 * text, blank line, "— <name> <base64(keyid || sig)>\n".
 */
BPG_EXTERN(int) bpg_note_sign(bpg_buf *out, const char *text, size_t len,
	const bpg_note_signer *s, bpg_error *err);

/**
 * Open a signed note as Go's note.Open does: signatures by unknown keys are
 * ignored, a known key whose signature fails rejects the note, and at least
 * one known key must have signed. On success the verified text (ending in
 * LF) is appended to `text_out`. BPG_EINVALID: malformed; BPG_EVERIFY: a
 * signature fails or no known key signed.
 */
BPG_EXTERN(int) bpg_note_open(bpg_buf *text_out, const char *note, size_t len,
	const bpg_note_verifier *const *verifiers, size_t nverifiers, bpg_error *err) BPG_WARN_UNUSED;

/* ----------------------------------------------------------- checkpoints */

typedef struct {
	char origin[BPG_NOTE_NAME_MAX + 1];
	uint64_t size;
	bpg_hash root;
} bpg_checkpoint;

/** The checkpoint text "<origin>\n<size>\n<base64 root>\n". */
BPG_EXTERN(int) bpg_checkpoint_format(bpg_buf *out, const bpg_checkpoint *cp, bpg_error *err);
/** Parse checkpoint text (the text of a note, already verified or not). Extension lines are ignored. */
BPG_EXTERN(int) bpg_checkpoint_parse(bpg_checkpoint *out, const char *text, size_t len,
	bpg_error *err);
/** Format and sign (note key name = cp->origin is expected but not enforced). */
BPG_EXTERN(int) bpg_checkpoint_sign(bpg_buf *out, const bpg_checkpoint *cp,
	const bpg_note_signer *s, bpg_error *err);
/**
 * Verify a signed checkpoint with `v` and parse it. The origin must equal
 * `origin`, or the verifier's key name when `origin` is NULL.
 */
BPG_EXTERN(int) bpg_checkpoint_open(bpg_checkpoint *out, const char *note, size_t len,
	const bpg_note_verifier *v, const char *origin, bpg_error *err) BPG_WARN_UNUSED;

/* ------------------------------------------------------------------ log */

/** Largest entry accepted by bpg_audit_append(). */
#define BPG_AUDIT_ENTRY_MAX ((size_t)1 << 20)
/** Largest `entries` file read into memory. */
#define BPG_AUDIT_LOG_MAX ((size_t)1 << 30)

typedef struct bpg_audit_log bpg_audit_log;

/**
 * Open the log in `dir`, creating the directory (mode 0700, parent must
 * exist) when it is missing. Reads `checkpoint` and `entries` without
 * verifying signatures and without changing anything on disk. Fails only
 * when the files cannot be read or the checkpoint file is malformed
 * (BPG_EVERIFY); damage to entries is reported by bpg_audit_verify().
 */
BPG_EXTERN(int) bpg_audit_open(bpg_audit_log **out, const char *dir, bpg_error *err);
BPG_EXTERN(void) bpg_audit_free(bpg_audit_log *log);

/**
 * Append one entry: the caller's bytes exactly (canonical compact JSON: one
 * JSON object, valid UTF-8, no control bytes, at most BPG_AUDIT_ENTRY_MAX);
 * nothing is added to them. The record framing adds the index and the leaf
 * hash. Under an exclusive flock on `<dir>/lock` the call, in O(log n)
 * hashes and reading O(1) records of the log,
 *   1. rereads the checkpoint (another process may have appended),
 *   2. checks it: signed by `key`, origin = key name,
 *   3. checks `<dir>/frontier` against it and the entries file (frontier.c:
 *      root = the signed root, file length, the last record's bytes; a
 *      frontier one commit behind is caught up); without a frontier (a log
 *      from before, or deleted) does the full check once (root = all the
 *      entries) and writes one. Refuses to sign over what fails, naming it,
 *   4. removes an uncommitted tail left by an interrupted append (a torn
 *      record, or one complete record with the next index; the bytes are
 *      saved to `<dir>/torn-<size>-<time>`); refuses any other tail,
 *   5. writes the record with one write() and fsyncs `entries`,
 *   6. signs a checkpoint for the new size and renames it into place
 *      atomically (then fsyncs the directory): the commit point,
 *   7. writes the new frontier atomically (a crash before leaves it one
 *      entry behind, caught up by the next append).
 * Entries before the last are not re-read: bpg_audit_verify() does that.
 * A crash before 5 leaves the previous checkpoint, which does not cover the
 * partial or complete new record; the next append removes it. On a new log
 * a size-0 checkpoint is written before the first record, so entries
 * without a checkpoint are never a crash state and are never truncated.
 * `index_out` (may be NULL) receives the entry's index.
 */
BPG_EXTERN(int) bpg_audit_append(bpg_audit_log *log, const char *entry, size_t len,
	const bpg_note_signer *key, uint64_t *index_out, bpg_error *err) BPG_WARN_UNUSED;

/**
 * Open the log in `dir` for appending only: like bpg_audit_open() but the
 * entries are not read (O(1) in the log's size); bpg_audit_append() then
 * works from `<dir>/frontier`. The readers below see no records on such a
 * log (bpg_audit_records() is 0) while bpg_audit_size() and the checkpoint
 * getters work.
 */
BPG_EXTERN(int) bpg_audit_open_append(bpg_audit_log **out, const char *dir, bpg_error *err);

/**
 * What an append needs to know about the committed entries, kept in
 * `<dir>/frontier` beside the checkpoint and bound to it: the root computed
 * from it must equal the signed checkpoint's root.
 *   bpgate-audit-frontier v1\n
 *   size N\n                   entries covered (= the checkpoint's size)
 *   length L\n                 bytes of `entries` they take
 *   last OFF\n                 offset of the record of entry N-1   (N > 0)
 *   leaf HEX\n                 its leaf hash                       (N > 0)
 *   node HEX\n ...             the frontier of the first N-1 entries,
 *                              largest subtree first (popcount(N-1) lines)
 * Keeping the frontier of N-1 plus the last leaf (rather than the frontier
 * of N) lets an append check the last record's bytes against the signed root.
 */
typedef struct {
	uint64_t size;
	uint64_t length;
	uint64_t last_off;
	bpg_hash last_leaf;
	bpg_merkle_frontier prev;
} bpg_audit_frontier;

/** Largest frontier file read. */
#define BPG_AUDIT_FRONTIER_MAX ((size_t)8 << 10)

BPG_EXTERN(int) bpg_audit_frontier_format(bpg_buf *out, const bpg_audit_frontier *f, bpg_error *err);
/** Strict: every line as above, nothing else. BPG_EINVALID names the line. */
BPG_EXTERN(int) bpg_audit_frontier_parse(bpg_audit_frontier *out, const char *text, size_t len,
	bpg_error *err);
/** Read and parse a frontier file; BPG_ENOTFOUND when it does not exist. */
BPG_EXTERN(int) bpg_audit_frontier_load(bpg_audit_frontier *out, const char *path, bpg_error *err);
/** Write one atomically (temporary file, fsync, rename). */
BPG_EXTERN(int) bpg_audit_frontier_save(const char *path, const bpg_audit_frontier *f, bpg_error *err);
/** The frontier of the whole tree (N entries) and its root. */
BPG_EXTERN(void) bpg_audit_frontier_tree(bpg_merkle_frontier *out, const bpg_audit_frontier *f);
BPG_EXTERN(void) bpg_audit_frontier_root(bpg_hash *out, const bpg_audit_frontier *f);
/** The frontier of the first `size` records of a log opened with bpg_audit_open(). */
BPG_EXTERN(int) bpg_audit_frontier_of(bpg_audit_frontier *out, const bpg_audit_log *log, uint64_t size,
	bpg_error *err);

/**
 * Verify only what was appended after `old`, a checkpoint verified before
 * (already verified by the caller), given `old_frontier`, the frontier kept
 * with it (e.g. written by bpg_audit_frontier_of() after a full verify):
 *  - old_frontier must describe `old` (same size, same root: else refused),
 *  - `<dir>/checkpoint` must be signed by `key` (origin = key name) and
 *    not smaller than `old` ("log rolled back"),
 *  - the record of entry old->size-1 must still end at old_frontier->length
 *    with the same leaf hash,
 *  - each record after it up to the checkpoint's size is in sequence and
 *    matches its leaf hash (re-hashed from its bytes),
 *  - an RFC 6962 consistency proof old -> new built from the frontier and
 *    the new leaves verifies against both signed roots ("log rewritten").
 * Reads only the checkpoint and the bytes after old_frontier->length: cost
 * O(new entries + log n). Entries before `old` are not re-read: a full
 * bpg_audit_verify() is what re-checks them. `new_out` (may be NULL)
 * receives the frontier of the current checkpoint, to keep for next time;
 * `added` (may be NULL) the number of entries checked.
 */
BPG_EXTERN(int) bpg_audit_verify_since(bpg_audit_frontier *new_out, uint64_t *added, const char *dir,
	const bpg_note_verifier *key, const bpg_checkpoint *old, const bpg_audit_frontier *old_frontier,
	bpg_error *err) BPG_WARN_UNUSED;

/** Committed entries: the size of the checkpoint read at open/append (0 when none). */
BPG_EXTERN(uint64_t) bpg_audit_size(const bpg_audit_log *log);
/** Complete records on disk (may exceed the size after an interrupted append). */
BPG_EXTERN(uint64_t) bpg_audit_records(const bpg_audit_log *log);
/** Entry bytes of record `index` (borrowed, not NUL-terminated). */
BPG_EXTERN(int) bpg_audit_entry(const char **out, size_t *len, const bpg_audit_log *log,
	uint64_t index, bpg_error *err);
/** Leaf hash computed from the bytes of record `index`. */
BPG_EXTERN(int) bpg_audit_leaf(bpg_hash *out, const bpg_audit_log *log, uint64_t index,
	bpg_error *err);
/** The checkpoint as parsed at open (unverified), or NULL when the log has none. */
BPG_EXTERN(const bpg_checkpoint *) bpg_audit_checkpoint(const bpg_audit_log *log);
/** The signed checkpoint file's bytes (borrowed), or NULL. */
BPG_EXTERN(const char *) bpg_audit_checkpoint_note(const bpg_audit_log *log, size_t *len);

/** What follows the committed entries on disk. */
typedef struct {
	uint64_t uncommitted; /**< complete records not covered by the checkpoint */
	uint64_t torn_bytes;  /**< bytes of an incomplete last record */
	uint64_t tail_offset; /**< offset where the committed entries end */
} bpg_audit_tail;
BPG_EXTERN(void) bpg_audit_tail_info(bpg_audit_tail *out, const bpg_audit_log *log);

/**
 * Remove an uncommitted tail (under the lock; saved as in bpg_audit_append()).
 * `saved_path` (may be NULL) receives the file the bytes went to, empty when
 * there was nothing to remove. Refuses when committed entries are damaged.
 */
BPG_EXTERN(int) bpg_audit_repair(bpg_audit_log *log, bpg_buf *saved_path, bpg_error *err);

/**
 * Check the whole log against its checkpoint: the signature by `key`, the
 * origin, every committed record (index in sequence, leaf hash matches the
 * bytes, valid entry) and the root. The message names what failed: a
 * forged checkpoint, a tampered, deleted or reordered entry, a truncated or
 * rolled-back log, or entries rewritten to hide such a change.
 */
BPG_EXTERN(int) bpg_audit_verify(const bpg_audit_log *log, const bpg_note_verifier *key,
	bpg_error *err) BPG_WARN_UNUSED;

/**
 * Check that the log extends `old`, a checkpoint an auditor kept (already
 * verified by the caller): not smaller (else "rolled back"), same root at
 * old->size and a consistency proof from old to the current checkpoint that
 * verifies (else "rewritten").
 */
BPG_EXTERN(int) bpg_audit_check_extends(const bpg_audit_log *log, const bpg_checkpoint *old,
	bpg_error *err) BPG_WARN_UNUSED;

/** Root of the first `size` records (size <= bpg_audit_records()). */
BPG_EXTERN(int) bpg_audit_root(bpg_hash *out, const bpg_audit_log *log, uint64_t size,
	bpg_error *err);
/** Inclusion proof of entry `index` in the tree of the first `size` records. */
BPG_EXTERN(int) bpg_audit_prove(bpg_merkle_proof *out, const bpg_audit_log *log, uint64_t index,
	uint64_t size, bpg_error *err);
/** Consistency proof between the trees of the first old_size and new_size records. */
BPG_EXTERN(int) bpg_audit_prove_consistency(bpg_merkle_proof *out, const bpg_audit_log *log,
	uint64_t old_size, uint64_t new_size, bpg_error *err);

/**
 * A self-contained inclusion proof as compact JSON (the form the evidence
 * package embeds):
 *   {"index":N,"entry":"<entry bytes as a JSON string>","leaf_hash":"<hex>",
 *    "tree_size":S,"proof":["<hex>",...],"checkpoint":"<signed note>"}
 * for entry `index` against the log's current checkpoint.
 */
BPG_EXTERN(int) bpg_audit_proof_json(bpg_buf *out, const bpg_audit_log *log, uint64_t index,
	bpg_error *err);
/**
 * Check such a proof offline: the checkpoint's signature by `key`, the leaf
 * hash of `entry`, and the path to the checkpoint's root. On success
 * `index_out`/`size_out` (may be NULL) receive the index and tree size.
 */
BPG_EXTERN(int) bpg_audit_proof_check(const char *json, size_t len, const bpg_note_verifier *key,
	uint64_t *index_out, uint64_t *size_out, bpg_error *err) BPG_WARN_UNUSED;

/* --------------------------------------------------------------- syslog */

/** Options of the RFC 5424 rendering. */
typedef struct {
	const char *hostname; /**< NULL: gethostname(); sanitised to printable ASCII */
	const char *app_name; /**< NULL: "bpgate" */
	long procid;          /**< 0: NILVALUE "-" */
} bpg_syslog_opts;
#define BPG_SYSLOG_OPTS_INIT { NULL, NULL, 0 }

/** Private Enterprise Number used in SD-IDs (RFC 5612's documentation number). */
#define BPG_SYSLOG_PEN "32473"

/**
 * One RFC 5424 line (no trailing LF) for entry `index`:
 *   <110>1 TIMESTAMP HOST APP PROCID audit [entry@32473 index="N" leaf="<hex>"]
 *   [checkpoint@32473 origin="..." size="S" root="<b64>" sig="<b64>"] <entry>
 * PRI 110 = facility 13 (log audit) * 8 + severity 6 (informational).
 * TIMESTAMP is the entry's top-level "time" string when it is an RFC 5424
 * timestamp, else "-". The checkpoint SD (omitted when `checkpoint_note`
 * is NULL) carries the signature line of the checkpoint's origin key, so a
 * collector can rebuild the signed note and verify the lines it holds.
 */
BPG_EXTERN(int) bpg_syslog_format(bpg_buf *out, const bpg_syslog_opts *opts, uint64_t index,
	const char *entry, size_t len, const char *checkpoint_note, size_t note_len, bpg_error *err);
/** Send one line as a datagram to a local syslog socket (NULL: "/dev/log"). */
BPG_EXTERN(int) bpg_syslog_send(const char *socket_path, const char *line, size_t len,
	bpg_error *err);

BPG_END_DECL

#endif
