/*
 * bpgate-receive: the pre-receive gate (docs/readme/server.md).
 *
 * Reads the ref updates, opens the repository from the environment (so
 * quarantined objects are visible), loads the policy from the protected
 * policy ref as it is BEFORE the push, gathers the facts of every update
 * (client facts + server facts), evaluates them, prints `remote:`-ready
 * lines and appends the decision to the audit log. Never writes refs.
 * Fails closed: any internal error refuses the whole push (exit 1).
 */
#include "receive.h"
#include "../../hooks/gitinit.h"
#include "bpgate/audit.h"
#include "bpgate/witness.h"
#include "bpgate/bundle.h"
#include "bpgate/gather.h"
#include "bpgate/heap.h"
#include "bpgate/query.h"
#include "bpgate/testhook.h"
#include "bpgate/util.h"
#include "bpgate/gitobj.h"
#include "bpgate/jsonheap.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PUSH_OPTIONS RCV_MAX_PUSH_OPTIONS

/* BPGATE_RECEIVE_TIMES=1 (any value): when each phase of the gate ended, in ms since
 * it started, on stderr, for an administrator asking where a slow push's time goes
 * (tests/bench/receive_bench.sh shows them). Off, it reads nothing but the variable. */
static struct timespec times_start;
static bool times_on;

static void times_begin(void)
{
	times_on = getenv("BPGATE_RECEIVE_TIMES") != NULL;
	if (times_on)
		clock_gettime(CLOCK_MONOTONIC, &times_start);
}

