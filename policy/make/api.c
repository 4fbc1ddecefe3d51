/*
 * The Make API endpoints bpgate uses: scenarios (list, get, update, create,
 * start/stop), the live blueprint, and execution logs. Each checks the
 * envelope its endpoint promises (spec sections 2-4) and fails closed on
 * anything else: an answer of the wrong shape is never half-used.
 */
#include "internal.h"
#include "bpgate/testhook.h"
#include "bpgate/jsonheap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_PAGE 100
#define LIST_MAX 100000u
#define LOGS_PAGE 100
#define LOGS_MAX 100000u

static int envelope(bpg_error *err, const char *method, const char *path, const char *what)
{
	return bpg_error_set(err, BPG_EINVALID,
		"Make API: %s %s: unexpected answer: %s (is the base URL a Make API v2 URL?)", method, path, what);
}

static int oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "Make API: out of memory");
}

static bool valid_id(int64_t id)
{
	return id > 0;
}

/* The effective page size: the "pg" object's limit when the server echoes
 * one (it may clamp what was asked), else what was asked. */
static size_t page_limit(const json_t *pg, size_t asked)
{
	const json_t *l = json_object_get(pg, "limit");
	if (json_is_integer(l) && json_integer_value(l) > 0 && (json_int_t)asked > json_integer_value(l))
		return (size_t)json_integer_value(l);
	return asked;
}

/* ---- scenarios ------------------------------------------------------------------ */

int bpg_make_scenarios_list(json_t **out, bpg_make_client *c, int64_t team_id, int64_t folder_id,
	bpg_error *err)
{
	json_t *all = NULL, *seen = NULL, *doc = NULL;
	char query[256];
	size_t offset = 0;
	int rc = 0;

	*out = NULL;
	if (!valid_id(team_id) || folder_id < 0)
		return bpg_error_set(err, BPG_EINVALID, "Make API: GET /scenarios: team id must be > 0");
	if (!(all = json_array()) || !(seen = json_object())) {
		rc = oom(err);
		goto done;
	}
	for (;;) {
		const json_t *items, *pg;
		size_t i, limit;
		json_t *it;
		if (folder_id > 0)
			snprintf(query, sizeof(query), "teamId=%" PRId64 "&folderId=%" PRId64
				"&pg%%5Boffset%%5D=%zu&pg%%5Blimit%%5D=%d&pg%%5BsortBy%%5D=id&pg%%5BsortDir%%5D=asc",
				team_id, folder_id, offset, LIST_PAGE);
		else
			snprintf(query, sizeof(query), "teamId=%" PRId64
				"&pg%%5Boffset%%5D=%zu&pg%%5Blimit%%5D=%d&pg%%5BsortBy%%5D=id&pg%%5BsortDir%%5D=asc",
				team_id, offset, LIST_PAGE);
		if ((rc = bpg_make_call(&doc, c, "GET", "/scenarios", query, NULL, err)) < 0)
			goto done;
		items = json_object_get(doc, "scenarios");
		pg = json_object_get(doc, "pg");
		if (!json_is_array(items) || !json_is_object(pg)) {
			rc = envelope(err, "GET", "/scenarios", "no \"scenarios\" array with a \"pg\" object");
			goto done;
		}
		limit = page_limit(pg, LIST_PAGE);
		if (json_array_size(items) > limit) {
			rc = envelope(err, "GET", "/scenarios", "a page longer than the limit asked for");
			goto done;
		}
		json_array_foreach(items, i, it) {
			const json_t *id = json_object_get(it, "id");
			char key[32];
			if (!json_is_object(it) || !json_is_integer(id) || json_integer_value(id) <= 0) {
				rc = envelope(err, "GET", "/scenarios", "a scenario without an integer \"id\"");
				goto done;
			}
			snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
			if (json_object_get(seen, key)) {
				rc = bpg_error_set(err, BPG_ERROR,
					"Make API: GET /scenarios: scenario %s listed twice (the list changed while "
					"paging); run again", key);
				goto done;
			}
			if (json_array_size(all) >= LIST_MAX) {
				rc = bpg_error_set(err, BPG_ETOOBIG,
					"Make API: GET /scenarios: more than %u scenarios in team %" PRId64 "; refused",
					LIST_MAX, team_id);
				goto done;
			}
			if (json_object_set_new(seen, key, json_true()) < 0 || json_array_append(all, it) < 0) {
				rc = oom(err);
				goto done;
			}
		}
		offset += json_array_size(items);
		bool last = json_array_size(items) < limit;
		json_decref(doc);
		doc = NULL;
		if (last)
			break;
	}
	*out = all;
	all = NULL;
done:
	json_decref(doc);
	json_decref(all);
	json_decref(seen);
	return rc;
}

