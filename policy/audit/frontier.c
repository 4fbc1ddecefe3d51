/*
 * The Merkle frontier kept beside the checkpoint (`<dir>/frontier`), so an
 * append costs O(log n) hashes and reads O(1) bytes of the log instead of
 * re-reading and re-hashing all of it, and `verify --since` reads only what
 * is new.
 *
 * Trust: the frontier file is not signed. It is bound to the signed
 * checkpoint by its root: the root computed from it must equal the
 * checkpoint's root (a second preimage of SHA-256 otherwise), and the last
 * committed record's bytes must hash to the leaf it names. So an edited
 * frontier is refused, never used; a deleted one costs one full pass.
 *
 * What an append checks cheaply (bpg_audit__frontier_check):
 *  - frontier size > checkpoint size: refused (checkpoint rolled back or
 *    frontier edited);
 *  - frontier size < checkpoint size: the records after frontier.length are
 *    read, checked and folded in; the root must then equal the checkpoint's
 *    (the crash between checkpoint and frontier renames leaves exactly one);
 *  - root(frontier) != checkpoint root: refused;
 *  - entries shorter than frontier.length: refused (truncated);
 *  - the record ending at frontier.length: index N-1, its bytes hash to the
 *    leaf of the frontier (edited last entry or shifted bytes: refused);
 *  - bytes after frontier.length: what an interrupted append leaves (a
 *    prefix of one record without LF, or one complete record N whose hash
 *    matches) is saved to torn-* and cut, as before; anything else (more
 *    records, a foreign line) is refused: the log was extended by hand.
 * Entries before the last are not re-read: a full `bpgate audit verify`
 * checks them all.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRONTIER_MAGIC "bpgate-audit-frontier v1\n"

/* ------------------------------------------------------------ the file */

void bpg_audit_frontier_tree(bpg_merkle_frontier *out, const bpg_audit_frontier *f)
{
	*out = f->prev;
	if (f->size > 0)
		bpg_merkle_frontier_push(out, &f->last_leaf);
}

void bpg_audit_frontier_root(bpg_hash *out, const bpg_audit_frontier *f)
{
	bpg_merkle_frontier t;

	bpg_audit_frontier_tree(&t, f);
	bpg_merkle_frontier_root(out, &t);
}

int bpg_audit_frontier_format(bpg_buf *out, const bpg_audit_frontier *f, bpg_error *err)
{
	char hex[2 * BPG_HASH_SIZE + 1];
	int rc;

	rc = bpg_buf_printf(out, FRONTIER_MAGIC "size %llu\nlength %llu\n", (unsigned long long)f->size,
		(unsigned long long)f->length);
	if (rc == 0 && f->size > 0) {
		bpg_hex_encode(hex, f->last_leaf.b, BPG_HASH_SIZE);
		rc = bpg_buf_printf(out, "last %llu\nleaf %s\n", (unsigned long long)f->last_off, hex);
		for (size_t i = 0; rc == 0 && i < f->prev.len; i++) {
			bpg_hex_encode(hex, f->prev.h[i].b, BPG_HASH_SIZE);
			rc = bpg_buf_printf(out, "node %s\n", hex);
		}
	}
	return rc < 0 ? bpg_error_set(err, BPG_ENOMEM, "out of memory") : 0;
}

/* "<key> <value>\n" at *p; value without the LF. */
static int take_line(const char **val, size_t *vlen, const char **p, const char *end, const char *key)
{
	size_t kl = strlen(key);
	const char *nl;

	if ((size_t)(end - *p) < kl + 1 || memcmp(*p, key, kl) != 0 || (*p)[kl] != ' ')
		return -1;
	if (!(nl = memchr(*p + kl + 1, '\n', (size_t)(end - *p) - kl - 1)))
		return -1;
	*val = *p + kl + 1;
	*vlen = (size_t)(nl - *val);
	*p = nl + 1;
	return 0;
}

static int parse_dec(uint64_t *out, const char *s, size_t len)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_hash(bpg_hash *out, const char *s, size_t len)
{
	return len == 2 * BPG_HASH_SIZE ? bpg_hex_decode(out->b, BPG_HASH_SIZE, s, len) : -1;
}

