/* Placeholder: this sub-command is being written. */
#include "cli.h"

int cmd_policy(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate policy (not available yet)");
}

int cmd_explain(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate explain (not available yet)");
}
