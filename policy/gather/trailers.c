/* Git trailers ("Key: value" lines closing a commit message), as git's
 * interpret-trailers reads them: the last paragraph, every line a trailer
 * or a continuation (leading whitespace); '#' comment lines are ignored. */
#include "bpgate/gather.h"
#include "bpgate/buf.h"
#include "bpgate/jsonshared.h"

#include <ctype.h>
#include <string.h>

#define TRAILER_MAX_LINES 256

static bool is_token_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Length of "Key" when the line is "Key: value" (or "Key:" alone). */
static size_t trailer_key_len(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && is_token_char(line[i]))
		i++;
	if (i == 0 || i >= len || line[i] != ':')
		return 0;
	return i;
}

static void trim(const char **s, size_t *len)
{
	while (*len && isspace((unsigned char)**s))
		(*s)++, (*len)--;
	while (*len && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

static int add_trailer(json_t *obj, const char *key, size_t klen, const char *val, size_t vlen)
{
	char k[128];
	json_t *cur, *v;

	if (klen >= sizeof(k))
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	v = bpg_json_shared_string(val, vlen); /* "high", "revert": shared on a large push */
	if (!v)
		return 0; /* not UTF-8: not a trailer we can judge; the rule reports it missing */
	cur = json_object_get(obj, k);
	if (!cur)
		return json_object_set_new(obj, k, v);
	if (json_is_array(cur))
		return json_array_append_new(cur, v);
	json_t *arr = json_pack("[O,o]", cur, v);
	return arr ? json_object_set_new(obj, k, arr) : -1;
}

int bpg_trailers_parse(json_t **out, const char *msg, size_t len, bpg_error *err)
{
	const char *lines[TRAILER_MAX_LINES];
	size_t lens[TRAILER_MAX_LINES], n = 0, start, end = len;
	json_t *obj = json_object();
	bpg_buf val = BPG_BUF_INIT;
	int rc = 0;

	*out = NULL;
	if (!obj)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	/* Cut git's scissors line and everything below it (commit -v). */
	{
		const char *sc = memmem(msg, len, "# ------------------------ >8", 29);
		if (sc)
			end = (size_t)(sc - msg);
	}
	/* Skip trailing blank lines, then find the start of the last paragraph. */
	while (end > 0 && isspace((unsigned char)msg[end - 1]))
		end--;
	start = end;
	while (start > 0) {
		size_t ls = start - 1;
		while (ls > 0 && msg[ls - 1] != '\n')
			ls--;
		/* [ls, start-1) is the previous line */
		size_t ll = start - 1 - ls;
		const char *l = msg + ls;
		bool blank = true;
		for (size_t i = 0; i < ll; i++)
			if (!isspace((unsigned char)l[i]))
				blank = false;
		if (blank)
			break;
		start = ls;
	}
	/* A single-paragraph message is a subject, never trailers. */
	if (start == 0)
		goto done;
	/* Every line is looked at (a block is trailers only if all its lines are);
	 * a trailer block longer than the lines kept is refused, never cut. */
	size_t total = 0;
	for (size_t p = start; p < end;) {
		const char *nl = memchr(msg + p, '\n', end - p);
		size_t ll = nl ? (size_t)(nl - (msg + p)) : end - p;
		if (ll && msg[p] != '#') {
			bool cont = isspace((unsigned char)msg[p]);
			if ((cont && total == 0) || (!cont && !trailer_key_len(msg + p, ll)))
				goto done; /* not a trailer block: no trailers at all */
			if (n < TRAILER_MAX_LINES) {
				lines[n] = msg + p;
				lens[n++] = ll;
			}
			total++;
		}
		p += ll + 1;
	}
	if (total > TRAILER_MAX_LINES) {
		json_decref(obj);
		bpg_buf_dispose(&val);
		return bpg_error_set(err, BPG_ETOOBIG, "the commit message has %zu trailer lines, more than the %d "
			"the gate reads; shorten its last paragraph", total, TRAILER_MAX_LINES);
	}
	for (size_t i = 0; i < n; i++) {
		const char *key = lines[i];
		size_t klen = trailer_key_len(lines[i], lens[i]);
		const char *v = lines[i] + klen + 1;
		size_t vlen = lens[i] - klen - 1;
		trim(&v, &vlen);
		bpg_buf_clear(&val);
		if (bpg_buf_put(&val, v, vlen) < 0)
			goto oom;
		while (i + 1 < n && isspace((unsigned char)lines[i + 1][0])) {
			const char *c = lines[i + 1];
			size_t cl = lens[i + 1];
			trim(&c, &cl);
			if (bpg_buf_putc(&val, ' ') < 0 || bpg_buf_put(&val, c, cl) < 0)
				goto oom;
			i++;
		}
		if (add_trailer(obj, key, klen, val.ptr ? val.ptr : "", val.size) < 0)
			goto oom;
	}
done:
	*out = obj;
	obj = NULL;
	bpg_buf_dispose(&val);
	return rc;
oom:
	json_decref(obj);
	bpg_buf_dispose(&val);
	return bpg_error_set(err, BPG_ENOMEM, "out of memory parsing trailers");
}
