/*
 * Unit-test helpers shared by the tests that build git objects with libgit2
 * (gather, gitread, alloc): a throw-away bare repository, large objects
 * written without holding them, the process's peak memory and libgit2's
 * bounded allocator. Criterion runs each test in a process of its own, so
 * each test has its own repository and allocator. Failures are Criterion
 * assertions: a helper that returns has succeeded.
 */
#ifndef TESTS_UNIT_GITREPO_H
#define TESTS_UNIT_GITREPO_H

#include <git2.h>
#include <stddef.h>

/* libgit2 initialised and a new bare repository in a new directory
 * /tmp/bpg-NAME-XXXXXX, whose path is written to dir (64 bytes). The caller
 * owns the repository and gives it back with ut_repo_remove(). */
git_repository *ut_repo_new(char dir[64], const char *name);

/* Frees repo (NULL accepted), removes dir and everything in it, and shuts
 * libgit2 down. */
void ut_repo_remove(git_repository *repo, const char *dir);

/* An object of type `type`: `head`, then n bytes of `fill`, written through
 * a stream, so never whole in this process's memory. */
git_oid ut_big_object(git_repository *repo, git_object_t type, const char *head, size_t n, char fill);

/* This process's peak resident size so far, in MiB. */
size_t ut_peak_mib(void);

/* libgit2's bounded allocator installed (bpg_git_alloc_install), and reads bounded by it. */
void ut_alloc_install(void);

#endif
