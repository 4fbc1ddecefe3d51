/*
 * cli_libgit2_init(): git_libgit2_init() without libgit2's TLS trust store
 * (gitinit.c says how). bpgate never uses libgit2 for HTTPS; the client front
 * ends and bpgate-receive call it instead of git_libgit2_init(). It also
 * installs the bounded allocator (bpg_git_alloc_install, bpgate/gitobj.h):
 * call it first thing, before any thread starts. Returns what
 * git_libgit2_init() returns. Owns nothing.
 */
#ifndef HOOKS_gitinit_h__
#define HOOKS_gitinit_h__

int cli_libgit2_init(void);

#endif
