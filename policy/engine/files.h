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
};

const bpg_policy_file *bpg_policy_files_find(const bpg_policy_files *f, const char *path);

#endif
