/* Unit tests of the approval module: canonical statements, ref names,
 * storage in git, verification and gathering. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpgate/approval.h"
#include "bpgate/sshsig.h"

static const bpg_approval sample = {
	"acme/make-scenarios", "prod", "7000000000000000000000000000000000000002",
	"b000000000000000000000000000000000000001", "carol", "2025-06-03T09:00:00Z", "",
};

#define CANON "{\"approver\":\"carol\",\"commit\":\"b000000000000000000000000000000000000001\"," \
	"\"environment\":\"prod\",\"repository\":\"acme/make-scenarios\",\"time\":\"2025-06-03T09:00:00Z\"," \
	"\"tree\":\"7000000000000000000000000000000000000002\",\"type\":\"bpgate-approval/v1\"}"

Test(approval, canonical_statement)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	bpg_approval a;

	cr_assert_eq(bpg_approval_format(&b, &sample, &err), 0);
	cr_assert_str_eq(b.ptr, CANON);
	cr_assert_eq(bpg_approval_parse(&a, b.ptr, b.size, &err), 0);
	cr_assert_eq(memcmp(&a, &sample, sizeof(a)), 0);
	bpg_buf_dispose(&b);
}

Test(approval, non_canonical_refused)
{
	static const char *bad[] = {
		"{\"type\":\"bpgate-approval/v1\",\"approver\":\"carol\",\"commit\":\"b000000000000000000000000000000000000001\","
		"\"environment\":\"prod\",\"repository\":\"acme/make-scenarios\",\"time\":\"2025-06-03T09:00:00Z\","
		"\"tree\":\"7000000000000000000000000000000000000002\"}",
		CANON "\n",
		"{\"approver\":\"carol\"}",
		"[1]",
	};
	const char *why[] = { "not in canonical form", "not in canonical form", "not a bpgate-approval/v1", "not a JSON object" };
	for (size_t i = 0; i < 4; i++) {
		bpg_approval a;
		bpg_error err;
		cr_assert_eq(bpg_approval_parse(&a, bad[i], strlen(bad[i]), &err), BPG_EINVALID, "case %zu", i);
		cr_assert(strstr(err.message, why[i]), "case %zu: %s", i, err.message);
	}
}

Test(approval, field_validation)
{
	bpg_approval a = sample;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	strcpy(a.tree, "XYZ");
	cr_assert_eq(bpg_approval_format(&b, &a, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "approval: tree and commit must be 40 lower-case hex digits");
	a = sample;
	strcpy(a.approver, "ca rol");
	cr_assert_eq(bpg_approval_format(&b, &a, &err), BPG_EINVALID);
	a = sample;
	strcpy(a.time, "2025-06-03 09:00");
	cr_assert_eq(bpg_approval_format(&b, &a, &err), BPG_EINVALID);
	bpg_buf_dispose(&b);
}

#define RID "0123456789abcdef0123456789abcdef"
#define CANON_ID "{\"approver\":\"carol\",\"commit\":\"b000000000000000000000000000000000000001\"," \
	"\"environment\":\"prod\",\"repository\":\"acme/make-scenarios\",\"repository_id\":\"" RID "\"," \
	"\"time\":\"2025-06-03T09:00:00Z\",\"tree\":\"7000000000000000000000000000000000000002\"," \
	"\"type\":\"bpgate-approval/v1\"}"

/* The repository id, when known, is part of what is signed (sorted after "repository"). */
Test(approval, canonical_statement_with_repository_id)
{
	bpg_approval in = sample, a;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	strcpy(in.repository_id, RID);
	cr_assert_eq(bpg_approval_format(&b, &in, &err), 0);
	cr_assert_str_eq(b.ptr, CANON_ID);
	cr_assert_eq(bpg_approval_parse(&a, b.ptr, b.size, &err), 0);
	cr_assert_str_eq(a.repository_id, RID);
	cr_assert_eq(memcmp(&a, &in, sizeof(a)), 0);
	/* without it: the legacy statement, and the parsed id is empty */
	cr_assert_eq(bpg_approval_parse(&a, CANON, strlen(CANON), &err), 0);
	cr_assert_str_eq(a.repository_id, "");
	bpg_buf_dispose(&b);
}

