/*
 * The spool and post-receive. pre-receive spools the release records of an
 * accepted push (release, rollback, break-glass), one file per update named
 * <sha1 of the ref name>.<old>.<new>.json, created exclusively: two updates
 * of one push (one commit to main and stage) never share a file, and a name
 * that exists is an error, never an overwrite.
 *
 * post-receive runs after the refs moved, outside the quarantine: it appends
 * a `bpgate-applied` audit entry listing the updates git applied (its stdin),
 * which is what turns a judged release into one that happened, then writes
 * the spooled records of those updates as blobs under
 * refs/bpgate/releases/<env>/<commit>, with the push certificate's text. A
 * record is never overwritten.
 */
#include "receive.h"
#include "bpgate/audit.h"
#include "bpgate/gitobj.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rcv_audit_append(const rcv_config *cfg, const json_t *entry, bpg_error *err)
{
	bpg_audit_log *log = NULL;
	bpg_note_signer *key = NULL;
	char *s = NULL;
	int rc;

	if (!cfg->audit_dir)
		return 0;
	if (!cfg->audit_key)
		return bpg_error_set(err, BPG_EINVALID, "bpgate.auditDir is set but bpgate.auditKey is not");
	if (!(s = bpg_json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if ((rc = bpg_note_signer_load(&key, cfg->audit_key, err)) == 0 &&
	    (rc = bpg_audit_open_append(&log, cfg->audit_dir, err)) == 0)
		rc = bpg_audit_append(log, s, strlen(s), key, NULL, err);
	bpg_audit_free(log);
	bpg_note_signer_free(key);
	free(s);
	return rc;
}

/* <spool>/<sha1 of the ref name>.<old>.<new>.json */
static int spool_path(bpg_buf *out, const rcv_config *cfg, const char *ref, const char *old_hex, const char *new_hex)
{
	git_oid h;
	char hex[GIT_OID_HEXSZ + 1];
	if (!ref || !old_hex || !new_hex || git_odb_hash(&h, ref, strlen(ref), GIT_OBJECT_BLOB) < 0) {
		git_error_clear();
		return BPG_EINVALID;
	}
	git_oid_tostr(hex, sizeof(hex), &h);
	return bpg_buf_printf(out, "%s/%s.%s.%s.json", cfg->spool_dir, hex, old_hex, new_hex);
}

void rcv_spool_discard(const rcv_config *cfg, const json_t *records)
{
	size_t i;
	json_t *r;
	json_array_foreach(records, i, r) {
		bpg_buf path = BPG_BUF_INIT;
		if (spool_path(&path, cfg, json_string_value(json_object_get(r, "ref")),
		    json_string_value(json_object_get(r, "old")), json_string_value(json_object_get(r, "new"))) == 0)
			unlink(path.ptr);
		bpg_buf_dispose(&path);
	}
}

/* Write data to a new file path (never replacing one): a temporary file, then link(2). */
static int write_exclusive(const char *path, const char *data, size_t len, bpg_error *err)
{
	bpg_buf tmp = BPG_BUF_INIT;
	int fd = -1, rc = 0;

	if (bpg_buf_printf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if ((fd = mkstemp(tmp.ptr)) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "cannot create a spool file in %s: %s", path, strerror(errno));
		goto done;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = bpg_error_set(err, BPG_EIO, "cannot write %s: %s", tmp.ptr, strerror(errno));
			goto done;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = bpg_error_set(err, BPG_EIO, "cannot write %s: %s", tmp.ptr, strerror(errno));
		goto done;
	}
	int r = link(tmp.ptr, path);
	struct stat st;
	if (r < 0 && errno == EEXIST && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    time(NULL) - st.st_mtime > RCV_SPOOL_STALE_SECONDS) {
		/* Older than any push can take from pre-receive to the ref update: a push the gate
		 * accepted and git then did not apply (an update hook said no); never applied, so
		 * it is no record of anything. Replaced; a younger one is a push still running. */
		fprintf(stderr, "warning: bpgate: a leftover release record of an update that was never applied is "
			"replaced: %s\n", path);
		r = unlink(path) == 0 ? link(tmp.ptr, path) : -1;
	}
	if (r < 0)
		rc = errno == EEXIST ?
			bpg_error_set(err, BPG_EINVALID, "the release record %s is already spooled: another push of the same "
				"update is running (push again once it has finished)", path) :
			bpg_error_set(err, BPG_EIO, "cannot create %s: %s", path, strerror(errno));
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp.ptr);
	}
	bpg_buf_dispose(&tmp);
	return rc;
}

