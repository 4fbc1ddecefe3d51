/* `bpgate blueprint show` and `bpgate diff` (being written). */
#include "cli.h"

int cmd_blueprint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate blueprint show FILE [--format text|json]");
}

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage("bpgate diff OLD NEW [--format text|json]");
}
