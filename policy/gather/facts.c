/* The facts skeleton and the small builders shared by the gather files. */
#include "internal.h"
#include "bpgate/jsonshared.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int bpg_facts_new(json_t **out, const bpg_facts_opts *opts, bpg_error *err)
{
	json_t *f = NULL, *po = NULL;

	*out = NULL;
	if (!opts || !opts->context || !opts->time)
		return bpg_error_set(err, BPG_EINVALID, "facts need a context and a time");
	if (!(po = json_array()))
		goto oom;
	for (size_t i = 0; i < opts->npush_options; i++)
		if (json_array_append_new(po, json_string(opts->push_options[i])) < 0)
			goto oom;
	f = json_pack("{s:s, s:s, s:o, s:o, s:O, s:o, s:[], s:[], s:[], s:[], s:[]}",
		"time", opts->time,
		"context", opts->context,
		"repository", opts->repository ? json_string(opts->repository) : json_string(""),
		"pusher", opts->pusher ? json_string(opts->pusher) : json_null(),
		"push_options", po,
		"environment", opts->environment ? json_string(opts->environment) : json_null(),
		"refs", "commits", "files", "bundles", "approvals");
	if (!f)
		goto oom;
	json_decref(po);
	*out = f;
	return 0;
oom:
	json_decref(po);
	return bpg_error_set(err, BPG_ENOMEM, "out of memory building facts (is every string UTF-8?)");
}

json_t *g_time_json(git_time_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return json_string("1970-01-01T00:00:00Z");
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string_nocheck(buf); /* digits and ASCII */
}

/* Authors are identified by e-mail address: the principals of
 * .bpgate/allowed_signers and of the roles are e-mail addresses too. */
json_t *g_person_json(const git_signature *sig)
{
	json_t *name, *email;

	if (!sig)
		return json_null();
	/* the same few authors on every commit of a push: shared values (jsonshared.h) */
	name = bpg_json_shared_str(sig->name ? sig->name : "");
	email = bpg_json_shared_str(sig->email ? sig->email : "");
	if (!name)
		name = json_string("(not UTF-8)");
	if (!email)
		email = json_string("(not UTF-8)");
	json_t *o = json_object(), *when = g_time_json(sig->when.time);
	bool built = o && name && email && when && json_object_set_nocheck(o, "name", name) == 0 &&
		json_object_set_nocheck(o, "email", email) == 0 && json_object_set_nocheck(o, "principal", email) == 0 &&
		json_object_set_nocheck(o, "time", when) == 0;
	json_decref(name);
	json_decref(email);
	json_decref(when);
	if (!built) {
		json_decref(o);
		return NULL;
	}
	return o;
}

bool g_same_person(const git_signature *a, const git_signature *b)
{
	return a && b && a->when.time == b->when.time && a->when.offset == b->when.offset &&
		a->name && b->name && strcmp(a->name, b->name) == 0 &&
		a->email && b->email && strcmp(a->email, b->email) == 0;
}

json_t *g_array_of(json_t *facts, const char *key)
{
	json_t *a = json_object_get(facts, key);
	if (!json_is_array(a)) {
		a = json_array();
		if (!a || json_object_set_new(facts, key, a) < 0)
			return NULL;
	}
	return a;
}

json_t *g_find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(json_object_get(v, key));
		if (s && strcmp(s, value) == 0)
			return v;
	}
	return NULL;
}

int g_oom(bpg_error *err)
{
	return bpg_error_set(err, BPG_ENOMEM, "out of memory while gathering facts");
}

int g_git_error(bpg_error *err, const char *what)
{
	return bpg_error_set(err, BPG_ERROR, "%s: %s", what, bpg_git_message());
}