int rcv_spool(const rcv_config *cfg, const json_t *records, bpg_error *err)
{
	json_t *done = json_array();
	size_t i;
	json_t *r;
	int rc = 0;

	if (!done)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (json_array_size(records) && mkdir(cfg->spool_dir, 0700) < 0 && errno != EEXIST) {
		rc = bpg_error_set(err, BPG_EIO, "cannot create %s: %s", cfg->spool_dir, strerror(errno));
		goto out;
	}
	json_array_foreach(records, i, r) {
		bpg_buf path = BPG_BUF_INIT;
		char *s = bpg_json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
		if (!s || spool_path(&path, cfg, json_string_value(json_object_get(r, "ref")),
		    json_string_value(json_object_get(r, "old")), json_string_value(json_object_get(r, "new"))) < 0)
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		else if ((rc = write_exclusive(path.ptr, s, strlen(s), err)) == 0 &&
		    json_array_append_new(done, json_string(path.ptr)) < 0) {
			unlink(path.ptr);
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		}
		free(s);
		bpg_buf_dispose(&path);
		if (rc < 0)
			break;
	}
	if (rc < 0)
		json_array_foreach(done, i, r)
			unlink(json_string_value(r));
out:
	json_decref(done);
	return rc;
}

/* refs/bpgate/releases/<env>/<commit> -> blob. A commit can become an environment's tip twice (the
 * branch reset between, a second break-glass of it): the first record keeps the name (what the gate
 * reads of a commit is the same), the later one goes to <name>-<blob>, never lost. */
static int create_record_ref(git_repository *repo, bpg_buf *refname, const git_oid *blob, bpg_error *err)
{
	git_reference *ref = NULL;
	git_oid have;
	char bhex[GIT_OID_HEXSZ + 1];
	int r = git_reference_create(&ref, repo, refname->ptr, blob, 0, "bpgate release record");

	git_reference_free(ref);
	ref = NULL;
	if (r == GIT_EEXISTS) {
		if (git_reference_name_to_id(&have, repo, refname->ptr) < 0)
			return bpg_error_set(err, BPG_ERROR, "%s: %s", refname->ptr, bpg_git_message());
		if (git_oid_equal(&have, blob)) { /* this very record (a post-receive run twice) */
			git_error_clear();
			return 0;
		}
		git_oid_tostr(bhex, sizeof(bhex), blob);
		if (bpg_buf_printf(refname, "-%s", bhex) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		r = git_reference_create(&ref, repo, refname->ptr, blob, 0, "bpgate release record");
		git_reference_free(ref);
		if (r == GIT_EEXISTS) /* <name>-<blob> holds this blob by its name */
			r = 0;
	}
	if (r < 0)
		return bpg_error_set(err, BPG_ERROR, "%s: %s", refname->ptr, bpg_git_message());
	git_error_clear();
	return 0;
}

static int write_record(git_repository *repo, const rcv_config *cfg, const rcv_update *u, bpg_error *err)
{
	bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT, refname = BPG_BUF_INIT;
	json_t *rec = NULL;
	git_oid blob;
	char *text = NULL;
	int rc;

	if ((rc = spool_path(&path, cfg, u->name, u->old_hex, u->new_hex)) < 0) {
		rc = bpg_error_set(err, rc, "%s: no spool file name", u->name);
		goto done;
	}
	if ((rc = bpg_file_read(&data, path.ptr, (size_t)1 << 20, err)) < 0) {
		rc = rc == BPG_ENOTFOUND ? 0 : rc;
		goto done;
	}
	/* pre-receive wrote the file whole (fsync, then link): one that does not parse, or names
	 * another update, was damaged on the server. It is left where it is for the administrator,
	 * and said: a release record silently dropped is a release (a break-glass one, maybe)
	 * that later rules and the evidence never see. */
	json_error_t jerr;
	const char *rref;
	if (!(rec = json_loadb(data.ptr, data.size, 0, &jerr))) {
		rc = bpg_error_set(err, BPG_EINVALID, "the spooled release record %s is damaged (line %d, column %d: %s): "
			"the record of %s at %.12s is not written and the file is left in place; tell the administrator",
			path.ptr, jerr.line, jerr.column, jerr.text, u->name, u->new_hex);
		goto done;
	}
	rref = json_string_value(json_object_get(rec, "ref"));
	const char *rnew = json_string_value(json_object_get(rec, "new"));
	if (!rref || strcmp(rref, u->name) != 0 || !rnew || strcmp(rnew, u->new_hex) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "the spooled release record %s is damaged (it is not the record of "
			"this update): the record of %s at %.12s is not written and the file is left in place; tell the "
			"administrator", path.ptr, u->name, u->new_hex);
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
	if (!env) {
		rc = bpg_error_set(err, BPG_EINVALID, "the spooled release record %s is damaged (it names no environment): "
			"the record of %s at %.12s is not written and the file is left in place; tell the administrator",
			path.ptr, u->name, u->new_hex);
		goto done;
	}
	if (!(text = bpg_json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS)) ||
	    bpg_buf_printf(&refname, RCV_RELEASES_PREFIX "%s/%s", env, u->new_hex) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory writing the release record of %s (the spooled file %s "
			"is left in place)", u->name, path.ptr);
		goto done;
	}
	if (git_blob_create_from_buffer(&blob, repo, text, strlen(text)) < 0) {
		rc = bpg_error_set(err, BPG_ERROR, "%s: %s", refname.ptr, bpg_git_message());
		goto done;
	}
	/* The gate's indexes first (recindex.c): a record in them and not under releases/ is
	 * stricter (break-glass-overdue sees it; a tip or release the gate then checks as ever), the
	 * other way round it would be missed. If it cannot be indexed, the marker goes once the
	 * record is under releases/ (a pass running meanwhile then either sees it or loses its
	 * marker), and the gate lists the records again until the next pass indexes them all. */
	bpg_error ierr;
	bool unindexed = rcv_record_index_add(repo, env, u->new_hex, rec, &blob, &ierr) < 0;
	if (unindexed)
		fprintf(stderr, "warning: bpgate: post-receive: the release record of %s is not indexed: %s\n", u->name,
			ierr.message);
	rc = create_record_ref(repo, &refname, &blob, err);
	if (unindexed && rcv_record_index_unmark(repo, &ierr) < 0)
		fprintf(stderr, "warning: bpgate: post-receive: %s: the gate may miss the release record of %s; tell the "
			"administrator\n", ierr.message, u->name);
	if (rc < 0)
		goto done;
	unlink(path.ptr);
done:
	free(text);
	json_decref(rec);
	bpg_buf_dispose(&path);
	bpg_buf_dispose(&data);
	bpg_buf_dispose(&refname);
	return rc;
}

