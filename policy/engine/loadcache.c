/*
 * bpg_policy_load_cached (policy.h): the hooks' load, which skips parsing and
 * validating tests/ *.json when exactly those bytes loaded cleanly before with
 * this build of the library. Test files matter only to `bpgate policy test`,
 * but an invalid one refuses every change (bpg_policy_load's rule), so the
 * hooks cannot just leave them out: they remember, per repository, the digest
 * of the test files that were valid.
 *
 * The record (BLAKE2b-256) covers a format tag, the version, the identity of
 * the file this code was loaded from (device, inode, size, modification
 * time: a rebuilt or reinstalled library never trusts an old record; the program's
 * own file when the engine is linked into it, as in the bpgate command) and the
 * digest of the tests/ files (every one in order: path, length and bytes;
 * files.c, computed while reading by bpg_policy_files_read_dir_hooks). Nothing else
 * decides whether a test file is valid (bpg_ptest_validate reads only the
 * test and the rule table compiled into the library).
 */
#include "engine.h"
#include "files.h"
#include "bpg_config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG "bpgate policy tests v1"
#define RECORD_MAX 256

static void put_u64(crypto_generichash_state *st, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

/* The digest of the tests/ files: kept by read_dir_hooks, or computed. */
static void tests_digest(unsigned char out[32], const bpg_policy_files *files)
{
	crypto_generichash_state st;

	if (files->tests_hashed) {
		memcpy(out, files->tests_digest, 32);
		return;
	}
	bpg_policy_tests_hash_init(&st);
	for (size_t i = 0; i < files->n; i++) {
		const bpg_policy_file *f = &files->v[i];
		if (strncmp(f->path, "tests/", 6) == 0)
			bpg_policy_tests_hash_add(&st, f->path, f->data, f->len);
	}
	crypto_generichash_final(&st, out, 32);
}

/* The record "TAG <64 hex>\n" for the tests/ files of `files`; false when the
 * library's own file cannot be identified (then nothing is cached). */
static bool record(char out[RECORD_MAX], const bpg_policy_files *files)
{
	int (*self)(bpg_policy **, bpg_diags **, const bpg_policy_files *, const char *, bpg_error *) =
		bpg_policy_load_cached;
	crypto_generichash_state st;
	unsigned char tests[32], h[32];
	char hex[65];
	void *addr;
	Dl_info info;
	struct link_map *map = NULL;
	struct stat sb;

	memcpy(&addr, &self, sizeof(addr));
	/* the file this code is in: a shared library (its link map names it) or the program
	 * itself (linked statically into it: the bpgate command, whose map has no name) */
	if (sodium_init() < 0 || !dladdr1(addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map ||
	    stat(map->l_name && map->l_name[0] ? map->l_name : "/proc/self/exe", &sb) < 0)
		return false;
	tests_digest(tests, files);
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)TAG, sizeof(TAG));
	crypto_generichash_update(&st, (const unsigned char *)BPG_VERSION, sizeof(BPG_VERSION));
	put_u64(&st, (uint64_t)sb.st_dev);
	put_u64(&st, (uint64_t)sb.st_ino);
	put_u64(&st, (uint64_t)sb.st_size);
	put_u64(&st, (uint64_t)sb.st_mtim.tv_sec);
	put_u64(&st, (uint64_t)sb.st_mtim.tv_nsec);
	crypto_generichash_update(&st, tests, sizeof(tests));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return snprintf(out, RECORD_MAX, TAG " %s\n", hex) < RECORD_MAX;
}

static bool record_matches(const char *cache, const char *want)
{
	char have[RECORD_MAX + 1];
	size_t n = 0;
	ssize_t r;
	int fd = open(cache, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	while (n < sizeof(have) - 1 && (r = read(fd, have + n, sizeof(have) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	have[n] = '\0';
	return n == strlen(want) && memcmp(have, want, n) == 0;
}

/* Write the record next to the cache, then rename it over: a reader sees the
 * old record or the new one. Any failure leaves no record (it is a cache). */
static void record_write(const char *cache, const char *rec)
{
	size_t len = strlen(rec);
	char *tmp = NULL;
	int fd = -1;
	bool ok = false;

	if (asprintf(&tmp, "%s.%ld.tmp", cache, (long)getpid()) < 0) {
		tmp = NULL;
		goto done;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		goto done;
	ok = write(fd, rec, len) == (ssize_t)len;
	ok = close(fd) == 0 && ok;
	fd = -1;
	ok = ok && rename(tmp, cache) == 0;
done:
	if (tmp && !ok)
		unlink(tmp);
	free(tmp);
}

int bpg_policy_load_cached(bpg_policy **out, bpg_diags **diags, const bpg_policy_files *files,
	const char *cache, bpg_error *err)
{
	bpg_policy_files *full = NULL;
	char rec[RECORD_MAX];
	bool have = cache && files && record(rec, files);
	int rc;

	if (have && record_matches(cache, rec))
		return bpg_policy_load_ex(out, diags, files, true, err);
	if (files && files->tests_hashed) {
		/* the tests are needed: read the folder again, and record what was validated */
		*out = NULL;
		if (diags)
			*diags = NULL;
		if ((rc = bpg_policy_files_read_dir(&full, files->root, err)) < 0)
			return rc;
		files = full;
		have = have && record(rec, files);
	}
	rc = bpg_policy_load_ex(out, diags, files, false, err);
	if (rc == 0 && have)
		record_write(cache, rec);
	bpg_policy_files_free(full);
	return rc;
}