static double ms_of(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* The page faults and the CPU time (user, system; all threads) so far are printed too:
 * on virtual machines first touches of memory are much of what the gate costs, and in a
 * push they cost more than in the gate run alone (docs/readme/server.md). */
static void times_mark(const char *phase, const char *ref)
{
	struct timespec t;
	struct rusage ru;

	if (!times_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		memset(&ru, 0, sizeof(ru));
	fprintf(stderr, "bpgate: time: %-13s %8.1f ms %6ld faults %7.1f ms user %6.1f ms sys%s%.200s\n", phase,
		(double)(t.tv_sec - times_start.tv_sec) * 1e3 + (double)(t.tv_nsec - times_start.tv_nsec) / 1e6,
		ru.ru_minflt + ru.ru_majflt, ms_of(&ru.ru_utime), ms_of(&ru.ru_stime), ref ? "  " : "", ref ? ref : "");
}
static void refuse_line(const char *what, const char *msg, const char *fix)
{
	fputs("error: bpgate: ", stderr);
	rcv_put_safe(stderr, what);
	fputs(": ", stderr);
	rcv_put_safe(stderr, msg);
	fputs("\n", stderr);
	if (fix) {
		fputs("hint:   fix: ", stderr);
		rcv_put_safe(stderr, fix);
		fputs("\n", stderr);
	}
	fputs("error: bpgate: push refused (the gate fails closed); nothing was updated\n", stderr);
}

static void now_string(char out[32], time_t *now)
{
	const char *fixed = getenv("BPGATE_TIME"); /* reproducible tests; set by the server admin only */
	struct tm tm;
	*now = time(NULL);
	if (fixed && strlen(fixed) == 20) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(fixed, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		    &tm.tm_min, &tm.tm_sec) == 6) {
			tm.tm_year -= 1900;
			tm.tm_mon -= 1;
			*now = timegm(&tm);
		}
	}
	gmtime_r(now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *pusher_name(const rcv_config *cfg, const char **var)
{
	static const char *defaults[] = { "BPGATE_USER", "GL_USER", "REMOTE_USER" };
	if (cfg->user_var) {
		*var = cfg->user_var;
		return getenv(cfg->user_var);
	}
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(defaults[i]);
		*var = defaults[i];
		if (v && *v)
			return v;
	}
	*var = "BPGATE_USER, GL_USER or REMOTE_USER";
	return NULL;
}

static char *policy_ref_name(const rcv_config *cfg, git_repository *repo)
{
	git_reference *head = NULL;
	char *out = NULL;
	if (cfg->policy_ref)
		return strdup(cfg->policy_ref);
	if (git_reference_lookup(&head, repo, "HEAD") == 0 && git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		out = strdup(git_reference_symbolic_target(head));
	git_error_clear();
	git_reference_free(head);
	return out ? out : strdup("refs/heads/main");
}

/* Whether a commit's paths are worth working out: only the change-template rule
 * reads them, and only for a commit it could fault (bpgate/query.h). */
static bool commit_paths_wanted(const json_t *commit, const void *policy)
{
	return bpg_policy_template_incomplete(policy, commit);
}

/* Commit authors and committers are claimed e-mail addresses: map them to principals. */
static void map_people(json_t *facts, const rcv_config *cfg)
{
	static const char *who[] = { "author", "committer" };
	size_t i;
	json_t *c;
	if (!cfg->users)
		return;
	json_array_foreach(json_object_get(facts, "commits"), i, c)
		for (int k = 0; k < 2; k++) {
			json_t *pj = json_object_get(c, who[k]);
			const char *p = rcv_principal(cfg, json_string_value(json_object_get(pj, "email")));
			if (pj)
				json_object_set_new(pj, "principal", p ? json_string(p) : json_null());
		}
}

typedef struct {
	json_t *refs;      /* audit: per ref update */
	json_t *findings;  /* audit: every finding */
	json_t *records;   /* spool: release records */
	size_t blocking, infos;
} outcome;

static void print_finding(const bpg_finding *f, const char *fallback_ref)
{
	const char *lvl = f->blocking ? "error" : f->severity == BPG_SEV_INFO ? "note" : "warning";
	fprintf(stderr, "%s: ", lvl);
	rcv_put_safe(stderr, f->ref ? f->ref : fallback_ref);
	fprintf(stderr, " [%s] ", f->rule);
	rcv_put_safe(stderr, f->message);
	fputc('\n', stderr);
	if (f->commit || f->file) {
		fputs("hint:   at", stderr);
		if (f->commit) {
			fputs(" commit ", stderr);
			rcv_put_safe(stderr, f->commit);
		}
		if (f->file) {
			fputs(" file ", stderr);
			rcv_put_safe(stderr, f->file);
			if (f->pointer && *f->pointer) {
				fputc('#', stderr);
				rcv_put_safe(stderr, f->pointer);
			}
		}
		fputc('\n', stderr);
	}
	if (f->blocking && f->fix) {
		fputs("hint:   fix: ", stderr);
		rcv_put_safe(stderr, f->fix);
		fputc('\n', stderr);
	}
}

static const char *kind_of(const bpg_decision *d, const char *env, const rcv_update *u, const bpg_policy *p,
	const char **incident, const json_t *facts)
{
	*incident = NULL;
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		if (strcmp(f->rule, "rollback") == 0)
			return "rollback";
	}
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		if (strcmp(f->rule, "break-glass") == 0 && f->severity == BPG_SEV_INFO) {
			size_t k;
			json_t *o;
			json_array_foreach(json_object_get(facts, "push_options"), k, o)
				if (!*incident && strncmp(json_string_value(o), "bpgate.break-glass=", 19) == 0)
					*incident = json_string_value(o) + 19;
			return env ? "break-glass" : "update";
		}
	}
	if (!env || strncmp(u->name, "refs/heads/", 11) != 0)
		return "update";
	const json_t *e = json_object_get(json_object_get(bpg_policy_json(p), "environments"), env);
	return json_is_true(json_object_get(e, "protected")) ? "release" : "update";
}

