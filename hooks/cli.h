/*
 * The `bpgate` command: shared pieces of the sub-commands.
 *
 * Every sub-command is `int cmd_<name>(int argc, char **argv)` where argv[0]
 * is the sub-command's name; it returns the process exit code:
 *   0  clean / accepted,  1  findings / refused,  2  usage or input error.
 */
#ifndef BPG_CLI_H
#define BPG_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "bpgate/common.h"

enum { BPG_EXIT_OK = 0, BPG_EXIT_FINDINGS = 1, BPG_EXIT_ERROR = 2 };

typedef enum { BPG_FORMAT_TEXT, BPG_FORMAT_JSON, BPG_FORMAT_SARIF, BPG_FORMAT_CSV } bpg_format;

/* Parse "text|json|sarif|csv"; `allowed` is a bit set of (1 << bpg_format). */
int cli_parse_format(bpg_format *out, const char *name, unsigned allowed);

/* Colour on stdout/stderr only on a tty, and never when NO_COLOR is set. */
bool cli_color(FILE *f);
const char *cli_sgr(FILE *f, const char *code); /* "" when colour is off */

/* Print "bpgate <cmd>: <message>" for an error record on stderr. */
void cli_report_error(const char *cmd, const bpg_error *err);

/* Usage helper: prints "usage: <usage>" to stderr (a leading "usage: " in `usage` is not
 * repeated) and returns BPG_EXIT_ERROR. */
int cli_usage(const char *usage);

/* help.c: print "usage: ..." with every option of `command` (and `sub`, when it names one
 * of its subcommands; else the command's own help) to `out`. Returns 0, or -1 when the
 * command has no help entry (the command then handles --help itself). */
int cli_help(FILE *out, const char *command, const char *sub);
/* Is `arg` "-h" or "--help"? */
bool cli_is_help(const char *arg);
/* git_repository_open_ext(out, dir, flags, NULL). A repository owned by
 * another user is refused by libgit2 as git refuses it: then the cause and
 * git's fix (safe.directory) are printed for `cmd` and GIT_EOWNER returned;
 * on other failures nothing is printed (the caller says what it needs). */
struct git_repository;
int cli_repo_open(struct git_repository **out, const char *dir, unsigned flags, const char *cmd);

/* The git config value of `key` in `repo`'s configuration (all levels), or
 * NULL when it is unset, empty or unreadable. The caller frees it. */
char *cli_config_string(struct git_repository *repo, const char *key);

#include "gitinit.h" /* cli_libgit2_init(): the client front ends call it first */

/* Sub-commands. */
int cmd_blueprint(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bundle(int argc, char **argv);
int cmd_sshsig(int argc, char **argv);
int cmd_verify_commit(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_approve(int argc, char **argv);
int cmd_uat(int argc, char **argv);
int cmd_pending(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_make(int argc, char **argv);

#endif