Test(approval, repository_id_validated)
{
	static const char *bad[] = { "0123456789ABCDEF0123456789abcdef", "0123456789abcdef0123456789abcde",
		"0123456789abcdef0123456789abcdef0", "" };
	bpg_approval in = sample, a;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	strcpy(in.repository_id, "0123456789ABCDEF0123456789abcdef");
	cr_assert_eq(bpg_approval_format(&b, &in, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "approval: the repository id must be 32 lower-case hex digits");
	for (size_t i = 0; i < 4; i++) {
		char stmt[1024];
		snprintf(stmt, sizeof(stmt),
			"{\"approver\":\"carol\",\"commit\":\"b000000000000000000000000000000000000001\","
			"\"environment\":\"prod\",\"repository\":\"acme/make-scenarios\",\"repository_id\":\"%s\","
			"\"time\":\"2025-06-03T09:00:00Z\",\"tree\":\"7000000000000000000000000000000000000002\","
			"\"type\":\"bpgate-approval/v1\"}", bad[i]);
		cr_assert_eq(bpg_approval_parse(&a, stmt, strlen(stmt), &err), BPG_EINVALID, "case %zu", i);
		cr_assert(strstr(err.message, "repository_id"), "case %zu: %s", i, err.message);
	}
	/* not a string */
	const char *num = "{\"approver\":\"carol\",\"commit\":\"b000000000000000000000000000000000000001\","
		"\"environment\":\"prod\",\"repository\":\"acme/make-scenarios\",\"repository_id\":1,"
		"\"time\":\"2025-06-03T09:00:00Z\",\"tree\":\"7000000000000000000000000000000000000002\","
		"\"type\":\"bpgate-approval/v1\"}";
	cr_assert_eq(bpg_approval_parse(&a, num, strlen(num), &err), BPG_EINVALID);
	bpg_buf_dispose(&b);
}

Test(approval, repository_id_new)
{
	char x[33], y[33];
	bpg_error err;
	cr_assert_eq(bpg_repository_id_new(x, &err), 0);
	cr_assert_eq(bpg_repository_id_new(y, &err), 0);
	cr_assert(bpg_repository_id_valid(x) && bpg_repository_id_valid(y));
	cr_assert_str_neq(x, y);
}

Test(approval, refname)
{
	bpg_approval a = sample;
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	cr_assert_eq(bpg_approval_refname(&b, &a, &err), 0);
	cr_assert_str_eq(b.ptr, "refs/bpgate/approvals/prod/7000000000000000000000000000000000000002/carol/20250603T090000Z");
	bpg_buf_clear(&b);
	strcpy(a.approver, "Carol~x..y:z.lock");
	cr_assert_eq(bpg_approval_refname(&b, &a, &err), 0);
	cr_assert_str_eq(b.ptr, "refs/bpgate/approvals/prod/7000000000000000000000000000000000000002/Carol_x._y_z_lock/20250603T090000Z");
	int valid = 0;
	cr_assert_eq(git_reference_name_is_valid(&valid, b.ptr), 0);
	cr_assert(valid);
	bpg_buf_dispose(&b);
}

/* A repository with an approval by `who` signed with `key`, under its canonical ref. */
typedef struct {
	char dir[64];
	git_repository *repo;
	bpg_ssh_seckey *carol, *mallory;
	bpg_allowed_signers *signers;
} fixture;

static void setup_fixture(fixture *f)
{
	unsigned char s1[32], s2[32];
	bpg_buf line = BPG_BUF_INIT, pk = BPG_BUF_INIT;
	bpg_error err;

	memset(s1, 1, sizeof(s1));
	memset(s2, 2, sizeof(s2));
	git_libgit2_init();
	strcpy(f->dir, "/tmp/bpg-approval-XXXXXX");
	cr_assert(mkdtemp(f->dir));
	cr_assert_eq(git_repository_init(&f->repo, f->dir, 1), 0);
	cr_assert_eq(bpg_ssh_seckey_from_seed(&f->carol, s1, "carol", &err), 0);
	cr_assert_eq(bpg_ssh_seckey_from_seed(&f->mallory, s2, "mallory", &err), 0);
	cr_assert_eq(bpg_ssh_pubkey_format(&pk, bpg_ssh_seckey_pubkey(f->carol), NULL), 0);
	cr_assert_eq(bpg_buf_printf(&line, "carol namespaces=\"bpgate-approval@v1,git\" %s\n", pk.ptr), 0);
	cr_assert_eq(bpg_allowed_signers_parse(&f->signers, line.ptr, line.size, "allowed_signers", &err), 0, "%s", err.message);
	bpg_buf_dispose(&line);
	bpg_buf_dispose(&pk);
}

static void teardown_fixture(fixture *f)
{
	char cmd[128];
	bpg_ssh_seckey_free(f->carol);
	bpg_ssh_seckey_free(f->mallory);
	bpg_allowed_signers_free(f->signers);
	git_repository_free(f->repo);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	cr_assert_eq(system(cmd), 0);
	git_libgit2_shutdown();
}

static void store(fixture *f, const bpg_approval *a, const bpg_ssh_seckey *key, const char *ns, git_oid *id,
	bpg_buf *refname)
{
	bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	git_reference *ref = NULL;
	bpg_error err;

	cr_assert_eq(bpg_approval_format(&stmt, a, &err), 0);
	cr_assert_eq(bpg_sshsig_sign(&sig, key, stmt.ptr, stmt.size, ns, BPG_SSHSIG_SHA512, &err), 0);
	cr_assert_eq(bpg_approval_store(id, f->repo, a, sig.ptr, sig.size, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_approval_refname(refname, a, &err), 0);
	cr_assert_eq(git_reference_create(&ref, f->repo, refname->ptr, id, 0, NULL), 0);
	git_reference_free(ref);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
}

#define NOW ((time_t)1748944800) /* 2025-06-03T10:00:00Z */

Test(approval, store_verify_gather)
{
	fixture f;
	git_oid id, id2, id3;
	bpg_buf r1 = BPG_BUF_INIT, r2 = BPG_BUF_INIT, r3 = BPG_BUF_INIT;
	bpg_approval a = sample, got;
	bpg_error err;

	setup_fixture(&f);
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r1);
	cr_assert_eq(bpg_approval_verify(&got, f.repo, &id, r1.ptr, f.signers, NOW, &err), 0, "%s", err.message);
	cr_assert_str_eq(got.approver, "carol");
	/* under another name: refused */
	cr_assert_eq(bpg_approval_verify(&got, f.repo, &id, "refs/bpgate/approvals/stage/x", f.signers, NOW, &err),
		BPG_EVERIFY);
	cr_assert(strstr(err.message, "stored under the wrong name"), "%s", err.message);

	/* mallory signs a statement naming carol: not carol's key */
	bpg_approval b = sample;
	strcpy(b.time, "2025-06-03T09:30:00Z");
	store(&f, &b, f.mallory, BPG_APPROVAL_NAMESPACE, &id2, &r2);
	cr_assert_eq(bpg_approval_verify(NULL, f.repo, &id2, r2.ptr, f.signers, NOW, &err), BPG_EVERIFY);

	/* carol's key, but the git namespace: a commit signature cannot pass as an approval */
	bpg_approval c = sample;
	strcpy(c.time, "2025-06-03T09:45:00Z");
	strcpy(c.environment, "stage");
	store(&f, &c, f.carol, "git", &id3, &r3);
	cr_assert_eq(bpg_approval_verify(NULL, f.repo, &id3, r3.ptr, f.signers, NOW, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "namespace"), "%s", err.message);

	json_t *arr = json_array();
	const char *trees[] = { sample.tree };
	cr_assert_eq(bpg_approvals_gather(arr, f.repo, "prod", trees, 1, f.signers, NOW, &err), 2, "%s", err.message);
	size_t nv = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *o = json_array_get(arr, i);
		cr_assert_str_eq(json_string_value(json_object_get(o, "approver")), "carol");
		cr_assert_str_eq(json_string_value(json_object_get(o, "environment")), "prod");
		nv += json_is_true(json_object_get(o, "verified"));
	}
	cr_assert_eq(nv, 1);
	json_array_clear(arr);
	cr_assert_eq(bpg_approvals_gather(arr, f.repo, NULL, NULL, 0, f.signers, NOW, &err), 3);
	json_array_clear(arr);
	const char *other[] = { "7000000000000000000000000000000000000009" };
	cr_assert_eq(bpg_approvals_gather(arr, f.repo, NULL, other, 1, f.signers, NOW, &err), 0);
	json_decref(arr);
	bpg_buf_dispose(&r1);
	bpg_buf_dispose(&r2);
	bpg_buf_dispose(&r3);
	teardown_fixture(&f);
}

