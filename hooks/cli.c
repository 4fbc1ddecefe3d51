/* Helpers shared by the sub-commands of `bpgate`. */
#include "cli.h"

#include <git2.h>
#include <limits.h>
#include <sys/stat.h>
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

/* The top of the repository around dir as git names it for safe.directory:
 * the first of dir and its parents holding .git, or a bare repository's folder. */
static bool has(const char *dir, const char *name)
{
	char probe[PATH_MAX + 16];
	snprintf(probe, sizeof(probe), "%s/%s", *dir ? dir : "", name);
	return access(probe, F_OK) == 0;
}

static bool repo_top(char *out, size_t size, const char *dir)
{
	char *abs = realpath(dir ? dir : ".", NULL);
	bool found = false;
	snprintf(out, size, "%s", abs ? abs : dir ? dir : ".");
	while (abs) {
		if (has(abs, ".git") || (has(abs, "HEAD") && has(abs, "objects"))) {
			snprintf(out, size, "%s", *abs ? abs : "/");
			found = true;
			break;
		}
		char *slash = strrchr(abs, '/');
		if (!slash || !*abs)
			break;
		*slash = '\0'; /* "" stands for "/" */
	}
	free(abs);
	return found;
}

int cli_repo_open(git_repository **out, const char *dir, unsigned flags, const char *cmd)
{
	int rc = git_repository_open_ext(out, dir, flags, NULL);
	char top[PATH_MAX];
	struct stat st;

	/* libgit2 1.5 answers GIT_ENOTFOUND ("config value 'safe.directory' was not found")
	 * where it means GIT_EOWNER: the owner of the repository found is asked directly */
	if (rc < 0 && rc != GIT_EOWNER && !(flags & GIT_REPOSITORY_OPEN_FROM_ENV && getenv("GIT_DIR")) &&
	    repo_top(top, sizeof(top), dir) && stat(top, &st) == 0 && st.st_uid != geteuid())
		rc = GIT_EOWNER;
	if (rc == GIT_EOWNER) {
		if (!repo_top(top, sizeof(top), dir))
			snprintf(top, sizeof(top), "%s", dir ? dir : ".");
		fprintf(stderr, "bpgate %s: %s is a git repository owned by another user, which git refuses to use "
			"(\"dubious ownership\"); if you trust it: git config --global --add safe.directory %s\n",
			cmd, top, top);
	}
	git_error_clear();
	return rc;
}

char *cli_config_string(git_repository *repo, const char *key)
{
	git_config *cfg = NULL, *snap = NULL;
	const char *v = NULL;
	char *out = NULL;

	if (git_repository_config(&cfg, repo) == 0 && git_config_snapshot(&snap, cfg) == 0 &&
	    git_config_get_string(&v, snap, key) == 0 && v && *v)
		out = strdup(v);
	git_config_free(snap);
	git_config_free(cfg);
	git_error_clear();
	return out;
}
