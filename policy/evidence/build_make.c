/*
 * The Make part of a release's evidence: the deployment state recorded after
 * the release was deployed (refs/bpgate/deploys/<env>/<commit>, written by
 * `bpgate make deploy`: per scenario the Make id, the commit, the sha256 of
 * the bytes written, Make's lastEdit, who, when, an adopted drift) and every
 * scenario switched off through `bpgate make disable`
 * (refs/bpgate/switches/<env>/<scenario>). These records are git objects the
 * server wrote, not signed statements: the page says so.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define MAKE_RECORD_MAX ((size_t)16 << 20)

static json_t *ref_file_json(git_repository *repo, const char *ref, const char *file)
{
	git_oid id;
	git_commit *c = NULL;
	git_tree *t = NULL;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	json_t *out = NULL;

	if (git_reference_name_to_id(&id, repo, ref) == 0 && git_commit_lookup(&c, repo, &id) == 0 &&
	    git_commit_tree(&t, c) == 0 && ev_read_path(&b, repo, t, file, MAKE_RECORD_MAX, &err) == 0)
		out = json_loadb(b.ptr ? b.ptr : "", b.size, JSON_REJECT_DUPLICATES, NULL);
	if (out && !json_is_object(out)) {
		json_decref(out);
		out = NULL;
	}
	git_error_clear();
	bpg_buf_dispose(&b);
	git_tree_free(t);
	git_commit_free(c);
	return out;
}

int ev_make_section(json_t *pred, git_repository *repo, const char *env, const char *hex, bpg_error *err)
{
	char ref[400], glob[300];
	json_t *sec = json_object(), *disabled = json_array();
	git_reference_iterator *it = NULL;
	const char *name;

	if (!sec || !disabled)
		goto oom;
	snprintf(ref, sizeof(ref), "refs/bpgate/deploys/%s/%s", env, hex);
	json_t *state = ref_file_json(repo, ref, "deploy.json");
	if (json_object_set_new(sec, "deployment_ref", state ? json_string(ref) : json_null()) < 0 ||
	    json_object_set_new(sec, "deployed", state ? json_incref(json_object_get(state, "scenarios")) : json_null()) < 0) {
		json_decref(state);
		goto oom;
	}
	json_decref(state);
	snprintf(glob, sizeof(glob), "refs/bpgate/switches/%s/*", env);
	if (git_reference_iterator_glob_new(&it, repo, glob) == 0) {
		for (size_t n = 0; n < 10000 && git_reference_next_name(&name, it) == 0; n++) {
			json_t *sw = ref_file_json(repo, name, "switch.json");
			if (sw && json_is_false(json_object_get(sw, "active")))
				json_array_append(disabled, sw);
			json_decref(sw);
		}
		git_reference_iterator_free(it);
	}
	git_error_clear();
	if (json_object_set_new(sec, "disabled", disabled) < 0) {
		disabled = NULL;
		goto oom;
	}
	disabled = NULL;
	if (json_object_set_new(sec, "note", json_string("deployment and switch records are written by the server "
		"(bpgate make); they are not signed statements")) < 0 ||
	    json_object_set_new(pred, "make", sec) < 0) {
		sec = NULL;
		goto oom;
	}
	return 0;
oom:
	json_decref(sec);
	json_decref(disabled);
	return ev_oom(err);
}
