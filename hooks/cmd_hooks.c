/* `bpgate hook <name>` (what the installed git hooks run) and `bpgate check`. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

#include "bpgate/buf.h"
#include "bpgate/heap.h"
#include "bpgate/jsonheap.h"

#define PUSH_LINES_MAX 1000
#define PUSH_LINE_MAX 4096

/* How a hook reads one staged change from the object database. Its blobs and the old
 * sides they are compared with are read twice (the size from the header, then the
 * bytes): libgit2 caches no blob by default; a small commit's are kept (each under 64 KiB, 16 MiB in all) so each is
 * inflated once (the cap is libgit2's whole object cache, all types, for this process:
 * 16 MiB, not its 256 MiB default). And objects are not hashed again as they are read
 * (libgit2's "strict hash verification", ~7 % of a commit's hook): a corrupt loose object
 * is then not noticed here (`git fsck` notices it); the server's gate keeps the check for
 * what is pushed to it. */
static void staged_reads(void)
{
	(void)git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)16 << 20);
	(void)git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, (size_t)64 << 10);
	(void)git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
}

/* The facts of a staged change and the context are left to the process's exit where
 * that is allowed (glibc builds without a sanitizer: bpg_heap_exit_frees_skippable; ~6 % of a commit's
 * hook is freeing them). Sanitizer builds free them, so leak checks still see the rest. */
static void facts_done(json_t *facts)
{
	if (!bpg_heap_exit_frees_skippable())
		json_decref(facts);
}

static int hook_pre_commit(fe_ctx *ctx)
{
	bpg_gather_opts go;
	bpg_error err;
	json_t *facts = fe_facts(ctx, "pre-commit", fe_env_for_branch(ctx, ctx->branch), "pre-commit");
	int rc = BPG_EXIT_ERROR;

	if (!facts)
		goto done;
	fe_gather_opts(ctx, &go);
	staged_reads();
	if (bpg_gather_staged(facts, ctx->repo, &go, &err) < 0) {
		fprintf(stderr, "bpgate pre-commit: cannot read the staged changes (commit refused): %s\n", err.message);
		goto done;
	}
	rc = fe_judge(ctx, facts, BPG_FORMAT_TEXT, true, false, "pre-commit");
done:
	facts_done(facts);
	return rc;
}

/* The message as git will record it when the commit was edited (commit.cleanup
 * "strip", git's default then): everything from the scissors line on and the
 * comment lines (core.commentChar, '#' by default) dropped. git runs
 * commit-msg before its own clean-up, so an editor's message still has the
 * "# Please enter the commit message..." block after the trailers. */
static int strip_comments(bpg_buf *out, const fe_ctx *ctx, const char *msg, size_t len)
{
	git_config *cfg = NULL;
	const char *v = NULL;
	char cc = '#';
	int rc = 0;

	if (git_repository_config_snapshot(&cfg, ctx->repo) == 0 && git_config_get_string(&v, cfg, "core.commentChar") == 0 &&
	    v && strlen(v) == 1)
		cc = v[0];
	git_config_free(cfg);
	git_error_clear();
	for (size_t i = 0; i < len && rc == 0;) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (msg + i)) + 1 : len - i;
		if (msg[i] == cc && memmem(msg + i, n, " >8 ", 4))
			break; /* the scissors line: the rest is the diff of commit -v */
		if (msg[i] != cc)
			rc = bpg_buf_put(out, msg + i, n);
		i += n;
	}
	return rc;
}

static int hook_commit_msg(fe_ctx *ctx, const char *msgfile)
{
	bpg_buf clean = BPG_BUF_INIT;
	bpg_buf msg = BPG_BUF_INIT;
	bpg_gather_opts go;
	bpg_error err;
	json_t *facts = fe_facts(ctx, "commit-msg", fe_env_for_branch(ctx, ctx->branch), "commit-msg");
	int rc = BPG_EXIT_ERROR;

	if (!facts)
		goto done;
	if (bpg_file_read(&msg, msgfile, 1 << 20, &err) < 0) {
		fprintf(stderr, "bpgate commit-msg: %s\n", err.message);
		goto done;
	}
	/* The staged content is judged here in full, as pre-commit judges it (scanner, bundles):
	 * `bpgate install` puts only commit-msg (and pre-push) in place by default, so one process
	 * judges a commit; pre-commit is the optional early check (`install --early-check`). git
	 * gives both hooks the index being committed (GIT_INDEX_FILE for `commit -a` / `commit PATH`). */
	fe_gather_opts(ctx, &go);
	if (strip_comments(&clean, ctx, msg.ptr ? msg.ptr : "", msg.size) < 0) {
		fprintf(stderr, "bpgate commit-msg: out of memory (commit refused)\n");
		goto done;
	}
	staged_reads();
	if (bpg_gather_message_staged(facts, ctx->repo, clean.ptr ? clean.ptr : "", clean.size, &go, &err) < 0) {
		fprintf(stderr, "bpgate commit-msg: cannot read the commit being made (refused): %s\n", err.message);
		goto done;
	}
	rc = fe_judge(ctx, facts, BPG_FORMAT_TEXT, true, false, "commit-msg");
	if (rc == BPG_EXIT_FINDINGS)
		fprintf(stderr, "bpgate commit-msg: your message is kept; once fixed, commit it again with "
			"git commit -e -F \"$(git rev-parse --git-path COMMIT_EDITMSG)\"\n");
done:
	bpg_buf_dispose(&clean);
	bpg_buf_dispose(&msg);
	facts_done(facts);
	return rc;
}

