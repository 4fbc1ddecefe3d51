/* Approval statements: canonical form, strict parsing, ref names. Pure. */
#include "bpgate/approval.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static bool hex40(const char *s)
{
	if (strlen(s) != 40)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool bpg_repository_id_valid(const char *s)
{
	if (!s || strlen(s) != BPG_REPOSITORY_ID_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int bpg_repository_id_new(char out[33], bpg_error *err)
{
	unsigned char raw[BPG_REPOSITORY_ID_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (sodium_init() < 0)
		return bpg_error_set(err, BPG_ERROR, "libsodium cannot start");
	randombytes_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[BPG_REPOSITORY_ID_LEN] = '\0';
	return 0;
}

static bool time_ok(const char *s)
{
	int y, mo, d, h, mi, se;
	char z;
	return strlen(s) == 20 && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) == 7 &&
		z == 'Z' && s[4] == '-' && s[7] == '-' && s[10] == 'T' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 &&
		h < 24 && mi < 60 && se < 61;
}

/* Names that are safe as one ref component and in messages: no control bytes, no blanks. */
static bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int check(const bpg_approval *a, bpg_error *err)
{
	if (!name_ok(a->approver, sizeof(a->approver)))
		return bpg_error_set(err, BPG_EINVALID, "approval: the approver must be a principal without blanks");
	if (!name_ok(a->environment, sizeof(a->environment)))
		return bpg_error_set(err, BPG_EINVALID, "approval: the environment must be a name without blanks");
	if (!name_ok(a->repository, sizeof(a->repository)))
		return bpg_error_set(err, BPG_EINVALID, "approval: the repository must be a name without blanks");
	if (a->repository_id[0] && !bpg_repository_id_valid(a->repository_id))
		return bpg_error_set(err, BPG_EINVALID, "approval: the repository id must be 32 lower-case hex digits");
	if (!hex40(a->tree) || !hex40(a->commit))
		return bpg_error_set(err, BPG_EINVALID, "approval: tree and commit must be 40 lower-case hex digits");
	if (!time_ok(a->time))
		return bpg_error_set(err, BPG_EINVALID, "approval: the time must be YYYY-MM-DDTHH:MM:SSZ");
	return 0;
}

static json_t *to_json(const bpg_approval *a)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "approver", a->approver, "commit", a->commit,
		"environment", a->environment, "repository", a->repository, "time", a->time, "tree", a->tree,
		"type", BPG_APPROVAL_TYPE);
	if (j && a->repository_id[0] && json_object_set_new(j, "repository_id", json_string(a->repository_id)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int bpg_approval_format(bpg_buf *out, const bpg_approval *a, bpg_error *err)
{
	json_t *j;
	char *s;
	int rc;

	if ((rc = check(a, err)) < 0)
		return rc;
	if (!(j = to_json(a)))
		return bpg_error_set(err, BPG_EINVALID, "approval: a field is not valid UTF-8");
	s = bpg_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = bpg_buf_puts(out, s);
	free(s);
	return rc < 0 ? bpg_error_set(err, rc, "out of memory") : 0;
}

static int copy_field(char *dst, size_t size, const json_t *j, const char *key, bpg_error *err)
{
	const char *v = json_string_value(json_object_get(j, key));
	if (!v || strlen(v) >= size)
		return bpg_error_set(err, BPG_EINVALID, "approval statement: '%s' is missing, not a string or too long", key);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

int bpg_approval_parse(bpg_approval *out, const char *data, size_t len, bpg_error *err)
{
	json_error_t je;
	json_t *j = NULL;
	bpg_buf canon = BPG_BUF_INIT;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > BPG_APPROVAL_MAX)
		return bpg_error_set(err, BPG_EINVALID, "approval statement larger than %zu bytes", BPG_APPROVAL_MAX);
	if (!(j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je)) || !json_is_object(j)) {
		rc = bpg_error_set(err, BPG_EINVALID, "approval statement is not a JSON object (%s)", j ? "" : je.text);
		goto done;
	}
	bool has_id = json_object_get(j, "repository_id") != NULL;
	if (json_object_size(j) != (has_id ? 8u : 7u) || !json_is_string(json_object_get(j, "type")) ||
	    strcmp(json_string_value(json_object_get(j, "type")), BPG_APPROVAL_TYPE) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "approval statement: not a %s statement", BPG_APPROVAL_TYPE);
		goto done;
	}
	if ((rc = copy_field(out->approver, sizeof(out->approver), j, "approver", err)) < 0 ||
	    (rc = copy_field(out->commit, sizeof(out->commit), j, "commit", err)) < 0 ||
	    (rc = copy_field(out->environment, sizeof(out->environment), j, "environment", err)) < 0 ||
	    (rc = copy_field(out->repository, sizeof(out->repository), j, "repository", err)) < 0 ||
	    (rc = copy_field(out->time, sizeof(out->time), j, "time", err)) < 0 ||
	    (rc = copy_field(out->tree, sizeof(out->tree), j, "tree", err)) < 0 ||
	    (has_id && (rc = copy_field(out->repository_id, sizeof(out->repository_id), j, "repository_id", err)) < 0))
		goto done;
	if (has_id && !bpg_repository_id_valid(out->repository_id)) {
		rc = bpg_error_set(err, BPG_EINVALID, "approval statement: 'repository_id' must be 32 lower-case hex digits");
		goto done;
	}
	if ((rc = bpg_approval_format(&canon, out, err)) < 0)
		goto done;
	/* One statement, one byte string: what is signed is what is judged. */
	if (canon.size != len || memcmp(canon.ptr, data, len) != 0)
		rc = bpg_error_set(err, BPG_EINVALID, "approval statement is not in canonical form");
done:
	json_decref(j);
	bpg_buf_dispose(&canon);
	return rc;
}

int bpg_approval_refname(bpg_buf *out, const bpg_approval *a, bpg_error *err)
{
	char who[256], stamp[17];
	size_t i;
	int rc;

	if ((rc = check(a, err)) < 0)
		return rc;
	for (i = 0; a->approver[i] && i + 1 < sizeof(who); i++) {
		char c = a->approver[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '@' || c == '+' || c == '-' || c == '_' || (c == '.' && i > 0 && a->approver[i - 1] != '.');
		who[i] = ok ? c : '_';
	}
	who[i] = '\0';
	if (i >= 5 && strcmp(who + i - 5, ".lock") == 0)
		who[i - 5] = '_';
	if (i && who[i - 1] == '.')
		who[i - 1] = '_';
	/* 2025-06-03T09:00:00Z -> 20250603T090000Z */
	snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", a->time, a->time + 5, a->time + 8,
		a->time + 11, a->time + 14, a->time + 17);
	for (i = 0; a->environment[i]; i++) {
		char c = a->environment[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return bpg_error_set(err, BPG_EINVALID, "approval: environment '%s' is not a plain name", a->environment);
	}
	if ((rc = bpg_buf_printf(out, "%s%s/%s/%s/%s", BPG_APPROVAL_REF_PREFIX, a->environment, a->tree, who, stamp)) < 0)
		return bpg_error_set(err, rc, "out of memory");
	return 0;
}
