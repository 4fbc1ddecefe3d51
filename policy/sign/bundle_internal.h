/* Shared by the bundle files of the sign module. */
#ifndef BPG_BUNDLE_INTERNAL_H
#define BPG_BUNDLE_INTERNAL_H

#include "bpgate/bundle.h"
#include "bpgate/util.h"

struct bpg_bundle {
	char *environment;
	char *commit; /* NULL when none */
	char *created;
	char *creator;
	bpg_bundle_file *files; /* owned strings, sorted by path */
	size_t nfiles;
	bpg_bundle_scenario *scenarios;
	size_t nscenarios;
	char **patterns;
	size_t npatterns;
};

/* Is p an acceptable manifest path (see bundle.h)? *why says what is wrong. */
bool bundle_path_ok(const char *p, size_t len, const char **why);
bool bundle_env_ok(const char *s);
bool sign_text_ok(const char *s);
int bundle_file_cmp(const void *a, const void *b);

#endif
