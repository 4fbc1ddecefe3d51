/*
 * Audit-log witnesses (bpgate/witness.h): the newest checkpoint a verifier
 * has checked, and checkpoints handed in from elsewhere, so that a log rolled
 * back to an older, validly signed checkpoint is refused.
 */
#include "bpgate/witness.h"
#include "bpgate/util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	bpg_checkpoint cp;
	char *file; /* name under seen/ */
} seen_cp;

struct bpg_audit_witness {
	const bpg_note_verifier *key; /* borrowed */
	char *dir;                    /* <state>/<origin>+<keyid> */
	bool has_latest;
	bpg_checkpoint latest;
	seen_cp *seen;
	size_t nseen;
};

int bpg_audit_witness_default_dir(bpg_buf *out, bpg_error *err)
{
	const char *s;
	int rc;

	if ((s = getenv("BPGATE_AUDIT_STATE")) && *s)
		rc = bpg_buf_puts(out, s);
	else if ((s = getenv("XDG_STATE_HOME")) && *s)
		rc = bpg_buf_printf(out, "%s/bpgate/audit", s);
	else if ((s = getenv("HOME")) && *s)
		rc = bpg_buf_printf(out, "%s/.local/state/bpgate/audit", s);
	else
		return bpg_error_set(err, BPG_ENOTFOUND,
			"no place to keep the newest checkpoint: set BPGATE_AUDIT_STATE or HOME, or pass --state DIR");
	return rc < 0 ? bpg_error_set(err, BPG_ENOMEM, "out of memory") : 0;
}

static int mkdir_p(const char *path, bpg_error *err)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = bpg_error_set(err, BPG_EIO, "cannot create %s: %s", p, strerror(errno));
			break;
		}
		if (!(*s = c))
			break;
	}
	free(p);
	return rc;
}

static int read_note(bpg_checkpoint *out, const char *path, const bpg_note_verifier *key, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_file_read(&b, path, BPG_NOTE_MAX_BYTES, err)) == 0 &&
	    (rc = bpg_checkpoint_open(out, b.ptr ? b.ptr : "", b.size, key, NULL, err)) < 0)
		bpg_error_prefix(err, "kept checkpoint %s (remove it only if you know why it fails): ", path);
	bpg_buf_dispose(&b);
	return rc;
}

static int load_seen(bpg_audit_witness *w, bpg_error *err)
{
	bpg_buf dir = BPG_BUF_INIT, path = BPG_BUF_INIT;
	DIR *d = NULL;
	struct dirent *e;
	int rc = 0;

	if (bpg_buf_printf(&dir, "%s/seen", w->dir) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (!(d = opendir(dir.ptr))) {
		if (errno != ENOENT)
			rc = bpg_error_set(err, BPG_EIO, "cannot read %s: %s", dir.ptr, strerror(errno));
		goto done;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".note") != 0)
			continue;
		if (w->nseen == BPG_WITNESS_MAX_SEEN) {
			rc = bpg_error_set(err, BPG_ETOOBIG,
				"%s holds more than %d checkpoints (limit): verify a log to fold them into latest",
				dir.ptr, BPG_WITNESS_MAX_SEEN);
			goto done;
		}
		if (w->nseen % 64 == 0) {
			seen_cp *g = realloc(w->seen, (w->nseen + 64) * sizeof(*g));
			if (!g) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				goto done;
			}
			w->seen = g;
		}
		bpg_buf_clear(&path);
		seen_cp *s = &w->seen[w->nseen];
		if (bpg_buf_printf(&path, "%s/%s", dir.ptr, e->d_name) < 0 || !(s->file = strdup(e->d_name))) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		w->nseen++;
		if ((rc = read_note(&s->cp, path.ptr, w->key, err)) < 0)
			goto done;
	}
done:
	if (d)
		closedir(d);
	bpg_buf_dispose(&dir);
	bpg_buf_dispose(&path);
	return rc;
}

