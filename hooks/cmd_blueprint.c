/* `bpgate blueprint show` and `bpgate diff`: the blueprint model and its semantic diff. */
#include "cli.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpgate/blueprint.h"
#include "bpgate/buf.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

extern char **environ;

/* Print untrusted text on one line, control characters escaped. */
static void put_safe(FILE *f, const char *s, size_t max)
{
	bpg_buf b = BPG_BUF_INIT;
	if (s && bpg_safe_put(&b, s, strlen(s), max) == 0 && b.ptr)
		fputs(b.ptr, f);
	bpg_buf_dispose(&b);
}

static const char *flag_text(bpg_flag f)
{
	switch (f) {
	case BPG_FLAG_TRUE: return "true";
	case BPG_FLAG_FALSE: return "false";
	case BPG_FLAG_UNSET: return "(unset)";
	default: return "(other)";
	}
}

static void print_value_line(FILE *f, const char *indent, const char *key, const json_t *v)
{
	char *dump = bpg_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	fprintf(f, "%s", indent);
	put_safe(f, key, 200);
	fputs(": ", f);
	put_safe(f, dump ? dump : "?", 300);
	fputc('\n', f);
	free(dump);
}

/* The text form is line-oriented on purpose: it is also git's textconv, so a
 * line diff of two of these reads as a review of the change. */
static void show_text(FILE *f, const bpg_blueprint *bp)
{
	static const char *flags[] = { "dlq", "confidential", "dataloss", "sequential", "autoCommit",
		"autoCommitTriggerLast", "freshVariables" };
	const json_t *settings = bpg_blueprint_settings(bp);
	const char *zone = bpg_blueprint_zone(bp);

	fputs("scenario: ", f);
	put_safe(f, bpg_blueprint_name(bp), 200);
	fprintf(f, "\nzone: ");
	put_safe(f, zone ? zone : "(unset)", 100);
	fputs("\nsettings:", f);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		fprintf(f, " %s=%s", flags[i], flag_text(bpg_blueprint_flag(bp, flags[i])));
	for (const char *k = "maxErrors"; k; k = strcmp(k, "maxErrors") == 0 ? "roundtrips" : NULL) {
		const json_t *v = json_object_get(settings, k);
		if (json_is_integer(v))
			fprintf(f, " %s=%lld", k, (long long)json_integer_value(v));
		else
			fprintf(f, " %s=(unset)", k);
	}
	fprintf(f, "\nmodules: %zu, writes back: %s\n", bpg_blueprint_module_count(bp),
		bpg_blueprint_writes(bp) ? "yes" : "no");
	for (size_t i = 0; i < bpg_blueprint_module_count(bp); i++) {
		const bpg_module *m = bpg_blueprint_module(bp, i);
		fprintf(f, "\n[%lld] ", m->id);
		put_safe(f, m->module, 120);
		if (m->version >= 0)
			fprintf(f, " v%lld", m->version);
		fputs("  ", f);
		put_safe(f, m->path, 300);
		fprintf(f, "  %s%s\n", bpg_effect_name(m->effect), m->container == BPG_CONTAINER_ORPHAN ?
			" (orphan: never runs)" : "");
		if (m->label) {
			fputs("    label: ", f);
			put_safe(f, m->label, 200);
			fputc('\n', f);
		}
		for (size_t r = 0; r < m->nrefs; r++) {
			fprintf(f, "    %s %s: ", m->refs[r].kind, m->refs[r].key);
			put_safe(f, m->refs[r].value, 120);
			fputc('\n', f);
		}
		if (m->filter) {
			fputs("    filter \"", f);
			put_safe(f, m->filter_name, 200);
			fputs("\"", f);
			print_value_line(f, "", "", json_object_get(m->filter, "conditions") ?
				json_object_get(m->filter, "conditions") : json_null());
		}
		if (m->has_error_handler)
			fprintf(f, "    onerror: %s\n", m->error_directive ? m->error_directive : "(no directive)");
		for (size_t l = 0; l < m->nliterals; l++) {
			const char *rel = m->literals[l].pointer + strlen(m->pointer) + 1;
			json_t *s = json_stringn(m->literals[l].value, m->literals[l].len);
			print_value_line(f, "    ", rel, s);
			json_decref(s);
		}
	}
}

static int print_json(json_t *v)
{
	char *s = bpg_json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (!s)
		return BPG_EXIT_ERROR;
	puts(s);
	free(s);
	return BPG_EXIT_OK;
}