int bpg_audit_frontier_parse(bpg_audit_frontier *out, const char *text, size_t len, bpg_error *err)
{
	const char *p = text, *end = text + len, *v;
	size_t vl, want;
	int line = 2;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(FRONTIER_MAGIC) - 1 || memcmp(text, FRONTIER_MAGIC, sizeof(FRONTIER_MAGIC) - 1) != 0)
		return bpg_error_set(err, BPG_EINVALID, "frontier line 1: expected \"bpgate-audit-frontier v1\"");
	p += sizeof(FRONTIER_MAGIC) - 1;
	if (take_line(&v, &vl, &p, end, "size") < 0 || parse_dec(&out->size, v, vl) < 0 ||
	    out->size > ((uint64_t)1 << 62))
		return bpg_error_set(err, BPG_EINVALID, "frontier line %d: expected \"size N\"", line);
	line++;
	if (take_line(&v, &vl, &p, end, "length") < 0 || parse_dec(&out->length, v, vl) < 0)
		return bpg_error_set(err, BPG_EINVALID, "frontier line %d: expected \"length BYTES\"", line);
	line++;
	if (out->size == 0) {
		if (out->length != 0 || p != end)
			return bpg_error_set(err, BPG_EINVALID,
				"frontier: an empty tree has length 0 and nothing after it");
		return 0;
	}
	if (take_line(&v, &vl, &p, end, "last") < 0 || parse_dec(&out->last_off, v, vl) < 0 ||
	    out->last_off >= out->length)
		return bpg_error_set(err, BPG_EINVALID,
			"frontier line %d: expected \"last OFFSET\" below the length", line);
	line++;
	if (take_line(&v, &vl, &p, end, "leaf") < 0 || parse_hash(&out->last_leaf, v, vl) < 0)
		return bpg_error_set(err, BPG_EINVALID, "frontier line %d: expected \"leaf <64 hex>\"", line);
	line++;
	want = (size_t)__builtin_popcountll(out->size - 1);
	for (; p < end; line++) {
		if (out->prev.len == want ||
		    take_line(&v, &vl, &p, end, "node") < 0 || parse_hash(&out->prev.h[out->prev.len], v, vl) < 0)
			return bpg_error_set(err, BPG_EINVALID,
				"frontier line %d: expected %zu \"node <64 hex>\" lines in all", line, want);
		out->prev.len++;
	}
	if (out->prev.len != want)
		return bpg_error_set(err, BPG_EINVALID,
			"frontier: %zu node lines, a tree of %llu entries has %zu before its last",
			out->prev.len, (unsigned long long)out->size, want);
	out->prev.size = out->size - 1;
	return 0;
}

int bpg_audit_frontier_load(bpg_audit_frontier *out, const char *path, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = bpg_file_read(&b, path, BPG_AUDIT_FRONTIER_MAX, err)) == 0 &&
	    (rc = bpg_audit_frontier_parse(out, b.ptr ? b.ptr : "", b.size, err)) < 0)
		bpg_error_prefix(err, "%s: ", path);
	bpg_buf_dispose(&b);
	return rc;
}

int bpg_audit_frontier_save(const char *path, const bpg_audit_frontier *f, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_audit_frontier_format(&b, f, err)) == 0)
		rc = bpg_file_write_atomic(path, b.ptr, b.size, 0640, err);
	bpg_buf_dispose(&b);
	return rc;
}

int bpg_audit_frontier_of(bpg_audit_frontier *out, const bpg_audit_log *log, uint64_t size,
	bpg_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!log->loaded)
		return bpg_error_set(err, BPG_EINVALID, "%s: opened for appending only; no records read",
			log->dir);
	if (size > log->nrecs)
		return bpg_error_set(err, BPG_EINVALID, "no tree of %llu entries: the log holds %zu",
			(unsigned long long)size, log->nrecs);
	if (size == 0)
		return 0;
	for (uint64_t i = 0; i + 1 < size; i++)
		bpg_merkle_frontier_push(&out->prev, &log->leaves[i]);
	out->size = size;
	out->last_off = log->recs[size - 1].off;
	out->length = out->last_off + log->recs[size - 1].line_len + 1;
	out->last_leaf = log->leaves[size - 1];
	return 0;
}

/* ------------------------------------------------------------ reading */

