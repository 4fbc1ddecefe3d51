/* Placeholder: this sub-command is being written. */
#include "cli.h"

int cmd_keygen(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate keygen (not available yet)");
}

int cmd_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate sign (not available yet)");
}

int cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate verify (not available yet)");
}

int cmd_bundle(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate bundle (not available yet)");
}
