/* Allocation failure in bpgate's own allocations (bpgate/testhook.h): the
 * n-th wrapped allocation fails (and every one after it), for every n over a
 * whole gather + evaluate + render run on a real repository, and over a
 * policy load. Each run must either succeed with the same decision as the
 * run without failures or fail cleanly: a negative code and a message, no
 * crash, no leak (ASan's leak check runs when the test process exits).
 * The engine/eval/gather/blueprint paths and bpg_buf allocate through the
 * wrappers; jansson's and libgit2's allocators are not failed here (jansson's
 * is in test_engine.c). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/buf.h"
#include "bpgate/gather.h"
#include "bpgate/policy.h"
#include "bpgate/report.h"
#include "bpgate/testhook.h"
#include "gitrepo.h"

static char dir[64];
static git_repository *repo;
static char pack[4096];

static void setup(void)
{
	const char *root = getenv("BPG_SOURCE_ROOT");

	cr_assert_not_null(root, "run through meson test");
	snprintf(pack, sizeof(pack), "%s/policy/packs/regulated", root);
	repo = ut_repo_new(dir, "alloc");
}

static void teardown(void)
{
	bpg_test_alloc_fail_at(-1, 0);
	ut_repo_remove(repo, dir);
}

TestSuite(alloc, .init = setup, .fini = teardown);

static char *slurp(const char *rel)
{
	char p[8192];
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", pack, rel);
	cr_assert_eq(bpg_file_read(&b, p, 1 << 20, &err), 0, "%s", err.message);
	return bpg_buf_detach(&b);
}

/* A commit of these (path, content) pairs on top of parent (NULL: root). */
static git_oid commit_files(const git_oid *parent, const char *const *files, size_t n, const char *msg)
{
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_commit *pc = NULL;
	git_signature *sig = NULL;
	git_oid tid, id;

	cr_assert_eq(git_index_new(&index), 0);
	if (parent) {
		git_tree *pt = NULL;
		cr_assert_eq(git_commit_lookup(&pc, repo, parent), 0);
		cr_assert_eq(git_commit_tree(&pt, pc), 0);
		cr_assert_eq(git_index_read_tree(index, pt), 0);
		git_tree_free(pt);
	}
	for (size_t i = 0; i < n; i++) {
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		e.path = files[2 * i];
		e.mode = GIT_FILEMODE_BLOB;
		cr_assert_eq(git_blob_create_from_buffer(&e.id, repo, files[2 * i + 1], strlen(files[2 * i + 1])), 0);
		cr_assert_eq(git_index_add(index, &e), 0);
	}
	cr_assert_eq(git_index_write_tree_to(&tid, index, repo), 0);
	cr_assert_eq(git_tree_lookup(&tree, repo, &tid), 0);
	cr_assert_eq(git_signature_new(&sig, "Alice", "alice@example.com", 1717400000, 0), 0);
	cr_assert_eq(git_commit_create(&id, repo, NULL, sig, sig, NULL, msg, tree, pc ? 1 : 0,
		(const git_commit **)&pc), 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(pc);
	git_index_free(index);
	return id;
}

static int open_again(git_repository **out, void *arg)
{
	(void)arg;
	return git_repository_open(out, dir);
}

/* One gather + evaluate + JSON rendering; *out is the decision's JSON text. */
static int run(char **out, const bpg_policy *p, const char *old_hex, const char *new_hex, bool threaded,
	bpg_error *err)
{
	bpg_facts_opts fo = { "pre-receive", "2025-06-04T10:30:00Z", "acme/alloc", "alice", "dev", NULL, 0 };
	bpg_gather_opts go;
	bpg_decision *d = NULL;
	json_t *facts = NULL, *j = NULL;
	int rc;

	*out = NULL;
	memset(&go, 0, sizeof(go));
	if (threaded)
		go.open_repository = open_again;
	if ((rc = bpg_facts_new(&facts, &fo, err)) < 0 ||
	    (rc = bpg_gather_ref(facts, repo, "refs/heads/dev", old_hex, new_hex, "dev", &go, err)) < 0 ||
	    (rc = bpg_evaluate(&d, p, facts, err)) < 0 ||
	    (rc = bpg_decision_to_json(&j, d, err)) < 0)
		goto done;
	if (!(*out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT)))
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
done:
	json_decref(j);
	json_decref(facts);
	bpg_decision_free(d);
	return rc;
}