Test(approval, tampered_statement)
{
	fixture f;
	git_oid id, bad;
	bpg_buf r = BPG_BUF_INIT, stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	bpg_approval a = sample;
	bpg_error err;

	setup_fixture(&f);
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r);
	cr_assert_eq(bpg_approval_load(&stmt, &sig, f.repo, &id, &err), 0);
	/* same signature over another tree */
	strcpy(a.tree, "7000000000000000000000000000000000000003");
	cr_assert_eq(bpg_approval_store(&bad, f.repo, &a, sig.ptr, sig.size, &err), 0);
	cr_assert_eq(bpg_approval_verify(NULL, f.repo, &bad, NULL, f.signers, NOW, &err), BPG_EVERIFY);
	/* a non-approval object */
	cr_assert_eq(bpg_approval_verify(NULL, f.repo, &id, NULL, NULL, NOW, &err),
		BPG_EVERIFY);
	cr_assert_str_eq(err.message, "no .bpgate/allowed_signers to verify it against");
	bpg_buf_dispose(&r);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	teardown_fixture(&f);
}

/* Approvals of other trees, however many, are not read when trees are asked for;
 * the count of one approver's approvals of one tree is bounded by `max`. */
Test(approval, gather_per_tree_and_count)
{
	fixture f;
	git_oid id, id2;
	bpg_buf r1 = BPG_BUF_INIT, r2 = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_approval a = sample, b = sample;
	bpg_error err;
	size_t n;
	FILE *pf;
	char hex[GIT_OID_HEXSZ + 1];

	setup_fixture(&f);
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r1);
	strcpy(b.time, "2025-06-03T09:10:00Z");
	store(&f, &b, f.carol, BPG_APPROVAL_NAMESPACE, &id2, &r2);
	cr_assert_eq(bpg_approvals_count(&n, f.repo, &a, 100, &err), 0, "%s", err.message);
	cr_assert_eq(n, 2);
	cr_assert_eq(bpg_approvals_count(&n, f.repo, &a, 1, &err), 0);
	cr_assert_eq(n, 1, "counting stops at max");
	bpg_approval other_env = sample;
	strcpy(other_env.environment, "stage");
	cr_assert_eq(bpg_approvals_count(&n, f.repo, &other_env, 100, &err), 0);
	cr_assert_eq(n, 0);

	/* BPG_APPROVAL_MAX_REFS + 1 approval refs of other trees, packed */
	git_oid_tostr(hex, sizeof(hex), &id);
	cr_assert_eq(bpg_buf_printf(&path, "%s/packed-refs", f.dir), 0);
	cr_assert((pf = fopen(path.ptr, "w")) != NULL);
	fprintf(pf, "# pack-refs with: peeled fully-peeled sorted \n");
	for (int i = 0; i <= BPG_APPROVAL_MAX_REFS; i++)
		fprintf(pf, "%s refs/bpgate/approvals/prod/8%039d/carol/20250603T090000Z\n", hex, i);
	fclose(pf);
	json_t *arr = json_array();
	const char *trees[] = { sample.tree, sample.tree, "not a tree" };
	cr_assert_eq(bpg_approvals_gather(arr, f.repo, "prod", trees, 3, f.signers, NOW, &err), 2, "%s", err.message);
	/* in ref name order, each once */
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "ref")), r1.ptr);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "ref")), r2.ptr);
	json_array_clear(arr);
	/* listing everything still stops at the limit, and says so */
	cr_assert_eq(bpg_approvals_gather(arr, f.repo, NULL, NULL, 0, f.signers, NOW, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "more than 20000 approval refs"), "%s", err.message);
	json_decref(arr);
	bpg_buf_dispose(&r1);
	bpg_buf_dispose(&r2);
	bpg_buf_dispose(&path);
	teardown_fixture(&f);
}

