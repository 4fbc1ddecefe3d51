/*
 * The append-only audit log on disk.
 *
 *   <dir>/entries     records "<index> <leaf hash hex> <entry>\n", appended
 *   <dir>/checkpoint  the latest signed checkpoint (the commit point)
 *   <dir>/lock        flock(2) file that orders appenders
 *
 * Crash safety rests on one ordering: a record is written and fsync'd
 * before the checkpoint that covers it is renamed into place. So after a
 * crash the checkpoint never covers a partial record, and whatever follows
 * the records it covers is an interrupted append that can be removed.
 * Readers read the checkpoint first and the entries second, so a concurrent
 * append can only add an uncommitted tail to what they see.
 */
#include "internal.h"
#include "bpgate/testhook.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_WAIT_MS 60000

int bpg_audit__path(bpg_buf *out, const bpg_audit_log *log, const char *name, bpg_error *err)
{
	bpg_buf_clear(out);
	if (bpg_buf_printf(out, "%s/%s", log->dir, name) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

int bpg_audit__record_parse(uint64_t *index, bpg_hash *stored, const char **entry,
	size_t *entry_len, const char *line, size_t len, bpg_error *err)
{
	size_t i = 0;
	uint64_t v = 0;

	while (i < len && i < 20 && line[i] >= '0' && line[i] <= '9') {
		v = v * 10 + (uint64_t)(line[i] - '0');
		i++;
	}
	if (i == 0 || i > 19 || (i > 1 && line[0] == '0') || i >= len || line[i] != ' ')
		return bpg_error_set(err, BPG_EINVALID, "expected a decimal index and a space");
	i++;
	if (len - i < 66 || line[i + 64] != ' ' || bpg_hex_decode(stored->b, 32, line + i, 64) < 0)
		return bpg_error_set(err, BPG_EINVALID, "expected a 64-digit leaf hash and a space");
	i += 65;
	if (i == len)
		return bpg_error_set(err, BPG_EINVALID, "empty entry");
	*index = v;
	*entry = line + i;
	*entry_len = len - i;
	return 0;
}

int bpg_audit__entry_check(const char *entry, size_t len, bpg_error *err)
{
	json_error_t jerr;
	json_t *j;

	if (len == 0 || len > BPG_AUDIT_ENTRY_MAX)
		return bpg_error_set(err, len ? BPG_ETOOBIG : BPG_EINVALID,
			"entry: %zu bytes; expected 1 to %zu", len, BPG_AUDIT_ENTRY_MAX);
	if (!bpg_utf8_valid(entry, len))
		return bpg_error_set(err, BPG_EINVALID, "entry: not valid UTF-8");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)entry[i] < 0x20)
			return bpg_error_set(err, BPG_EINVALID,
				"entry: control byte 0x%02x at offset %zu; give compact JSON on one line",
				(unsigned char)entry[i], i);
	if (entry[0] != '{' || entry[len - 1] != '}')
		return bpg_error_set(err, BPG_EINVALID,
			"entry: expected one compact JSON object ({...} without surrounding spaces)");
	if (!(j = json_loadb(entry, len, JSON_REJECT_DUPLICATES, &jerr)))
		return bpg_error_set(err, BPG_EINVALID, "entry: column %d: %s", jerr.column, jerr.text);
	json_decref(j);
	return 0;
}

static int push_record(bpg_audit_log *log, const record *r)
{
	if (log->nrecs == log->arecs) { /* two arrays of one length: both grow to the first's new capacity */
		size_t n = log->arecs, kept = log->arecs;
		record *nr = bpg_array_grow(log->recs, &n, log->nrecs + 1, sizeof(*nr), 64);
		bpg_hash *nl;

		if (!nr)
			return BPG_ENOMEM;
		log->recs = nr;
		if (!(nl = bpg_array_grow(log->leaves, &kept, n, sizeof(*nl), 64)))
			return BPG_ENOMEM;
		log->leaves = nl;
		log->arecs = n;
	}
	log->recs[log->nrecs] = *r;
	bpg_merkle_leaf_hash(&log->leaves[log->nrecs], log->entries.ptr + r->entry_off, r->entry_len);
	log->nrecs++;
	return 0;
}