static int blueprint_show(int argc, char **argv)
{
	const char *usage = "bpgate blueprint show FILE [--format text|json]";
	bpg_format fmt = BPG_FORMAT_TEXT;
	const char *path = NULL;
	bpg_blueprint *bp = NULL;
	bpg_error err;
	json_t *model = NULL;
	int rc = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON) < 0)
				return BPG_EXIT_ERROR;
		} else if (strncmp(argv[i], "--format=", 9) == 0) {
			if (cli_parse_format(&fmt, argv[i] + 9, 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON) < 0)
				return BPG_EXIT_ERROR;
		} else if (!path && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
			path = argv[i];
		} else {
			return cli_usage(usage);
		}
	}
	if (!path)
		return cli_usage(usage);
	if (bpg_blueprint_load(&bp, path, &err) < 0) {
		cli_report_error("blueprint", &err);
		goto done;
	}
	if (fmt == BPG_FORMAT_JSON) {
		if (bpg_blueprint_to_json(&model, bp, &err) < 0) {
			cli_report_error("blueprint", &err);
			goto done;
		}
		rc = print_json(model);
	} else {
		show_text(stdout, bp);
		rc = BPG_EXIT_OK;
	}
done:
	json_decref(model);
	bpg_blueprint_free(bp);
	return rc;
}

int cmd_blueprint(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return blueprint_show(argc - 1, argv + 1);
	return cli_usage("bpgate blueprint show FILE [--format text|json]");
}

/* ---- diff ------------------------------------------------------------- */

static void print_change_text(FILE *f, const bpg_change *c)
{
	const char *old_v = c->old_value ? c->old_value : "(none)";
	const char *new_v = c->new_value ? c->new_value : "(none)";

	switch (c->kind) {
	case BPG_CHANGE_ADDED:
		fputs("  + added in ", f);
		put_safe(f, new_v, 300);
		break;
	case BPG_CHANGE_REMOVED:
		fputs("  - removed from ", f);
		put_safe(f, old_v, 300);
		break;
	case BPG_CHANGE_MOVED:
		fputs("  > moved from ", f);
		put_safe(f, old_v, 300);
		fputs(" to ", f);
		put_safe(f, new_v, 300);
		break;
	default:
		fprintf(f, "  ~ %s", bpg_change_kind_name(c->kind));
		if (c->field) {
			fputc(' ', f);
			put_safe(f, c->field, 200);
		}
		fputs(": ", f);
		put_safe(f, old_v, 200);
		fputs(" -> ", f);
		put_safe(f, new_v, 200);
	}
	fputc('\n', f);
}

static void print_diff_text(FILE *f, const bpg_bpdiff *d, const char *title)
{
	long long current = -1;
	bool header = false;
	const char *bold = cli_sgr(f, "\033[1m"), *reset = cli_sgr(f, "\033[0m");

	if (title) {
		fprintf(f, "%sblueprint ", bold);
		put_safe(f, title, 300);
		fprintf(f, "%s\n", reset);
	}
	if (bpg_bpdiff_count(d) == 0) {
		fputs("no semantic change\n", f);
		return;
	}
	for (size_t i = 0; i < bpg_bpdiff_count(d); i++) {
		const bpg_change *c = bpg_bpdiff_get(d, i);
		if (c->module_id == 0 && !header) {
			fputs("scenario:\n", f);
			header = true;
		}
		if (c->module_id != 0 && c->module_id != current) {
			current = c->module_id;
			fprintf(f, "%smodule %lld ", bold, c->module_id);
			put_safe(f, c->module ? c->module : "", 120);
			fprintf(f, "%s\n", reset);
		}
		print_change_text(f, c);
	}
}

static int load_side(bpg_blueprint **out, const char *path, bpg_error *err)
{
	/* git passes /dev/null for the missing side of an added or deleted file. */
	if (strcmp(path, "/dev/null") == 0)
		return bpg_blueprint_parse(out, "{\"name\":\"\",\"flow\":[],\"metadata\":{}}", 33, path, err);
	return bpg_blueprint_load(out, path, err);
}

static int run_diff(const char *old_path, const char *new_path, bpg_format fmt, const char *title)
{
	bpg_blueprint *a = NULL, *b = NULL;
	bpg_bpdiff *d = NULL;
	json_t *j = NULL;
	bpg_error err;
	int rc = BPG_EXIT_ERROR;

	if (load_side(&a, old_path, &err) < 0 || load_side(&b, new_path, &err) < 0 ||
	    bpg_bpdiff_compute(&d, a, b, &err) < 0) {
		cli_report_error("diff", &err);
		goto done;
	}
	if (fmt == BPG_FORMAT_JSON) {
		if (bpg_bpdiff_to_json(&j, d, &err) < 0) {
			cli_report_error("diff", &err);
			goto done;
		}
		rc = print_json(j);
	} else {
		print_diff_text(stdout, d, title);
		rc = BPG_EXIT_OK;
	}
	/* Like diff(1): 1 when the inputs differ, unless used as git's driver. */
	if (rc == BPG_EXIT_OK && !title && bpg_bpdiff_count(d) > 0)
		rc = BPG_EXIT_FINDINGS;
done:
	json_decref(j);
	bpg_bpdiff_free(d);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
	return rc;
}