int bpg_make_scenario_get(json_t **out, bpg_make_client *c, int64_t id, bpg_error *err)
{
	json_t *doc = NULL;
	char path[64];
	int rc;

	*out = NULL;
	if (!valid_id(id))
		return bpg_error_set(err, BPG_EINVALID, "Make API: scenario id must be > 0");
	snprintf(path, sizeof(path), "/scenarios/%" PRId64, id);
	if ((rc = bpg_make_call(&doc, c, "GET", path, NULL, NULL, err)) < 0)
		return rc;
	json_t *s = json_object_get(doc, "scenario");
	if (!json_is_object(s)) {
		json_decref(doc);
		return envelope(err, "GET", path, "no \"scenario\" object");
	}
	*out = json_incref(s);
	json_decref(doc);
	return 0;
}

int bpg_make_blueprint_get(json_t **blueprint, json_t **scheduling, char **last_edit,
	bpg_make_client *c, int64_t id, bpg_error *err)
{
	json_t *doc = NULL;
	char path[80];
	int rc = 0;

	if (blueprint)
		*blueprint = NULL;
	if (scheduling)
		*scheduling = NULL;
	if (last_edit)
		*last_edit = NULL;
	if (!valid_id(id))
		return bpg_error_set(err, BPG_EINVALID, "Make API: scenario id must be > 0");
	snprintf(path, sizeof(path), "/scenarios/%" PRId64 "/blueprint", id);
	if ((rc = bpg_make_call(&doc, c, "GET", path, "draft=false", NULL, err)) < 0)
		return rc;
	const json_t *code = json_object_get(doc, "code"), *resp = json_object_get(doc, "response");
	const json_t *bp = json_object_get(resp, "blueprint"), *sched = json_object_get(resp, "scheduling");
	const json_t *le = json_object_get(resp, "last_edit");
	if (!json_is_string(code) || strcmp(json_string_value(code), "OK") != 0 || !json_is_object(resp)) {
		rc = envelope(err, "GET", path, "no \"code\": \"OK\" with a \"response\" object");
		goto done;
	}
	if (!json_is_object(bp) || !json_is_object(sched)) {
		rc = envelope(err, "GET", path, "the response has no \"blueprint\" and \"scheduling\" objects");
		goto done;
	}
	if (le && !json_is_null(le) && !json_is_string(le)) {
		rc = envelope(err, "GET", path, "\"last_edit\" is not a string");
		goto done;
	}
	if (last_edit && json_is_string(le) && !(*last_edit = bpg_strdup(json_string_value(le)))) {
		rc = oom(err);
		goto done;
	}
	if (blueprint)
		*blueprint = json_incref((json_t *)bp);
	if (scheduling)
		*scheduling = json_incref((json_t *)sched);
done:
	json_decref(doc);
	return rc;
}

/* body[key] = the value as a JSON string: Make takes the blueprint and the
 * scheduling as strings on write (spec 2, "string on write"). */
static int set_as_string(json_t *body, const char *key, const json_t *v, bpg_error *err)
{
	char *s;
	int rc = 0;

	if (!json_is_object(v))
		return bpg_error_set(err, BPG_EINVALID, "Make API: the %s must be a JSON object", key);
	if (!(s = bpg_json_dumps(v, JSON_COMPACT)))
		return oom(err);
	if (json_object_set_new(body, key, json_string(s)) < 0)
		rc = oom(err);
	free(s);
	return rc;
}