static int judge_one(outcome *oc, const rcv_ctx *cx, const rcv_update *u, const char *now_s, json_t *opts_j,
	const bpg_gather_opts *gopts, bool last, bpg_error *err)
{
	const char *env = rcv_env_for_ref(cx->pol->policy, u->name);
	const char *const *opts = NULL;
	const char *ov[MAX_PUSH_OPTIONS];
	size_t nopts = json_array_size(opts_j);
	bpg_decision *d = NULL;
	bpg_facts_precheck *pc = NULL;
	json_t *facts = NULL;
	int rc;

	for (size_t i = 0; i < nopts; i++)
		ov[i] = json_string_value(json_array_get(opts_j, i));
	opts = ov;
	bpg_facts_opts fo = { "pre-receive", now_s, cx->cfg->repository, cx->pusher, env, opts, nopts };
	if ((rc = bpg_facts_new(&facts, &fo, err)) < 0)
		goto done;
	/* the repository's unique id: the server's config, else the policy's (approvals bind to it) */
	const char *rid = cx->cfg->repository_id ? cx->cfg->repository_id :
		json_string_value(json_object_get(bpg_policy_json(cx->pol->policy), "repository_id"));
	if (rid && json_object_set_new(facts, "repository_id", json_string(rid)) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if (strncmp(u->name, "refs/bpgate/", 12) == 0) {
		bool created = strspn(u->old_hex, "0") == 40, deleted = strspn(u->new_hex, "0") == 40;
		json_t *r = json_pack("{s:s, s:s, s:s, s:n, s:b, s:b, s:b}", "name", u->name, "old", u->old_hex,
			"new", u->new_hex, "environment", "fast_forward", 0, "deleted", deleted, "created", created);
		if (!r || json_array_append_new(json_object_get(facts, "refs"), r) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	} else if ((rc = bpg_gather_ref(facts, cx->repo, u->name, u->old_hex, u->new_hex, env, gopts, err)) < 0) {
		goto done;
	}
	bpg_test_point("gate-gathered"); /* test builds: where a test may kill the gate */
	times_mark("gathered", u->name);
	map_people(facts, cx->cfg); /* changes the commits: before their check starts */
	/* The commits and files are complete: their shape is checked on a thread while the
	 * server's facts are gathered here, which only add other members (extra, approvals):
	 * nothing may change "commits" or "files" from here to the judgement (policy.h). */
	if ((rc = bpg_facts_precheck_start(&pc, facts, err)) < 0 ||
	    (rc = rcv_server_facts(facts, cx, u, env, err)) < 0)
		goto done;
	times_mark("server facts", u->name);
	if (getenv("BPGATE_RECEIVE_DUMP_FACTS")) { /* debugging aid for administrators */
		char *s = bpg_json_dumps(facts, JSON_INDENT(1) | JSON_SORT_KEYS);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
	}
	if ((rc = bpg_evaluate_prechecked(&d, cx->pol->policy, facts, cx->cfg->budget, pc, err)) < 0)
		goto done;
	bpg_test_point("gate-evaluated");
	times_mark("judged", u->name);
	for (size_t i = 0; i < bpg_decision_finding_count(d); i++) {
		const bpg_finding *f = bpg_decision_finding(d, i);
		if (f->blocking)
			oc->blocking++;
		if (f->blocking || f->severity == BPG_SEV_WARNING || (f->severity == BPG_SEV_INFO &&
		    (strcmp(f->rule, "rollback") == 0 || strcmp(f->rule, "break-glass") == 0 ||
		     strcmp(f->rule, "change-window") == 0)))
			print_finding(f, u->name);
		if (!cx->cfg->audit_dir) /* the findings' JSON is for the audit entry only */
			continue;
		json_array_append_new(oc->findings, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b}", "rule", f->rule,
			"severity", bpg_severity_name(f->severity), "message", f->message, "ref", f->ref ? f->ref : u->name,
			"commit", f->commit, "file", f->file, "blocking", f->blocking));
	}
	const char *incident = NULL, *kind = kind_of(d, env, u, cx->pol->policy, &incident, facts);
	const json_t *server = json_object_get(json_object_get(facts, "extra"), "server");
	json_t *scen = rcv_scenarios(cx->pol->policy, facts);
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I, s:O?, s:o*}", "ref", u->name, "old", u->old_hex,
		"new", u->new_hex, "environment", env, "kind", kind, "commits",
		(json_int_t)json_array_size(json_object_get(facts, "commits")), "tree", json_object_get(server, "new_tree"),
		"scenarios", scen);
	if (!ref || json_array_append_new(oc->refs, ref) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	/* a record for every accepted update of an environment's branch: its tips are what
	 * may be promoted from it (source_trees); prod's "release" records are what may be
	 * rolled back to (released_trees) */
	if (strcmp(kind, "update") != 0 || (env && strspn(u->new_hex, "0") != 40)) {
		json_t *rec = json_deep_copy(ref);
		json_t *cert = json_object_get(server, "push_cert");
		if (!rec || json_object_set_new(rec, "pusher", json_string(cx->pusher)) < 0 ||
		    json_object_set_new(rec, "time", json_string(now_s)) < 0 ||
		    (incident && json_object_set_new(rec, "incident", json_string(incident)) < 0) ||
		    (json_is_object(cert) && json_object_set(rec, "push_cert", cert) < 0) ||
		    json_array_append_new(oc->records, rec) < 0) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	bpg_facts_precheck_free(pc); /* waits for its thread, on an error path too */
	/* the last update's facts live until the exit, which frees them at once */
	if (last && rc == 0 && bpg_heap_exit_frees_skippable())
		return rc;
	bpg_decision_free(d);
	json_decref(facts);
	return rc;
}

static int audit_append(const rcv_config *cfg, const json_t *entry, bpg_error *err)
{
	return rcv_audit_append(cfg, entry, err);
}

/*
 * After an accepted push: print the log's signed checkpoint, one line each
 * behind BPG_WITNESS_LINE_PREFIX, so that pushers can keep it
 * (`bpgate audit witness add`) and later catch a log rolled back behind it.
 * The push is already recorded: a failure here is only a warning.
 */
static void print_checkpoint(const rcv_config *cfg)
{
	bpg_buf note = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_error err;

	if (!cfg->audit_dir)
		return;
	/* The checkpoint file alone: opening the log would read every entry again. */
	if (bpg_buf_printf(&path, "%s/checkpoint", cfg->audit_dir) < 0 ||
	    bpg_file_read(&note, path.ptr, BPG_NOTE_MAX_BYTES, &err) < 0) {
		fprintf(stderr, "warning: bpgate: cannot read the audit checkpoint to print it\n");
		goto done;
	}
	fputs("bpgate: audit checkpoint (keep it: save this output and run `bpgate audit witness add FILE`):\n", stderr);
	for (size_t i = 0; i < note.size;) {
		const char *nl = memchr(note.ptr + i, '\n', note.size - i);
		size_t n = nl ? (size_t)(nl - note.ptr - i) : note.size - i;
		fprintf(stderr, BPG_WITNESS_LINE_PREFIX "%.*s\n", (int)n, note.ptr + i);
		i += n + 1;
	}
done:
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&path);
}