/* Index the well-formed records at the start of the entries buffer. */
static int scan_records(bpg_audit_log *log, bpg_error *err)
{
	const char *base = log->entries.ptr;
	size_t off = 0, size = log->entries.size;

	log->nrecs = 0;
	log->good_end = 0;
	while (off < size) {
		const char *nl = memchr(base + off, '\n', size - off), *entry;
		record r;

		if (!nl)
			break;
		r.off = off;
		r.line_len = (size_t)(nl - (base + off));
		if (bpg_audit__record_parse(&r.index, &r.stored, &entry, &r.entry_len, base + off,
				r.line_len, NULL) < 0)
			break;
		r.entry_off = (size_t)(entry - base);
		if (push_record(log, &r) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		off += r.line_len + 1;
		log->good_end = off;
	}
	return 0;
}

int bpg_audit__load_checkpoint(bpg_audit_log *log, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	const char *text;
	size_t tlen;
	int rc;

	log->has_cp = false;
	bpg_buf_clear(&log->cp_note);
	if ((rc = bpg_audit__path(&path, log, "checkpoint", err)) < 0)
		goto done;
	rc = bpg_file_read(&log->cp_note, path.ptr, BPG_NOTE_MAX_BYTES, err);
	if (rc == 0) {
		if (bpg_audit__note_text(&text, &tlen, log->cp_note.ptr, log->cp_note.size, err) < 0 ||
		    bpg_checkpoint_parse(&log->cp, text, tlen, err) < 0) {
			char why[sizeof(err->message)];

			snprintf(why, sizeof(why), "%s", err ? err->message : "malformed");
			rc = bpg_error_set(err, BPG_EVERIFY, "%s: %s (forged or damaged checkpoint)",
				path.ptr, why);
			goto done;
		}
		log->has_cp = true;
	} else if (rc == BPG_ENOTFOUND) {
		rc = 0;
	}
done:
	bpg_buf_dispose(&path);
	return rc;
}

/* Read checkpoint first, entries second (see the top of the file). */
static int log_load(bpg_audit_log *log, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int rc;

	bpg_buf_clear(&log->entries);
	log->nrecs = 0;
	log->good_end = 0;
	log->loaded = false;
	if ((rc = bpg_audit__load_checkpoint(log, err)) < 0 ||
	    (rc = bpg_audit__path(&path, log, "entries", err)) < 0)
		goto done;
	rc = bpg_file_read(&log->entries, path.ptr, BPG_AUDIT_LOG_MAX, err);
	if (rc == BPG_ENOTFOUND)
		rc = 0;
	if (rc == 0 && (rc = scan_records(log, err)) == 0)
		log->loaded = true;
done:
	bpg_buf_dispose(&path);
	return rc;
}

static int log_new(bpg_audit_log **out, const char *dir, bool load, bpg_error *err)
{
	bpg_audit_log *log;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium failed to initialise");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return bpg_error_set(err, BPG_EIO, "%s: cannot create the log directory: %s", dir,
			strerror(errno));
	if (!(log = calloc(1, sizeof(*log))) || !(log->dir = strdup(dir))) {
		free(log);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	log->entries.max = BPG_AUDIT_LOG_MAX;
	if ((rc = load ? log_load(log, err) : bpg_audit__load_checkpoint(log, err)) < 0) {
		bpg_audit_free(log);
		return rc;
	}
	*out = log;
	return 0;
}

int bpg_audit_open(bpg_audit_log **out, const char *dir, bpg_error *err)
{
	return log_new(out, dir, true, err);
}

int bpg_audit_open_append(bpg_audit_log **out, const char *dir, bpg_error *err)
{
	return log_new(out, dir, false, err);
}

void bpg_audit_free(bpg_audit_log *log)
{
	if (!log)
		return;
	bpg_buf_dispose(&log->entries);
	bpg_buf_dispose(&log->cp_note);
	free(log->recs);
	free(log->leaves);
	free(log->dir);
	free(log);
}

uint64_t bpg_audit_size(const bpg_audit_log *log)
{
	return log->has_cp ? log->cp.size : 0;
}

uint64_t bpg_audit_records(const bpg_audit_log *log)
{
	return log->nrecs;
}

int bpg_audit_entry(const char **out, size_t *len, const bpg_audit_log *log, uint64_t index,
	bpg_error *err)
{
	if (index >= log->nrecs)
		return bpg_error_set(err, BPG_ENOTFOUND, "no entry %llu: the log holds %zu",
			(unsigned long long)index, log->nrecs);
	*out = log->entries.ptr + log->recs[index].entry_off;
	*len = log->recs[index].entry_len;
	return 0;
}

int bpg_audit_leaf(bpg_hash *out, const bpg_audit_log *log, uint64_t index, bpg_error *err)
{
	if (index >= log->nrecs)
		return bpg_error_set(err, BPG_ENOTFOUND, "no entry %llu: the log holds %zu",
			(unsigned long long)index, log->nrecs);
	*out = log->leaves[index];
	return 0;
}

const bpg_checkpoint *bpg_audit_checkpoint(const bpg_audit_log *log)
{
	return log->has_cp ? &log->cp : NULL;
}

const char *bpg_audit_checkpoint_note(const bpg_audit_log *log, size_t *len)
{
	if (!log->has_cp)
		return NULL;
	*len = log->cp_note.size;
	return log->cp_note.ptr;
}

void bpg_audit_tail_info(bpg_audit_tail *out, const bpg_audit_log *log)
{
	uint64_t size = bpg_audit_size(log);

	memset(out, 0, sizeof(*out));
	if (log->nrecs < size)
		return; /* damaged, not a tail: bpg_audit_verify() says what */
	out->uncommitted = log->nrecs - size;
	out->torn_bytes = log->entries.size - log->good_end;
	out->tail_offset = size == 0 ? 0 : log->recs[size - 1].off + log->recs[size - 1].line_len + 1;
}

static size_t line_of(const bpg_audit_log *log, size_t off)
{
	size_t n = 1;

	for (size_t i = 0; i < off && i < log->entries.size; i++)
		n += log->entries.ptr[i] == '\n';
	return n;
}

/* Records in sequence and matching their leaf hashes; `size` of them exist. */
static int check_records(const bpg_audit_log *log, uint64_t size, bpg_error *err)
{
	for (uint64_t i = 0; i < size && i < log->nrecs; i++) {
		const record *r = &log->recs[i];

		if (r->index > i) {
			for (uint64_t j = i + 1; j < log->nrecs; j++)
				if (log->recs[j].index == i)
					return bpg_error_set(err, BPG_EVERIFY,
						"entries reordered: line %zu holds entry %llu where entry %llu belongs (entry %llu is at line %zu)",
						line_of(log, r->off), (unsigned long long)r->index,
						(unsigned long long)i, (unsigned long long)i,
						line_of(log, log->recs[j].off));
			return bpg_error_set(err, BPG_EVERIFY,
				"entry %llu deleted: line %zu holds entry %llu where entry %llu belongs",
				(unsigned long long)i, line_of(log, r->off), (unsigned long long)r->index,
				(unsigned long long)i);
		}
		if (r->index < i)
			return bpg_error_set(err, BPG_EVERIFY,
				"entries reordered or duplicated: line %zu holds entry %llu where entry %llu belongs",
				line_of(log, r->off), (unsigned long long)r->index, (unsigned long long)i);
		if (memcmp(r->stored.b, log->leaves[i].b, BPG_HASH_SIZE) != 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"entry %llu tampered: the bytes at line %zu do not match its recorded leaf hash",
				(unsigned long long)i, line_of(log, r->off));
	}
	if (log->nrecs < size) {
		if (log->good_end < log->entries.size && memchr(log->entries.ptr + log->good_end, '\n',
				log->entries.size - log->good_end))
			return bpg_error_set(err, BPG_EVERIFY,
				"entries line %zu is not a record (edited or corrupted); the checkpoint covers %llu entries",
				line_of(log, log->good_end), (unsigned long long)size);
		return bpg_error_set(err, BPG_EVERIFY,
			"log truncated: the checkpoint covers %llu entries but the file holds %zu complete records: entry %zu%s deleted or cut",
			(unsigned long long)size, log->nrecs, log->nrecs, size - log->nrecs > 1 ? " and later" : "");
	}
	return 0;
}

/* Structure and root against the checkpoint as read (signature checked by the caller). */
static int log_check(const bpg_audit_log *log, bpg_error *err)
{
	bpg_hash root;
	int rc;

	if (!log->has_cp) {
		if (log->entries.size > 0)
			return bpg_error_set(err, BPG_EVERIFY,
				"%s/checkpoint missing while the log holds %zu records: deleted checkpoint",
				log->dir, log->nrecs);
		return 0;
	}
	if ((rc = check_records(log, log->cp.size, err)) < 0)
		return rc;
	bpg_merkle_root(&root, log->leaves, log->cp.size);
	if (memcmp(root.b, log->cp.root.b, BPG_HASH_SIZE) != 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"entries do not match the signed checkpoint (%llu entries): an entry was rewritten, deleted or reordered together with its index and hash",
			(unsigned long long)log->cp.size);
	return 0;
}

int bpg_audit_verify(const bpg_audit_log *log, const bpg_note_verifier *key, bpg_error *err)
{
	bpg_checkpoint cp;
	int rc;

	if (!log->has_cp)
		return log->entries.size > 0 ? log_check(log, err) :
			bpg_error_set(err, BPG_ENOTFOUND,
				"%s: no checkpoint: nothing was appended yet, or this is not an audit log", log->dir);
	if ((rc = bpg_checkpoint_open(&cp, log->cp_note.ptr, log->cp_note.size, key, NULL, err)) < 0) {
		bpg_error_prefix(err, "%s/", log->dir);
		return rc == BPG_EINVALID ? BPG_EVERIFY : rc;
	}
	return log_check(log, err);
}

int bpg_audit_root(bpg_hash *out, const bpg_audit_log *log, uint64_t size, bpg_error *err)
{
	if (size > log->nrecs)
		return bpg_error_set(err, BPG_EINVALID, "no tree of %llu entries: the log holds %zu",
			(unsigned long long)size, log->nrecs);
	bpg_merkle_root(out, log->leaves, size);
	return 0;
}

int bpg_audit_prove(bpg_merkle_proof *out, const bpg_audit_log *log, uint64_t index,
	uint64_t size, bpg_error *err)
{
	out->len = 0;
	if (size > log->nrecs)
		return bpg_error_set(err, BPG_EINVALID, "no tree of %llu entries: the log holds %zu",
			(unsigned long long)size, log->nrecs);
	return bpg_merkle_inclusion_proof(out, log->leaves, size, index, err);
}

int bpg_audit_prove_consistency(bpg_merkle_proof *out, const bpg_audit_log *log,
	uint64_t old_size, uint64_t new_size, bpg_error *err)
{
	out->len = 0;
	if (new_size > log->nrecs)
		return bpg_error_set(err, BPG_EINVALID, "no tree of %llu entries: the log holds %zu",
			(unsigned long long)new_size, log->nrecs);
	return bpg_merkle_consistency_proof(out, log->leaves, old_size, new_size, err);
}

int bpg_audit_check_extends(const bpg_audit_log *log, const bpg_checkpoint *old, bpg_error *err)
{
	bpg_merkle_proof proof;
	bpg_hash root;
	int rc;

	if (!log->has_cp)
		return bpg_error_set(err, BPG_EVERIFY,
			"log rolled back: it has no checkpoint but you kept one of %llu entries",
			(unsigned long long)old->size);
	if (strcmp(old->origin, log->cp.origin) != 0)
		return bpg_error_set(err, BPG_EVERIFY, "the kept checkpoint is for log '%s', not '%s'",
			old->origin, log->cp.origin);
	if (old->size > log->cp.size)
		return bpg_error_set(err, BPG_EVERIFY,
			"log rolled back: its checkpoint covers %llu entries, the one you kept covers %llu",
			(unsigned long long)log->cp.size, (unsigned long long)old->size);
	if (log->cp.size > log->nrecs)
		return bpg_error_set(err, BPG_EVERIFY,
			"log truncated: the checkpoint covers %llu entries, the file holds %zu",
			(unsigned long long)log->cp.size, log->nrecs);
	bpg_merkle_root(&root, log->leaves, old->size);
	if ((rc = bpg_merkle_consistency_proof(&proof, log->leaves, old->size, log->cp.size, err)) < 0)
		return rc;
	if (memcmp(root.b, old->root.b, BPG_HASH_SIZE) != 0 ||
	    bpg_merkle_verify_consistency(old->size, log->cp.size, &old->root, &log->cp.root, &proof,
		    NULL) < 0)
		return bpg_error_set(err, BPG_EVERIFY,
			"log rewritten: the first %llu entries no longer match the checkpoint you kept (consistency proof %llu -> %llu fails)",
			(unsigned long long)old->size, (unsigned long long)old->size,
			(unsigned long long)log->cp.size);
	return 0;
}

/* ------------------------------------------------------------ writing */

int bpg_audit__fsync_dir(const char *dir, bpg_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return bpg_error_set(err, BPG_EIO, "%s: cannot sync the directory: %s", dir, strerror(e));
	}
	close(fd);
	return 0;
}

