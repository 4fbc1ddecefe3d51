/* Internal: the in-memory list of policy files (see bpg_policy_files_*). */
#ifndef BPG_ENGINE_FILES_H
#define BPG_ENGINE_FILES_H

#include "bpgate/policy.h"

typedef struct {
	char *path;    /* relative to the policy root */
	char *display; /* root + "/" + path, for messages */
	char *data;    /* NUL-terminated copy */
	size_t len;
} bpg_policy_file;

struct bpg_policy_files {
	char *root;
	bpg_policy_file *v;
	size_t n, cap;
	/* bpg_policy_files_read_dir_hooks: the tests/ files are listed with
	 * empty data (tests_hashed, a historic name: "no test bytes here");
	 * tests_digest, when tests_digest_known, is the digest of their paths
	 * and bytes (bpg_policy_tests_hash_add, in list order). read_dir_hooks
	 * only stats them: tests_stat is the digest of their paths and stat
	 * data (device, inode, mode, size, mtime, ctime), tests_newest the
	 * newest mtime or ctime among them (seconds); loadcache.c maps a
	 * tests_stat it has seen to its tests_digest, so that the bytes are
	 * read and hashed only when a file changed. */
	bool tests_hashed;
	bool tests_digest_known;
	unsigned char tests_digest[32];
	bool tests_stat_known;
	unsigned char tests_stat[32];
	long long tests_newest;
};

/* The digest of the tests/ files of a read_dir_hooks list: tests_digest when known,
 * else their bytes read again from root (each bounded by BPG_POLICY_FILE_MAX).
 * 0, or a negative code (a file cannot be read: the caller loads in full). */
int bpg_policy_files_tests_digest(const bpg_policy_files *f, unsigned char out[32]);

const bpg_policy_file *bpg_policy_files_find(const bpg_policy_files *f, const char *path);

/* The digest of the tests/ files: path (with its NUL), length (8 bytes, little
 * endian) and bytes of each, in list order. `st` is a crypto_generichash_state
 * (BLAKE2b-256) begun with bpg_policy_tests_hash_init. */
struct crypto_generichash_blake2b_state;
void bpg_policy_tests_hash_init(struct crypto_generichash_blake2b_state *st);
void bpg_policy_tests_hash_add(struct crypto_generichash_blake2b_state *st, const char *path,
	const char *data, size_t len);

#endif