static json_t *text_json(const char *s)
{
	json_t *v = s ? json_string(s) : json_null();
	return v ? v : json_string("(not UTF-8)");
}

/* A push refused before it could be judged (malformed input, too many refs,
 * no readable policy, an unknown pusher, bad push options) is written to the
 * audit log too: the trail must hold every refusal, not only judged ones.
 * Refusals before the configuration is read cannot be: it names the log. */
static void refuse_early(const rcv_config *cfg, const char *now_s, const char *user, const char *principal,
	const rcv_updates *ups, const char *rule, const char *what, const char *msg, const char *fix)
{
	json_t *refs = json_array(), *entry = NULL;
	bpg_error err;

	refuse_line(what, msg, fix);
	for (size_t i = 0; refs && i < ups->n; i++)
		json_array_append_new(refs, json_pack("{s:o, s:s, s:s}", "name", text_json(ups->v[i].name),
			"old", ups->v[i].old_hex, "new", ups->v[i].new_hex));
	if (refs)
		entry = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:O, s:[{s:s, s:o}]}", "type", "bpgate-push",
			"time", now_s, "repository", cfg->repository, "user", text_json(user), "pusher",
			text_json(principal), "decision", "refuse", "stage", "before-judgement", "refs", refs,
			"findings", "rule", rule, "message", text_json(msg));
	if (!entry)
		fputs("error: bpgate: the refusal could not be written to the audit log: out of memory\n", stderr);
	else if (audit_append(cfg, entry, &err) < 0)
		fprintf(stderr, "error: bpgate: the refusal could not be written to the audit log: %s\n", err.message);
	json_decref(refs);
	json_decref(entry);
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

