/*
 * The newest valid signed stage health record (written by `bpgate make
 * health`, hooks/make_health.c): refs/bpgate/health/<env>/<YYYYMMDDTHHMMSSZ>
 * -> a commit whose tree holds health.json and health.json.sig.
 *
 * A record is valid when: its ref name is <env>/<compact time>; health.json
 * (at most 1 MiB, size read from the object header first) is one JSON object
 * of type "bpgate-health/v1" for this environment, whose measured_at is the
 * ref's time and which names its signer; health.json.sig (at most 16 KiB) is
 * an SSHSIG of health.json's exact bytes in namespace bpgate-health@v1 by a
 * key allowed_signers (of the policy ref) gives that signer; and the signer
 * holds the role "observers" (the engine's answer, bpg_policy_has_role).
 *
 * Records are taken newest first by ref name; invalid ones are skipped and
 * counted (with the newest one's problem) so the rule can say so. At most
 * RCV_HEALTH_REFS_MAX refs are listed: more fails closed (the newest cannot
 * be told without reading them all). Facts only; the stage-health rule
 * decides.
 */
#include "receive.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/testhook.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_NS "bpgate-health@v1"
#define HEALTH_ROLE "observers"
#define HEALTH_MAX_DOC ((size_t)1 << 20)
#define HEALTH_MAX_SIG ((size_t)16 << 10)

static int read_entry(bpg_buf *out, git_repository *repo, git_tree *tree, const char *name, size_t max)
{
	const git_tree_entry *e = git_tree_entry_byname(tree, name);
	git_odb *odb = NULL;
	git_blob *b = NULL;
	git_object_t t;
	size_t sz = 0;
	int rc = BPG_ENOTFOUND;

	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		goto done;
	rc = BPG_EIO;
	if (git_repository_odb(&odb, repo) < 0 || git_odb_read_header(&sz, &t, odb, git_tree_entry_id(e)) < 0)
		goto done;
	rc = BPG_ETOOBIG;
	if (sz > max)
		goto done;
	rc = BPG_EIO;
	if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0)
		goto done;
	rc = bpg_buf_put(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b)) < 0 ? BPG_ENOMEM : 0;
done:
	git_error_clear();
	git_blob_free(b);
	git_odb_free(odb);
	return rc;
}

