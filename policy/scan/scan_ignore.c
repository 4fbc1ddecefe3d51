/*
 * `.bpgate/ignore`: findings accepted by a person, by fingerprint, each with
 * a reason. JSON (no comments, so no inline markers in fixtures):
 *   {"version": 1, "ignore": [{"fingerprint": "...", "reason": "...",
 *     "accepted_by": "...", "rule": "...", "path": "..."}]}
 */
#include "scan_internal.h"

#include "bpgate/util.h"

#include <stdlib.h>
#include <string.h>

struct bpg_scan_ignore {
	char (*fp)[33];
	size_t n;
};

void bpg_scan_ignore_free(bpg_scan_ignore *ig)
{
	if (!ig)
		return;
	free(ig->fp);
	free(ig);
}

static int need_string(json_t *e, const char *field, size_t i, const char *display, bool required,
	const char **out, bpg_error *err)
{
	json_t *v = json_object_get(e, field);
	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		return bpg_error_set(err, BPG_EINVALID, "%s: /ignore/%zu: missing \"%s\"; every accepted "
			"finding needs a fingerprint, a reason and who accepted it", display, i, field);
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return bpg_error_set(err, BPG_EINVALID, "%s: /ignore/%zu/%s: expected a non-empty string",
			display, i, field);
	*out = json_string_value(v);
	return 0;
}

int bpg_scan_ignore_parse(bpg_scan_ignore **out, const char *data, size_t len, const char *display,
	bpg_error *err)
{
	json_error_t je;
	json_t *root = NULL, *list, *ver;
	bpg_scan_ignore *ig = NULL;
	int rc = 0;

	*out = NULL;
	if (!display)
		display = ".bpgate/ignore";
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s:%d:%d: %s", display, je.line, je.column, je.text);
		goto done;
	}
	ver = json_object_get(root, "version");
	list = json_object_get(root, "ignore");
	if (!json_is_object(root) || !json_is_array(list)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: expected {\"version\": 1, \"ignore\": [...]}", display);
		goto done;
	}
	if (ver && (!json_is_integer(ver) || json_integer_value(ver) != 1)) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s: /version: only version 1 is known", display);
		goto done;
	}
	if (!(ig = calloc(1, sizeof(*ig))) ||
	    (json_array_size(list) && !(ig->fp = calloc(json_array_size(list), sizeof(*ig->fp))))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "scan: out of memory");
		goto done;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		const char *fp, *reason, *by, *rule, *path;
		size_t fl;
		if (!json_is_object(e)) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: /ignore/%zu: expected an object", display, i);
			goto done;
		}
		if ((rc = need_string(e, "fingerprint", i, display, true, &fp, err)) < 0 ||
		    (rc = need_string(e, "reason", i, display, true, &reason, err)) < 0 ||
		    (rc = need_string(e, "accepted_by", i, display, true, &by, err)) < 0 ||
		    (rc = need_string(e, "rule", i, display, false, &rule, err)) < 0 ||
		    (rc = need_string(e, "path", i, display, false, &path, err)) < 0)
			goto done;
		fl = strlen(fp);
		if (fl != 32 || strspn(fp, "0123456789abcdef") != 32) {
			rc = bpg_error_set(err, BPG_EINVALID, "%s: /ignore/%zu/fingerprint: expected 32 lower-case "
				"hex characters as printed by `bpgate scan --format json`", display, i);
			goto done;
		}
		memcpy(ig->fp[ig->n++], fp, 33);
	}
	*out = ig;
	ig = NULL;
done:
	json_decref(root);
	bpg_scan_ignore_free(ig);
	return rc;
}

int bpg_scan_ignore_load(bpg_scan_ignore **out, const char *path, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = bpg_file_read(&b, path, (size_t)16 << 20, err)) < 0)
		goto done;
	rc = bpg_scan_ignore_parse(out, b.ptr ? b.ptr : "", b.size, path, err);
done:
	bpg_buf_dispose(&b);
	return rc;
}

bool scan_ignore_has(const bpg_scan_ignore *ig, const char *fp)
{
	for (size_t i = 0; ig && i < ig->n; i++)
		if (strcmp(ig->fp[i], fp) == 0)
			return true;
	return false;
}
