/* Unit tests of the gather module: the per-commit "paths" facts (a direct
 * walk of raw tree objects, policy/gather/treediff.c) and the range's
 * commits and files, on a throw-away repository built with libgit2. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bpgate/buf.h"
#include "bpgate/gather.h"
#include "bpgate/gitobj.h"
#include <git2/sys/repository.h>

#include "gitrepo.h"

static char dir[64];
static git_repository *repo;
static git_odb *odb;

static void setup(void)
{
	repo = ut_repo_new(dir, "gather");
	cr_assert_eq(git_repository_odb(&odb, repo), 0);
}

static void teardown(void)
{
	git_odb_free(odb);
	ut_repo_remove(repo, dir);
}

TestSuite(gather, .init = setup, .fini = teardown);

/* ---- building objects ---- */

/* One file of a tree: a path ("a/b/c"), its mode and its content. */
typedef struct {
	const char *path;
	unsigned mode;
	const char *content;
} file;

/* A tree holding exactly these files (nested trees made by the index). */
static git_oid tree_of(const file *files, size_t n)
{
	git_index *index = NULL;
	git_oid id;

	cr_assert_eq(git_index_new(&index), 0);
	for (size_t i = 0; i < n; i++) {
		git_index_entry e;
		memset(&e, 0, sizeof(e));
		e.path = files[i].path;
		e.mode = files[i].mode ? files[i].mode : GIT_FILEMODE_BLOB;
		cr_assert_eq(git_blob_create_from_buffer(&e.id, repo, files[i].content, strlen(files[i].content)), 0);
		cr_assert_eq(git_index_add(index, &e), 0, "%s", files[i].path);
	}
	cr_assert_eq(git_index_write_tree_to(&id, index, repo), 0);
	git_index_free(index);
	return id;
}

/* A commit written as a raw object, so that its tree may be any object id. */
static git_oid commit_of(const git_oid *tree, const git_oid *parents, size_t nparents, const char *msg)
{
	static int when = 1700000000;
	char hex[GIT_OID_HEXSZ + 1], raw[1024];
	int len;
	git_oid id;

	len = snprintf(raw, sizeof(raw), "tree %s\n", git_oid_tostr(hex, sizeof(hex), tree));
	for (size_t i = 0; i < nparents; i++)
		len += snprintf(raw + len, sizeof(raw) - (size_t)len, "parent %s\n",
			git_oid_tostr(hex, sizeof(hex), &parents[i]));
	when++;
	len += snprintf(raw + len, sizeof(raw) - (size_t)len,
		"author Ann <ann@example.com> %d +0000\ncommitter Ann <ann@example.com> %d +0000\n\n%s\n",
		when, when, msg);
	cr_assert_lt((size_t)len, sizeof(raw));
	cr_assert_eq(git_odb_write(&id, odb, raw, (size_t)len, GIT_OBJECT_COMMIT), 0);
	return id;
}

/* Append one raw tree entry ("<mode> <name>\0<20-byte id>"). */
static void raw_entry(bpg_buf *b, const char *mode, const char *name, const git_oid *id)
{
	cr_assert_eq(bpg_buf_printf(b, "%s %s", mode, name), 0);
	cr_assert_eq(bpg_buf_put(b, "", 1), 0);
	cr_assert_eq(bpg_buf_put(b, id->id, GIT_OID_RAWSZ), 0);
}

static git_oid raw_object(const void *data, size_t len, git_object_t type)
{
	git_oid id;
	cr_assert_eq(git_odb_write(&id, odb, data, len, type), 0);
	return id;
}

/* ---- gathering and checking ---- */

/* A second handle for the paths thread; `threaded` turns it on. */
static bool threaded;

static int open_again(git_repository **out, void *arg)
{
	(void)arg;
	return git_repository_open(out, dir);
}

static int gather(json_t **facts, const git_oid *from, const git_oid *to, bpg_error *err)
{
	static const bpg_facts_opts fo = { .context = "check", .time = "2025-06-03T09:00:00Z" };
	const bpg_gather_opts go = { .no_scan = true, .no_bundles = true,
		.open_repository = threaded ? open_again : NULL };

	cr_assert_eq(bpg_facts_new(facts, &fo, err), 0);
	return bpg_gather_range(*facts, repo, from, to, &go, err);
}

/* facts after a gather that must succeed; the caller json_decref()s it. */
static json_t *gather_ok(const git_oid *from, const git_oid *to)
{
	json_t *facts;
	bpg_error err;
	int rc = gather(&facts, from, to, &err);
	cr_assert_eq(rc, 0, "gather: %d %s", rc, err.message);
	return facts;
}

static void assert_json(json_t *got, const char *want_text, const char *what)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr);
	char *g = json_dumps(got, JSON_COMPACT);

	cr_assert(want, "bad expectation %s: %s", want_text, jerr.text);
	cr_assert(json_equal(got, want), "%s: got %s, want %s", what, g ? g : "(null)", want_text);
	free(g);
	json_decref(want);
}

static json_t *commit_at(json_t *facts, size_t i, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];
	json_t *c = json_array_get(json_object_get(facts, "commits"), i);

	cr_assert(c, "no commit %zu", i);
	cr_assert_str_eq(json_string_value(json_object_get(c, "id")), git_oid_tostr(hex, sizeof(hex), id),
		"commit %zu", i);
	return c;
}

/* What libgit2's own diff says commit `id` changes against its first parent. */
static json_t *libgit2_paths(const git_oid *id)
{
	git_commit *c = NULL, *parent = NULL;
	git_tree *tree = NULL, *ptree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	json_t *paths = json_array();

	cr_assert_eq(git_commit_lookup(&c, repo, id), 0);
	cr_assert_eq(git_commit_tree(&tree, c), 0);
	if (git_commit_parentcount(c)) {
		cr_assert_eq(git_commit_parent(&parent, c, 0), 0);
		cr_assert_eq(git_commit_tree(&ptree, parent), 0);
	}
	/* a file that becomes a link is one path (one typechange), not two */
	cr_assert_eq(git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION), 0);
	opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
	cr_assert_eq(git_diff_tree_to_tree(&diff, repo, ptree, tree, &opts), 0);
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++)
		json_array_append_new(paths, json_string(git_diff_get_delta(diff, i)->new_file.path));
	git_diff_free(diff);
	git_tree_free(ptree);
	git_tree_free(tree);
	git_commit_free(parent);
	git_commit_free(c);
	return paths;
}

/* commits[i] is `id` and changes exactly these paths (a JSON array), which
 * are also what libgit2's diff finds, in the same order. */
static void assert_paths(json_t *facts, size_t i, const git_oid *id, const char *want)
{
	json_t *got = json_object_get(commit_at(facts, i, id), "paths"), *ref = libgit2_paths(id);
	char what[64];

	snprintf(what, sizeof(what), "paths of commit %zu", i);
	assert_json(got, want, what);
	snprintf(what, sizeof(what), "libgit2's paths of commit %zu", i);
	assert_json(ref, want, what);
	json_decref(ref);
}

/* A new commit of `tree` on `parent` (NULL: a root commit), gathered alone, changes exactly `want`. */
static void assert_commit_paths(const git_oid *parent, const git_oid *tree, const char *want)
{
	git_oid c = commit_of(tree, parent, parent ? 1 : 0, "change");
	json_t *facts = gather_ok(parent, &c);

	cr_assert_eq(json_array_size(json_object_get(facts, "commits")), 1);
	assert_paths(facts, 0, &c, want);
	json_decref(facts);
}

/* Gathering all history up to a new commit of `tree` on `parent` (NULL: a root
 * commit) fails with `code` and a message containing `needle`. */
