/* libFuzzer target: what a push hands the pre-receive gate. The first byte
 * picks the input:
 *   0  pre-receive stdin ("<old> <new> <ref>" lines) -> rcv_read_updates,
 *      then every accepted name through rcv_put_safe and rcv_env_for_ref
 *   1  push options: LF-separated values, the first line is
 *      GIT_PUSH_OPTION_COUNT -> rcv_read_push_options, then rcv_put_safe
 *   2  the principal map (bpgate.users file) -> rcv_config_load, rcv_principal
 * The shipped regulated pack and an empty bare repository are set up once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpg_config.h"
#include "receive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bpg_policy *pack;
static git_repository *repo;
static FILE *sink;
static char users_path[64];

static void setup(void)
{
	bpg_policy_files *files = NULL;
	bpg_error err;
	char dir[] = "/tmp/bpg-fuzz-rcv.XXXXXX";

	git_libgit2_init();
	if (!mkdtemp(dir) || git_repository_init(&repo, dir, 1) < 0)
		abort();
	snprintf(users_path, sizeof(users_path), "%s/users", dir);
	if (!(sink = fopen("/dev/null", "w")))
		abort();
	if (bpg_policy_files_read_dir(&files, BPG_SOURCE_ROOT "/policy/packs/regulated", &err) < 0 ||
	    bpg_policy_load(&pack, NULL, files, &err) < 0)
		abort(); /* the shipped pack must always load */
	bpg_policy_files_free(files);
}

/* Push options as the fuzzer gave them: the environment the hook would see. */
static char *opt_lines[RCV_MAX_PUSH_OPTIONS + 2];
static size_t opt_n;

static const char *opt_lookup(const char *name)
{
	if (strcmp(name, "GIT_PUSH_OPTION_COUNT") == 0)
		return opt_n ? opt_lines[0] : NULL;
	long i = strtol(name + strlen("GIT_PUSH_OPTION_"), NULL, 10);
	return i >= 0 && (size_t)i + 1 < opt_n ? opt_lines[i + 1] : NULL;
}

static void fuzz_updates(const uint8_t *data, size_t size)
{
	rcv_updates ups = { NULL, 0 };
	bpg_error err;
	FILE *f = size ? fmemopen((void *)data, size, "r") : NULL;

	if (!f)
		return;
	if (rcv_read_updates(&ups, f, &err) == 0)
		for (size_t i = 0; i < ups.n; i++) {
			rcv_put_safe(sink, ups.v[i].name);
			(void)rcv_env_for_ref(pack, ups.v[i].name);
		}
	fclose(f);
	rcv_updates_free(&ups);
}

static void fuzz_options(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *save = NULL;
	json_t *out = json_array();
	bpg_error err;

	if (!copy || !out)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	opt_n = 0;
	for (char *l = strtok_r(copy, "\n", &save); l && opt_n < sizeof(opt_lines) / sizeof(opt_lines[0]);
	     l = strtok_r(NULL, "\n", &save))
		opt_lines[opt_n++] = l;
	if (rcv_read_push_options(out, opt_lookup, &err) == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(out, i, v)
			rcv_put_safe(sink, json_string_value(v));
	}
	json_decref(out);
	free(copy);
}

static void fuzz_users(const uint8_t *data, size_t size)
{
	char *argv[] = { "bpgate-receive", "--users", users_path, NULL };
	rcv_config cfg;
	bpg_error err;
	FILE *f = fopen(users_path, "w");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (rcv_config_load(&cfg, repo, 3, argv, &err) == 0) {
		(void)rcv_principal(&cfg, "alice");
		(void)rcv_principal(&cfg, "alice@example.com");
	}
	rcv_config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!repo)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0: fuzz_updates(data + 1, size - 1); break;
	case 1: fuzz_options(data + 1, size - 1); break;
	default: fuzz_users(data + 1, size - 1); break;
	}
	return 0;
}