static int lock_acquire(int *out, const bpg_audit_log *log, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int fd = -1, rc;

	*out = -1;
	if ((rc = bpg_audit__path(&path, log, "lock", err)) < 0)
		goto done;
	if ((fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot open: %s", path.ptr, strerror(errno));
		goto done;
	}
	/* Bounded wait: a stuck appender must not hang every push forever. */
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 5) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = bpg_error_set(err, BPG_EIO, "%s: cannot lock: %s", path.ptr, strerror(errno));
			goto done;
		}
		if (waited >= LOCK_WAIT_MS) {
			rc = bpg_error_set(err, BPG_EIO,
				"%s: still locked by another process after %d s; is an append stuck?",
				path.ptr, LOCK_WAIT_MS / 1000);
			goto done;
		}
		nanosleep(&ts, NULL);
	}
	*out = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	bpg_buf_dispose(&path);
	return rc;
}

int bpg_audit__write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bpg_audit__write_checkpoint(bpg_audit_log *log, const bpg_note_signer *key, uint64_t size,
	const bpg_hash *root, bpg_error *err)
{
	bpg_buf note = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_checkpoint cp;
	int rc;

	memset(&cp, 0, sizeof(cp));
	memcpy(cp.origin, bpg_note_signer_name(key), strlen(bpg_note_signer_name(key)) + 1);
	cp.size = size;
	cp.root = *root;
	if ((rc = bpg_checkpoint_sign(&note, &cp, key, err)) < 0 ||
	    (rc = bpg_audit__path(&path, log, "checkpoint", err)) < 0 ||
	    (rc = bpg_file_write_atomic(path.ptr, note.ptr, note.size, 0640, err)) < 0 ||
	    (rc = bpg_audit__fsync_dir(log->dir, err)) < 0)
		goto done;
	bpg_buf_clear(&log->cp_note);
	if (bpg_buf_put(&log->cp_note, note.ptr, note.size) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	log->cp = cp;
	log->has_cp = true;
done:
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&path);
	return rc;
}