static void assert_gather_fails(const git_oid *parent, const git_oid *tree, int code, const char *needle)
{
	git_oid c = commit_of(tree, parent, parent ? 1 : 0, "bad");
	json_t *facts;
	bpg_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = gather(&facts, NULL, &c, &err);
	cr_assert_eq(rc, code, "rc %d (%s)", rc, err.message);
	cr_assert_eq(err.code, code);
	cr_assert(strstr(err.message, needle), "message: %s", err.message);
	json_decref(facts);
}

/* ---- the cases ---- */

Test(gather, root_commit_in_git_tree_order)
{
	/* git sorts a tree's name as if followed by '/': "dir-a" < "dir.txt" <
	 * "dir/" < "dir0", where a plain name sort would put "dir" first. */
	static const file f[] = {
		{ "dir0", 0, "0" }, { "dir/x", 0, "x" }, { "a.txt", 0, "a" }, { "dir.txt", 0, "t" },
		{ "dir-a", 0, "-" }, { "dir/sub/y", 0, "y" }, { "dir/sub.txt", 0, "s" }, { "dir/sub-b", 0, "b" },
		{ "B", 0, "upper case sorts first" },
	};
	git_oid t = tree_of(f, 9), c = commit_of(&t, NULL, 0, "root");
	json_t *facts = gather_ok(NULL, &c), *files;

	assert_paths(facts, 0, &c, "[\"B\", \"a.txt\", \"dir-a\", \"dir.txt\", \"dir/sub-b\", \"dir/sub.txt\","
		" \"dir/sub/y\", \"dir/x\", \"dir0\"]");
	cr_assert_eq(json_array_size(json_object_get(facts, "commits")), 1);
	files = json_object_get(facts, "files");
	cr_assert_eq(json_array_size(files), 9);
	for (size_t i = 0; i < 9; i++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(files, i), "status")), "added");
	json_decref(facts);
}

Test(gather, deep_modification_only_that_path)
{
	static file f[] = {
		{ "top.txt", 0, "t" }, { "a/one", 0, "1" }, { "a/b/c/d/e/leaf.txt", 0, "old" },
		{ "a/b/c/d/e/other", 0, "o" }, { "a/b/c/side", 0, "s" }, { "z/zz", 0, "z" },
	};
	git_oid t0 = tree_of(f, 6), c0 = commit_of(&t0, NULL, 0, "root"), t1;

	f[2].content = "new";
	t1 = tree_of(f, 6);
	assert_commit_paths(&c0, &t1, "[\"a/b/c/d/e/leaf.txt\"]");
}

Test(gather, file_replaced_by_directory_and_back)
{
	static const file as_file[] = { { "x", 0, "file" }, { "x-y", 0, "1" }, { "x.txt", 0, "same" } };
	static const file as_dir[] = { { "x/a", 0, "a" }, { "x/b", 0, "b" }, { "x-y", 0, "2" }, { "x.txt", 0, "same" } };
	git_oid t0 = tree_of(as_file, 3), t1 = tree_of(as_dir, 4), t2 = tree_of(as_file, 3);
	git_oid c0 = commit_of(&t0, NULL, 0, "file"), c1 = commit_of(&t1, &c0, 1, "dir");
	git_oid c2 = commit_of(&t2, &c1, 1, "file again");
	json_t *facts = gather_ok(&c0, &c2), *files;

	/* a deletion and additions, in tree order: "x" < "x-y" < "x.txt" < "x/" */
	cr_assert_eq(json_array_size(json_object_get(facts, "commits")), 2);
	assert_paths(facts, 0, &c1, "[\"x\", \"x-y\", \"x/a\", \"x/b\"]");
	assert_paths(facts, 1, &c2, "[\"x\", \"x-y\", \"x/a\", \"x/b\"]");
	/* the range c0..c2 ends where it started: no files */
	files = json_object_get(facts, "files");
	cr_assert_eq(json_array_size(files), 0);
	json_decref(facts);
}

Test(gather, mode_change_is_a_change_unchanged_subtree_is_not)
{
	static file f[] = {
		{ "bin/run.sh", GIT_FILEMODE_BLOB, "#!/bin/sh\n" }, { "bin/tool", GIT_FILEMODE_BLOB, "t" },
		{ "lib/a.c", 0, "a" }, { "lib/deep/b.c", 0, "b" }, { "link", GIT_FILEMODE_BLOB, "target" },
	};
	git_oid t0 = tree_of(f, 5), c0 = commit_of(&t0, NULL, 0, "root"), t1, t2, c1;

	f[0].mode = GIT_FILEMODE_BLOB_EXECUTABLE;
	t1 = tree_of(f, 5);
	assert_commit_paths(&c0, &t1, "[\"bin/run.sh\"]");
	/* same bytes, now a symbolic link: a change of that path only */
	c1 = commit_of(&t1, &c0, 1, "exec");
	f[4].mode = GIT_FILEMODE_LINK;
	t2 = tree_of(f, 5);
	assert_commit_paths(&c1, &t2, "[\"link\"]");
	/* the very same tree: nothing */
	assert_commit_paths(&c1, &t1, "[]");
}

Test(gather, deletions_and_additions)
{
	static const file before[] = {
		{ "keep", 0, "k" }, { "old.txt", 0, "o" }, { "gone/a", 0, "a" }, { "gone/sub/b", 0, "b" },
	};
	static const file after[] = {
		{ "keep", 0, "k" }, { "docs/new.md", 0, "n" }, { "fresh", 0, "f" },
	};
	git_oid t0 = tree_of(before, 4), c0 = commit_of(&t0, NULL, 0, "root"), t1 = tree_of(after, 3);
	git_oid c1 = commit_of(&t1, &c0, 1, "swap");
	json_t *facts = gather_ok(&c0, &c1);

	assert_paths(facts, 0, &c1, "[\"docs/new.md\", \"fresh\", \"gone/a\", \"gone/sub/b\", \"old.txt\"]");
	assert_json(json_object_get(facts, "files"), "[{\"path\": \"docs/new.md\", \"status\": \"added\"},"
		" {\"path\": \"fresh\", \"status\": \"added\"}, {\"path\": \"gone/a\", \"status\": \"deleted\"},"
		" {\"path\": \"gone/sub/b\", \"status\": \"deleted\"}, {\"path\": \"old.txt\", \"status\": \"deleted\"}]",
		"files");
	json_decref(facts);
}

#define BIG 45
#define CHAIN 50

/* A linear chain: each commit changes one file of a big directory, so the
 * trees kept from one commit are the next one's parent trees. */
Test(gather, long_chain_one_path_each)
{
	static char names[BIG][32], contents[BIG][32];
	file f[BIG + 1];
	git_oid ids[CHAIN + 1], t;
	json_t *facts, *commits;
	char want[64];

	for (size_t i = 0; i < BIG; i++) {
		/* 40 files in big/, 5 in big/sub/: changes reach two levels */
		snprintf(names[i], sizeof(names[i]), i < 40 ? "big/f%02zu" : "big/sub/g%zu", i);
		snprintf(contents[i], sizeof(contents[i]), "v0 of %zu", i);
		f[i] = (file){ names[i], 0, contents[i] };
	}
	f[BIG] = (file){ "other/readme", 0, "never changes" };
	t = tree_of(f, BIG + 1);
	ids[0] = commit_of(&t, NULL, 0, "root");
	for (size_t k = 1; k <= CHAIN; k++) {
		size_t which = (k * 7) % BIG;
		snprintf(contents[which], sizeof(contents[which]), "v%zu of %zu", k, which);
		t = tree_of(f, BIG + 1);
		ids[k] = commit_of(&t, &ids[k - 1], 1, "step");
	}
	facts = gather_ok(NULL, &ids[CHAIN]);
	commits = json_object_get(facts, "commits");
	cr_assert_eq(json_array_size(commits), CHAIN + 1);
	cr_assert_eq(json_array_size(json_object_get(commit_at(facts, 0, &ids[0]), "paths")), BIG + 1);
	cr_assert_eq(json_array_size(json_object_get(facts, "files")), BIG + 1);
	for (size_t k = 1; k <= CHAIN; k++) {
		snprintf(want, sizeof(want), "[\"%s\"]", names[(k * 7) % BIG]);
		assert_paths(facts, k, &ids[k], want);
	}
	json_decref(facts);

	/* a part of the chain: its commits only, its files against the start */
	facts = gather_ok(&ids[40], &ids[CHAIN]);
	cr_assert_eq(json_array_size(json_object_get(facts, "commits")), CHAIN - 40);
	for (size_t k = 41; k <= CHAIN; k++) {
		snprintf(want, sizeof(want), "[\"%s\"]", names[(k * 7) % BIG]);
		assert_paths(facts, k - 41, &ids[k], want);
	}
	/* k = 41..50 change files 17, 24, 31, 38, 0, 7, 14, 21, 28, 35 */
	cr_assert_eq(json_array_size(json_object_get(facts, "files")), 10);
	json_decref(facts);
}