static void fail_every_allocation(bool threaded)
{
	char *policy = slurp("policy.json"), *good = slurp("blueprints/crm-contact-sync.good.blueprint.json"),
		*bad = slurp("blueprints/crm-contact-sync.bad.blueprint.json"), *contract = slurp("contracts/hubspot-contact.json");
	const char *base[] = { ".bpgate/policy.json", policy, ".bpgate/contracts/hubspot-contact.json", contract,
		"README.md", "scenarios\n" };
	const char *change1[] = { "scenarios/crm-contact-sync/main.blueprint.json", good,
		"tests/fixtures/lead.json", "{\"email\": \"jane.doe@gmail.com\", \"card\": \"4111 1111 1111 1111\"}" };
	const char *change2[] = { "scenarios/crm-contact-sync/main.blueprint.json", bad,
		".bpgate/contracts/hubspot-contact.json", "{\"id\": \"hubspot-contact\", \"key_fields\": []}" };
	git_oid c0 = commit_files(NULL, base, 3, "Govern this repository\n");
	git_oid c1 = commit_files(&c0, change1, 2, "crm: sync\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\n");
	git_oid c2 = commit_files(&c1, change2, 2, "crm: worse\n");
	char old_hex[GIT_OID_HEXSZ + 1], new_hex[GIT_OID_HEXSZ + 1], *want = NULL;
	bpg_policy *p = NULL;
	bpg_error err;
	long total, failed = 0;

	git_oid_tostr(old_hex, sizeof(old_hex), &c0);
	git_oid_tostr(new_hex, sizeof(new_hex), &c2);
	cr_assert_eq(bpg_policy_load_dir(&p, pack, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_test_alloc_fail_at(1L << 40, -1), 0, "a build with tests has the allocation hook");
	cr_assert_eq(run(&want, p, old_hex, new_hex, threaded, &err), 0, "%s", err.message);
	total = bpg_test_alloc_count();
	cr_assert_gt(total, 50, "the run allocates through the wrappers (%ld)", total);
	cr_log_info("a gather + evaluate run makes %ld wrapped allocations; each is failed in turn", total);
	cr_assert(strstr(want, "\"writeback-dlq\""), "the decision has the blueprint's findings: %s", want);
	for (long n = 0; n <= total; n++) {
		char *got = NULL;
		bpg_error_clear(&err);
		bpg_test_alloc_fail_at(n, -1);
		int rc = run(&got, p, old_hex, new_hex, threaded, &err);
		bpg_test_alloc_fail_at(-1, 0);
		if (n < total && !threaded) {
			/* every allocation the run makes is needed: failing one fails the run */
			cr_assert_lt(rc, 0, "allocation %ld of %ld failed, yet the run succeeded", n, total);
		}
		if (rc < 0) {
			failed++;
			cr_assert_null(got);
			cr_assert_neq(err.message[0], '\0', "allocation %ld: rc %d without a message", n, rc);
			cr_assert(rc == BPG_ENOMEM || strstr(err.message, "out of memory"),
				"allocation %ld: rc %d does not say out of memory: %s", n, rc, err.message);
		} else {
			cr_assert_str_eq(got, want, "allocation %ld failed: a different decision", n);
		}
		free(got);
	}
	cr_assert_geq(failed, threaded ? 1 : total, "failed runs: %ld of %ld", failed, total);
	/* one failure alone (the allocations after it succeed): the same outcome, or an error */
	for (long n = 0; !threaded && n < total; n++) {
		char *got = NULL;
		bpg_error_clear(&err);
		bpg_test_alloc_fail_at(n, 1);
		int rc = run(&got, p, old_hex, new_hex, threaded, &err);
		bpg_test_alloc_fail_at(-1, 0);
		if (rc < 0)
			cr_assert(rc == BPG_ENOMEM || strstr(err.message, "out of memory"),
				"allocation %ld alone: rc %d does not say out of memory: %s", n, rc, err.message);
		else
			cr_assert_str_eq(got, want, "allocation %ld alone failed: a different decision: %s", n, got);
		free(got);
	}
	free(want);
	bpg_policy_free(p);
	free(policy);
	free(good);
	free(bad);
	free(contract);
}

Test(alloc, gather_evaluate_every_allocation_fails_cleanly) { fail_every_allocation(false); }
Test(alloc, threaded_gather_every_allocation_fails_cleanly) { fail_every_allocation(true); }

Test(alloc, policy_load_every_allocation_fails_cleanly)
{
	bpg_policy *p = NULL;
	bpg_error err;
	long total;

	bpg_test_alloc_fail_at(1L << 40, -1);
	cr_assert_eq(bpg_policy_load_dir(&p, pack, &err), 0, "%s", err.message);
	total = bpg_test_alloc_count();
	bpg_policy_free(p);
	cr_assert_gt(total, 20);
	cr_log_info("a policy load makes %ld wrapped allocations; each is failed in turn", total);
	for (long n = 0; n < total; n++) {
		p = NULL;
		bpg_error_clear(&err);
		bpg_test_alloc_fail_at(n, -1);
		int rc = bpg_policy_load_dir(&p, pack, &err);
		bpg_test_alloc_fail_at(-1, 0);
		cr_assert_lt(rc, 0, "allocation %ld of %ld failed, yet the policy loaded", n, total);
		cr_assert_null(p);
		cr_assert_neq(err.message[0], '\0', "allocation %ld: rc %d without a message", n, rc);
	}
}