/* A second approval of the same tree by the same approver in the same second (one the server
 * refused, then the right one): its ref name would collide with the first's. */
Test(approval, time_unused_moves_past_a_taken_name)
{
	fixture f;
	git_oid id;
	bpg_buf r = BPG_BUF_INIT;
	bpg_approval a = sample, b = sample;
	bpg_error err;

	setup_fixture(&f);
	cr_assert_eq(bpg_approval_time_unused(&b, f.repo, &err), 0, "%s", err.message);
	cr_assert_str_eq(b.time, "2025-06-03T09:00:00Z", "a free name keeps its time");
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r);
	cr_assert_eq(bpg_approval_time_unused(&b, f.repo, &err), 0, "%s", err.message);
	cr_assert_str_eq(b.time, "2025-06-03T09:00:01Z");
	/* across a day, taken names in a row */
	strcpy(a.time, "2025-06-03T23:59:59Z");
	bpg_buf_clear(&r);
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r);
	strcpy(a.time, "2025-06-04T00:00:00Z");
	bpg_buf_clear(&r);
	store(&f, &a, f.carol, BPG_APPROVAL_NAMESPACE, &id, &r);
	strcpy(b.time, "2025-06-03T23:59:59Z");
	cr_assert_eq(bpg_approval_time_unused(&b, f.repo, &err), 0, "%s", err.message);
	cr_assert_str_eq(b.time, "2025-06-04T00:00:01Z");
	bpg_buf_dispose(&r);
	teardown_fixture(&f);
}