Test(gather, merge_against_first_parent_only)
{
	static file f[] = { { "main.txt", 0, "m0" }, { "side.txt", 0, "s0" }, { "shared/x", 0, "x" } };
	git_oid t0 = tree_of(f, 3), base = commit_of(&t0, NULL, 0, "base"), tm, ts, tmerge;
	git_oid m1, s1, merges[2], p[2];
	json_t *facts, *commits;

	f[0].content = "m1";
	tm = tree_of(f, 3);
	m1 = commit_of(&tm, &base, 1, "main");
	f[0].content = "m0";
	f[1].content = "s1";
	ts = tree_of(f, 3);
	s1 = commit_of(&ts, &base, 1, "side");
	f[0].content = "m1";
	tmerge = tree_of(f, 3);
	p[0] = m1, p[1] = s1;
	merges[0] = commit_of(&tmerge, p, 2, "merge side into main");
	p[0] = s1, p[1] = m1;
	merges[1] = commit_of(&tmerge, p, 2, "merge main into side");

	for (int i = 0; i < 2; i++) {
		facts = gather_ok(&base, &merges[i]);
		commits = json_object_get(facts, "commits");
		cr_assert_eq(json_array_size(commits), 3);
		/* oldest first: the merge comes last, its parents before it in either order */
		assert_paths(facts, 2, &merges[i], i == 0 ? "[\"side.txt\"]" : "[\"main.txt\"]");
		for (size_t j = 0; j < 2; j++) {
			json_t *c = json_array_get(commits, j);
			const char *id = json_string_value(json_object_get(c, "id"));
			char hex[GIT_OID_HEXSZ + 1];
			bool is_m1 = strcmp(id, git_oid_tostr(hex, sizeof(hex), &m1)) == 0;
			assert_json(json_object_get(c, "paths"), is_m1 ? "[\"main.txt\"]" : "[\"side.txt\"]", id);
		}
		assert_json(json_object_get(facts, "files"), "[{\"path\": \"main.txt\", \"status\": \"modified\"},"
			" {\"path\": \"side.txt\", \"status\": \"modified\"}]", "files");
		json_decref(facts);
	}
}

