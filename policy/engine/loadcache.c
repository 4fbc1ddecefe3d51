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
#include "bpgate/buf.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* The record "TAG <64 hex>\n" for the tests/ files whose digest is `tests`; false when
 * the library's own file cannot be identified (then nothing is cached). */
static bool record(char out[RECORD_MAX], const unsigned char tests[32])
{
	int (*self)(bpg_policy **, bpg_diags **, const bpg_policy_files *, const char *, bpg_error *) =
		bpg_policy_load_cached;
	crypto_generichash_state st;
	unsigned char h[32];
	char hex[65];
	void *addr;
	Dl_info info;
	struct link_map *map = NULL;
	struct stat sb;

	memcpy(&addr, &self, sizeof(addr));
	/* the file this code is in: a shared library (its link map names it) or the program
	 * itself (linked statically into it: the bpgate command, whose map has no name) */
	if (sodium_init() < 0)
		return false;
	if (!dladdr1(addr, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
		map = NULL;
	if (stat(map && map->l_name && map->l_name[0] ? map->l_name : "/proc/self/exe", &sb) < 0)
		return false;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)TAG, sizeof(TAG));
	crypto_generichash_update(&st, (const unsigned char *)BPG_VERSION, sizeof(BPG_VERSION));
	put_u64(&st, (uint64_t)sb.st_dev);
	put_u64(&st, (uint64_t)sb.st_ino);
	put_u64(&st, (uint64_t)sb.st_size);
	put_u64(&st, (uint64_t)sb.st_mtim.tv_sec);
	put_u64(&st, (uint64_t)sb.st_mtim.tv_nsec);
	crypto_generichash_update(&st, tests, 32);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return snprintf(out, RECORD_MAX, TAG " %s\n", hex) < RECORD_MAX;
}

/* The whole of a small file, NUL-terminated, in have; false when it cannot be read or
 * is longer than any record. */
static bool small_read(const char *path, char have[RECORD_MAX + 1])
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	bool ok = bpg_file_read(&b, path, RECORD_MAX, &err) == 0;

	if (ok) {
		memcpy(have, b.ptr ? b.ptr : "", b.size);
		have[b.size] = '\0';
	}
	bpg_buf_dispose(&b);
	return ok;
}

static bool record_matches(const char *cache, const char *want)
{
	char have[RECORD_MAX + 1];

	return small_read(cache, have) && strcmp(have, want) == 0;
}

/* Replace the record whole (a reader sees the old one or the new one); any failure
 * leaves none: it is a cache. */
static void record_write(const char *cache, const char *rec)
{
	bpg_error err;

	if (bpg_file_write_atomic(cache, rec, strlen(rec), 0644, &err) < 0)
		unlink(cache);
}

/*
 * The stat record, <cache>.stat: "STAT_TAG <stat hex> <digest hex>\n", the digest of the
 * tests/ files' bytes (what the record covers) for the paths and stat data (device, inode,
 * mode, size, mtime, ctime) they had when it was computed, so that an unchanged folder is
 * not read and hashed again (99 files, 540 KB in the regulated pack: ~3 ms of a hook).
 * Written only when every test file is older than STAT_SETTLE seconds: a file rewritten
 * within the same timestamp tick with the same size would keep its stat data, so only
 * files whose time stamps can no longer be reused are trusted (as git's racy-clean
 * rule). Changing a file's bytes changes its ctime (the kernel sets it; no call sets
 * it back), so a stat record never stands for other bytes than those hashed. Like the
 * record, it is a cache in .git/: whoever can write there can also remove the hooks.
 */
#define STAT_TAG "bpgate policy tests stat v1"
#define STAT_SETTLE 2

static void stat_line(char out[RECORD_MAX], const bpg_policy_files *files, const unsigned char digest[32])
{
	char sh[65], dh[65];

	sodium_bin2hex(sh, sizeof(sh), files->tests_stat, sizeof(files->tests_stat));
	sodium_bin2hex(dh, sizeof(dh), digest, 32);
	snprintf(out, RECORD_MAX, STAT_TAG " %s %s\n", sh, dh);
}

/* The digest the stat record gives for these files' stat data; false when none. */
static bool stat_lookup(const char *cache, const bpg_policy_files *files, unsigned char out[32])
{
	char path[PATH_MAX], have[RECORD_MAX + 1], sh[65];
	size_t tl = strlen(STAT_TAG);

	if (!files->tests_stat_known || snprintf(path, sizeof(path), "%s.stat", cache) >= (int)sizeof(path) ||
	    !small_read(path, have))
		return false;
	sodium_bin2hex(sh, sizeof(sh), files->tests_stat, sizeof(files->tests_stat));
	if (strlen(have) != tl + 1 + 64 + 1 + 64 + 1 || memcmp(have, STAT_TAG " ", tl + 1) != 0 ||
	    memcmp(have + tl + 1, sh, 64) != 0 || have[tl + 1 + 64] != ' ' || have[tl + 1 + 64 + 1 + 64] != '\n')
		return false;
	return sodium_hex2bin(out, 32, have + tl + 1 + 64 + 1, 64, NULL, NULL, NULL) == 0;
}

static void stat_write(const char *cache, const bpg_policy_files *files, const unsigned char digest[32])
{
	char path[PATH_MAX], line[RECORD_MAX];
	struct timespec now;

	if (!files->tests_stat_known || clock_gettime(CLOCK_REALTIME, &now) < 0 ||
	    files->tests_newest > (long long)now.tv_sec - STAT_SETTLE ||
	    snprintf(path, sizeof(path), "%s.stat", cache) >= (int)sizeof(path))
		return;
	stat_line(line, files, digest);
	record_write(path, line);
}

int bpg_policy_load_cached(bpg_policy **out, bpg_diags **diags, const bpg_policy_files *files,
	const char *cache, bpg_error *err)
{
	bpg_policy_files *full = NULL;
	char rec[RECORD_MAX];
	unsigned char tests[32];
	bool by_stat = cache && files && files->tests_hashed && stat_lookup(cache, files, tests);
	bool have = cache && files && (by_stat || bpg_policy_files_tests_digest(files, tests) == 0) && record(rec, tests);
	int rc;

	if (have && record_matches(cache, rec)) {
		if (!by_stat)
			stat_write(cache, files, tests);
		return bpg_policy_load_ex(out, diags, files, true, err);
	}
	if (files && files->tests_hashed) {
		/* the tests are needed: read the folder again, and record what was validated */
		*out = NULL;
		if (diags)
			*diags = NULL;
		if ((rc = bpg_policy_files_read_dir(&full, files->root, err)) < 0)
			return rc;
		have = have && bpg_policy_files_tests_digest(full, tests) == 0 && record(rec, tests);
	}
	rc = bpg_policy_load_ex(out, diags, full ? full : files, false, err);
	if (rc == 0 && have) {
		record_write(cache, rec);
		/* the stat data were taken before the bytes were read again: a file changed in
		 * between has a newer ctime than these stat data, so they never come back */
		if (full)
			stat_write(cache, files, tests);
	}
	bpg_policy_files_free(full);
	return rc;
}