/* Read [off, off+len) of fd into buf (replacing its content). */
static int read_at(bpg_buf *buf, int fd, uint64_t off, uint64_t len, const char *path, bpg_error *err)
{
	size_t got = 0;

	bpg_buf_clear(buf);
	if (len > BPG_AUDIT_LOG_MAX)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: %llu bytes to read, more than %zu (BPG_AUDIT_LOG_MAX)",
			path, (unsigned long long)len, BPG_AUDIT_LOG_MAX);
	if (bpg_buf_grow(buf, (size_t)len + 1) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	while (got < len) {
		ssize_t n = pread(fd, buf->ptr + got, (size_t)len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bpg_error_set(err, BPG_EIO, "%s: cannot read at %llu: %s", path,
				(unsigned long long)(off + got), n < 0 ? strerror(errno) : "file shrank");
		got += (size_t)n;
	}
	buf->size = (size_t)len;
	buf->ptr[len] = '\0';
	return 0;
}

/*
 * The record of entry `index` that starts at `rec` (offset `abs` in the file)
 * and ends before `end`: in sequence, hash matches its bytes. `*next` is
 * past its LF. Leaf hash out.
 */
static int check_record(bpg_hash *leaf, const char **next, const char *rec, const char *end,
	uint64_t index, uint64_t abs, const char *path, bpg_error *err)
{
	const char *nl = memchr(rec, '\n', (size_t)(end - rec)), *entry;
	bpg_hash stored;
	uint64_t got;
	size_t elen;

	if (!nl)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: entry %llu (offset %llu) is cut off: the log was truncated", path,
			(unsigned long long)index, (unsigned long long)abs);
	if (bpg_audit__record_parse(&got, &stored, &entry, &elen, rec, (size_t)(nl - rec), NULL) < 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: offset %llu is not a record (edited or corrupted) where entry %llu belongs", path,
			(unsigned long long)abs, (unsigned long long)index);
	if (got != index)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: offset %llu holds entry %llu where entry %llu belongs: deleted, reordered or inserted entries",
			path, (unsigned long long)abs, (unsigned long long)got, (unsigned long long)index);
	bpg_merkle_leaf_hash(leaf, entry, elen);
	if (memcmp(leaf->b, stored.b, BPG_HASH_SIZE) != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: entry %llu tampered: its bytes (offset %llu) do not match its recorded leaf hash", path,
			(unsigned long long)index, (unsigned long long)abs);
	*next = nl + 1;
	return 0;
}

/* Open `entries` read-only and stat it; a missing file is 0 bytes long. */
static int entries_open(int *fd, uint64_t *size, const char *path, bpg_error *err)
{
	struct stat st;

	*size = 0;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return bpg_error_set(err, BPG_EIO, "%s: cannot open: %s", path, strerror(errno));
	}
	if (fstat(*fd, &st) < 0)
		return bpg_error_set(err, BPG_EIO, "%s: cannot stat: %s", path, strerror(errno));
	*size = (uint64_t)st.st_size;
	return 0;
}

/* The record of entry f->size-1 ends at f->length and hashes to f->last_leaf. */
static int check_last(int fd, const bpg_audit_frontier *f, bpg_buf *buf, const char *path, bpg_error *err)
{
	const char *next = NULL;
	bpg_hash leaf;
	int rc;

	if (f->size == 0)
		return 0;
	if ((rc = read_at(buf, fd, f->last_off, f->length - f->last_off, path, err)) < 0 ||
	    (rc = check_record(&leaf, &next, buf->ptr, buf->ptr + buf->size, f->size - 1, f->last_off, path,
		    err)) < 0)
		return rc;
	if (next != buf->ptr + buf->size)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: entry %llu does not end where the frontier says (offset %llu): the log was edited",
			path, (unsigned long long)(f->size - 1), (unsigned long long)f->length);
	if (memcmp(leaf.b, f->last_leaf.b, BPG_HASH_SIZE) != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"%s: entry %llu is not the entry the signed checkpoint covers (its hash differs from the frontier's): rewritten",
			path, (unsigned long long)(f->size - 1));
	return 0;
}

/*
 * Fold the records of entries f->size .. upto-1 (from f->length on, in buf
 * which holds the file from f->length) into f; `leaves` (may be NULL)
 * receives their leaf hashes.
 */