Test(gather, malformed_trees_are_errors)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "no NUL after the name", "100644 a.txt" "AAAAAAAAAAAAAAAAAAAA", 32 },
		{ "truncated id", "100644 a.txt\0" "AAAAAAAAAA", 23 },
		{ "non-octal mode", "100844 a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 33 },
		{ "empty mode", " a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 27 },
		{ "mode too long", "10000644 a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 35 },
		{ "no space", "100644a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 32 },
		{ "empty name", "100644 \0" "AAAAAAAAAAAAAAAAAAAA", 28 },
		{ "trailing garbage", "100644 a\0" "AAAAAAAAAAAAAAAAAAAA" "1", 30 },
	};
	static const file good[] = { { "a.txt", 0, "a" } };
	git_oid gt = tree_of(good, 1), gc = commit_of(&gt, NULL, 0, "good");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		git_oid t = raw_object(bad[i].bytes, bad[i].len, GIT_OBJECT_TREE), wrap;
		bpg_buf b = BPG_BUF_INIT;

		cr_log_info("case: %s", bad[i].what);
		/* as a root tree, on the new side of a commit, nested in a good tree */
		assert_gather_fails(NULL, &t, BPG_EINVALID, "tree object is malformed");
		assert_gather_fails(&gc, &t, BPG_EINVALID, "tree object is malformed");
		raw_entry(&b, "100644", "a.txt", &gt);
		raw_entry(&b, "40000", "sub", &t);
		wrap = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
		bpg_buf_dispose(&b);
		assert_gather_fails(&gc, &wrap, BPG_EINVALID, "tree object is malformed");
	}
}

Test(gather, malformed_parent_tree_is_an_error)
{
	static const file good[] = { { "a.txt", 0, "a" } };
	git_oid bad = raw_object("100644 a.txt\0" "AAAA", 17, GIT_OBJECT_TREE);
	git_oid root = commit_of(&bad, NULL, 0, "bad root"), gt = tree_of(good, 1);
	git_oid c = commit_of(&gt, &root, 1, "good on bad");
	json_t *facts;
	bpg_error err;

	/* only c is new, but its parent's tree is read to diff against */
	cr_assert_eq(gather(&facts, &root, &c, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "tree object is malformed"), "%s", err.message);
	json_decref(facts);
}

Test(gather, tree_ids_naming_other_objects)
{
	static const file good[] = { { "a.txt", 0, "a" } };
	git_oid blob, gt = tree_of(good, 1), gc = commit_of(&gt, NULL, 0, "good"), sub, missing;
	bpg_buf b = BPG_BUF_INIT;

	cr_assert_eq(git_blob_create_from_buffer(&blob, repo, "not a tree", 10), 0);
	/* a commit whose tree is a blob, or a commit */
	assert_gather_fails(NULL, &blob, BPG_EINVALID, "names as a tree an object that is not one");
	assert_gather_fails(&gc, &blob, BPG_EINVALID, "names as a tree an object that is not one");
	assert_gather_fails(NULL, &gc, BPG_EINVALID, "names as a tree an object that is not one");
	/* a subtree entry naming a blob */
	raw_entry(&b, "40000", "sub", &blob);
	sub = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
	bpg_buf_dispose(&b);
	assert_gather_fails(&gc, &sub, BPG_EINVALID, "not one");
	/* a tree that is not in the repository */
	cr_assert_eq(git_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"), 0);
	assert_gather_fails(NULL, &missing, BPG_ERROR, "cannot read a tree of a commit");
}

Test(gather, nesting_is_bounded)
{
	static const file good[] = { { "leaf", 0, "l" } };
	git_oid t = tree_of(good, 1);

	/* 300 levels of "d/": refused, not recursed into without end */
	for (int i = 0; i < 300; i++) {
		bpg_buf b = BPG_BUF_INIT;
		raw_entry(&b, "40000", "d", &t);
		t = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
		bpg_buf_dispose(&b);
	}
	assert_gather_fails(NULL, &t, BPG_ETOOBIG, "trees nested deeper than 256 levels");
}

/* git reads any 04xxxx mode as a directory (canon_mode; fsck only warns
 * "badFilemode"), and libgit2's diff does too: a directory written "40755"
 * must not hide the paths under it. */
Test(gather, noncanonical_directory_mode_is_a_directory)
{
	git_oid blob, sub, t, c;
	bpg_buf b = BPG_BUF_INIT;
	json_t *facts;

	cr_assert_eq(git_blob_create_from_buffer(&blob, repo, "{}", 2), 0);
	raw_entry(&b, "100644", "x.txt", &blob);
	sub = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
	bpg_buf_clear(&b);
	raw_entry(&b, "40755", "hidden", &sub);
	t = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
	bpg_buf_dispose(&b);
	c = commit_of(&t, NULL, 0, "root");
	facts = gather_ok(NULL, &c);
	assert_json(json_object_get(facts, "files"), "[{\"path\": \"hidden/x.txt\", \"status\": \"added\"}]",
		"files");
	assert_paths(facts, 0, &c, "[\"hidden/x.txt\"]");
	json_decref(facts);
}

/* Past 64 commits the paths are worked out on a thread with a handle of its
 * own: the facts must be byte for byte those of one thread, and a bad tree
 * met on the thread must still fail the gather with its message. */
/* A line of n commits (ids[0] the root) over the files names[0..nf-1], nf <= 8:
 * commit k changes names[pick(k)] and has the message msg(k). Returns the last tree. */
static git_oid chain_of(git_oid *ids, size_t n, const char *const *names, size_t nf, size_t (*pick)(size_t),
	const char *(*msg)(size_t))
{
	static char contents[8][32];
	file f[8];
	git_oid t;

	cr_assert_leq(nf, 8);
	for (size_t i = 0; i < nf; i++) {
		snprintf(contents[i], sizeof(contents[i]), "v0 of %zu", i);
		f[i] = (file){ names[i], 0, contents[i] };
	}
	t = tree_of(f, nf);
	ids[0] = commit_of(&t, NULL, 0, "root");
	for (size_t k = 1; k < n; k++) {
		size_t which = pick(k);
		snprintf(contents[which], sizeof(contents[which]), "v%zu of %zu", k, which);
		t = tree_of(f, nf);
		ids[k] = commit_of(&t, &ids[k - 1], 1, msg(k));
	}
	return t;
}

static size_t every_third_of_8(size_t k) { return (k * 3) % 8; }
static const char *step(size_t k) { (void)k; return "step"; }

Test(gather, long_change_on_a_thread_same_facts)
{
	enum { N = 150 };
	static const char *names[8] = { "a/x", "a/y", "b/c/z", "b/w", "d", "e/f/g/h", "i", "j" };
	git_oid ids[N], t;
	json_t *one, *two;
	char *s1, *s2;

	t = chain_of(ids, N, names, 8, every_third_of_8, step);
	threaded = false;
	one = gather_ok(&ids[0], &ids[N - 1]);
	threaded = true;
	two = gather_ok(&ids[0], &ids[N - 1]);
	s1 = json_dumps(one, JSON_COMPACT);
	s2 = json_dumps(two, JSON_COMPACT);
	cr_assert_str_eq(s2, s1);
	cr_assert_eq(json_array_size(json_object_get(two, "commits")), N - 1);
	for (size_t k = 1; k < N; k++) {
		char want[64];
		snprintf(want, sizeof(want), "[\"%s\"]", names[(k * 3) % 8]);
		assert_paths(two, k - 1, &ids[k], want);
	}
	/* commits built on one thread share their author's e-mail value (jsonshared.h): the
	 * first two come from the thread's first block */
	const json_t *c0 = json_array_get(json_object_get(two, "commits"), 0);
	const json_t *cl = json_array_get(json_object_get(two, "commits"), 1);
	cr_assert(json_object_get(json_object_get(c0, "author"), "email") ==
		json_object_get(json_object_get(cl, "author"), "email"), "the author's e-mail is not shared");
	free(s1);
	free(s2);
	json_decref(one);
	json_decref(two);

	/* a malformed tree near the start (met by the thread, which takes blocks
	 * from the front), in the middle, and near the end (the caller takes
	 * blocks from the back once its files are done) */
	for (size_t at = 0; at < 3; at++) {
		const size_t where[3] = { 2, N / 2, N - 3 };
		bpg_buf b = BPG_BUF_INIT;
		bpg_error err;
		json_t *facts;
		git_oid bad, chain[N];
		int rc;
		cr_assert_eq(bpg_buf_puts(&b, "100644 broken"), 0);
		bad = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
		bpg_buf_dispose(&b);
		chain[0] = ids[0];
		for (size_t k = 1; k < N; k++)
			chain[k] = commit_of(k == where[at] ? &bad : &t, &chain[k - 1], 1, at ? "again" : "once more");
		rc = gather(&facts, &chain[0], &chain[N - 1], &err);
		cr_assert_lt(rc, 0, "bad tree at commit %zu", where[at]);
		cr_assert(strstr(err.message, "tree"), "message: %s", err.message);
		json_decref(facts);
	}
	threaded = false;
}

/* The gate asks for a commit's paths only where the change-template rule could
 * fault it (bpg_gather_opts.commit_paths_wanted): those commits get exactly
 * their paths, on one thread and on two, also when the commit before was
 * skipped (its trees were not read for the next); the others get none. */
static size_t one_of_4(size_t k) { return k % 4; }
/* wanted: runs of two, then single ones after a skipped commit */
static bool want_at(size_t k) { return k % 5 == 0 || k % 5 == 1 || k % 7 == 0; }
static const char *want_or_skip(size_t k) { return want_at(k) ? "want" : "skip"; }

static bool wanted_if_marked(const json_t *commit, const void *arg)
{
	const char *msg = json_string_value(json_object_get(commit, "message"));
	cr_assert_str_eq((const char *)arg, "mark");
	return msg && strstr(msg, "want");
}

Test(gather, paths_only_where_wanted)
{
	enum { N = 150 };
	static const bpg_facts_opts fo = { .context = "check", .time = "2025-06-03T09:00:00Z" };
	static const char *names[4] = { "a/x", "b/c/y", "d", "e/f" };
	git_oid ids[N];
	char *s[2];

	chain_of(ids, N, names, 4, one_of_4, want_or_skip);
	for (int th = 0; th < 2; th++) {
		const bpg_gather_opts go = { .no_scan = true, .no_bundles = true, .open_repository = th ? open_again : NULL,
			.commit_paths_wanted = wanted_if_marked, .commit_paths_arg = "mark" };
		json_t *facts;
		bpg_error err;
		cr_assert_eq(bpg_facts_new(&facts, &fo, &err), 0);
		cr_assert_eq(bpg_gather_range(facts, repo, &ids[0], &ids[N - 1], &go, &err), 0, "%s", err.message);
		for (size_t k = 1; k < N; k++) {
			json_t *c = commit_at(facts, k - 1, &ids[k]);
			if (want_at(k)) {
				char want[64];
				snprintf(want, sizeof(want), "[\"%s\"]", names[k % 4]);
				assert_paths(facts, k - 1, &ids[k], want);
			} else {
				cr_assert_null(json_object_get(c, "paths"), "commit %zu has paths", k);
			}
		}
		s[th] = json_dumps(facts, JSON_COMPACT);
		json_decref(facts);
	}
	cr_assert_str_eq(s[1], s[0]);
	free(s[0]);
	free(s[1]);
}

/* Author and committer: one value when they are the same person at the same
 * second (facts of thousands of commits), two when anything differs; the facts
 * read the same either way. */
Test(gather, author_and_committer)
{
	static const file f[] = { { "a", 0, "1" } };
	git_oid t = tree_of(f, 1), root = commit_of(&t, NULL, 0, "root"), ids[4];
	static const char *const who[4][2] = {
		{ "Ann <ann@example.com> 1700000100 +0000", "Ann <ann@example.com> 1700000100 +0000" },
		{ "Ann <ann@example.com> 1700000100 +0000", "Ann <ann@example.com> 1700000101 +0000" },
		{ "Ann <ann@example.com> 1700000100 +0000", "Bob <ann@example.com> 1700000100 +0000" },
		{ "Ann <ann@example.com> 1700000100 +0000", "Ann <ann@example.com> 1700000100 +0100" },
	};
	char th[GIT_OID_HEXSZ + 1], ph[GIT_OID_HEXSZ + 1], raw[512];
	git_oid parent = root;

	for (int k = 0; k < 4; k++) {
		git_oid_tostr(th, sizeof(th), &t);
		git_oid_tostr(ph, sizeof(ph), &parent);
		int len = snprintf(raw, sizeof(raw), "tree %s\nparent %s\nauthor %s\ncommitter %s\n\nc%d\n", th, ph,
			who[k][0], who[k][1], k);
		cr_assert_eq(git_odb_write(&ids[k], odb, raw, (size_t)len, GIT_OBJECT_COMMIT), 0);
		parent = ids[k];
	}
	json_t *facts = gather_ok(&root, &ids[3]);
	for (int k = 0; k < 4; k++) {
		json_t *c = commit_at(facts, (size_t)k, &ids[k]);
		json_t *a = json_object_get(c, "author"), *m = json_object_get(c, "committer");
		cr_assert(a && m);
		cr_assert_eq(a == m, k == 0, "commit %d: shared %d", k, a == m);
		cr_assert_eq(json_equal(a, m), k == 0 || k == 3, "commit %d", k); /* the offset is not a fact */
	}
	json_decref(facts);
}

/* Since #20's fifth pass the walk for an update's commits runs on the commits'
 * thread, while the caller reads the files. A walk that fails must still be
 * what the gather reports, before anything the files met meanwhile (here the
 * old side is missing, so the files fail too), word for word as on one thread;
 * and a walk that succeeds on a thread gives the facts one thread gives, also
 * when the walk runs on the caller's thread (test flag walk-here). */
Test(gather, walk_on_the_thread_reports_as_on_one)
{
	static const file f[] = { { "a", 0, "1" } };
	git_oid t = tree_of(f, 1), c0 = commit_of(&t, NULL, 0, "root"), c1 = c0, missing;
	char want[sizeof(((bpg_error *)0)->message)];
	json_t *facts, *one, *two;
	bpg_error err;
	char *s1, *s2;

	for (int k = 0; k < 80; k++)
		c1 = commit_of(&t, &c1, 1, "step");
	cr_assert_eq(git_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"), 0);
	threaded = false;
	cr_assert_lt(gather(&facts, &missing, &c1, &err), 0);
	json_decref(facts);
	snprintf(want, sizeof(want), "%s", err.message);
	cr_assert(strstr(want, "cannot walk the commits of the change"), "%s", want);
	threaded = true;
	for (int i = 0; i < 20; i++) { /* the thread's walk and the caller's files race: every time the same */
		cr_assert_lt(gather(&facts, &missing, &c1, &err), 0);
		json_decref(facts);
		cr_assert_str_eq(err.message, want);
	}
	one = gather_ok(&c0, &c1);
	setenv("BPGATE_TEST_FLAGS", "walk-here", 1);
	two = gather_ok(&c0, &c1);
	unsetenv("BPGATE_TEST_FLAGS");
	threaded = false;
	s1 = json_dumps(one, JSON_COMPACT);
	s2 = json_dumps(two, JSON_COMPACT);
	cr_assert_str_eq(s2, s1);
	cr_assert_eq(json_array_size(json_object_get(one, "commits")), 80);
	free(s1);
	free(s2);
	json_decref(one);
	json_decref(two);
}

/* fast_forward of a ref update, as bpg_gather_ref tells it from the walk
 * (since #20's fifth pass, not git_graph_descendant_of): on one thread and on
 * the commits' thread alike. */
static bool ff_of(const git_oid *old, const git_oid *new_)
{
	static const bpg_facts_opts fo = { .context = "check", .time = "2025-06-03T09:00:00Z" };
	const bpg_gather_opts go = { .no_scan = true, .no_bundles = true,
		.open_repository = threaded ? open_again : NULL };
	char oh[GIT_OID_HEXSZ + 1], nh[GIT_OID_HEXSZ + 1];
	json_t *facts, *v;
	bpg_error err;
	bool ff;

	git_oid_tostr(oh, sizeof(oh), old);
	git_oid_tostr(nh, sizeof(nh), new_);
	cr_assert_eq(bpg_facts_new(&facts, &fo, &err), 0);
	cr_assert_eq(bpg_gather_ref(facts, repo, "refs/heads/dev", oh, nh, "dev", &go, &err), 0, "%s", err.message);
	v = json_object_get(json_array_get(json_object_get(facts, "refs"), 0), "fast_forward");
	cr_assert(json_is_boolean(v));
	ff = json_is_true(v);
	json_decref(facts);
	return ff;
}

Test(gather, fast_forward_from_the_walk)
{
	static const file f[] = { { "a", 0, "1" } };
	git_oid t = tree_of(f, 1), root = commit_of(&t, NULL, 0, "root"), a = root, b, side, m, far = root;

	for (int k = 0; k < 70; k++) /* long enough for the thread */
		a = commit_of(&t, &a, 1, "a");
	b = commit_of(&t, &a, 1, "b");
	side = commit_of(&t, &root, 1, "side");
	git_oid ps[2] = { side, a };
	m = commit_of(&t, ps, 2, "merge"); /* a only through the merge's second parent */
	for (int k = 0; k < 70; k++)
		far = commit_of(&t, &far, 1, "far");
	for (int pass = 0; pass < 2; pass++) {
		threaded = pass == 1;
		cr_assert(ff_of(&a, &b), "a child");
		cr_assert(ff_of(&root, &b), "71 commits on");
		cr_assert(ff_of(&a, &m), "through a merge's second parent");
		cr_assert(ff_of(&b, &b), "the same commit");
		cr_assert_not(ff_of(&b, &a), "backwards");
		cr_assert_not(ff_of(&b, &m), "diverged");
		cr_assert_not(ff_of(&far, &b), "diverged, long on both sides");
		cr_assert_not(ff_of(&side, &far), "unrelated branches of the root");
	}
	threaded = false;
}

/* bpg_gather_open_from_env's handle reads through object directories of its
 * own spelling (dir/.): in a pre-receive quarantine (GIT_OBJECT_DIRECTORY holds
 * what the push brought, GIT_ALTERNATE_OBJECT_DIRECTORIES the repository's
 * objects, here with an empty entry and a second alternate) it must read every
 * object the first handle reads, and fail on the same missing one. */
Test(gather, the_second_handle_reads_the_quarantine)
{
	char quarantine[160], other[160], alts[400], main_objects[160];
	git_repository *q = NULL, *o = NULL, *second = NULL;
	git_odb *qodb = NULL, *oodb = NULL, *sodb = NULL;
	git_odb_object *obj = NULL;
	git_oid pushed, old, extra, missing;

	cr_assert_eq(git_odb_write(&old, odb, "old", 3, GIT_OBJECT_BLOB), 0);
	snprintf(quarantine, sizeof(quarantine), "%s/q.git", dir);
	snprintf(other, sizeof(other), "%s/o.git", dir);
	cr_assert_eq(git_repository_init(&q, quarantine, 1), 0);
	cr_assert_eq(git_repository_init(&o, other, 1), 0);
	cr_assert_eq(git_repository_odb(&qodb, q), 0);
	cr_assert_eq(git_repository_odb(&oodb, o), 0);
	cr_assert_eq(git_odb_write(&pushed, qodb, "pushed", 6, GIT_OBJECT_BLOB), 0);
	cr_assert_eq(git_odb_write(&extra, oodb, "extra", 5, GIT_OBJECT_BLOB), 0);
	snprintf(quarantine, sizeof(quarantine), "%s/q.git/objects", dir);
	snprintf(main_objects, sizeof(main_objects), "%s/objects", dir);
	snprintf(alts, sizeof(alts), "%s::%s/o.git/objects", main_objects, dir);
	/* as git runs a hook: in the repository, the quarantine in the environment (the
	 * second handle opens "." as bpgate-receive opens its first; GIT_DIR is not read then) */
	char cwd[4096];
	cr_assert(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(dir), 0);
	setenv("GIT_DIR", dir, 1);
	setenv("GIT_OBJECT_DIRECTORY", quarantine, 1);
	setenv("GIT_ALTERNATE_OBJECT_DIRECTORIES", alts, 1);
	setenv("BPGATE_TEST_FLAGS", "own-packs-required", 1);
	cr_assert_eq(bpg_gather_open_from_env(&second, NULL), 0);
	unsetenv("BPGATE_TEST_FLAGS");
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_str_eq(git_repository_path(second), git_repository_path(repo), "the repository under test, not the "
		"one around the test's working directory");
	cr_assert_eq(git_repository_odb(&sodb, second), 0);
	for (int i = 0; i < 3; i++) {
		const git_oid *id = i == 0 ? &pushed : i == 1 ? &old : &extra;
		cr_assert_eq(git_odb_read(&obj, sodb, id), 0, "object %d", i);
		git_odb_object_free(obj);
	}
	cr_assert_eq(git_oid_fromstr(&missing, "0123456789abcdef0123456789abcdef01234567"), 0);
	cr_assert_eq(git_odb_read(&obj, sodb, &missing), GIT_ENOTFOUND);
	unsetenv("GIT_DIR");
	unsetenv("GIT_OBJECT_DIRECTORY");
	unsetenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
	git_odb_free(sodb);
	git_odb_free(qodb);
	git_odb_free(oodb);
	git_repository_free(second);
	git_repository_free(q);
	git_repository_free(o);
}

/* Many changed files (blueprint models and diffs, scanner findings) at the
 * end of a change long enough for the commits' thread, which then helps with
 * the files: the same facts as on one thread, byte for byte, in the diff's
 * order. */
Test(gather, many_files_shared_with_the_commits_thread_same_facts)
{
	enum { N = 60 };
	static char names[N][48], before[N][256], after[N][256];
	file f0[N], f1[N];
	git_oid t0, t1, c0, c1;
	json_t *one, *two;
	char *s1, *s2;
	bpg_error err;
	static const bpg_facts_opts fo = { .context = "check", .time = "2025-06-03T09:00:00Z" };

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "scenarios/s%02zu.blueprint.json", i);
		snprintf(before[i], sizeof(before[i]), "{\"name\": \"S%zu\", \"flow\": [{\"id\": 1, \"module\": "
			"\"gateway:CustomWebHook\", \"version\": 1, \"parameters\": {}, \"mapper\": {}}], "
			"\"metadata\": {\"version\": 1}}", i);
		snprintf(after[i], sizeof(after[i]), "{\"name\": \"S%zu\", \"flow\": [{\"id\": 1, \"module\": "
			"\"gateway:CustomWebHook\", \"version\": 1, \"parameters\": {}, \"mapper\": {\"to\": "
			"\"jane.doe%zu@corp-mail.net\"}}], \"metadata\": {\"version\": 1}}", i, i);
		f0[i] = (file){ names[i], 0, before[i] };
		f1[i] = (file){ names[i], 0, after[i] };
	}
	t0 = tree_of(f0, N);
	t1 = tree_of(f1, N);
	c0 = commit_of(&t0, NULL, 0, "before");
	c1 = c0;
	for (int k = 0; k < 80; k++) /* past the thread's threshold */
		c1 = commit_of(&t0, &c1, 1, "nothing yet");
	c1 = commit_of(&t1, &c1, 1, "after");
	for (int k = 0; k < 2; k++) {
		const bpg_gather_opts go = { .no_bundles = true, .open_repository = k ? open_again : NULL };
		json_t **out = k ? &two : &one;
		cr_assert_eq(bpg_facts_new(out, &fo, &err), 0);
		cr_assert_eq(bpg_gather_range(*out, repo, &c0, &c1, &go, &err), 0, "%s", err.message);
	}
	s1 = json_dumps(one, JSON_COMPACT);
	s2 = json_dumps(two, JSON_COMPACT);
	cr_assert_str_eq(s2, s1);
	cr_assert_eq(json_array_size(json_object_get(two, "files")), N);
	for (size_t i = 0; i < N; i++) {
		json_t *fj = json_array_get(json_object_get(two, "files"), i);
		cr_assert_str_eq(json_string_value(json_object_get(fj, "path")), names[i]);
		cr_assert(json_object_get(fj, "blueprint") && json_object_get(fj, "old_blueprint") &&
			json_object_get(fj, "diff"), "%s: models and diff", names[i]);
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
			json_object_get(fj, "scan_findings"), 0), "rule")), "EMAIL", "%s", names[i]);
	}
	free(s1);
	free(s2);
	json_decref(one);
	json_decref(two);
}