static int usage(FILE *out)
{
	fputs("usage: bpgate-receive [--user-var NAME] [--users FILE] [--policy-ref REF] [--repository NAME]\n"
		"                      [--audit-dir DIR --audit-key FILE] [--max-judge-seconds N]\n"
		"                      [--max-judge-memory SIZE] [--post-receive]\n"
		"       bpgate-receive --version | --help\n"
		"Install as the pre-receive hook (and, for release records, as post-receive): git runs it\n"
		"in the repository with the ref updates on stdin; exit 0 accepts the push, 1 refuses it,\n"
		"2 usage error (the push is refused too).\n\n"
		"options (each also a git config setting of the repository):\n"
		"  --user-var NAME        environment variable naming the pusher (bpgate.userVar;\n"
		"                         default BPGATE_USER, then GL_USER, REMOTE_USER)\n"
		"  --users FILE           maps that name to a principal (bpgate.users)\n"
		"  --policy-ref REF       the protected ref the policy is read from (bpgate.policyRef;\n"
		"                         default: the branch HEAD names)\n"
		"  --repository NAME      the repository name approvals are bound to (bpgate.repository)\n"
		"  --audit-dir DIR        the audit log (bpgate.auditDir)\n"
		"  --audit-key FILE       the audit log's signing key (bpgate.auditKey)\n"
		"  --max-judge-seconds N  refuse a push whose judging takes longer (bpgate.maxJudgeSeconds)\n"
		"  --max-judge-memory SIZE  refuse a push whose judging needs more (bpgate.maxJudgeMemory)\n"
		"  --post-receive         run as the post-receive hook (also when called as post-receive)\n"
		"  --version              print the version\n"
		"  -h, --help             this help\n"
		"Other settings: bpgate.repositoryId, bpgate.bootstrap (with bpgate.bootstrapPrincipal:\n"
		"who may create the policy branch). See bpgate-receive(8).\n", out);
	return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	git_repository *repo = NULL;
	rcv_config cfg;
	rcv_updates ups = { NULL, 0 };
	rcv_policy pol;
	bpg_tree keys_tree;
	bool have_keys = false;
	char now_s[32], *pref = NULL;
	const char *var, *name;
	json_t *opts_j = NULL, *entry = NULL;
	outcome oc = { NULL, NULL, NULL, 0, 0 };
	bpg_error err;
	time_t now;
	int exit_code = 1;
	bool post = false;

	times_begin();
	setlocale(LC_ALL, "C");
	memset(&cfg, 0, sizeof(cfg));
	memset(&pol, 0, sizeof(pol));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout);
		if (strcmp(argv[i], "--version") == 0) {
			printf("bpgate-receive %s\n", bpg_version());
			return 0;
		}
		post |= strcmp(argv[i], "--post-receive") == 0;
	}
	if (rcv_config_check_args(argc, argv, &err) < 0) {
		fprintf(stderr, "bpgate-receive: %s\n", err.message);
		return usage(stderr);
	}
	opts_j = json_array();
	oc.refs = json_array();
	oc.findings = json_array();
	oc.records = json_array();
	const char *base = strrchr(argv[0], '/');
	post |= strcmp(base ? base + 1 : argv[0], "post-receive") == 0;
	cli_libgit2_init(); /* no CA bundle: the gate never speaks HTTPS through libgit2 */
	/* git has already checked every pushed object (index-pack/unpack-objects) before the
	 * hook runs, so hashing each object again on every read is pure cost (a third of the
	 * gate's time on a 2,000-commit push). Trees are read once each by the gatherer, so
	 * libgit2's object cache keeps its default limits. */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	bpg_heap_tune_for_facts();
	bpg_json_heap_install(); /* the facts' values without malloc's headers (jsonheap.h) */
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_COMMON_DIR");
	if (!opts_j || !oc.refs || !oc.findings || !oc.records) {
		refuse_line("internal error", "out of memory", NULL);
		goto done;
	}
	if (git_repository_open_ext(&repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		refuse_line("cannot open the repository", bpg_git_message(),
			"run bpgate-receive as git's hook (GIT_DIR set)");
		goto done;
	}
	if (rcv_config_load(&cfg, repo, argc, argv, &err) < 0) {
		refuse_line("configuration", err.message, "see bpgate-receive --help");
		goto done;
	}
	now_string(now_s, &now);
	if (post) {
		name = pusher_name(&cfg, &var);
		pref = policy_ref_name(&cfg, repo);
		if (rcv_post_receive(repo, &cfg, rcv_principal(&cfg, name), now_s, pref, &err) < 0)
			fprintf(stderr, "warning: bpgate: post-receive: %s\n", err.message);
		exit_code = 0;
		goto done;
	}
	name = pusher_name(&cfg, &var);
	if (rcv_read_updates(&ups, stdin, &err) < 0) {
		refuse_early(&cfg, now_s, name, NULL, &ups, "input", "input", err.message, NULL);
		goto done;
	}
	if (rcv_check_old_values(repo, &ups, &err) < 0) { /* judge only what git can apply */
		refuse_early(&cfg, now_s, name, NULL, &ups, "old-value", "ref update", err.message,
			"fetch and push again: the server judges the update from the ref's real value");
		goto done;
	}
	if (!(pref = policy_ref_name(&cfg, repo))) {
		refuse_early(&cfg, now_s, name, NULL, &ups, "internal-error", "internal error", "out of memory", NULL);
		goto done;
	}
	if (rcv_policy_load(&pol, repo, pref, &err) < 0) {
		if (err.code == BPG_ENOTFOUND && cfg.bootstrap && name && *name) {
			if (rcv_bootstrap_check(&cfg, rcv_principal(&cfg, name), pref, &ups, &err) < 0 ||
			    rcv_bootstrap_repository_id(repo, &cfg, pref, &ups, &err) < 0 ||
			    rcv_bootstrap_policy_loads(repo, pref, &ups, &err) < 0) {
				refuse_early(&cfg, now_s, name, NULL, &ups, "bootstrap", "bootstrap", err.message,
					"the bootstrap principal pushes the policy branch first (bpgate.bootstrapPrincipal)");
				goto done;
			}
			json_t *e = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "type", "bpgate-push", "time", now_s,
				"repository", cfg.repository, "user", text_json(name), "decision", "accept-unjudged",
				"stage", "bootstrap", "message", err.message);
			if (!e || audit_append(&cfg, e, &err) < 0)
				refuse_line("audit log", e ? err.message : "out of memory",
					"the server cannot record the decision, so it refuses the push: tell the administrator");
			else {
				fprintf(stderr, "warning: bpgate: no policy yet; accepted WITHOUT judgement because "
					"bpgate.bootstrap is set: unset it once the policy is in place\n");
				exit_code = 0;
			}
			json_decref(e);
		} else {
			refuse_early(&cfg, now_s, name, NULL, &ups, "policy-unreadable", "the policy cannot be loaded",
				err.message, "fix .bpgate/ on the policy branch (bpgate policy check); the server never "
				"judges with the pushed policy");
		}
		goto done;
	}
	const char *principal = rcv_principal(&cfg, name);
	if (!principal || !bpg_policy_has_any_role(pol.policy, principal)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "unknown pusher '%s' (from %s): not mapped to a principal with a role in "
			".bpgate/policy.json", name ? name : "", var);
		refuse_early(&cfg, now_s, name, NULL, &ups, "unknown-pusher", "who is pushing", msg,
			"ask an admin to add you to the roles (and the server's user map)");
		goto done;
	}
	if (rcv_read_push_options(opts_j, env_lookup, &err) < 0) {
		refuse_early(&cfg, now_s, name, principal, &ups, "push-options", "push options", err.message, NULL);
		goto done;
	}
	if (bpg_tree_git(&keys_tree, repo, pol.tree, &err) < 0) {
		refuse_early(&cfg, now_s, name, principal, &ups, "internal-error", "internal error", err.message, NULL);
		goto done;
	}
	have_keys = true;
	bpg_gather_opts gopts;
	memset(&gopts, 0, sizeof(gopts));
	gopts.open_repository = bpg_gather_open_from_env; /* opened as the first handle */
	/* gather options from the trusted policy: the engine's answers (bpgate/query.h), all of them */
	gopts.nscan_globs = bpg_policy_scan_globs(&gopts.scan_globs, pol.policy);
	gopts.scan_ignore = pol.scan_ignore;
	gopts.nreleasers = bpg_policy_role_principals(&gopts.releasers, pol.policy,
		bpg_policy_bundle_signer_role(pol.policy));
	gopts.keys_tree = &keys_tree;
	gopts.signers = pol.signers; /* SSH-signed commits verified against the trusted allowed_signers */
	gopts.budget = cfg.budget;   /* bpgate.maxJudgeSeconds / bpgate.maxJudgeMemory */
	gopts.commit_paths_wanted = commit_paths_wanted;
	gopts.commit_paths_arg = pol.policy;
	gopts.no_blueprint_diff = !bpg_policy_reads_blueprint_diff(pol.policy);
	rcv_ctx cx = { repo, &cfg, &pol, now, principal, &ups };
	times_mark("policy loaded", NULL);
	for (size_t i = 0; i < ups.n; i++) {
		/* the last update's gathering leaves its second handle to the exit, as this
		 * process leaves the facts (judge_one) */
		gopts.exiting = i + 1 == ups.n && bpg_heap_exit_frees_skippable();
		if (judge_one(&oc, &cx, &ups.v[i], now_s, opts_j, &gopts, i + 1 == ups.n, &err) < 0) {
			char what[600];
			snprintf(what, sizeof(what), "cannot judge %s", ups.v[i].name);
			refuse_line(what, err.message, err.code == BPG_ETOOBIG ? "push it in smaller parts" : NULL);
			oc.blocking++;
			json_array_append_new(oc.findings, json_pack("{s:s, s:s, s:s}", "rule", "internal-error", "ref",
				ups.v[i].name, "message", err.message));
			break;
		}
	}
	/* Release records before the decision is recorded: a record that cannot be spooled
	 * (one for the same update exists) refuses the push, and the audit entry says so. */
	if (!oc.blocking && rcv_spool(&cfg, oc.records, &err) < 0) {
		refuse_line("release records", err.message, NULL);
		oc.blocking++;
		json_array_append_new(oc.findings, json_pack("{s:s, s:s, s:s}", "rule", "release-records", "message",
			err.message, "severity", "error"));
	}
	char pc[GIT_OID_HEXSZ + 1];
	git_oid_tostr(pc, sizeof(pc), &pol.commit);
	/* "judged": git applies the updates after this; post-receive confirms them (bpgate-applied) */
	entry = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:O}", "type", "bpgate-push",
		"time", now_s, "repository", cfg.repository, "pusher", principal, "decision",
		oc.blocking ? "refuse" : "accept", "stage", "judged", "policy_ref", pref, "policy_commit", pc,
		"push_options", opts_j, "refs", oc.refs, "findings", oc.findings);
	times_mark("decided", NULL);
	bpg_test_point("gate-before-audit");
	if (!entry || audit_append(&cfg, entry, &err) < 0) {
		refuse_line("audit log", entry ? err.message : "out of memory",
			"the server cannot record the decision, so it refuses the push: tell the administrator");
		if (!oc.blocking)
			rcv_spool_discard(&cfg, oc.records);
		goto done;
	}
	if (oc.blocking) {
		fprintf(stderr, "error: bpgate: push refused: %zu problem(s) in %zu ref update(s); nothing was updated\n",
			oc.blocking, ups.n);
		goto done;
	}
	bpg_test_point("gate-decided"); /* accepted and recorded, not yet told to git */
	times_mark("recorded", NULL);
	fprintf(stderr, "bpgate: accepted %zu ref update(s) from %s under policy %.12s (%s)\n", ups.n, principal, pc, pref);
	print_checkpoint(&cfg);
	exit_code = 0;
done:
	if (have_keys)
		bpg_tree_git_free(&keys_tree);
	json_decref(entry);
	json_decref(opts_j);
	json_decref(oc.refs);
	json_decref(oc.findings);
	json_decref(oc.records);
	rcv_policy_free(&pol);
	rcv_updates_free(&ups);
	rcv_config_free(&cfg);
	free(pref);
	/* the repository's caches (every commit and pack base read) go with the process
	 * (bpg_heap_exit_frees_skippable: not under a sanitizer, whose leak check must see them) */
	if (!bpg_heap_exit_frees_skippable()) {
		git_repository_free(repo);
		git_libgit2_shutdown();
	}
	return exit_code;
}
