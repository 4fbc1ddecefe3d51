/*
 * cli_libgit2_init(): git_libgit2_init() without libgit2's TLS trust store.
 *
 * Debian's libgit2 (1.5, built with mbedTLS) parses the whole system CA bundle
 * (/etc/ssl/certs/ca-certificates.crt, ~140 certificates) inside
 * git_libgit2_init(), for HTTPS remotes. bpgate never talks to a remote through
 * libgit2 (it reads local repositories; pushes run `git`), yet that parse was a
 * third of the instructions of a client hook. mbedTLS is a shared library, so
 * this program provides mbedtls_x509_crt_parse_file itself (the executable's
 * symbols come first in the dynamic linker's search): while cli_libgit2_init()
 * runs, a call made from libgit2 leaves the chain empty and succeeds; every
 * other call (another caller, or libgit2 later, e.g. through
 * GIT_OPT_SET_SSL_CERT_LOCATIONS) goes to the real function. With an empty
 * chain an HTTPS remote through libgit2 would fail certificate verification:
 * closed, never open. A libgit2 built with OpenSSL never calls this.
 */
#include "gitinit.h"
#include "bpgate/gitobj.h"

#include <dlfcn.h>
#include <git2.h>
#include <stdbool.h>
#include <string.h>

/* mbedTLS's prototype (mbedtls/x509_crt.h), without its headers: the chain
 * stays opaque here. */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);

#define X509_FILE_IO_ERROR (-0x2900) /* MBEDTLS_ERR_X509_FILE_IO_ERROR */

static bool skip_libgit2_ca;

static bool called_from_libgit2(const void *ret)
{
	Dl_info caller, git;
	void *init_addr;
	int (*init)(void) = git_libgit2_init;

	memcpy(&init_addr, &init, sizeof(init_addr));
	return dladdr(ret, &caller) && dladdr(init_addr, &git) && caller.dli_fbase == git.dli_fbase;
}

int mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	static int (*real)(void *, const char *);

	if (skip_libgit2_ca && called_from_libgit2(__builtin_return_address(0)))
		return 0; /* libgit2's trust store for HTTPS remotes: not used by bpgate */
#ifdef BPG_GIT2_NONET
	/* libgit2 linked without mbedTLS's TLS (git2_nonet_tls.c): there is no chain to fill,
	 * and the real function (another libgit2.so's, in a process that loads one) must never
	 * be handed a chain that this program's mbedtls_x509_crt_init did not set up */
	(void)chain, (void)path;
	return X509_FILE_IO_ERROR;
#endif
	if (!real) {
		void *sym = dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
		if (!sym)
			return X509_FILE_IO_ERROR;
		memcpy(&real, &sym, sizeof(sym));
	}
	return real(chain, path);
}

int cli_libgit2_init(void)
{
	int rc;

	skip_libgit2_ca = true;
	rc = git_libgit2_init();
	skip_libgit2_ca = false;
	/* objects' sizes bounded as libgit2 allocates them, not read from their headers
	 * first (bpgate/gitobj.h); if libgit2 refuses, reads check headers as before */
	if (rc >= 0)
		(void)bpg_git_alloc_install(NULL);
	return rc;
}