/* "YYYYMMDDTHHMMSSZ" and "YYYY-MM-DDTHH:MM:SSZ" name the same second? */
static bool same_time(const char *compact, const char *iso)
{
	char c[32];
	if (!iso || strlen(iso) != 20 || strlen(compact) != 16)
		return false;
	snprintf(c, sizeof(c), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", iso, iso + 5, iso + 8, iso + 11, iso + 14, iso + 17);
	return iso[4] == '-' && iso[7] == '-' && iso[10] == 'T' && iso[13] == ':' && iso[16] == ':' && iso[19] == 'Z' &&
		strcmp(c, compact) == 0;
}

static bool compact_name(const char *s)
{
	/* 8 digits, T, 6 digits, Z */
	if (strlen(s) != 16)
		return false;
	for (size_t i = 0; i < 16; i++) {
		char want = i == 8 ? 'T' : i == 15 ? 'Z' : 'd';
		if (want == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != want)
			return false;
	}
	return true;
}

static bool str_is(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

/* One record: *doc (new reference) and *signer when valid; else a problem in prob. */
static int check_record(json_t **doc, char *signer, size_t ssize, const rcv_ctx *cx, const char *env,
	const char *ref, const char *stamp, char *prob, size_t psize)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	bpg_buf d = BPG_BUF_INIT, s = BPG_BUF_INIT;
	json_t *j = NULL;
	git_oid id;
	bpg_sshsig_result res;
	bpg_error err;
	int rc;

	*doc = NULL;
	prob[0] = '\0';
	if (git_reference_name_to_id(&id, cx->repo, ref) < 0 || git_commit_lookup(&c, cx->repo, &id) < 0 ||
	    git_commit_tree(&tree, c) < 0) {
		snprintf(prob, psize, "%s is not a commit", ref);
		goto done;
	}
	if ((rc = read_entry(&d, cx->repo, tree, "health.json", HEALTH_MAX_DOC)) < 0 ||
	    (rc = read_entry(&s, cx->repo, tree, "health.json.sig", HEALTH_MAX_SIG)) < 0) {
		if (rc == BPG_ENOMEM)
			goto oom;
		snprintf(prob, psize, "%s: %s", ref, rc == BPG_ETOOBIG ? "health.json over 1 MiB or its signature over 16 KiB" :
			"health.json or health.json.sig missing or unreadable");
		goto done;
	}
	if (!(j = json_loadb(d.ptr ? d.ptr : "", d.size, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(j)) {
		snprintf(prob, psize, "%s: health.json is not a JSON object", ref);
		goto done;
	}
	const char *who = json_string_value(json_object_get(j, "signer"));
	if (!str_is(json_string_value(json_object_get(j, "type")), "bpgate-health/v1") ||
	    !str_is(json_string_value(json_object_get(j, "environment")), env) ||
	    !same_time(stamp, json_string_value(json_object_get(j, "measured_at"))) || !who || !*who ||
	    !json_is_object(json_object_get(j, "scenarios"))) {
		snprintf(prob, psize, "%s: not a bpgate-health/v1 record of %s measured at the ref's time with a signer", ref,
			env);
		goto done;
	}
	if (!cx->pol->signers) {
		snprintf(prob, psize, "%s: the policy ref has no .bpgate/allowed_signers", ref);
		goto done;
	}
	if (bpg_sshsig_verify(&res, d.ptr, d.size, s.ptr, s.size, HEALTH_NS, who, cx->pol->signers, cx->now, &err) < 0) {
		snprintf(prob, psize, "%.300s: the signature does not verify as %.100s: %.500s", ref, who, err.message);
		goto done;
	}
	if (!bpg_policy_has_role(cx->pol->policy, HEALTH_ROLE, who)) {
		snprintf(prob, psize, "%s: signed by %.100s, who does not hold the role \"%s\"", ref, who, HEALTH_ROLE);
		goto done;
	}
	snprintf(signer, ssize, "%s", who);
	*doc = j;
	j = NULL;
done:
	rc = 0;
	goto out;
oom:
	rc = BPG_ENOMEM;
out:
	git_error_clear();
	json_decref(j);
	bpg_buf_dispose(&d);
	bpg_buf_dispose(&s);
	git_tree_free(tree);
	git_commit_free(c);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	return -strcmp(*(char *const *)a, *(char *const *)b);
}

int rcv_health_record(json_t **out, size_t *skipped, char *problem, size_t psize, const rcv_ctx *cx, const char *env)
{
	git_reference_iterator *it = NULL;
	char prefix[300], glob[310], prob[1024];
	const char *name;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*skipped = 0;
	problem[0] = '\0';
	if (!env || !rcv_env_name_plain(env))
		return 0; /* no record can be named for it: the in-tree report is read */
	snprintf(prefix, sizeof(prefix), "refs/bpgate/health/%s/", env);
	snprintf(glob, sizeof(glob), "%s*", prefix);
	if (!(names = calloc(RCV_HEALTH_REFS_MAX + 1, sizeof(*names))))
		return BPG_ENOMEM;
	/* Records that cannot be listed are not "no records": that would let the report in
	 * the pushed tree stand in for them. */
	int lrc = git_reference_iterator_glob_new(&it, cx->repo, glob);
	if (lrc == 0 && bpg_test_flag("health-records-unlistable")) { /* tests: libgit2 failing to list them */
		git_error_set_str(GIT_ERROR_REFERENCE, "listing refused by the test flag health-records-unlistable");
		lrc = -1;
	}
	while (lrc == 0 && (lrc = git_reference_next_name(&name, it)) == 0) {
		if (n == RCV_HEALTH_REFS_MAX) {
			snprintf(problem, psize, "more than %d health records under %s: the newest cannot be told without "
				"reading them all; prune them (bpgate make health --keep N)", RCV_HEALTH_REFS_MAX, prefix);
			rc = BPG_ETOOBIG;
			goto done;
		}
		if (!(names[n] = strdup(name))) {
			rc = BPG_ENOMEM;
			goto done;
		}
		n++;
	}
	if (lrc != GIT_ITEROVER) {
		snprintf(problem, psize, "the health records under %s cannot be listed: %s", prefix,
			bpg_git_message());
		git_error_clear();
		rc = BPG_ERROR;
		goto done;
	}
	git_error_clear();
	qsort(names, n, sizeof(*names), cmp_desc);
	for (size_t i = 0; i < n; i++) {
		const char *stamp = names[i] + strlen(prefix);
		char signer[BPG_SSHSIG_PRINCIPAL_MAX + 1] = "";
		json_t *doc = NULL;
		if (strncmp(names[i], prefix, strlen(prefix)) != 0 || !compact_name(stamp)) {
			snprintf(prob, sizeof(prob), "a ref under %s is not named %sYYYYMMDDTHHMMSSZ", prefix, prefix);
		} else if ((rc = check_record(&doc, signer, sizeof(signer), cx, env, names[i], stamp, prob, sizeof(prob))) < 0) {
			goto done;
		}
		if (doc) {
			if (json_object_set_new(doc, "source", json_string("record")) < 0 ||
			    json_object_set_new(doc, "signer", json_string(signer)) < 0 ||
			    json_object_set_new(doc, "ref", json_string(names[i])) < 0) {
				json_decref(doc);
				rc = BPG_ENOMEM;
				goto done;
			}
			*out = doc;
			break;
		}
		if ((*skipped)++ == 0)
			snprintf(problem, psize, "%s", prob);
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	git_reference_iterator_free(it);
	return rc;
}