/* pre-push: stdin has "<local ref> <local sha> <remote ref> <remote sha>" lines. */
static int hook_pre_push(fe_ctx *ctx, const char *remote)
{
	json_t *previews = json_array();
	char line[PUSH_LINE_MAX];
	bpg_gather_opts go;
	bpg_error err;
	json_t *facts = fe_facts(ctx, "pre-push", NULL, "pre-push");
	int n = 0, rc = BPG_EXIT_ERROR;

	if (!facts)
		goto done;
	fe_gather_opts(ctx, &go);
	for (;;) {
		char lref[1024], lsha[64], rref[1024], rsha[64];
		const char *env;
		if (!fgets(line, sizeof(line), stdin)) {
			/* git always passes REMOTE URL (and no line when nothing is pushed); without
			 * them the caller is the pre-commit framework, which passes the push in
			 * PRE_COMMIT_* variables, or someone who judged nothing: never a silent 0 */
			const char *to = getenv("PRE_COMMIT_TO_REF"), *from = getenv("PRE_COMMIT_FROM_REF");
			const char *rb = getenv("PRE_COMMIT_REMOTE_BRANCH"), *lb = getenv("PRE_COMMIT_LOCAL_BRANCH");
			if (remote || n > 0)
				break;
			char whole[GIT_OID_HEXSZ + 1] = "";
			if (!to && rb && lb) {
				/* the whole history is new to the remote (the framework passes no refs then) */
				git_object *o = NULL;
				if (git_revparse_single(&o, ctx->repo, lb) == 0)
					git_oid_tostr(whole, sizeof(whole), git_object_id(o));
				git_object_free(o);
				git_error_clear();
				if (*whole)
					to = whole, from = "0000000000000000000000000000000000000000";
			}
			if (!to || !from || !rb) {
				fprintf(stderr, "bpgate pre-push: nothing to judge: git runs this hook as `bpgate hook pre-push "
					"REMOTE URL` with the refs pushed on stdin, the pre-commit framework with PRE_COMMIT_FROM_REF, "
					"PRE_COMMIT_TO_REF and PRE_COMMIT_REMOTE_BRANCH set (push refused)\n");
				goto done;
			}
			/* the framework's names: commits (resolved by gather), the branch pushed to */
			if (snprintf(line, sizeof(line), "%s %s %s%s %s\n", lb && *lb ? lb : "HEAD", to,
			    strncmp(rb, "refs/", 5) == 0 ? "" : "refs/heads/", rb, from) >= (int)sizeof(line)) {
				fprintf(stderr, "bpgate pre-push: PRE_COMMIT_* values are too long (push refused)\n");
				goto done;
			}
			remote = getenv("PRE_COMMIT_REMOTE_NAME");
		}
		if (++n > PUSH_LINES_MAX) {
			fprintf(stderr, "bpgate pre-push: more than %d refs in one push; push fewer at once\n",
				PUSH_LINES_MAX);
			goto done;
		}
		if (!strchr(line, '\n')) {
			fprintf(stderr, "bpgate pre-push: an input line is longer than %d bytes\n", PUSH_LINE_MAX);
			goto done;
		}
		if (sscanf(line, "%1023s %63s %1023s %63s", lref, lsha, rref, rsha) != 4) {
			fprintf(stderr, "bpgate pre-push: unexpected input from git: expected 4 fields\n");
			goto done;
		}
		env = fe_env_for_branch(ctx, rref);
		if (env && previews)
			json_array_append_new(previews, json_pack("[s,s,s]", env, rref, lsha));
		if (env && !json_is_string(json_object_get(facts, "environment")))
			json_object_set_new(facts, "environment", json_string(env));
		if (bpg_gather_ref(facts, ctx->repo, rref, rsha, lsha, env, &go, &err) < 0) {
			/* The remote tip may be unknown locally (someone else pushed): judge
			 * the local commits against nothing rather than refuse blindly. */
			if (err.code == BPG_ENOBASE &&
			    bpg_gather_ref(facts, ctx->repo, rref, "0000000000000000000000000000000000000000",
			    lsha, env, &go, &err) == 0)
				continue;
			fprintf(stderr, "bpgate pre-push: cannot read %s (push refused): %s\n", rref, err.message);
			goto done;
		}
	}
	rc = fe_judge(ctx, facts, BPG_FORMAT_TEXT, true, false, "pre-push");
	if (rc == BPG_EXIT_OK) {
		size_t i;
		json_t *p;
		json_array_foreach(previews, i, p)
			fe_server_preview(ctx, json_string_value(json_array_get(p, 0)), json_string_value(json_array_get(p, 1)),
				json_string_value(json_array_get(p, 2)), remote ? remote : "origin");
	}
done:
	json_decref(previews);
	json_decref(facts);
	return rc;
}