/* Two versions of a large tree are compared from the bytes they share at
 * both ends (treediff.c): random edits of a 200-entry directory, at its
 * start, middle and end, single and several at once, additions, deletions,
 * mode changes and a file turned into a directory (names chosen so that a
 * tree sorts between "x" and "x.txt"), give the paths libgit2's diff gives,
 * commit by commit. */
#define POOL 208
Test(gather, shared_bytes_of_tree_versions_hide_no_change)
{
	static char names[POOL][32], contents[POOL][32];
	static const char *const tricky[] = { "d/x", "d/x.txt", "d/x/in", "d/x-y", "d/y", "d/y/in", "d/zz", "d/zz/in" };
	bool present[POOL];
	unsigned modes[POOL], rnd = 12345;
	file f[POOL];
	git_oid ids[121], t;
	json_t *facts;
	size_t nf, steps = 120;

	for (size_t i = 0; i < POOL; i++) {
		if (i < 200)
			snprintf(names[i], sizeof(names[i]), "d/f%03zu.blueprint.json", i);
		else
			snprintf(names[i], sizeof(names[i]), "%s", tricky[i - 200]);
		snprintf(contents[i], sizeof(contents[i]), "v0 of %zu", i);
		present[i] = i < 200 || i == 200 || i == 201 || i == 203 || i == 204 || i == 206;
		modes[i] = 0;
	}
	for (size_t k = 0; k <= steps; k++) {
		size_t edits = k == 0 ? 0 : 1 + (k % 4 == 0 ? 2 : 0);
		for (size_t e = 0; e < edits; e++) {
			rnd = rnd * 1103515245u + 12345u;
			size_t which = (rnd >> 8) % POOL, op = (rnd >> 20) % 8;
			/* the start, the end or the middle of the directory, in turn */
			if (k % 3 == 0)
				which = (rnd >> 8) % 4;
			else if (k % 3 == 1)
				which = POOL - 1 - (rnd >> 8) % 12;
			if (op < 5 || !present[which]) {
				snprintf(contents[which], sizeof(contents[which]), "v%zu of %zu", k, which);
				present[which] = true;
			} else if (op == 5) {
				modes[which] = modes[which] ? 0 : GIT_FILEMODE_BLOB_EXECUTABLE;
			} else {
				present[which] = false;
			}
			/* a file and a directory of the same name cannot both be there */
			if (present[200] && present[202])
				present[which == 200 ? 202 : 200] = false;
			if (present[204] && present[205])
				present[which == 204 ? 205 : 204] = false;
			if (present[206] && present[207])
				present[which == 206 ? 207 : 206] = false;
		}
		nf = 0;
		for (size_t i = 0; i < POOL; i++)
			if (present[i])
				f[nf++] = (file){ names[i], modes[i], contents[i] };
		t = tree_of(f, nf);
		ids[k] = commit_of(&t, k ? &ids[k - 1] : NULL, k ? 1 : 0, "step");
	}
	for (int pass = 0; pass < 2; pass++) {
		threaded = pass == 1;
		facts = gather_ok(NULL, &ids[steps]);
		cr_assert_eq(json_array_size(json_object_get(facts, "commits")), steps + 1);
		for (size_t k = 1; k <= steps; k++) {
			json_t *got = json_object_get(commit_at(facts, k, &ids[k]), "paths"), *want = libgit2_paths(&ids[k]);
			char *w = json_dumps(want, JSON_COMPACT);
			cr_assert(json_array_size(want) > 0 || k % 4 != 0, "step %zu changes nothing", k);
			assert_json(got, w, "paths of a step");
			free(w);
			json_decref(want);
		}
		json_decref(facts);
	}
	threaded = false;
}