static int write_body(json_t **out, const json_t *blueprint, const json_t *scheduling, bpg_error *err)
{
	json_t *b = json_object();
	int rc;

	*out = NULL;
	if (!b)
		return oom(err);
	if ((blueprint && (rc = set_as_string(b, "blueprint", blueprint, err)) < 0) ||
	    (scheduling && (rc = set_as_string(b, "scheduling", scheduling, err)) < 0)) {
		json_decref(b);
		return rc;
	}
	*out = b;
	return 0;
}

static int scenario_answer(json_t **out, json_t *doc, const char *method, const char *path, bpg_error *err)
{
	json_t *s = json_object_get(doc, "scenario");

	if (!json_is_object(s))
		return envelope(err, method, path, "no \"scenario\" object");
	if (out)
		*out = json_incref(s);
	return 0;
}

int bpg_make_scenario_update(json_t **out, bpg_make_client *c, int64_t id, const json_t *blueprint,
	const json_t *scheduling, bpg_error *err)
{
	json_t *body = NULL, *doc = NULL;
	char path[64];
	int rc;

	if (out)
		*out = NULL;
	if (!valid_id(id))
		return bpg_error_set(err, BPG_EINVALID, "Make API: scenario id must be > 0");
	snprintf(path, sizeof(path), "/scenarios/%" PRId64, id);
	if (!blueprint && !scheduling)
		return bpg_error_set(err, BPG_EINVALID, "Make API: PATCH %s: nothing to change", path);
	if ((rc = write_body(&body, blueprint, scheduling, err)) < 0)
		goto done;
	if ((rc = bpg_make_call(&doc, c, "PATCH", path, "confirmed=true", body, err)) < 0)
		goto done;
	rc = scenario_answer(out, doc, "PATCH", path, err);
done:
	json_decref(body);
	json_decref(doc);
	return rc;
}

int bpg_make_scenario_create(json_t **out, bpg_make_client *c, int64_t team_id, int64_t folder_id,
	const json_t *blueprint, const json_t *scheduling, bpg_error *err)
{
	json_t *body = NULL, *doc = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!valid_id(team_id) || folder_id < 0)
		return bpg_error_set(err, BPG_EINVALID, "Make API: POST /scenarios: team id must be > 0");
	if (!blueprint || !scheduling)
		return bpg_error_set(err, BPG_EINVALID,
			"Make API: POST /scenarios: a new scenario needs a blueprint and a scheduling");
	if ((rc = write_body(&body, blueprint, scheduling, err)) < 0)
		goto done;
	if (json_object_set_new(body, "teamId", json_integer(team_id)) < 0 ||
	    (folder_id > 0 && json_object_set_new(body, "folderId", json_integer(folder_id)) < 0)) {
		rc = oom(err);
		goto done;
	}
	if ((rc = bpg_make_call(&doc, c, "POST", "/scenarios", "confirmed=true", body, err)) < 0)
		goto done;
	rc = scenario_answer(out, doc, "POST", "/scenarios", err);
done:
	json_decref(body);
	json_decref(doc);
	return rc;
}

int bpg_make_scenario_set_active(bpg_make_client *c, int64_t id, bool active, bpg_error *err)
{
	json_t *doc = NULL, *s = NULL;
	char path[80];
	int rc;

	if (!valid_id(id))
		return bpg_error_set(err, BPG_EINVALID, "Make API: scenario id must be > 0");
	snprintf(path, sizeof(path), "/scenarios/%" PRId64 "/%s", id, active ? "start" : "stop");
	if ((rc = bpg_make_call(&doc, c, "POST", path, NULL, NULL, err)) < 0)
		return rc;
	if ((rc = scenario_answer(&s, doc, "POST", path, err)) < 0)
		goto done;
	/* old docs answer islinked, new ones isActive: check whichever is there */
	const json_t *a = json_object_get(s, "isActive");
	if (!a)
		a = json_object_get(s, "islinked");
	if (json_is_boolean(a) && json_boolean_value(a) != active)
		rc = bpg_error_set(err, BPG_ERROR, "Make API: POST %s: the answer says the scenario is still %s",
			path, active ? "inactive" : "active");
done:
	json_decref(s);
	json_decref(doc);
	return rc;
}

/* ---- logs ------------------------------------------------------------------------- */

/* Milliseconds since the epoch of "2026-12-01T10:00:00.000Z"; -1 when the
 * text is not in that form. */
