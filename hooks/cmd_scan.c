/* Placeholder: this sub-command is being written. */
#include "cli.h"

int cmd_scan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate scan (not available yet)");
}