int bpg_audit_witness_open(bpg_audit_witness **out, const char *state_dir, const bpg_note_verifier *key,
	bpg_error *err)
{
	bpg_audit_witness *w = NULL;
	bpg_buf b = BPG_BUF_INIT, p = BPG_BUF_INIT;
	const char *name = bpg_note_verifier_name(key);
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (!(w = calloc(1, sizeof(*w))) || bpg_buf_printf(&b, "%s/", state_dir) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	w->key = key;
	/* Key names may hold '/': one flat directory name per log and key. */
	for (const char *c = name; *c; c++) {
		char ch = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			*c == '.' || *c == '-' ? *c : '_';
		if (bpg_buf_putc(&b, ch) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (bpg_buf_printf(&b, "+%08" PRIx32, bpg_note_verifier_keyid(key)) < 0 ||
	    bpg_buf_printf(&p, "%s/latest", b.ptr) < 0 || !(w->dir = bpg_buf_detach(&b))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (stat(p.ptr, &st) == 0) {
		if ((rc = read_note(&w->latest, p.ptr, key, err)) < 0)
			goto done;
		w->has_latest = true;
	} else if (errno != ENOENT) {
		rc = bpg_error_set(err, BPG_EIO, "cannot read %s: %s", p.ptr, strerror(errno));
		goto done;
	}
	if ((rc = load_seen(w, err)) < 0)
		goto done;
	*out = w;
	w = NULL;
done:
	bpg_audit_witness_free(w);
	bpg_buf_dispose(&b);
	bpg_buf_dispose(&p);
	return rc;
}

void bpg_audit_witness_free(bpg_audit_witness *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nseen; i++)
		free(w->seen[i].file);
	free(w->seen);
	free(w->dir);
	free(w);
}

uint64_t bpg_audit_witness_latest(const bpg_audit_witness *w, bool *has)
{
	if (has)
		*has = w->has_latest;
	return w->has_latest ? w->latest.size : 0;
}

const bpg_checkpoint *bpg_audit_witness_latest_checkpoint(const bpg_audit_witness *w)
{
	return w->has_latest ? &w->latest : NULL;
}

size_t bpg_audit_witness_seen(const bpg_audit_witness *w)
{
	return w->nseen;
}

int bpg_audit_witness_check(const bpg_audit_witness *w, const bpg_audit_log *log, bpg_error *err)
{
	int rc;

	if (w->has_latest && (rc = bpg_audit_check_extends(log, &w->latest, err)) < 0) {
		bpg_error_prefix(err, "against the newest checkpoint this verifier kept (%s/latest, %" PRIu64
			" entries): ", w->dir, w->latest.size);
		return rc;
	}
	for (size_t i = 0; i < w->nseen; i++)
		if ((rc = bpg_audit_check_extends(log, &w->seen[i].cp, err)) < 0) {
			bpg_error_prefix(err, "against the witnessed checkpoint %s/seen/%s: ", w->dir, w->seen[i].file);
			return rc;
		}
	return 0;
}

int bpg_audit_witness_keep(bpg_audit_witness *w, const bpg_audit_log *log, bpg_error *err)
{
	const bpg_checkpoint *cp = bpg_audit_checkpoint(log);
	const char *note;
	size_t len = 0;
	bpg_buf p = BPG_BUF_INIT;
	int rc = 0;

	if (!cp || !(note = bpg_audit_checkpoint_note(log, &len)))
		return 0;
	if ((rc = mkdir_p(w->dir, err)) < 0)
		goto done;
	if (!w->has_latest || cp->size > w->latest.size) {
		if (bpg_buf_printf(&p, "%s/latest", w->dir) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = bpg_file_write_atomic(p.ptr, note, len, 0600, err)) < 0)
			goto done;
		w->latest = *cp;
		w->has_latest = true;
	}
	/* Seen checkpoints the kept one covers are proven (the log extends both). */
	for (size_t i = 0; i < w->nseen;) {
		if (w->seen[i].cp.size > w->latest.size) {
			i++;
			continue;
		}
		bpg_buf_clear(&p);
		if (bpg_buf_printf(&p, "%s/seen/%s", w->dir, w->seen[i].file) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		if (unlink(p.ptr) < 0 && errno != ENOENT) {
			rc = bpg_error_set(err, BPG_EIO, "cannot remove %s: %s", p.ptr, strerror(errno));
			goto done;
		}
		free(w->seen[i].file);
		w->seen[i] = w->seen[--w->nseen];
	}
done:
	bpg_buf_dispose(&p);
	return rc;
}

/* One line of input with git's decorations removed: "remote: ", ESC [K, CR, trailing blanks. */
static void clean_line(const char **s, size_t *n)
{
	static const char remote[] = "remote: ";

	if (*n >= sizeof(remote) - 1 && memcmp(*s, remote, sizeof(remote) - 1) == 0) {
		*s += sizeof(remote) - 1;
		*n -= sizeof(remote) - 1;
	}
	for (;;) {
		if (*n >= 3 && memcmp(*s + *n - 3, "\x1b[K", 3) == 0)
			*n -= 3;
		else if (*n && ((*s)[*n - 1] == '\r' || (*s)[*n - 1] == ' '))
			(*n)--;
		else
			break;
	}
}

static int store_note(bpg_audit_witness *w, const char *note, size_t len, size_t *added, bpg_error *err)
{
	bpg_checkpoint cp;
	bpg_buf p = BPG_BUF_INIT;
	char hex[17];
	struct stat st;
	int rc;

	if ((rc = bpg_checkpoint_open(&cp, note, len, w->key, NULL, err)) < 0)
		return rc;
	if (w->has_latest && cp.size == w->latest.size &&
	    memcmp(cp.root.b, w->latest.root.b, BPG_HASH_SIZE) == 0)
		return 0; /* the one already kept */
	if (w->nseen >= BPG_WITNESS_MAX_SEEN)
		return bpg_error_set(err, BPG_ETOOBIG,
			"%s/seen holds %d checkpoints (limit): verify a log to fold them into latest", w->dir,
			BPG_WITNESS_MAX_SEEN);
	bpg_hex_encode(hex, cp.root.b, 8);
	if ((rc = mkdir_p(w->dir, err)) < 0)
		goto done;
	if (bpg_buf_printf(&p, "%s/seen", w->dir) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = mkdir_p(p.ptr, err)) < 0)
		goto done;
	if (bpg_buf_printf(&p, "/%020" PRIu64 "-%s.note", cp.size, hex) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (stat(p.ptr, &st) == 0)
		goto done;
	if ((rc = bpg_file_write_atomic(p.ptr, note, len, 0600, err)) < 0)
		goto done;
	if (w->nseen % 64 == 0) {
		seen_cp *g = realloc(w->seen, (w->nseen + 64) * sizeof(*g));
		if (!g) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		w->seen = g;
	}
	if (!(w->seen[w->nseen].file = strdup(strrchr(p.ptr, '/') + 1))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	w->seen[w->nseen++].cp = cp;
	if (added)
		(*added)++;
done:
	bpg_buf_dispose(&p);
	return rc;
}

int bpg_audit_witness_add(bpg_audit_witness *w, const char *text, size_t len, size_t *added, bpg_error *err)
{
	static const char pre[] = BPG_WITNESS_LINE_PREFIX;
	bpg_buf note = BPG_BUF_INIT;
	size_t found = 0, dummy = 0;
	bool in_note = false, prefixed = false;
	int rc = 0;

	if (!added)
		added = &dummy;
	*added = 0;
	for (size_t i = 0; i < len;) {
		const char *l = text + i, *nl = memchr(l, '\n', len - i);
		size_t n = nl ? (size_t)(nl - l) : len - i;
		i += n + (nl ? 1 : 0);
		clean_line(&l, &n);
		/* "bpgate: checkpoint|" alone: a blank note line whose trailing space was stripped. */
		if (n >= sizeof(pre) - 2 && memcmp(l, pre, sizeof(pre) - 2) == 0 &&
		    (n == sizeof(pre) - 2 || l[sizeof(pre) - 2] == ' ')) {
			size_t skip = n == sizeof(pre) - 2 ? n : sizeof(pre) - 1;
			prefixed = in_note = true;
			if (bpg_buf_put(&note, l + skip, n - skip) < 0 || bpg_buf_putc(&note, '\n') < 0) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
				goto done;
			}
			if (note.size > BPG_NOTE_MAX_BYTES) {
				rc = bpg_error_set(err, BPG_ETOOBIG, "a checkpoint in the input is longer than %d bytes",
					(int)BPG_NOTE_MAX_BYTES);
				goto done;
			}
			/* The signature line ends a note. */
			if (n - skip >= 4 && memcmp(l + skip, "\xe2\x80\x94 ", 4) == 0) {
				found++;
				if ((rc = store_note(w, note.ptr, note.size, added, err)) < 0) {
					bpg_error_prefix(err, "checkpoint %zu of the input: ", found);
					goto done;
				}
				bpg_buf_clear(&note);
				in_note = false;
			}
		} else if (in_note) {
			rc = bpg_error_set(err, BPG_EINVALID, "a checkpoint in the input is cut off before its signature line");
			goto done;
		}
	}
	if (in_note) {
		rc = bpg_error_set(err, BPG_EINVALID, "a checkpoint in the input is cut off before its signature line");
		goto done;
	}
	/* A bare note file: a blank line, then a signature line. */
	if (!prefixed && len >= 6 && memmem(text, len, "\n\n\xe2\x80\x94 ", 6)) {
		if (len > BPG_NOTE_MAX_BYTES) {
			rc = bpg_error_set(err, BPG_ETOOBIG, "the checkpoint is longer than %d bytes",
				(int)BPG_NOTE_MAX_BYTES);
			goto done;
		}
		if (len && (rc = store_note(w, text, len, added, err)) == 0)
			found++;
		if (rc < 0)
			goto done;
	}
	if (!found)
		rc = bpg_error_set(err, BPG_ENOTFOUND,
			"no checkpoint in the input: give the checkpoint file or the output of a push (lines '" BPG_WITNESS_LINE_PREFIX "...')");
done:
	bpg_buf_dispose(&note);
	return rc;
}