/* The audit entry that confirms what git applied. */
static int record_applied(const rcv_config *cfg, const rcv_updates *ups, const char *now_s, bpg_error *err)
{
	json_t *refs = json_array(), *entry = NULL;
	int rc;

	for (size_t i = 0; refs && i < ups->n; i++)
		if (json_array_append_new(refs, json_pack("{s:s, s:s, s:s}", "ref", ups->v[i].name, "old", ups->v[i].old_hex,
		    "new", ups->v[i].new_hex)) < 0) {
			json_decref(refs);
			refs = NULL;
		}
	if (!refs || !(entry = json_pack("{s:s, s:s, s:s, s:o}", "type", "bpgate-applied", "time", now_s,
	    "repository", cfg->repository, "refs", refs)))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = rcv_audit_append(cfg, entry, err);
	json_decref(entry);
	return rc;
}

int rcv_post_receive(git_repository *repo, const rcv_config *cfg, const char *pusher, const char *now_s,
	const char *policy_ref, bpg_error *err)
{
	rcv_updates ups;
	int rc;

	if ((rc = rcv_read_updates(&ups, stdin, err)) < 0)
		goto done;
	bpg_error perr; /* provenance first: segregation of duties fails closed without it */
	if (rcv_provenance_record(repo, pusher, &ups, &perr) < 0)
		fprintf(stderr, "warning: bpgate: who pushed this content was not recorded (%s); releases of it "
			"will be refused as of unknown authorship: tell the administrator\n", perr.message);
	if (ups.n && (rc = record_applied(cfg, &ups, now_s, err)) < 0)
		bpg_error_prefix(err, "the bpgate-applied audit entry: ");
	bpg_error ierr; /* once per repository: records written before the indexes existed */
	if (rcv_record_index_migrate(repo, &ierr) < 0)
		fprintf(stderr, "warning: bpgate: post-receive: %s\n", ierr.message);
	for (size_t i = 0; i < ups.n; i++) {
		bpg_error e2;
		int r = strspn(ups.v[i].new_hex, "0") != 40 ? write_record(repo, cfg, &ups.v[i], &e2) : 0;
		if (r < 0 && rc == 0) {
			rc = r;
			*err = e2;
		} else if (r < 0) /* the caller prints the first; every lost record is said */
			fprintf(stderr, "warning: bpgate: post-receive: %s\n", e2.message);
	}
	/* after the records: a deployment failure must not lose them */
	if (policy_ref)
		(void)rcv_auto_deploy(repo, cfg, policy_ref, &ups, pusher);
done:
	rcv_updates_free(&ups);
	return rc;
}