/* Bytes both versions share are still checked: a malformed entry that the
 * old and the new tree both carry, before or after the entry that changed,
 * is an error, as it is when only the new tree has it. */
Test(gather, malformed_entry_in_shared_bytes_is_an_error)
{
	static const file good[] = { { "a.txt", 0, "a" } };
	git_oid blob1, blob2, gt = tree_of(good, 1);
	bpg_buf b1 = BPG_BUF_INIT, b2 = BPG_BUF_INIT;
	static const char garbage[] = "100644 z.txt"; /* no NUL, no id */

	cr_assert_eq(git_blob_create_from_buffer(&blob1, repo, "1", 1), 0);
	cr_assert_eq(git_blob_create_from_buffer(&blob2, repo, "2", 1), 0);
	for (int where = 0; where < 2; where++) {
		bpg_buf_clear(&b1);
		bpg_buf_clear(&b2);
		if (where == 0) { /* shared malformed bytes after the change */
			raw_entry(&b1, "100644", "a.txt", &blob1);
			raw_entry(&b2, "100644", "a.txt", &blob2);
			raw_entry(&b1, "100644", "b.txt", &blob1);
			raw_entry(&b2, "100644", "b.txt", &blob1);
			cr_assert_eq(bpg_buf_put(&b1, garbage, sizeof(garbage) - 1), 0);
			cr_assert_eq(bpg_buf_put(&b2, garbage, sizeof(garbage) - 1), 0);
		} else { /* a shared entry with a non-octal mode before the change */
			cr_assert_eq(bpg_buf_put(&b1, "100844 a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 33), 0);
			cr_assert_eq(bpg_buf_put(&b2, "100844 a.txt\0" "AAAAAAAAAAAAAAAAAAAA", 33), 0);
			raw_entry(&b1, "100644", "b.txt", &blob1);
			raw_entry(&b2, "100644", "b.txt", &blob2);
		}
		git_oid t1 = raw_object(b1.ptr, b1.size, GIT_OBJECT_TREE), t2 = raw_object(b2.ptr, b2.size, GIT_OBJECT_TREE);
		git_oid c0 = commit_of(&gt, NULL, 0, "good"), c1 = commit_of(&t1, &c0, 1, "old"), c2 = commit_of(&t2, &c1, 1, "new");
		json_t *facts = NULL;
		bpg_error err;
		cr_log_info("case %d", where);
		memset(&err, 0, sizeof(err));
		cr_assert_eq(gather(&facts, &c1, &c2, &err), BPG_EINVALID, "%s", err.message);
		cr_assert(strstr(err.message, "tree object is malformed"), "%s", err.message);
		json_decref(facts);
	}
	bpg_buf_dispose(&b1);
	bpg_buf_dispose(&b2);
}

/* commit-msg's one diff (bpg_gather_message_staged) gives exactly the facts of the
 * message and the staged files gathered apart, in the same order */
Test(gather, message_and_staged_from_one_diff_same_facts)
{
	static const file head_files[] = {
		{ "scenarios/crm/a.blueprint.json", 0100644, "{\"name\":\"a\",\"flow\":[]}" },
		{ "tests/fixtures/gone.json", 0100644, "{\"x\":1}" },
		{ "tests/fixtures/kept.json", 0100644, "{\"x\":2}" },
	};
	static const file staged_files[] = {
		{ "scenarios/crm/a.blueprint.json", 0100644, "{\"name\":\"a\",\"flow\":[],\"metadata\":{}}" },
		{ "tests/fixtures/c.json", 0100644, "{\"customer\":{\"email\":\"jane.doe@example.com\"}}" },
		{ "tests/fixtures/kept.json", 0100644, "{\"x\":2}" },
	};
	static const char msg[] = "change\n\nPurpose: p\nRisk: low\n";
	git_oid head_tree = tree_of(head_files, 3), staged_tree = tree_of(staged_files, 3);
	git_oid head = commit_of(&head_tree, NULL, 0, "init");
	git_reference *ref = NULL;
	git_tree *tree = NULL;
	git_index *index = NULL;
	json_t *apart = json_object(), *one = json_object();
	char *a, *o;
	bpg_error err;

	cr_assert_eq(git_reference_create(&ref, repo, "refs/heads/main", &head, 1, NULL), 0);
	cr_assert_eq(git_repository_set_head(repo, "refs/heads/main"), 0);
	cr_assert_eq(git_tree_lookup(&tree, repo, &staged_tree), 0);
	cr_assert_eq(git_index_new(&index), 0);
	cr_assert_eq(git_index_read_tree(index, tree), 0);
	git_repository_set_index(repo, index);
	cr_assert_eq(bpg_gather_message(apart, repo, msg, strlen(msg), &err), 0, "%s", err.message);
	cr_assert_eq(bpg_gather_staged(apart, repo, NULL, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_gather_message_staged(one, repo, msg, strlen(msg), NULL, &err), 0, "%s", err.message);
	a = json_dumps(apart, JSON_COMPACT);
	o = json_dumps(one, JSON_COMPACT);
	cr_assert(a && o);
	cr_assert_str_eq(o, a);
	cr_assert_eq(json_array_size(json_object_get(one, "files")), 3, "%s", o);
	assert_json(json_object_get(json_array_get(json_object_get(one, "commits"), 0), "paths"),
		"[\"scenarios/crm/a.blueprint.json\", \"tests/fixtures/c.json\", \"tests/fixtures/gone.json\"]",
		"the commit's paths");
	free(a);
	free(o);
	json_decref(apart);
	json_decref(one);
	git_index_free(index);
	git_tree_free(tree);
	git_reference_free(ref);
}

/* ---- objects libgit2 reads itself, bounded (#20's review) ---- */

/* A pushed commit of 70 MiB (its message; ~70 KiB compressed) is refused as libgit2's
 * walk reads it, naming the limit, and never held: on one thread and on the commits' one. */
Test(gather, a_huge_commit_is_refused_by_the_walk)
{
	static const file f[] = { { "a", 0, "1" } };
	git_oid t = tree_of(f, 1), base = commit_of(&t, NULL, 0, "base"), big;
	char head[256], th[GIT_OID_HEXSZ + 1], bh[GIT_OID_HEXSZ + 1], nh[GIT_OID_HEXSZ + 1];
	static const bpg_facts_opts fo = { .context = "pre-receive", .time = "2025-06-03T09:00:00Z" };

	ut_alloc_install();
	snprintf(head, sizeof(head), "tree %s\nparent %s\nauthor Ann <ann@example.com> 1700000000 +0000\n"
		"committer Ann <ann@example.com> 1700000000 +0000\n\n", git_oid_tostr(th, sizeof(th), &t),
		git_oid_tostr(bh, sizeof(bh), &base));
	big = ut_big_object(repo, GIT_OBJECT_COMMIT, head, (size_t)70 << 20, 'x');
	git_oid_tostr(nh, sizeof(nh), &big);
	size_t before = ut_peak_mib();
	cr_assert_lt(before, 60, "the test itself must not reach the object's size (%zu MiB)", before);
	for (int k = 0; k < 2; k++) {
		const bpg_gather_opts go = { .no_scan = true, .no_bundles = true, .open_repository = k ? open_again : NULL };
		json_t *facts = NULL;
		bpg_error err;
		cr_assert_eq(bpg_facts_new(&facts, &fo, &err), 0);
		cr_assert_eq(bpg_gather_ref(facts, repo, "refs/heads/dev", bh, nh, "dev", &go, &err), BPG_ETOOBIG,
			"%s", err.message);
		cr_assert_str_eq(err.message, "a commit of the change: reading it needed a block of 70.0 MiB, over the "
			"64 MiB limit of any object the gate reads", "%s", k ? "threaded" : "one thread");
		json_decref(facts);
	}
	cr_assert_lt(ut_peak_mib() - before, 32, "the commit was held: peak %zu -> %zu MiB", before, ut_peak_mib());
}

/* A subtree of 70 MiB that libgit2's diff of the change reads itself (the staged files:
 * HEAD has big/, the index does not) is refused the same way, not held. */
Test(gather, a_huge_subtree_is_refused_by_the_diff)
{
	git_oid sub = ut_big_object(repo, GIT_OBJECT_TREE, "", (size_t)70 << 20, 'x'), root, head;
	git_reference *ref = NULL;
	git_index *index = NULL;
	bpg_buf raw = BPG_BUF_INIT;
	json_t *facts = json_object();
	bpg_error err;

	ut_alloc_install();
	raw_entry(&raw, "40000", "big", &sub);
	cr_assert_eq(git_odb_write(&root, odb, raw.ptr, raw.size, GIT_OBJECT_TREE), 0);
	head = commit_of(&root, NULL, 0, "a huge subtree");
	cr_assert_eq(git_reference_create(&ref, repo, "refs/heads/main", &head, 1, NULL), 0);
	cr_assert_eq(git_repository_set_head(repo, "refs/heads/main"), 0);
	cr_assert_eq(git_index_new(&index), 0);
	git_repository_set_index(repo, index);
	size_t before = ut_peak_mib();
	cr_assert_lt(before, 60, "the test itself must not reach the object's size (%zu MiB)", before);
	cr_assert_eq(bpg_gather_staged(facts, repo, NULL, &err), BPG_ETOOBIG, "%s", err.message);
	cr_assert_str_eq(err.message, "a tree of the change: reading it needed a block of 70.0 MiB, over the 64 MiB "
		"limit of any object the gate reads");
	cr_assert_lt(ut_peak_mib() - before, 32, "the subtree was held: peak %zu -> %zu MiB", before, ut_peak_mib());
	json_decref(facts);
	git_index_free(index);
	git_reference_free(ref);
	bpg_buf_dispose(&raw);
}

/* The branches a new branch's walk hides are the repository's, read before the bound: a
 * packed-refs over 64 MiB (~800,000 branches) does not refuse the push. */
Test(gather, a_large_packed_refs_is_not_the_push)
{
	static const file f[] = { { "a", 0, "1" } };
	static const bpg_facts_opts fo = { .context = "pre-receive", .time = "2025-06-03T09:00:00Z" };
	const bpg_gather_opts go = { .no_scan = true, .no_bundles = true };
	git_oid t = tree_of(f, 1), base = commit_of(&t, NULL, 0, "base"), tip = commit_of(&t, &base, 1, "tip");
	char path[128], bh[GIT_OID_HEXSZ + 1], th[GIT_OID_HEXSZ + 1];
	json_t *facts = NULL;
	bpg_error err;
	FILE *fp;
	size_t n = 0;

	ut_alloc_install();
	git_oid_tostr(bh, sizeof(bh), &base);
	git_oid_tostr(th, sizeof(th), &tip);
	snprintf(path, sizeof(path), "%s/packed-refs", dir);
	cr_assert(fp = fopen(path, "w"));
	fputs("# pack-refs with: peeled fully-peeled sorted \n", fp);
	for (unsigned i = 0; n < ((size_t)66 << 20); i++)
		n += (size_t)fprintf(fp, "%s refs/heads/b%07u\n", bh, i);
	cr_assert_eq(fclose(fp), 0);
	cr_assert_eq(bpg_facts_new(&facts, &fo, &err), 0);
	cr_assert_eq(bpg_gather_ref(facts, repo, "refs/heads/new", "0000000000000000000000000000000000000000", th,
		"dev", &go, &err), 0, "%s", err.message);
	cr_assert_eq(json_array_size(json_object_get(facts, "commits")), 1, "only the tip is new");
	json_decref(facts);
}

/* More release bundle manifests than the gate judges in one tree: refused, in words that
 * say which limit, not as a failure to read the tree (nor a guess between the two). */
Test(gather, too_many_bundle_manifests_are_refused_by_name)
{
	enum { N = 10001 };
	file *files = calloc(N + 1, sizeof(*files));
	char (*names)[40] = calloc(N, sizeof(*names));
	const bpg_gather_opts go = { .no_scan = true };
	static const bpg_facts_opts fo = { .context = "check", .time = "2025-06-03T09:00:00Z" };
	json_t *facts = NULL;
	bpg_error err;

	cr_assert(files && names);
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "releases/r%05zu.bundle.json", i);
		files[i] = (file){ names[i], 0, "{}" };
	}
	file before = { "x", 0, "1" };
	files[N] = (file){ "x", 0, "2" };
	git_oid t0 = tree_of(&before, 1), t1 = tree_of(files, N + 1);
	git_oid c0 = commit_of(&t0, NULL, 0, "one file"), c1 = commit_of(&t1, &c0, 1, "and many bundles");
	cr_assert_eq(bpg_facts_new(&facts, &fo, &err), 0);
	cr_assert_eq(bpg_gather_range(facts, repo, &c0, &c1, &go, &err), BPG_ETOOBIG, "%s", err.message);
	cr_assert_str_eq(err.message, "the change holds more than 10000 release bundle manifests, the most the gate "
		"judges in one tree: remove old bundles or split the repository");
	json_decref(facts);
	free(names);
	free(files);
}

/* A path that is not UTF-8 in a commit of the range (not in the range's own diff: the
 * commit after removes it) is refused as that, not as "out of memory". */
Test(gather, a_commit_path_that_is_not_utf8_is_named)
{
	static const file good[] = { { "a.txt", 0, "a" } };
	git_oid gt = tree_of(good, 1), blob, bad_tree, c0, c1, c2;
	bpg_buf b = BPG_BUF_INIT;
	json_t *facts = NULL;
	bpg_error err;

	cr_assert_eq(git_blob_create_from_buffer(&blob, repo, "a", 1), 0);
	raw_entry(&b, "100644", "a.txt", &blob);
	raw_entry(&b, "100644", "b\xff.txt", &blob);
	bad_tree = raw_object(b.ptr, b.size, GIT_OBJECT_TREE);
	bpg_buf_dispose(&b);
	c0 = commit_of(&gt, NULL, 0, "good");
	c1 = commit_of(&bad_tree, &c0, 1, "adds a path that is not UTF-8");
	c2 = commit_of(&gt, &c1, 1, "removes it");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(gather(&facts, &c0, &c2, &err), BPG_EINVALID, "%s", err.message);
	cr_assert(strstr(err.message, "not valid UTF-8"), "message: %s", err.message);
	json_decref(facts);
}
