/* Helpers shared by the sub-commands of `bpgate`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *format_names[] = { "text", "json", "sarif", "csv" };

int cli_parse_format(bpg_format *out, const char *name, unsigned allowed)
{
	for (unsigned i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0 && (allowed & (1u << i))) {
			*out = (bpg_format)i;
			return 0;
		}
	}
	fprintf(stderr, "bpgate: unknown format '%s'; expected one of:", name);
	for (unsigned i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (allowed & (1u << i))
			fprintf(stderr, " %s", format_names[i]);
	fputc('\n', stderr);
	return -1;
}

bool cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (nc && *nc)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f)) == 1;
}

const char *cli_sgr(FILE *f, const char *code)
{
	return cli_color(f) ? code : "";
}

void cli_report_error(const char *cmd, const bpg_error *err)
{
	fprintf(stderr, "bpgate %s: %s\n", cmd, err->message[0] ? err->message : "unknown error");
}

int cli_usage(const char *usage)
{
	if (strncmp(usage, "usage: ", 7) == 0)
		usage += 7;
	fprintf(stderr, "usage: %s\n", usage);
	return BPG_EXIT_ERROR;
}