static int64_t iso_ms(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0, n = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		    &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.') {
		int digits = 0;
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*s - '0');
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(s, "Z") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

int bpg_make_logs_list(json_t **out, bpg_make_client *c, int64_t id, int64_t from_ms, int64_t to_ms,
	size_t max_items, bpg_error *err)
{
	json_t *all = NULL, *doc = NULL;
	char path[80], *last = NULL;
	bpg_buf query = BPG_BUF_INIT;
	int rc = 0;

	*out = NULL;
	if (!valid_id(id))
		return bpg_error_set(err, BPG_EINVALID, "Make API: scenario id must be > 0");
	if (from_ms < 0 || to_ms <= from_ms)
		return bpg_error_set(err, BPG_EINVALID, "Make API: logs: the window [from, to) is empty or negative");
	if (!max_items)
		max_items = LOGS_MAX;
	snprintf(path, sizeof(path), "/scenarios/%" PRId64 "/logs", id);
	if (!(all = json_array())) {
		rc = oom(err);
		goto done;
	}
	for (;;) {
		const json_t *items, *pg;
		size_t i, limit;
		json_t *it;
		bpg_buf_clear(&query);
		if (bpg_buf_printf(&query, "from=%" PRId64 "&to=%" PRId64 "&pg%%5Blimit%%5D=%d", from_ms, to_ms,
			    LOGS_PAGE) < 0) {
			rc = oom(err);
			goto done;
		}
		if (last) {
			/* imtId: "<ms>_scenario.<id>.<type>.<hex>": encode anything but unreserved characters */
			if (bpg_buf_puts(&query, "&pg%5Blast%5D=") < 0) {
				rc = oom(err);
				goto done;
			}
			for (const char *p = last; *p; p++) {
				unsigned char ch = (unsigned char)*p;
				int w = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
					ch == '-' || ch == '_' || ch == '.' || ch == '~'
					? bpg_buf_putc(&query, (char)ch) : bpg_buf_printf(&query, "%%%02X", ch);
				if (w < 0) {
					rc = oom(err);
					goto done;
				}
			}
		}
		if ((rc = bpg_make_call(&doc, c, "GET", path, query.ptr, NULL, err)) < 0)
			goto done;
		items = json_object_get(doc, "scenarioLogs");
		pg = json_object_get(doc, "pg");
		if (!json_is_array(items) || !json_is_object(pg)) {
			rc = envelope(err, "GET", path, "no \"scenarioLogs\" array with a \"pg\" object");
			goto done;
		}
		limit = page_limit(pg, LOGS_PAGE);
		if (json_array_size(items) > limit) {
			rc = envelope(err, "GET", path, "a page longer than the limit asked for");
			goto done;
		}
		json_array_foreach(items, i, it) {
			const char *imt = json_string_value(json_object_get(it, "imtId"));
			if (!json_is_object(it) || !imt) {
				rc = envelope(err, "GET", path, "an execution without an \"imtId\"");
				goto done;
			}
			/* [from, to): Make's "to" may be inclusive */
			int64_t t = iso_ms(json_string_value(json_object_get(it, "timestamp")));
			if (t >= 0 && (t < from_ms || t >= to_ms))
				continue;
			if (json_array_size(all) >= max_items) {
				rc = bpg_error_set(err, BPG_ETOOBIG,
					"Make API: GET %s: more than %zu executions in the window; refused "
					"(ask for a narrower window)", path, max_items);
				goto done;
			}
			if (json_array_append(all, it) < 0) {
				rc = oom(err);
				goto done;
			}
		}
		if (json_array_size(items) < limit)
			break;
		const char *next = json_string_value(json_object_get(json_array_get(items,
			json_array_size(items) - 1), "imtId"));
		if (last && strcmp(last, next) == 0) {
			rc = envelope(err, "GET", path, "paging with pg[last] did not advance");
			goto done;
		}
		free(last);
		if (!(last = bpg_strdup(next))) {
			rc = oom(err);
			goto done;
		}
		json_decref(doc);
		doc = NULL;
	}
	*out = all;
	all = NULL;
done:
	free(last);
	bpg_buf_dispose(&query);
	json_decref(doc);
	json_decref(all);
	return rc;
}
