/*
 * `bpgate make pull|deploy|drift`: the link between git and Make.
 *
 * pull   writes each catalogued scenario's live blueprint (with its
 *        scheduling) at the entry's "blueprint" path, in bpgate's
 *        byte-stable form: pulling twice changes nothing, so `git diff`
 *        shows exactly what a builder changed in Make's dev team.
 * deploy (make_deploy.c) and drift (make_drift.c).
 */
#include "make_cmds.h"
#include "make_common.h"
#include "bpgate/blueprint.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char pull_usage[] =
	"bpgate make pull [SCENARIO...] [--env ENV] [--token-file FILE]\n"
	"\n"
	"  Write each catalogued scenario's live blueprint from Make at its catalog\n"
	"  \"blueprint\" path, in bpgate's byte-stable form. ENV defaults to the\n"
	"  environment nothing promotes into (dev). References are mapped back to\n"
	"  the ids in git through the environment's map when it has one.\n"
	"  Token scope: scenarios:read.\n";

static const char make_usage[] =
	"bpgate make <pull|deploy|drift|disable|enable|health> [<args>]\n"
	"\n"
	"  pull    write the live blueprints of Make's dev team into the working tree\n"
	"  deploy  deploy an environment's branch to Make, with a drift guard\n"
	"  drift   compare what runs in Make with the environment's branch\n"
	"  disable stop a scenario in Make now (enable: start it again), recorded\n"
	"  health  measure an environment's health from Make's executions (signed record)\n"
	"\n"
	"  The API token: $BPGATE_MAKE_TOKEN, else --token-file FILE or git config\n"
	"  bpgate.makeTokenFile (mode 0600). See docs/readme/make.md.\n";

/* The environment nothing promotes into: where blueprints are exported from. */
static const char *source_env(const bpg_policy *p)
{
	const char *const *envs;
	size_t n = bpg_policy_envs(&envs, p);
	const json_t *all = json_object_get(bpg_policy_json(p), "environments");
	for (size_t i = 0; i < n; i++) {
		const json_t *from = json_object_get(json_object_get(all, envs[i]), "promotes_from");
		if (!json_is_string(from))
			return envs[i];
	}
	return n ? envs[0] : NULL;
}

static bool wanted(const char *id, char **names, int n)
{
	if (n == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], id) == 0)
			return true;
	return false;
}

static int write_file(const char *workdir, const char *path, const bpg_buf *bytes, bool *changed, bpg_error *err)
{
	bpg_buf full = BPG_BUF_INIT, old = BPG_BUF_INIT;
	int rc;

	*changed = true;
	if ((rc = bpg_buf_printf(&full, "%s%s", workdir, path)) < 0)
		goto done;
	if (bpg_file_read(&old, full.ptr, BPG_BLUEPRINT_MAX_BYTES, NULL) == 0 && old.size == bytes->size &&
	    (bytes->size == 0 || memcmp(old.ptr, bytes->ptr, bytes->size) == 0)) {
		*changed = false;
		goto done;
	}
	rc = bpg_file_write_atomic(full.ptr, bytes->ptr, bytes->size, 0644, err);
done:
	bpg_buf_dispose(&full);
	bpg_buf_dispose(&old);
	return rc;
}