int cmd_hook(int argc, char **argv)
{
	const char *usage = "bpgate hook pre-commit | commit-msg MSGFILE | pre-push REMOTE URL";
	fe_ctx ctx;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "pre-commit") != 0 && strcmp(argv[1], "commit-msg") != 0 &&
	    strcmp(argv[1], "pre-push") != 0))
		return cli_usage(usage);
	for (int i = 2; i < argc; i++) /* git passes paths and remote names, never options */
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage(usage);
	if (fe_open(&ctx, argv[1]) < 0)
		return BPG_EXIT_ERROR;
	if (strcmp(argv[1], "pre-commit") == 0)
		rc = hook_pre_commit(&ctx);
	else if (strcmp(argv[1], "commit-msg") == 0 && argc >= 3)
		rc = hook_commit_msg(&ctx, argv[2]);
	else if (strcmp(argv[1], "pre-push") == 0)
		rc = hook_pre_push(&ctx, argc >= 3 ? argv[2] : NULL);
	else
		rc = cli_usage(usage);
	if (strcmp(argv[1], "pre-push") == 0 || !bpg_heap_exit_frees_skippable())
		fe_close(&ctx); /* else the exit returns it (facts_done) */
	/* Hooks refuse on anything but a clean decision. */
	return rc;
}

/* The default range of `check`: what the branch has that its upstream has
 * not, or its whole history when it has no upstream. */
static int default_range(fe_ctx *ctx, git_oid *from, bool *from_set, git_oid *to)
{
	git_reference *head = NULL, *up = NULL;
	int rc = -1;

	*from_set = false;
	if (git_repository_head(&head, ctx->repo) < 0)
		goto done;
	*to = *git_reference_target(head);
	if (git_branch_upstream(&up, head) == 0 && git_reference_target(up)) {
		*from = *git_reference_target(up);
		*from_set = true;
	}
	rc = 0;
done:
	git_error_clear();
	git_reference_free(up);
	git_reference_free(head);
	return rc;
}

json_t *fe_range_facts(fe_ctx *ctx, const char *range, const char *context, const char *who)
{
	bool from_set;
	git_oid from, to;
	bpg_gather_opts go;
	bpg_error err;
	json_t *facts;

	if (range ? fe_parse_range(ctx, range, &from, &from_set, &to) < 0 :
	            default_range(ctx, &from, &from_set, &to) < 0) {
		const git_error *e = git_error_last();
		fprintf(stderr, "bpgate %s: cannot resolve %s: %s\n", who, range ? range : "HEAD",
			e && e->message ? e->message : "no commits yet");
		return NULL;
	}
	if (!(facts = fe_facts(ctx, context, fe_env_for_branch(ctx, ctx->branch), who)))
		return NULL;
	fe_gather_opts(ctx, &go);
	if (bpg_gather_range(facts, ctx->repo, from_set ? &from : NULL, &to, &go, &err) < 0) {
		fprintf(stderr, "bpgate %s: cannot gather the facts (refused): %s\n", who, err.message);
		json_decref(facts);
		return NULL;
	}
	return facts;
}

int cmd_check(int argc, char **argv)
{
	const char *usage = "bpgate check [--format text|json|sarif] [--explain] [--facts]\n"
		"                    [--max-judge-seconds N] [--max-judge-memory SIZE] [RANGE]";
	bpg_format fmt = BPG_FORMAT_TEXT;
	const char *range = NULL, *max_s = NULL, *max_m = NULL;
	bool explain = false, facts_only = false;
	json_t *facts = NULL;
	fe_ctx ctx;
	int rc = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
			    1u << BPG_FORMAT_SARIF) < 0)
				return BPG_EXIT_ERROR;
		} else if (strcmp(argv[i], "--explain") == 0) {
			explain = true;
		} else if (strcmp(argv[i], "--facts") == 0) {
			facts_only = true;
		} else if (strcmp(argv[i], "--max-judge-seconds") == 0 && i + 1 < argc) {
			max_s = argv[++i];
		} else if (strcmp(argv[i], "--max-judge-memory") == 0 && i + 1 < argc) {
			max_m = argv[++i];
		} else if (!range && argv[i][0] != '-') {
			range = argv[i];
		} else {
			return cli_usage(usage);
		}
	}
	if (fe_open(&ctx, "check") < 0)
		return BPG_EXIT_ERROR;
	if ((max_s || max_m) && fe_budget_set(&ctx, max_s, max_m, "check") < 0)
		goto done;
	if (!(facts = fe_range_facts(&ctx, range, "check", "check")))
		goto done;
	if (facts_only) {
		char *s = bpg_json_dumps(facts, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s)
			puts(s);
		free(s);
		rc = s ? BPG_EXIT_OK : BPG_EXIT_ERROR;
		goto done;
	}
	rc = fe_judge(&ctx, facts, fmt, false, explain, "check");
done:
	json_decref(facts);
	fe_close(&ctx);
	return rc;
}
