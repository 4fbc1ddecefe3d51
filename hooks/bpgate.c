/* `bpgate`: the command-line front end. Dispatches to the sub-commands. */
#include "cli.h"
#include "bpgate/heap.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	bool gathers; /* judges whole ranges of commits: the gate's heap tuning pays off */
} command;

static const command commands[] = {
	{ "blueprint", cmd_blueprint, "show the model of a blueprint (blueprint show FILE)", false },
	{ "diff", cmd_diff, "semantic diff of two blueprints; git diff driver setup", false },
	{ "scan", cmd_scan, "scan files for personal data and secrets", false },
	{ "keygen", cmd_keygen, "create a minisign-compatible key pair", false },
	{ "sign", cmd_sign, "sign a file (minisign format)", false },
	{ "verify", cmd_verify, "verify a minisign signature", false },
	{ "bundle", cmd_bundle, "create, sign and verify release bundles", false },
	{ "sshsig", cmd_sshsig, "sign and verify SSHSIG signatures (ssh-keygen -Y)", false },
	{ "verify-commit", cmd_verify_commit, "verify an SSH-signed git commit or tag", false },
	{ "audit", cmd_audit, "verify, prove and export the audit log", false },
	{ "evidence", cmd_evidence, "build or verify a release evidence package", false },
	{ "policy", cmd_policy, "check and test policy files", false },
	{ "explain", cmd_explain, "print the facts of a change and the outcome rule by rule", true },
	{ "init", cmd_init, "govern this repository: .bpgate/ from a shipped pack, and the hooks", false },
	{ "install", cmd_install, "install (or --uninstall) the git hooks", false },
	{ "hook", cmd_hook, "what the installed hooks run (pre-commit, commit-msg, pre-push)", false }, /* heap: tune_heap_for_hook */
	{ "check", cmd_check, "judge a range of commits as the hooks and the server would (for CI)", true },
	{ "inventory", cmd_inventory, "every blueprint with its catalog entry and what it shows", false },
	{ "approve", cmd_approve, "sign an approval of a commit's tree for an environment and push it", false },
	{ "uat", cmd_uat, "sign off a scenario's UAT (uat signoff SCENARIO): the evidence uat-evidence wants", false },
	{ "pending", cmd_pending, "break-glass changes still waiting for retroactive approval", false },
	{ "rollback", cmd_rollback, "prepare a rollback of a scenario to its previous release, with its impact", false },
	{ "make", cmd_make, "the link to Make: pull, deploy (with a drift guard), drift", false },
	{ "status", cmd_status, "where a revision stands: environments that have it, approvals recorded", false },
	{ "version", cmd_version, "print the version", false },
};

static int usage(FILE *out)
{
	fprintf(out, "usage: bpgate <command> [<args>]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\noptions:\n  -h, --help     this list; 'bpgate <command> [<subcommand>] --help' for each\n"
		"  --version      print the version\n");
	fprintf(out, "\nexit codes: 0 clean, 1 findings or refused, 2 usage or input error\n");
	return out == stdout ? BPG_EXIT_OK : BPG_EXIT_ERROR;
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage("bpgate version");
	printf("bpgate %s\n", bpg_version());
	return BPG_EXIT_OK;
}

/* pre-push judges whole ranges of commits: the gate's heap tuning (64 MiB steps) pays off
 * there. commit-msg and pre-commit judge one staged change, a heap of a few hundred KiB:
 * one huge page for all of it (bpg_heap_tune_for_hook, hooks.md "Speed"). */
static void tune_heap_for_hook(const char *name)
{
	if (name && strcmp(name, "pre-push") == 0)
		bpg_heap_tune_for_facts();
	else
		bpg_heap_tune_for_hook();
}

/* Installed as a git hook (a symlink to this binary, or to bpgate-hook, named pre-commit,
 * commit-msg or pre-push, see cmd_install.c): argv[0] is the hook's path; run `bpgate
 * hook NAME ARGS` in this process, without a shell in between. */
static const char *hook_name(const char *argv0)
{
	static const char *const names[] = { "pre-commit", "commit-msg", "pre-push" };
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	for (size_t i = 0; base && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(base, names[i]) == 0)
			return names[i];
	return NULL;
}

#define HOOK_ARGS_MAX 16 /* git passes at most 2 (pre-push: REMOTE URL) */

int main(int argc, char **argv)
{
	setlocale(LC_CTYPE, "C");
	const char *hook = argc > 0 ? hook_name(argv[0]) : NULL;
	if (hook) {
		char *hargv[HOOK_ARGS_MAX + 3] = { "hook", (char *)hook };
		if (argc - 1 > HOOK_ARGS_MAX)
			return cli_usage("bpgate hook pre-commit | commit-msg MSGFILE | pre-push REMOTE URL");
		for (int a = 1; a < argc; a++)
			hargv[a + 1] = argv[a];
		tune_heap_for_hook(hook);
		return cmd_hook(argc + 1, hargv);
	}
	/* bpgate-hook (hooks/meson.build) is this program linked statically, for the hooks
	 * alone: the other commands need what a static program cannot load (libcurl) */
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "bpgate-hook") == 0 &&
	    !(argc > 1 && (strcmp(argv[1], "hook") == 0 || strcmp(argv[1], "--version") == 0))) {
		fprintf(stderr, "bpgate-hook runs only the git hooks (bpgate-hook hook pre-commit | commit-msg "
			"MSGFILE | pre-push REMOTE URL); run bpgate for everything else\n");
		return BPG_EXIT_ERROR;
	}
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* --help / -h among the arguments (before "--") prints the help of the command or
			 * of its subcommand and runs nothing: no repository, no policy needed. */
			for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++)
				if (cli_is_help(argv[a]) &&
				    cli_help(stdout, argv[1], argc > 2 && argv[2][0] != '-' ? argv[2] : NULL) == 0)
					return BPG_EXIT_OK;
			if (commands[i].run == cmd_hook)
				tune_heap_for_hook(argc > 2 ? argv[2] : NULL);
			else if (commands[i].gathers)
				bpg_heap_tune_for_facts();
			return commands[i].run(argc - 1, argv + 1);
		}
	fprintf(stderr, "bpgate: '%s' is not a command; see 'bpgate --help'\n", argv[1]);
	return BPG_EXIT_ERROR;
}