static int fold_records(bpg_audit_frontier *f, bpg_hash *leaves, const bpg_buf *buf, uint64_t upto,
	const char *path, bpg_error *err)
{
	const char *p = buf->ptr, *end = buf->ptr + buf->size, *next = NULL;
	uint64_t base = f->length, first = f->size;
	bpg_hash leaf;
	int rc;

	for (uint64_t i = f->size; i < upto; i++) {
		uint64_t abs = base + (uint64_t)(p - buf->ptr);

		if (p == end)
			return bpg_error_set(err, BPG_EVERIFY,
				"%s: log truncated: the checkpoint covers %llu entries, the file ends after %llu",
				path, (unsigned long long)upto, (unsigned long long)i);
		if ((rc = check_record(&leaf, &next, p, end, i, abs, path, err)) < 0)
			return rc;
		if (leaves)
			leaves[i - first] = leaf;
		if (f->size > 0)
			bpg_merkle_frontier_push(&f->prev, &f->last_leaf);
		f->size++;
		f->last_off = abs;
		f->last_leaf = leaf;
		f->length = base + (uint64_t)(next - buf->ptr);
		p = next;
	}
	return 0;
}

/* ------------------------------------------------------------ append */

int bpg_audit__frontier_check(bpg_audit_log *log, bpg_audit_frontier *f, bool *rewrite, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, buf = BPG_BUF_INIT;
	const char *nl;
	bpg_hash root;
	uint64_t fsize;
	int fd = -1, rc;

	*rewrite = false;
	if ((rc = bpg_audit__path(&path, log, "entries", err)) < 0 ||
	    (rc = entries_open(&fd, &fsize, path.ptr, err)) < 0)
		goto done;
	if (f->size > log->cp.size) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s/frontier covers %llu entries but the signed checkpoint only %llu: the checkpoint was rolled back or the frontier edited; run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier",
			log->dir, (unsigned long long)f->size, (unsigned long long)log->cp.size);
		goto done;
	}
	if (fsize < f->length) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s is %llu bytes but the %llu entries of %s/frontier end at byte %llu: log truncated; run `bpgate audit verify` (full)",
			path.ptr, (unsigned long long)fsize, (unsigned long long)f->size, log->dir,
			(unsigned long long)f->length);
		goto done;
	}
	if ((rc = check_last(fd, f, &buf, path.ptr, err)) < 0)
		goto done;
	if (f->size < log->cp.size) {
		/* Committed after the frontier was saved (a crash between the two renames): catch up. */
		if ((rc = read_at(&buf, fd, f->length, fsize - f->length, path.ptr, err)) < 0 ||
		    (rc = fold_records(f, NULL, &buf, log->cp.size, path.ptr, err)) < 0)
			goto done;
		*rewrite = true;
	}
	bpg_audit_frontier_root(&root, f);
	if (memcmp(root.b, log->cp.root.b, BPG_HASH_SIZE) != 0) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s/frontier does not match the signed checkpoint (%llu entries): the root computed from it differs; the frontier or the entries were edited. Run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier",
			log->dir, (unsigned long long)log->cp.size);
		goto done;
	}
	if (fsize == f->length)
		goto done;
	/* A tail: what an interrupted append leaves is cut (saved); anything else is refused. */
	if ((rc = read_at(&buf, fd, f->length, fsize - f->length, path.ptr, err)) < 0)
		goto done;
	nl = memchr(buf.ptr, '\n', buf.size);
	if (nl && nl != buf.ptr + buf.size - 1) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"%s: %zu bytes after the %llu committed entries (offset %llu) hold more than one line: not what an interrupted append leaves, the log was extended by hand. Run `bpgate audit verify`, keep a copy of the file, then `bpgate audit repair` (saves and removes them)",
			path.ptr, buf.size, (unsigned long long)f->size, (unsigned long long)f->length);
		goto done;
	}
	if (nl) {
		bpg_audit_frontier probe = *f;

		if (fold_records(&probe, NULL, &buf, f->size + 1, path.ptr, NULL) < 0) {
			rc = bpg_error_set(err, BPG_EVERIFY,
				"%s: the line after the %llu committed entries (offset %llu) is not record %llu with its hash: not what an interrupted append leaves, the log was extended by hand. Run `bpgate audit verify`, keep a copy of the file, then `bpgate audit repair` (saves and removes it)",
				path.ptr, (unsigned long long)f->size, (unsigned long long)f->length,
				(unsigned long long)f->size);
			goto done;
		}
	}
	rc = bpg_audit__cut_at(log, f->length, buf.ptr, buf.size, NULL, err);
done:
	if (fd >= 0)
		close(fd);
	bpg_buf_dispose(&buf);
	bpg_buf_dispose(&path);
	return rc;
}

/* ------------------------------------------------------------ verify --since */

