/* Placeholder: this sub-command is being written. */
#include "cli.h"

int cmd_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate audit (not available yet)");
}

int cmd_evidence(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate evidence (not available yet)");
}
