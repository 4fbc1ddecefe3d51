/*
 * post-receive: write the release records pre-receive spooled (release,
 * rollback, break-glass) as blobs under refs/bpgate/releases/<env>/<commit>,
 * with the push certificate's text. Runs after the refs moved, outside the
 * quarantine, so it may write refs; only records of updates that really
 * happened (listed on stdin) are written; a record is never overwritten.
 */
#include "receive.h"
#include "bpgate/gitobj.h"
#include "bpgate/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_record(git_repository *repo, const rcv_config *cfg, const rcv_update *u, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT, refname = BPG_BUF_INIT;
	json_t *rec = NULL;
	git_reference *ref = NULL;
	git_oid blob;
	char *text = NULL;
	int rc;

	if ((rc = bpg_buf_printf(&path, "%s/%s.json", cfg->spool_dir, u->new_hex)) < 0)
		goto done;
	if ((rc = bpg_file_read(&data, path.ptr, (size_t)1 << 20, err)) < 0) {
		rc = rc == BPG_ENOTFOUND ? 0 : rc;
		goto done;
	}
	if (!(rec = json_loadb(data.ptr, data.size, 0, NULL)) ||
	    strcmp(json_string_value(json_object_get(rec, "ref")) ? json_string_value(json_object_get(rec, "ref")) : "",
	    u->name) != 0) {
		rc = 0;
		goto done;
	}
	const char *cert = getenv("GIT_PUSH_CERT");
	git_oid cid;
	git_blob *cb = NULL;
	if (cert && git_oid_fromstr(&cid, cert) == 0 && bpg_git_object_size(NULL, NULL, repo, &cid, GIT_OBJECT_BLOB,
	    RCV_PUSH_CERT_MAX, "the push certificate", NULL) == 0 && git_blob_lookup(&cb, repo, &cid) == 0) {
		json_t *t = json_stringn(git_blob_rawcontent(cb), (size_t)git_blob_rawsize(cb));
		if (t)
			json_object_set_new(rec, "push_cert_text", t);
	}
	git_blob_free(cb);
	git_error_clear();
	const char *env = json_string_value(json_object_get(rec, "environment"));
	if (!env || !(text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) ||
	    bpg_buf_printf(&refname, "refs/bpgate/releases/%s/%s", env, u->new_hex) < 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "a spooled record is incomplete");
		goto done;
	}
	if (git_blob_create_from_buffer(&blob, repo, text, strlen(text)) < 0 ||
	    git_reference_create(&ref, repo, refname.ptr, &blob, 0, "bpgate release record") < 0) {
		const git_error *ge = git_error_last();
		rc = bpg_error_set(err, BPG_ERROR, "%s: %s", refname.ptr, ge && ge->message ? ge->message : "git error");
		goto done;
	}
	unlink(path.ptr);
done:
	free(text);
	git_reference_free(ref);
	json_decref(rec);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	bpg_buf_dispose(&refname);
	return rc;
}

int rcv_post_receive(git_repository *repo, const rcv_config *cfg, bpg_error *err)
{
	rcv_updates ups;
	int rc;

	if ((rc = rcv_read_updates(&ups, stdin, err)) < 0)
		goto done;
	for (size_t i = 0; i < ups.n && rc == 0; i++)
		if (strspn(ups.v[i].new_hex, "0") != 40)
			rc = write_record(repo, cfg, &ups.v[i], err);
done:
	rcv_updates_free(&ups);
	return rc;
}