int bpg_audit_verify_since(bpg_audit_frontier *new_out, uint64_t *added, const char *dir,
	const bpg_note_verifier *key, const bpg_checkpoint *old, const bpg_audit_frontier *old_frontier,
	bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, note = BPG_BUF_INIT, buf = BPG_BUF_INIT;
	bpg_audit_frontier f = *old_frontier;
	bpg_merkle_frontier oldtree;
	bpg_merkle_proof proof;
	bpg_checkpoint cp;
	bpg_hash root, *leaves = NULL;
	uint64_t fsize, n;
	int fd = -1, rc;

	if (added)
		*added = 0;
	bpg_audit_frontier_root(&root, old_frontier);
	if (old_frontier->size != old->size || memcmp(root.b, old->root.b, BPG_HASH_SIZE) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"the frontier kept with the checkpoint (%llu entries) does not describe it (%llu entries): not its frontier, or edited",
			(unsigned long long)old_frontier->size, (unsigned long long)old->size);
		goto done;
	}
	if ((rc = bpg_buf_printf(&path, "%s/checkpoint", dir)) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = bpg_file_read(&note, path.ptr, BPG_NOTE_MAX_BYTES, err)) < 0)
		goto done;
	if ((rc = bpg_checkpoint_open(&cp, note.ptr ? note.ptr : "", note.size, key, NULL, err)) < 0) {
		bpg_error_prefix(err, "%s: ", path.ptr);
		rc = rc == BPG_EINVALID ? BPG_EVERIFY : rc;
		goto done;
	}
	if (strcmp(old->origin, cp.origin) != 0) {
		rc = bpg_error_set(err, BPG_EVERIFY, "the kept checkpoint is for log '%s', not '%s'", old->origin,
			cp.origin);
		goto done;
	}
	if (old->size > cp.size) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"log rolled back: its checkpoint covers %llu entries, the one you kept covers %llu",
			(unsigned long long)cp.size, (unsigned long long)old->size);
		goto done;
	}
	bpg_buf_clear(&path);
	if (bpg_buf_printf(&path, "%s/entries", dir) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = entries_open(&fd, &fsize, path.ptr, err)) < 0)
		goto done;
	if (fsize < f.length) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"log truncated: %s is %llu bytes, the %llu entries you verified before ended at byte %llu",
			path.ptr, (unsigned long long)fsize, (unsigned long long)f.size, (unsigned long long)f.length);
		goto done;
	}
	if ((rc = check_last(fd, &f, &buf, path.ptr, err)) < 0) {
		bpg_error_prefix(err, "log rewritten before the kept checkpoint: ");
		goto done;
	}
	n = cp.size - old->size;
	/* A record is at least 68 bytes ("0 <64 hex> {}\n" is 69): more entries than that cannot be there. */
	if (n > (fsize - f.length) / 68) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"log truncated: the checkpoint covers %llu entries, %llu after the kept %llu, but %s holds only %llu bytes after them",
			(unsigned long long)cp.size, (unsigned long long)n, (unsigned long long)old->size, path.ptr,
			(unsigned long long)(fsize - f.length));
		goto done;
	}
	if (n > 0 && !(leaves = calloc((size_t)n, sizeof(*leaves)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = read_at(&buf, fd, f.length, fsize - f.length, path.ptr, err)) < 0 ||
	    (rc = fold_records(&f, leaves, &buf, cp.size, path.ptr, err)) < 0)
		goto done;
	bpg_audit_frontier_tree(&oldtree, old_frontier);
	if ((rc = bpg_merkle_frontier_consistency_proof(&proof, &oldtree, leaves, n, err)) < 0)
		goto done;
	if (bpg_merkle_verify_consistency(old->size, cp.size, &old->root, &cp.root, &proof, NULL) < 0) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"log rewritten: the entries after the kept checkpoint do not lead to the signed root (consistency proof %llu -> %llu fails)",
			(unsigned long long)old->size, (unsigned long long)cp.size);
		goto done;
	}
	/* The proof binds the new leaves only together with the old root; recompute it plainly too. */
	bpg_audit_frontier_root(&root, &f);
	if (memcmp(root.b, cp.root.b, BPG_HASH_SIZE) != 0) {
		rc = bpg_error_set(err, BPG_EVERIFY,
			"entries do not match the signed checkpoint (%llu entries)", (unsigned long long)cp.size);
		goto done;
	}
	if (new_out)
		*new_out = f;
	if (added)
		*added = n;
done:
	if (fd >= 0)
		close(fd);
	free(leaves);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&buf);
	return rc;
}