int bpg_audit__cut_at(bpg_audit_log *log, uint64_t off, const char *bytes, size_t len, bpg_buf *saved,
	bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int fd = -1, rc = 0;

	if (bpg_buf_printf(&path, "%s/torn-%llu-%lld-%ld", log->dir, (unsigned long long)off,
			(long long)time(NULL), (long)getpid()) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = bpg_file_write_atomic(path.ptr, bytes, len, 0640, err)) < 0)
		goto done;
	if (saved && bpg_buf_puts(saved, path.ptr) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = bpg_audit__path(&path, log, "entries", err)) < 0)
		goto done;
	if ((fd = open(path.ptr, O_WRONLY | O_CLOEXEC)) < 0 || ftruncate(fd, (off_t)off) < 0 ||
	    fsync(fd) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot cut the torn tail: %s", path.ptr,
			strerror(errno));
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	bpg_buf_dispose(&path);
	return rc;
}

/* Remove what follows the committed records; the caller holds the lock and checked them. */
static int cut_tail(bpg_audit_log *log, bpg_buf *saved, bpg_error *err)
{
	bpg_audit_tail t;
	int rc;

	bpg_audit_tail_info(&t, log);
	if (t.tail_offset >= log->entries.size)
		return 0;
	if ((rc = bpg_audit__cut_at(log, t.tail_offset, log->entries.ptr + t.tail_offset,
			log->entries.size - t.tail_offset, saved, err)) < 0)
		return rc;
	log->entries.size = t.tail_offset;
	log->nrecs = log->cp.size;
	log->good_end = t.tail_offset;
	return 0;
}

