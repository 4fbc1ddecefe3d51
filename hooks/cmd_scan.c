/*
 * `bpgate scan [--format text|json|sarif] [--ignore FILE] [--strict] PATH...`
 *
 * Scans files, directories (walked; .git, node_modules and build* skipped,
 * only text-like extensions) and stdin ("-"). Paths named explicitly are
 * always scanned. Exit 0 clean (or only synthetic findings, unless
 * --strict), 1 findings, 2 usage or input error.
 */
#include "cli.h"

#include "bpgate/scan.h"
#include "bpgate/testhook.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define USAGE "bpgate scan [--format text|json|sarif] [--ignore FILE] [--strict] PATH...\n" \
	"  PATH: a file, a directory (walked) or - for stdin\n" \
	"  --ignore FILE  accepted fingerprints (default: .bpgate/ignore when it exists)\n" \
	"  --strict       synthetic findings fail too"
#define MAX_DEPTH 64

static bool text_like(const char *name)
{
	static const char *ext[] = { ".json", ".jsonl", ".ndjson", ".txt", ".csv", ".tsv", ".yaml",
		".yml", ".env", ".md", ".xml", ".ini", ".conf", ".cfg", ".properties", ".toml", ".sql",
		".js", ".ts", ".py", ".sh", ".html", ".log", ".har", ".eml" };
	const char *dot = strrchr(name, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (strcmp(dot, ext[i]) == 0)
			return true;
	return false;
}

static bool skipped_dir(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, "node_modules") == 0 ||
		strncmp(name, "build", 5) == 0 || strcmp(name, ".hg") == 0 || strcmp(name, ".svn") == 0 ||
		strcmp(name, "__pycache__") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(bpg_scanner *s, bpg_findings *f, const char *dir, int depth, bpg_error *err)
{
	DIR *d = NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return bpg_findings_add_skip(f, dir, "directory nesting deeper than 64", err);
	if (!(d = opendir(dir)))
		return bpg_error_set(err, BPG_EIO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char **nn = bpg_array_grow(names, &cap, n + 1, sizeof(*nn), 32);
		if (!nn) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		names = nn;
		if (!(names[n] = strdup(e->d_name))) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *p = malloc(len);
		if (!p) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			break;
		}
		snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
		if (lstat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode) && !skipped_dir(names[i]))
				rc = walk(s, f, p, depth + 1, err);
			else if (S_ISREG(st.st_mode) && text_like(names[i]))
				rc = bpg_scan_file(s, f, p, p, err);
		}
		free(p);
	}
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static void print_text(const bpg_findings *f)
{
	const char *bold = cli_sgr(stdout, "\033[1;31m"), *yel = cli_sgr(stdout, "\033[33m");
	const char *off = cli_sgr(stdout, "\033[0m");
	bool seen[64] = { false };
	size_t nsyn = 0;

	for (size_t i = 0; i < bpg_findings_count(f); i++) {
		const bpg_scan_finding *x = bpg_findings_get(f, i);
		printf("%s:%zu:%zu: %s%s%s %s", x->path, x->line, x->column, x->synthetic ? yel : bold,
			x->rule, off, x->masked);
		if (x->pointer)
			printf(" (%s)", x->pointer);
		if (x->synthetic) {
			printf(" [synthetic]");
			nsyn++;
		}
		putchar('\n');
	}
	for (size_t r = 0; r < bpg_scan_rule_count() && r < 64; r++)
		for (size_t i = 0; i < bpg_findings_count(f); i++)
			if (!seen[r] && strcmp(bpg_findings_get(f, i)->rule, bpg_scan_rule_id(r)) == 0) {
				seen[r] = true;
				printf("fix %s: %s\n", bpg_scan_rule_id(r), bpg_scan_rule_hint(bpg_scan_rule_id(r)));
			}
	if (bpg_findings_count(f))
		printf("%zu finding%s (%zu synthetic)\n", bpg_findings_count(f),
			bpg_findings_count(f) == 1 ? "" : "s", nsyn);
}

int cmd_scan(int argc, char **argv)
{
	bpg_format fmt = BPG_FORMAT_TEXT;
	const char *ignore_path = NULL;
	bool strict = false, failing = false;
	bpg_scanner *s = NULL;
	bpg_findings *f = NULL;
	bpg_scan_ignore *ig = NULL;
	bpg_error err;
	json_t *doc = NULL;
	int i, rc = BPG_EXIT_ERROR, npaths = 0;

	bpg_error_clear(&err);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
			    1u << BPG_FORMAT_SARIF) < 0)
				return BPG_EXIT_ERROR;
		} else if (strncmp(argv[i], "--format=", 9) == 0) {
			if (cli_parse_format(&fmt, argv[i] + 9, 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
			    1u << BPG_FORMAT_SARIF) < 0)
				return BPG_EXIT_ERROR;
		} else if (strcmp(argv[i], "--ignore") == 0 && i + 1 < argc) {
			ignore_path = argv[++i];
		} else if (strcmp(argv[i], "--strict") == 0) {
			strict = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n", USAGE);
			return BPG_EXIT_OK;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "bpgate scan: unknown option '%s'\n", argv[i]);
			return cli_usage(USAGE);
		} else {
			break;
		}
	}
	npaths = argc - i;
	if (npaths <= 0)
		return cli_usage(USAGE);
	if (ignore_path) {
		if (bpg_scan_ignore_load(&ig, ignore_path, &err) < 0)
			goto fail;
	} else {
		struct stat st;
		if (stat(".bpgate/ignore", &st) == 0 && bpg_scan_ignore_load(&ig, ".bpgate/ignore", &err) < 0)
			goto fail;
	}
	if (bpg_scanner_new(&s, NULL, &err) < 0 || bpg_findings_new(&f, &err) < 0)
		goto fail;
	for (; i < argc; i++) {
		struct stat st;
		const char *p = argv[i];
		if (strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (walk(s, f, p, 0, &err) < 0)
				goto fail;
		} else if (bpg_scan_file(s, f, p, strcmp(p, "-") == 0 ? "<stdin>" : p, &err) < 0) {
			goto fail;
		}
	}
	bpg_findings_apply_ignore(f, ig);
	for (size_t k = 0; k < bpg_findings_skip_count(f); k++) {
		const bpg_scan_skip *sk = bpg_findings_skip_get(f, k);
		fprintf(stderr, "bpgate scan: skipped %s: %s\n", sk->path, sk->reason);
	}
	for (size_t k = 0; k < bpg_findings_count(f); k++)
		failing = failing || strict || !bpg_findings_get(f, k)->synthetic;
	if (fmt == BPG_FORMAT_TEXT) {
		print_text(f);
	} else {
		if ((fmt == BPG_FORMAT_JSON ? bpg_findings_to_json(&doc, f, &err) :
		     bpg_findings_to_sarif(&doc, f, &err)) < 0)
			goto fail;
		if (json_dumpf(doc, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) < 0)
			goto fail;
		putchar('\n');
	}
	rc = failing ? BPG_EXIT_FINDINGS : BPG_EXIT_OK;
	goto done;
fail:
	cli_report_error("scan", &err);
	rc = BPG_EXIT_ERROR;
done:
	json_decref(doc);
	bpg_scan_ignore_free(ig);
	bpg_findings_free(f);
	bpg_scanner_free(s);
	return rc;
}
