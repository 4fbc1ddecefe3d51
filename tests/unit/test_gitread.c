/* Reads of git objects a push chose, bounded (bpgate/gitobj.h): with the
 * bounded allocator installed, libgit2 never holds a block over the bound
 * (the object, its compressed bytes, its delta bases), and the refusals say
 * exactly what the header check said without it. Each test runs in a
 * process of its own (Criterion), so the allocator is installed per test. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <git2/sys/odb_backend.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpgate/buf.h"
#include "bpgate/gitobj.h"
#include "gitrepo.h"

static char dir[64];
static git_repository *repo;

static void setup(void)
{
	repo = ut_repo_new(dir, "gitread");
}

static void teardown(void)
{
	ut_repo_remove(repo, dir);
}

TestSuite(gitread, .init = setup, .fini = teardown);

/* the same refusal, word for word, with the header check and with the bound */
static void refuses_over_the_limit(bool bounded)
{
	git_oid big = ut_big_object(repo, GIT_OBJECT_BLOB, "", (size_t)5 << 20, 'a'), small;
	bpg_buf out = BPG_BUF_INIT;
	bpg_error err;

	if (bounded)
		ut_alloc_install();
	cr_assert_eq(bpg_git_blob_read(&out, repo, &big, (size_t)4 << 20, "fixtures/big.bin", &err), BPG_ETOOBIG);
	cr_assert_str_eq(err.message, "fixtures/big.bin: 5 MiB, larger than the 4 MiB limit of a file the gate reads");
	cr_assert_eq(out.size, 0, "nothing appended");
	/* within the limit: the bytes, exactly */
	cr_assert_eq(git_blob_create_from_buffer(&small, repo, "hello\n", 6), 0);
	cr_assert_eq(bpg_git_blob_read(&out, repo, &small, 6, "a.txt", &err), 0, "%s", err.message);
	cr_assert_eq(out.size, 6);
	cr_assert_eq(memcmp(out.ptr, "hello\n", 6), 0);
	/* a tree where a file is expected, and an object that is not there */
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	git_oid missing;
	cr_assert_eq(git_repository_odb(&odb, repo), 0);
	cr_assert_eq(bpg_git_odb_read(&o, odb, &small, GIT_OBJECT_TREE, 100, "t", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "t: a file where a tree was expected");
	cr_assert_null(o);
	/* a tree where a file is expected reads as what it is, not as missing */
	git_treebuilder *tb = NULL;
	git_oid tree;
	git_tree *t = NULL;
	cr_assert_eq(git_treebuilder_new(&tb, repo, NULL), 0);
	cr_assert_eq(git_treebuilder_insert(NULL, tb, "a.txt", &small, GIT_FILEMODE_BLOB), 0);
	cr_assert_eq(git_treebuilder_write(&tree, tb), 0);
	git_treebuilder_free(tb);
	cr_assert_eq(bpg_git_blob_read(&out, repo, &tree, 100, "sig.minisig", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "sig.minisig: a tree where a file was expected");
	cr_assert_eq(bpg_git_tree_lookup(&t, repo, &small, "the tree", &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "the tree: a file where a tree was expected");
	cr_assert_null(t);
	cr_assert_eq(bpg_git_tree_lookup(&t, repo, &tree, "the tree", &err), 0, "%s", err.message);
	cr_assert_eq(git_tree_entrycount(t), 1);
	git_tree_free(t);
	cr_assert_eq(git_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"), 0);
	cr_assert_eq(bpg_git_odb_read(&o, odb, &missing, GIT_OBJECT_ANY, 100, "m", &err), BPG_ENOTFOUND);
	cr_assert(strncmp(err.message, "m: cannot read the object: ", 27) == 0, "%s", err.message);
	git_odb_free(odb);
	bpg_buf_dispose(&out);
}

Test(gitread, header_check_refuses_over_the_limit)
{
	refuses_over_the_limit(false);
}

Test(gitread, bounded_read_refuses_the_same_way)
{
	refuses_over_the_limit(true);
}

/* 100 MiB of zeros (~100 KiB loose): refused before libgit2 allocates the
 * 100 MiB; the peak memory of the process says it never did. */
Test(gitread, bounded_read_never_allocates_a_huge_object)
{
	git_oid big = ut_big_object(repo, GIT_OBJECT_BLOB, "", (size_t)100 << 20, '\0');
	bpg_buf out = BPG_BUF_INIT;
	bpg_error err;
	size_t before;

	ut_alloc_install();
	before = ut_peak_mib();
	cr_assert_eq(bpg_git_blob_read(&out, repo, &big, (size_t)64 << 20, "fixtures/zeros.bin", &err), BPG_ETOOBIG);
	cr_assert_str_eq(err.message, "fixtures/zeros.bin: 100 MiB, larger than the 64 MiB limit of a file the gate reads");
	cr_assert_lt(ut_peak_mib() - before, 32, "peak grew by %zu MiB", ut_peak_mib() - before);
	bpg_buf_dispose(&out);
}

/* A 100 KiB blob stored in a pack as a delta against a 2 MiB one: a read
 * bounded to 1 MiB is refused, because the 2 MiB base would be inflated to
 * rebuild it (the header check never bounded that). Unbounded, it reads. */
Test(gitread, delta_bases_are_bounded_too)
{
	git_repository *packed = NULL;
	git_packbuilder *pb = NULL;
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	char pdir[128], pack_dir[160];
	size_t n = (size_t)2 << 20, refused = 0;
	bool oom = true;
	char *text = malloc(n);
	git_oid a, b;

	cr_assert_not_null(text);
	for (size_t i = 0; i < n; i++) /* lines that differ, so that zlib alone cannot shrink it away */
		text[i] = i % 64 == 63 ? '\n' : (char)('a' + (i * 7919 + i / 64) % 26);
	cr_assert_eq(git_blob_create_from_buffer(&a, repo, text, n), 0);
	cr_assert_eq(git_blob_create_from_buffer(&b, repo, text, 100 << 10), 0);
	free(text);
	/* both into a pack of a second repository: b becomes a delta against a */
	snprintf(pdir, sizeof(pdir), "%s/packed", dir);
	cr_assert_eq(git_repository_init(&packed, pdir, 1), 0);
	snprintf(pack_dir, sizeof(pack_dir), "%s/objects/pack", pdir);
	cr_assert_eq(git_packbuilder_new(&pb, repo), 0);
	cr_assert_eq(git_packbuilder_insert(pb, &a, NULL), 0);
	cr_assert_eq(git_packbuilder_insert(pb, &b, NULL), 0);
	cr_assert_eq(git_packbuilder_write(pb, pack_dir, 0, NULL, NULL), 0);
	git_packbuilder_free(pb);
	git_repository_free(packed);
	cr_assert_eq(git_repository_open(&packed, pdir), 0);
	cr_assert_eq(git_repository_odb(&odb, packed), 0);

	ut_alloc_install();
	bpg_git_alloc_bound((size_t)1 << 20);
	cr_assert_lt(git_odb_read(&o, odb, &b), 0, "the 2 MiB delta base was not refused");
	cr_assert_eq(bpg_git_alloc_unbound(&refused, &oom), -1);
	cr_assert_geq(refused, n, "refused %zu bytes", refused);
	cr_assert_not(oom);
	git_error_clear();
	/* unbounded: read whole */
	cr_assert_eq(git_odb_read(&o, odb, &b), 0);
	cr_assert_eq(git_odb_object_size(o), 100 << 10);
	git_odb_object_free(o);
	cr_assert_eq(bpg_git_alloc_unbound(&refused, &oom), 0, "nothing refused outside a bound");
	git_odb_free(odb);
	git_repository_free(packed);
}