static int frontier_path(bpg_buf *out, const bpg_audit_log *log, bpg_error *err)
{
	return bpg_audit__path(out, log, "frontier", err);
}

/* A full pass over a loaded, checked log: write <dir>/frontier for its checkpoint. */
static int frontier_rebuild(bpg_audit_log *log, bpg_audit_frontier *f, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_audit_frontier_of(f, log, log->cp.size, err)) == 0 &&
	    (rc = frontier_path(&path, log, err)) == 0)
		rc = bpg_audit_frontier_save(path.ptr, f, err);
	bpg_buf_dispose(&path);
	return rc;
}

int bpg_audit_repair(bpg_audit_log *log, bpg_buf *saved_path, bpg_error *err)
{
	bpg_audit_frontier f;
	int lockfd = -1, rc;

	if ((rc = lock_acquire(&lockfd, log, err)) < 0)
		return rc;
	if ((rc = log_load(log, err)) == 0 && (rc = log_check(log, err)) == 0) {
		/* Also rebuilds the frontier from the entries (the cure for a refused one). */
		if ((rc = cut_tail(log, saved_path, err)) == 0 && log->has_cp)
			rc = frontier_rebuild(log, &f, err);
	} else {
		bpg_error_prefix(err, "not repairing, committed entries are damaged: ");
	}
	close(lockfd);
	return rc;
}

