/*
 * Checkpoints (c2sp.org/tlog-checkpoint): "<origin>\n<size>\n<base64 root>\n"
 * plus optional extension lines, carried as the text of a signed note.
 */
#include "internal.h"

#include <string.h>

int bpg_checkpoint_format(bpg_buf *out, const bpg_checkpoint *cp, bpg_error *err)
{
	int rc;

	if ((rc = bpg_buf_printf(out, "%s\n%llu\n", cp->origin, (unsigned long long)cp->size)) < 0 ||
	    (rc = bpg_audit__b64_put(out, cp->root.b, BPG_HASH_SIZE)) < 0 ||
	    (rc = bpg_buf_putc(out, '\n')) < 0)
		return bpg_error_set(err, rc, "out of memory");
	return 0;
}

static int next_line(const char **line, size_t *ll, const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return -1;
	*line = *p;
	*ll = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

int bpg_checkpoint_parse(bpg_checkpoint *out, const char *text, size_t len, bpg_error *err)
{
	const char *p = text, *end = text + len, *line;
	size_t ll, rootlen = 0;
	uint64_t size = 0;

	memset(out, 0, sizeof(*out));
	if (next_line(&line, &ll, &p, end) < 0 || ll == 0 || ll > BPG_NOTE_NAME_MAX ||
	    memchr(line, ' ', ll) || memchr(line, '\0', ll))
		return bpg_error_set(err, BPG_EINVALID, "checkpoint line 1: expected the log origin");
	memcpy(out->origin, line, ll);
	out->origin[ll] = '\0';
	if (next_line(&line, &ll, &p, end) < 0 || ll == 0 || ll > 19 || (ll > 1 && line[0] == '0'))
		return bpg_error_set(err, BPG_EINVALID,
			"checkpoint line 2: expected the tree size in decimal without leading zeros");
	for (size_t i = 0; i < ll; i++) {
		if (line[i] < '0' || line[i] > '9')
			return bpg_error_set(err, BPG_EINVALID,
				"checkpoint line 2: '%c' in the tree size", line[i]);
		size = size * 10 + (uint64_t)(line[i] - '0');
	}
	if (size > ((uint64_t)1 << 63))
		return bpg_error_set(err, BPG_EINVALID, "checkpoint line 2: tree size too large");
	out->size = size;
	if (next_line(&line, &ll, &p, end) < 0 ||
	    bpg_audit__b64_decode(out->root.b, BPG_HASH_SIZE, &rootlen, line, ll, false) < 0 ||
	    rootlen != BPG_HASH_SIZE)
		return bpg_error_set(err, BPG_EINVALID,
			"checkpoint line 3: expected the base64 of a 32-byte root hash");
	/* Extension lines: non-empty; their content is not interpreted. */
	while (p < end) {
		if (next_line(&line, &ll, &p, end) < 0 || ll == 0)
			return bpg_error_set(err, BPG_EINVALID,
				"checkpoint: an extension line is empty or not terminated");
	}
	return 0;
}

int bpg_checkpoint_sign(bpg_buf *out, const bpg_checkpoint *cp, const bpg_note_signer *s,
	bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_checkpoint_format(&text, cp, err)) == 0)
		rc = bpg_note_sign(out, text.ptr, text.size, s, err);
	bpg_buf_dispose(&text);
	return rc;
}

int bpg_checkpoint_open(bpg_checkpoint *out, const char *note, size_t len,
	const bpg_note_verifier *v, const char *origin, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = bpg_note_open(&text, note, len, &v, 1, err)) < 0) {
		bpg_error_prefix(err, "checkpoint: ");
		goto done;
	}
	if ((rc = bpg_checkpoint_parse(out, text.ptr, text.size, err)) < 0)
		goto done;
	if (!origin)
		origin = bpg_note_verifier_name(v);
	if (strcmp(out->origin, origin) != 0)
		rc = bpg_error_set(err, BPG_EVERIFY,
			"checkpoint: origin '%s' is not the expected log '%s'", out->origin, origin);
done:
	bpg_buf_dispose(&text);
	return rc;
}
