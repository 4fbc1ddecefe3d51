/* Placeholder: this sub-command is being written. */
#include "cli.h"

int cmd_sshsig(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate sshsig (not available yet)");
}

int cmd_verify_commit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate verify-commit (not available yet)");
}