/* The record line "<index> <leaf hex> <entry>\n" of entry `index`. */
static int record_line(bpg_buf *line, bpg_hash *leaf, uint64_t index, const char *entry, size_t len,
	bpg_error *err)
{
	char hex[2 * BPG_HASH_SIZE + 1];

	bpg_merkle_leaf_hash(leaf, entry, len);
	bpg_hex_encode(hex, leaf->b, BPG_HASH_SIZE);
	if (bpg_buf_printf(line, "%llu %s ", (unsigned long long)index, hex) < 0 ||
	    bpg_buf_put(line, entry, len) < 0 || bpg_buf_putc(line, '\n') < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

/* Write the line at the end of `entries` (which ends at `at`), one write(), fsync. */
static int write_record(bpg_audit_log *log, const bpg_buf *line, uint64_t at, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT;
	int fd = -1, rc = 0;
	bool created;

	if ((rc = bpg_audit__path(&path, log, "entries", err)) < 0)
		goto done;
	created = access(path.ptr, F_OK) != 0;
	/* One write of the whole line: a crash leaves a prefix of it, never a mix. */
	if ((fd = open(path.ptr, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0 ||
	    bpg_audit__write_all(fd, line->ptr, line->size) < 0 || fsync(fd) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "%s: cannot append: %s", path.ptr, strerror(errno));
		if (fd >= 0 && ftruncate(fd, (off_t)at) == 0)
			(void)fsync(fd);
		goto done;
	}
	if (created && (rc = bpg_audit__fsync_dir(log->dir, err)) < 0)
		goto done;
done:
	if (fd >= 0)
		close(fd);
	bpg_buf_dispose(&path);
	return rc;
}

/* Keep a loaded log's memory in step with the file after an append. */
static int remember_record(bpg_audit_log *log, const bpg_buf *line, uint64_t at, size_t elen,
	const bpg_hash *leaf, bpg_error *err)
{
	record r;

	if (!log->loaded)
		return 0;
	if (log->entries.size != at || log->good_end != at || log->nrecs != log->cp.size - 1)
		return log_load(log, err); /* the file changed under us (another appender) */
	r.off = at;
	r.line_len = line->size - 1;
	r.entry_off = at + (line->size - 1 - elen);
	r.entry_len = elen;
	r.index = log->nrecs;
	r.stored = *leaf;
	if (bpg_buf_put(&log->entries, line->ptr, line->size) < 0 || push_record(log, &r) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	log->good_end = log->entries.size;
	return 0;
}

/*
 * Bring the frontier in line with the checkpoint, or build it (migration:
 * a log written before frontiers, or a frontier deleted) with one full pass.
 */
static int append_prepare(bpg_audit_log *log, bpg_audit_frontier *f, const bpg_note_verifier *v,
	bpg_error *err)
{
	bpg_checkpoint cp;
	bpg_buf path = BPG_BUF_INIT;
	bool rewrite = false;
	int rc;

	if ((rc = bpg_checkpoint_open(&cp, log->cp_note.ptr, log->cp_note.size, v, NULL, err)) < 0) {
		bpg_error_prefix(err, "%s/", log->dir);
		rc = rc == BPG_EINVALID ? BPG_EVERIFY : rc;
		goto done;
	}
	if ((rc = frontier_path(&path, log, err)) < 0)
		goto done;
	rc = bpg_audit_frontier_load(f, path.ptr, err);
	if (rc == BPG_ENOTFOUND) {
		/* Migration: the old full check, then the frontier from the same pass. */
		if ((rc = log_load(log, err)) < 0 || (rc = bpg_audit_verify(log, v, err)) < 0 ||
		    (rc = cut_tail(log, NULL, err)) < 0 || (rc = frontier_rebuild(log, f, err)) < 0)
			goto done;
	} else if (rc < 0) {
		bpg_error_prefix(err, "run `bpgate audit verify` (full) and, when it verifies, `bpgate audit repair` to rebuild the frontier: ");
		rc = rc == BPG_EINVALID ? BPG_EVERIFY : rc;
		goto done;
	} else {
		if ((rc = bpg_audit__frontier_check(log, f, &rewrite, err)) < 0)
			goto done;
		if (rewrite && (rc = bpg_audit_frontier_save(path.ptr, f, err)) < 0)
			goto done;
	}
done:
	bpg_buf_dispose(&path);
	return rc;
}

int bpg_audit_append(bpg_audit_log *log, const char *entry, size_t len,
	const bpg_note_signer *key, uint64_t *index_out, bpg_error *err)
{
	bpg_note_verifier *v = NULL;
	bpg_buf line = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_audit_frontier f;
	bpg_hash leaf, root;
	uint64_t at;
	int lockfd = -1, rc;

	if ((rc = bpg_audit__entry_check(entry, len, err)) < 0 ||
	    (rc = lock_acquire(&lockfd, log, err)) < 0 ||
	    (rc = bpg_audit__load_checkpoint(log, err)) < 0 ||
	    (rc = bpg_note_verifier_from_signer(&v, key, err)) < 0)
		goto done;
	memset(&f, 0, sizeof(f));
	if (!log->has_cp) {
		struct stat st;

		if ((rc = bpg_audit__path(&path, log, "entries", err)) < 0)
			goto done;
		if (stat(path.ptr, &st) == 0 && st.st_size > 0) {
			if ((rc = log_load(log, err)) == 0)
				rc = log_check(log, err); /* "deleted checkpoint" */
			if (rc == 0)
				rc = bpg_error_set(err, BPG_EVERIFY, "%s: entries without a checkpoint", log->dir);
			goto done;
		}
		/* A new log: commit the empty tree first (see the header), then its frontier. */
		bpg_merkle_frontier_root(&root, &f.prev);
		if ((rc = bpg_audit__write_checkpoint(log, key, 0, &root, err)) < 0 ||
		    (rc = frontier_path(&path, log, err)) < 0 ||
		    (rc = bpg_audit_frontier_save(path.ptr, &f, err)) < 0)
			goto done;
	} else if ((rc = append_prepare(log, &f, v, err)) < 0) {
		bpg_error_prefix(err, "refusing to append to a log that does not verify: ");
		goto done;
	}
	at = f.length;
	if ((rc = record_line(&line, &leaf, f.size, entry, len, err)) < 0)
		goto done;
	if (line.size > BPG_AUDIT_LOG_MAX || at > BPG_AUDIT_LOG_MAX - line.size) {
		rc = bpg_error_set(err, BPG_ETOOBIG,
			"%s/entries would pass %zu bytes (BPG_AUDIT_LOG_MAX, the most a full verify reads): start a new log",
			log->dir, BPG_AUDIT_LOG_MAX);
		goto done;
	}
	if ((rc = write_record(log, &line, at, err)) < 0)
		goto done;
	bpg_test_point("audit-record-written"); /* tests kill the writer here (no-op otherwise) */
	if (f.size > 0)
		bpg_merkle_frontier_push(&f.prev, &f.last_leaf);
	f.size++;
	f.last_off = at;
	f.last_leaf = leaf;
	f.length = at + line.size;
	bpg_audit_frontier_root(&root, &f);
	if ((rc = bpg_audit__write_checkpoint(log, key, f.size, &root, err)) < 0)
		goto done;
	/* Committed. A crash here leaves the frontier one entry behind: the next append rolls it forward. */
	bpg_test_point("audit-checkpoint-written");
	/*
	 * The entry is committed: a frontier that cannot be saved (disk full) must
	 * not turn into a reported failure of a recorded decision. The old frontier
	 * stays; the next append rolls it forward over this record.
	 */
	if (frontier_path(&path, log, NULL) == 0)
		(void)bpg_audit_frontier_save(path.ptr, &f, NULL);
	if ((rc = remember_record(log, &line, at, len, &leaf, err)) < 0)
		goto done;
	if (index_out)
		*index_out = f.size - 1;
done:
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&line);
	bpg_buf_dispose(&path);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
