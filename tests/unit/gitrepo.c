/* Unit-test helpers for the tests that build git objects (see gitrepo.h). */
#define _XOPEN_SOURCE 700
#include "gitrepo.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "bpgate/gitobj.h"

git_repository *ut_repo_new(char dir[64], const char *name)
{
	git_repository *repo = NULL;

	git_libgit2_init();
	cr_assert_lt((size_t)snprintf(dir, 64, "/tmp/bpg-%s-XXXXXX", name), 64, "name too long: %s", name);
	cr_assert_not_null(mkdtemp(dir), "cannot make a directory from %s", dir);
	cr_assert_eq(git_repository_init(&repo, dir, 1), 0);
	return repo;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

void ut_repo_remove(git_repository *repo, const char *dir)
{
	git_repository_free(repo);
	cr_assert_eq(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0, "cannot remove %s", dir);
	git_libgit2_shutdown();
}

git_oid ut_big_object(git_repository *repo, git_object_t type, const char *head, size_t n, char fill)
{
	git_odb *odb = NULL;
	git_odb_stream *ws = NULL;
	char chunk[1 << 16];
	size_t hl = strlen(head);
	git_oid id;

	memset(chunk, fill, sizeof(chunk));
	cr_assert_eq(git_repository_odb(&odb, repo), 0);
	cr_assert_eq(git_odb_open_wstream(&ws, odb, hl + n, type), 0);
	cr_assert_eq(git_odb_stream_write(ws, head, hl), 0);
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
		cr_assert_eq(git_odb_stream_write(ws, chunk, k), 0);
		done += k;
	}
	cr_assert_eq(git_odb_stream_finalize_write(&id, ws), 0);
	git_odb_stream_free(ws);
	git_odb_free(odb);
	return id;
}

size_t ut_peak_mib(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return (size_t)ru.ru_maxrss >> 10;
}

void ut_alloc_install(void)
{
	bpg_error err;

	cr_assert_eq(bpg_git_alloc_install(&err), 0, "%s", err.message);
	cr_assert(bpg_git_alloc_bounds_reads());
}