static int run_git(const char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "git", NULL, NULL, (char *const *)argv, environ) != 0) {
		fprintf(stderr, "bpgate diff: cannot run git: %s\n", strerror(errno));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Configure git so `git diff` shows the semantic diff and `git log -p` the
 * normalised text of both sides, for *.blueprint.json files. */
static int diff_setup(bool global)
{
	const char *scope = global ? "--global" : "--local";
	const char *cmds[][6] = {
		{ "git", "config", scope, "diff.bpgate.command", "bpgate diff --git", NULL },
		{ "git", "config", scope, "diff.bpgate.textconv", "bpgate blueprint show --format text", NULL },
		{ "git", "config", scope, "diff.bpgate.cachetextconv", "true", NULL },
	};
	bpg_buf attr = BPG_BUF_INIT, cur = BPG_BUF_INIT, path = BPG_BUF_INIT;
	const char *line = "*.blueprint.json diff=bpgate\n";
	bpg_error err;
	int rc = BPG_EXIT_ERROR;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (run_git(cmds[i]) < 0) {
			fprintf(stderr, "bpgate diff: 'git config %s' failed; run it inside a git repository\n",
				cmds[i][3]);
			goto done;
		}
	int prc;
	if (global) {
		const char *home = getenv("HOME");
		const char *xdg = getenv("XDG_CONFIG_HOME");
		if (xdg && *xdg)
			prc = bpg_buf_printf(&path, "%s/git/attributes", xdg);
		else if (home)
			prc = bpg_buf_printf(&path, "%s/.config/git/attributes", home);
		else
			goto done;
	} else {
		const char *gd = getenv("GIT_DIR");
		prc = bpg_buf_printf(&path, "%s/info/attributes", gd && *gd ? gd : ".git");
	}
	if (prc < 0) {
		fprintf(stderr, "bpgate diff: out of memory\n");
		goto done;
	}
	if (bpg_file_read(&cur, path.ptr, 1 << 20, &err) < 0 && err.code != BPG_ENOTFOUND) {
		cli_report_error("diff", &err);
		goto done;
	}
	if (!cur.ptr || !strstr(cur.ptr, line)) {
		/* all or nothing: never rewrite the file without what it had */
		prc = bpg_buf_put(&attr, cur.ptr ? cur.ptr : "", cur.size);
		if (prc == 0 && attr.size && attr.ptr[attr.size - 1] != '\n')
			prc = bpg_buf_putc(&attr, '\n');
		if (prc == 0)
			prc = bpg_buf_puts(&attr, line);
		if (prc < 0) {
			fprintf(stderr, "bpgate diff: out of memory\n");
			goto done;
		}
		{
			/* info/ may not exist in a fresh repository. */
			char *slash = strrchr(path.ptr, '/');
			if (slash) {
				*slash = '\0';
				mkdir(path.ptr, 0755);
				*slash = '/';
			}
		}
		if (bpg_file_write_atomic(path.ptr, attr.ptr, attr.size, 0644, &err) < 0) {
			cli_report_error("diff", &err);
			goto done;
		}
	}
	printf("git now shows bpgate's semantic diff for *.blueprint.json (%s); `git log -p` shows the "
		"normalised model (use --ext-diff for the semantic diff there too)\n", path.ptr);
	rc = BPG_EXIT_OK;
done:
	bpg_buf_dispose(&attr);
	bpg_buf_dispose(&cur);
	bpg_buf_dispose(&path);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	const char *usage = "bpgate diff OLD NEW [--format text|json]\n"
		"       bpgate diff --setup [--global]    (make git diff use bpgate for *.blueprint.json)";
	bpg_format fmt = BPG_FORMAT_TEXT;
	const char *paths[2] = { NULL, NULL };
	int n = 0;

	/* git's external diff driver: path old-file old-hex old-mode new-file new-hex new-mode */
	if (argc >= 2 && strcmp(argv[1], "--git") == 0) {
		if (argc != 9)
			return cli_usage("bpgate diff --git PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE");
		return run_diff(argv[3], argv[6], BPG_FORMAT_TEXT, argv[2]);
	}
	if (argc >= 2 && strcmp(argv[1], "--setup") == 0) {
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--global") != 0))
			return cli_usage(usage);
		return diff_setup(argc == 3);
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON) < 0)
				return BPG_EXIT_ERROR;
		} else if (n < 2 && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
			paths[n++] = argv[i];
		} else {
			return cli_usage(usage);
		}
	}
	if (n != 2)
		return cli_usage(usage);
	return run_diff(paths[0], paths[1], fmt, NULL);
}