static int make_pull(int argc, char **argv)
{
	const char *env = NULL, *token_file = NULL;
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'e')
			env = optarg;
		else if (o == 't')
			token_file = optarg;
		else if (o == 'h') {
			printf("usage: %s", pull_usage);
			return BPG_EXIT_OK;
		} else
			return cli_usage(pull_usage);
	}
	char **names = argv + optind;
	int nnames = argc - optind;

	/* the environment decides the policy's make block: find it from the working tree's policy */
	mk_ctx c;
	mk_open_opts mo = { .env = env, .token_file = token_file, .need_client = true, .cmd = "make pull" };
	bpg_policy *probe = NULL;
	bpg_error err;
	int rc = BPG_EXIT_ERROR, written = 0, same = 0;
	const json_t *const *entries;
	size_t n;

	if (!env) {
		git_repository *repo = NULL;
		const char *wd;
		char dir[4096];
		if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0 ||
		    !(wd = git_repository_workdir(repo))) {
			git_repository_free(repo);
			git_error_clear();
			fprintf(stderr, "bpgate make pull: needs a git working tree\n");
			return BPG_EXIT_ERROR;
		}
		snprintf(dir, sizeof(dir), "%s.bpgate", wd);
		git_repository_free(repo);
		if (bpg_policy_load_dir(&probe, dir, &err) < 0) {
			cli_report_error("make pull", &err);
			return BPG_EXIT_ERROR;
		}
		env = source_env(probe);
		mo.env = env;
	}
	if (!env || mk_open(&c, &mo) < 0) {
		bpg_policy_free(probe);
		return BPG_EXIT_ERROR;
	}
	n = bpg_policy_catalog(&entries, c.policy);
	for (int i = 0; i < nnames; i++)
		if (!bpg_policy_catalog_find(c.policy, names[i])) {
			fprintf(stderr, "bpgate make pull: '%s' is not a scenario of the catalog\n", names[i]);
			goto done;
		}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_object_get(entries[i], "id"));
		long long mid = bpg_policy_scenario_make_id(entries[i], env);
		const char *path = bpg_policy_scenario_blueprint(entries[i]);
		bpg_buf bytes = BPG_BUF_INIT;
		json_t *doc = NULL;
		bool changed = false;
		if (!id || !wanted(id, names, nnames))
			continue;
		if (!mid || !path) {
			if (nnames) {
				fprintf(stderr, "bpgate make pull: %s has no Make scenario id for %s (catalog \"make\") "
					"or no \"blueprint\" path\n", id, env);
				goto done;
			}
			continue;
		}
		bpg_error_clear(&err);
		int r = mk_live(&bytes, &doc, &c, mid, &err);
		if (r == 0 && c.refmap) {
			/* back to the ids in git: the file holds the source environment's ids */
			bpg_buf_clear(&bytes);
			r = bpg_make_blueprint_map(doc, c.refmap, true, NULL, &err);
			if (r == 0)
				r = bpg_make_blueprint_format(&bytes, doc, &err);
		}
		if (r == 0)
			r = write_file(git_repository_workdir(c.repo), path, &bytes, &changed, &err);
		json_decref(doc);
		bpg_buf_dispose(&bytes);
		if (r < 0) {
			fprintf(stderr, "bpgate make pull: %s (Make scenario %lld): %s\n", id, mid, err.message);
			goto done;
		}
		printf("%s %s  (%s, Make scenario %lld)\n", changed ? "wrote    " : "unchanged", path, id, mid);
		if (changed)
			written++;
		else
			same++;
	}
	printf("pulled from %s: %d changed, %d unchanged; %lu requests\n", env, written, same,
		bpg_make_client_requests(c.client));
	rc = BPG_EXIT_OK;
done:
	mk_close(&c);
	bpg_policy_free(probe);
	return rc;
}

static int dispatch(int argc, char **argv);

int cmd_make(int argc, char **argv)
{
	git_libgit2_init();
	int rc = dispatch(argc, argv);
	git_libgit2_shutdown();
	return rc;
}

static int dispatch(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(make_usage);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: %s", make_usage);
		return BPG_EXIT_OK;
	}
	int (*run)(int, char **) = NULL;
	if (strcmp(argv[1], "pull") == 0)
		run = make_pull;
	else if (strcmp(argv[1], "deploy") == 0)
		run = make_deploy;
	else if (strcmp(argv[1], "drift") == 0)
		run = make_drift;
	else if (strcmp(argv[1], "disable") == 0 || strcmp(argv[1], "enable") == 0)
		run = make_switch;
	else if (strcmp(argv[1], "health") == 0)
		run = make_health;
	if (!run) {
		fprintf(stderr, "bpgate make: '%s' is not a make command\n", argv[1]);
		return cli_usage(make_usage);
	}
	git_libgit2_init();
	int rc = run(argc - 1, argv + 1);
	git_libgit2_shutdown();
	return rc;
}
