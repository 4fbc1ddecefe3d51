/* Unit tests for bpgated's parsers: exec commands (git's sq_quote rules),
 * repository names, GIT_PROTOCOL values and the principals file. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "bpgated.h"

static void parse_ok(const char *line, bpgd_cmd_kind kind, const char *repo)
{
	bpgd_cmd cmd;
	bpg_error err;
	bpg_error_clear(&err);
	cr_assert_eq(bpgd_cmd_parse(&cmd, line, 1024, &err), 0, "%s: %s", line, err.message);
	cr_assert_eq(cmd.kind, kind, "%s", line);
	if (repo)
		cr_assert_str_eq(cmd.repo, repo);
	bpgd_cmd_release(&cmd);
}

static void parse_bad(const char *line, const char *msg)
{
	bpgd_cmd cmd;
	bpg_error err;
	bpg_error_clear(&err);
	cr_assert_lt(bpgd_cmd_parse(&cmd, line, 1024, &err), 0, "%s accepted", line);
	cr_assert(strstr(err.message, msg) != NULL, "%s: got '%s'", line, err.message);
}

Test(bpgated, git_commands_as_the_clients_send_them)
{
	parse_ok("git-receive-pack 'team/app.git'", BPGD_CMD_RECEIVE_PACK, "team/app");
	parse_ok("git-upload-pack '/app.git'", BPGD_CMD_UPLOAD_PACK, "app");
	parse_ok("git receive-pack 'app'", BPGD_CMD_RECEIVE_PACK, "app");
	parse_ok("git-upload-archive 'a-b_c.d'", BPGD_CMD_UPLOAD_ARCHIVE, "a-b_c.d");
}

Test(bpgated, sq_dequote_follows_git)
{
	bpg_buf out = BPG_BUF_INIT;
	bpg_error err;
	cr_assert_eq(bpgd_sq_dequote(&out, "'we'\\''ird'\\!'name.git'", &err), 0);
	cr_assert_str_eq(out.ptr, "we'ird!name.git");
	cr_assert_eq(bpgd_sq_dequote(&out, "'a b $x \\ c'", &err), 0);
	cr_assert_str_eq(out.ptr, "a b $x \\ c");
	cr_assert_lt(bpgd_sq_dequote(&out, "'a' 'b'", &err), 0);
	cr_assert_lt(bpgd_sq_dequote(&out, "'a'\\x'b'", &err), 0);
	cr_assert_lt(bpgd_sq_dequote(&out, "'a", &err), 0);
	cr_assert_lt(bpgd_sq_dequote(&out, "a", &err), 0);
	bpg_buf_dispose(&out);
}

Test(bpgated, hostile_commands_refused)
{
	parse_bad("git-upload-pack '../etc'", "invalid repository name");
	parse_bad("git-upload-pack 'a/../../b'", "invalid repository name");
	parse_bad("git-upload-pack 'a//b'", "invalid repository name");
	parse_bad("git-upload-pack '.hidden'", "invalid repository name");
	parse_bad("git-upload-pack 'a;rm -rf x'", "invalid repository name");
	parse_bad("git-upload-pack '~alice/x'", "'~user/' paths");
	parse_bad("git-upload-pack '--upload-pack=x'", "bad argument");
	parse_bad("git-upload-pack 'x' y", "after a closing quote");
	parse_bad("git-upload-pack x", "single-quoted");
	parse_bad("git-shell 'x'", "unknown command");
	parse_bad("git-receive-pack 'x.git.git'", "ends in .git.git");
	parse_bad("git-receive-pack 'a/b/c/d/e'", "deeper than 4");
	parse_bad("rm -rf /", "unknown command");
	parse_bad("whoami extra", "wrong number of arguments");
	parse_bad("", "empty command");
}

Test(bpgated, oversized_command)
{
	char line[2100];
	bpgd_cmd cmd;
	bpg_error err;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	cr_assert_eq(bpgd_cmd_parse(&cmd, line, 1024, &err), BPG_ETOOBIG);
	cr_assert_str_eq(err.message, "command longer than 1024 bytes");
}

Test(bpgated, own_commands)
{
	bpgd_cmd cmd;
	bpg_error err;
	parse_ok("whoami", BPGD_CMD_WHOAMI, NULL);
	parse_ok("repo create team/app", BPGD_CMD_REPO_CREATE, "team/app");
	parse_ok("approve app HEAD --for prod", BPGD_CMD_APPROVE, "app");
	parse_ok("audit verify app", BPGD_CMD_AUDIT_VERIFY, "app");
	cr_assert_eq(bpgd_cmd_parse(&cmd, "user add bob --admin ssh-ed25519 AAAA", 1024, &err), 0);
	cr_assert_eq(cmd.kind, BPGD_CMD_USER_ADD);
	cr_assert_eq(cmd.nargs, 4);
	cr_assert_str_eq(cmd.args[1], "--admin");
	bpgd_cmd_release(&cmd);
	parse_bad("repo create ../x", "invalid repository name");
}

Test(bpgated, git_protocol_values)
{
	cr_assert(bpgd_git_protocol_valid("version=2"));
	cr_assert(bpgd_git_protocol_valid("version=2:object-format=sha1"));
	cr_assert(!bpgd_git_protocol_valid(""));
	cr_assert(!bpgd_git_protocol_valid("version=2;rm"));
	cr_assert(!bpgd_git_protocol_valid("a::b"));
	cr_assert(!bpgd_git_protocol_valid("version=2 x"));
}

#define K1 "AAAAC3NzaC1lZDI1NTE5AAAAIOmW2YhvP0c5Bq6Bw7lS2eQn7N3p0ZrQhq9tUUaV4Ki3"
#define K2 "AAAAC3NzaC1lZDI1NTE5AAAAIHh0H7o3qEJkqYzGZHc3b2rG8lL3s6m3n1V0zA8cQmE5"

Test(bpgated, principals_file)
{
	const char *text = "# c\n\nalice admin ssh-ed25519 " K1 " laptop\nbob ssh-ed25519 " K2 "\n";
	bpgd_keys keys;
	bpg_error err;
	cr_assert_eq(bpgd_keys_parse(&keys, text, strlen(text), "keys", &err), 0, "%s", err.message);
	cr_assert_eq(keys.count, 2);
	cr_assert_str_eq(keys.ents[0].principal, "alice");
	cr_assert(keys.ents[0].admin);
	cr_assert_eq(keys.ents[0].line, 3);
	cr_assert(!keys.ents[1].admin);
	cr_assert_str_eq(bpgd_keys_find(&keys, K2)->principal, "bob");
	cr_assert_null(bpgd_keys_find(&keys, "AAAA"));
	bpgd_keys_release(&keys);
}

Test(bpgated, principals_file_errors_are_located)
{
	struct { const char *text, *msg; } cases[] = {
		{ "alice ssh-ed25519 " K1 "\nbob ssh-ed25519 " K1 "\n", "keys:2: this key is already listed on line 1" },
		{ "alice root ssh-ed25519 " K1 "\n", "keys:1: unknown key type or option 'root'" },
		{ "../x ssh-ed25519 " K1 "\n", "keys:1: invalid principal name" },
		{ "alice ssh-rsa " K1 "\n", "keys:1: the key is not valid base64 of a ssh-rsa public key" },
		{ "alice ssh-ed25519\n", "keys:1: expected '<principal>" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bpgd_keys keys;
		bpg_error err;
		cr_assert_lt(bpgd_keys_parse(&keys, cases[i].text, strlen(cases[i].text), "keys", &err), 0);
		cr_assert(strstr(err.message, cases[i].msg) == err.message, "case %zu: '%s'", i, err.message);
	}
}

/* ---- privilege separation: who may approve, and what the monitor signs ---- */

#include "bpgate/approval.h"
#include "bpgate/policy.h"
#include "bpgate/sshsig.h"
#include <stdlib.h>
#include <unistd.h>

static bpg_policy *regulated_pack(void)
{
	const char *src = getenv("BPG_SOURCE_ROOT");
	char dir[4096];
	bpg_policy *p = NULL;
	bpg_error err;
	cr_assert_not_null(src);
	snprintf(dir, sizeof(dir), "%s/policy/packs/regulated", src);
	cr_assert_eq(bpg_policy_load_dir(&p, dir, &err), 0, "%s", err.message);
	return p;
}

static void expect_may(const bpg_policy *p, const char *env, const char *who, bool want, const char *why_want)
{
	bpg_buf why = BPG_BUF_INIT;
	cr_assert_eq(bpg_policy_may_approve(p, env, who, &why), want, "%s for %s", who, env);
	cr_assert_str_eq(why.ptr ? why.ptr : "", why_want);
	bpg_buf_dispose(&why);
}

Test(bpgated, approving_roles_come_from_the_approval_rules)
{
	bpg_policy *p = regulated_pack();
	expect_may(p, "prod", "carol", true, "");  /* reviewers */
	expect_may(p, "prod", "frank", true, "");  /* cab, asked for high risk */
	expect_may(p, "prod", "grace", true, "");  /* admins: policy-change on a protected environment */
	expect_may(p, "stage", "grace", true, "");
	expect_may(p, "prod", "bob", false, "'bob' has no role whose approvals count for prod (roles: reviewers, cab, admins)");
	expect_may(p, "stage", "carol", false, "'carol' has no role whose approvals count for stage (roles: admins)");
	expect_may(p, "dev", "carol", false, "the policy counts no approvals for dev");
	expect_may(p, "qa", "carol", false, "the policy has no environment 'qa'");
	cr_assert_not(bpg_policy_may_approve(p, "prod", NULL, NULL));
	bpg_policy_free(p);
}

#define TREE "0123456789abcdef0123456789abcdef01234567"
#define COMMIT "89abcdef0123456789abcdef0123456789abcdef"

static bpgd_monitor *test_monitor(char *dir, size_t n, bpgd_config *cfg)
{
	bpgd_monitor *m = NULL;
	bpg_error err;
	snprintf(dir, n, "/tmp/bpgd-mon-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	memset(cfg, 0, sizeof(*cfg));
	cfg->approval_key = malloc(strlen(dir) + 32);
	sprintf(cfg->approval_key, "%s/approval_key", dir);
	cr_assert_eq(bpgd_monitor_new(&m, cfg, &err), 0, "%s", err.message);
	return m;
}

static void cleanup_monitor(bpgd_monitor *m, const char *dir, bpgd_config *cfg)
{
	char p[4200];
	bpgd_monitor_free(m);
	unlink(cfg->approval_key);
	snprintf(p, sizeof(p), "%s.pub", cfg->approval_key);
	unlink(p);
	rmdir(dir);
	free(cfg->approval_key);
}

Test(bpgated, monitor_signs_the_statement_it_builds_for_the_authenticated_principal)
{
	char dir[64], pubpath[4200];
	bpgd_config cfg;
	bpgd_monitor *m = test_monitor(dir, sizeof(dir), &cfg);
	bpg_buf reply = BPG_BUF_INIT, pubtext = BPG_BUF_INIT;
	bpg_approval a;
	bpg_ssh_pubkey pub;
	bpg_sshsig *sig = NULL;
	bpg_sshsig_reason reason;
	bpg_error err;
	size_t slen = 0, glen = 0;

	cr_assert_eq(bpgd_monitor_answer(m, "carol", "A team/app prod " TREE " " COMMIT, &reply), 0);
	cr_assert_eq(sscanf(reply.ptr, "S %zu %zu\n", &slen, &glen), 2);
	const char *body = strchr(reply.ptr, '\n') + 1;
	cr_assert_eq((size_t)(reply.ptr + reply.size - body), slen + glen);
	cr_assert_eq(bpg_approval_parse(&a, body, slen, &err), 0, "%s", err.message);
	cr_assert_str_eq(a.approver, "carol");
	cr_assert_str_eq(a.repository, "team/app");
	cr_assert_str_eq(a.environment, "prod");
	cr_assert_str_eq(a.tree, TREE);
	cr_assert_str_eq(a.commit, COMMIT);
	/* signed by the key whose .pub was written beside it */
	snprintf(pubpath, sizeof(pubpath), "%s.pub", cfg.approval_key);
	cr_assert_eq(bpg_file_read(&pubtext, pubpath, 16384, &err), 0);
	cr_assert_eq(bpg_ssh_pubkey_parse(&pub, NULL, pubtext.ptr, pubtext.size, &err), 0);
	cr_assert_eq(bpg_sshsig_parse(&sig, body + slen, glen, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_sshsig_check(&reason, sig, body, slen, BPG_APPROVAL_NAMESPACE, &err), 0);
	cr_assert_eq(reason, BPG_SSHSIG_OK);
	cr_assert(bpg_ssh_pubkey_equal(bpg_sshsig_pubkey(sig), &pub));
	bpg_sshsig_free(sig);
	bpg_buf_dispose(&pubtext);
	bpg_buf_dispose(&reply);
	cleanup_monitor(m, dir, &cfg);
}

Test(bpgated, monitor_refuses_anything_off_its_request_table)
{
	static const char *const bad[] = {
		"A team/app prod " TREE " " COMMIT " carol",        /* a fifth field: no principal of the session's choosing */
		"A team/app prod " TREE,                            /* too few */
		"A /team/app.git prod " TREE " " COMMIT,            /* not the normalised name */
		"A ../x prod " TREE " " COMMIT,
		"A team/app -prod " TREE " " COMMIT,
		"A team/app prod 0123456789ABCDEF0123456789abcdef01234567 " COMMIT,
		"A team/app prod " TREE " " COMMIT "0",
		"S anything",
		"A  team/app prod " TREE " " COMMIT,
	};
	char dir[64];
	bpgd_config cfg;
	bpgd_monitor *m = test_monitor(dir, sizeof(dir), &cfg);
	bpg_buf reply = BPG_BUF_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(bpgd_monitor_answer(m, "carol", bad[i], &reply), 1, "%s", bad[i]);
		cr_assert(reply.size > 2 && reply.ptr[0] == 'E' && reply.ptr[reply.size - 1] == '\n', "%s", bad[i]);
	}
	/* no principal claimed yet: nothing is signed */
	cr_assert_eq(bpgd_monitor_answer(m, "", "A team/app prod " TREE " " COMMIT, &reply), 1);
	cr_assert_str_eq(reply.ptr, "E not authenticated\n");
	cr_assert_eq(bpgd_monitor_answer(m, NULL, "A team/app prod " TREE " " COMMIT, &reply), 1);
	/* a session's copy of the monitor: the key is gone */
	cr_assert_eq(bpgd_monitor_session_setup(m), 0);
	cr_assert_eq(bpgd_monitor_answer(m, "carol", "A team/app prod " TREE " " COMMIT, &reply), 1);
	cr_assert_str_eq(reply.ptr, "E no approval key\n");
	bpg_buf_dispose(&reply);
	cleanup_monitor(m, dir, &cfg);
}

/* ---- unauthenticated connections: max_startups / per_source_max_startups ---- */

static bpgd_config startups_cfg(int begin, int rate, int full, int per_source)
{
	bpgd_config c;
	memset(&c, 0, sizeof(c));
	c.limits.startups_begin = begin;
	c.limits.startups_rate = rate;
	c.limits.startups_full = full;
	c.limits.per_source_max_startups = per_source;
	return c;
}

Test(bpgated, max_startups_parse)
{
	int ms[3];
	bpg_error err;
	cr_assert_eq(bpgd_max_startups_parse(ms, "10:30:60", &err), 0, "%s", err.message);
	cr_assert(ms[0] == 10 && ms[1] == 30 && ms[2] == 60);
	cr_assert_eq(bpgd_max_startups_parse(ms, "5:100:5", &err), 0, "%s", err.message);
	const char *bad[] = { "", "10", "10:30", "10:30:60:1", "a:30:60", "10:-1:60", "10:30:60x", "0:30:60",
		"61:30:60", "10:101:60", "10:30:10001", "10::60", " 10:30:60", "999999999999:1:2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(bpgd_max_startups_parse(ms, bad[i], &err), 0, "'%s' accepted", bad[i]);
	cr_assert_lt(bpgd_max_startups_parse(ms, "61:30:60", &err), 0);
	cr_assert(strstr(err.message, "1 <= start <= full <= 10000") != NULL, "%s", err.message);
}

Test(bpgated, startup_admission_per_source_then_full)
{
	bpgd_config c = startups_cfg(10, 30, 60, 8);
	cr_assert_eq(bpgd_startup_admit(&c, 0, 0, 0), BPGD_STARTUP_ACCEPT);
	cr_assert_eq(bpgd_startup_admit(&c, 7, 7, 0), BPGD_STARTUP_ACCEPT);
	cr_assert_eq(bpgd_startup_admit(&c, 8, 8, 99), BPGD_STARTUP_PER_SOURCE);
	cr_assert_eq(bpgd_startup_admit(&c, 9, 1, 0), BPGD_STARTUP_ACCEPT); /* below start: never dropped */
	cr_assert_eq(bpgd_startup_admit(&c, 60, 0, 99), BPGD_STARTUP_FULL);
	cr_assert_eq(bpgd_startup_admit(&c, 1000, 0, 99), BPGD_STARTUP_FULL);
}

Test(bpgated, startup_admission_random_early_drop)
{
	bpgd_config c = startups_cfg(10, 30, 60, 100);
	/* at start: dropped with probability 30% (rnd 0..29 drop, 30..99 pass) */
	cr_assert_eq(bpgd_startup_admit(&c, 10, 0, 29), BPGD_STARTUP_EARLY_DROP);
	cr_assert_eq(bpgd_startup_admit(&c, 10, 0, 30), BPGD_STARTUP_ACCEPT);
	/* half-way (35): 30 + 70 * 25 / 50 = 65% */
	cr_assert_eq(bpgd_startup_admit(&c, 35, 0, 64), BPGD_STARTUP_EARLY_DROP);
	cr_assert_eq(bpgd_startup_admit(&c, 35, 0, 65), BPGD_STARTUP_ACCEPT);
	/* just below full (59): 30 + 70 * 49 / 50 = 98% */
	cr_assert_eq(bpgd_startup_admit(&c, 59, 0, 97), BPGD_STARTUP_EARLY_DROP);
	cr_assert_eq(bpgd_startup_admit(&c, 59, 0, 98), BPGD_STARTUP_ACCEPT);
	/* rate 0: nothing dropped at start itself; rate 100: everything from start on */
	bpgd_config z = startups_cfg(4, 0, 8, 100), h = startups_cfg(4, 100, 8, 100);
	cr_assert_eq(bpgd_startup_admit(&z, 4, 0, 0), BPGD_STARTUP_ACCEPT);
	cr_assert_eq(bpgd_startup_admit(&h, 4, 0, 99), BPGD_STARTUP_EARLY_DROP);
	cr_assert_eq(bpgd_startup_admit(&h, 3, 0, 0), BPGD_STARTUP_ACCEPT);
	/* start == full: a hard limit */
	bpgd_config e = startups_cfg(5, 30, 5, 100);
	cr_assert_eq(bpgd_startup_admit(&e, 4, 0, 0), BPGD_STARTUP_ACCEPT);
	cr_assert_eq(bpgd_startup_admit(&e, 5, 0, 99), BPGD_STARTUP_FULL);
}

Test(bpgated, startup_sources)
{
	struct sockaddr_storage a, b;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a, *b4 = (struct sockaddr_in *)&b;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a, *b6 = (struct sockaddr_in6 *)&b;
	bpgd_source x, y;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a4->sin_family = b4->sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
	inet_pton(AF_INET, "127.0.0.2", &b4->sin_addr);
	a4->sin_port = 1;
	bpgd_source_key(&x, &a);
	bpgd_source_key(&y, &b);
	cr_assert(!bpgd_source_same(&x, &y), "127.0.0.1 and 127.0.0.2 are two sources");
	inet_pton(AF_INET, "127.0.0.1", &b4->sin_addr);
	b4->sin_port = 2;
	bpgd_source_key(&y, &b);
	cr_assert(bpgd_source_same(&x, &y), "the port does not make another source");
	/* IPv6: one /64 is one source; a v4-mapped address is its IPv4 source */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a6->sin6_family = b6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &a6->sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &b6->sin6_addr);
	bpgd_source_key(&x, &a);
	bpgd_source_key(&y, &b);
	cr_assert(bpgd_source_same(&x, &y));
	inet_pton(AF_INET6, "2001:db8:1:3::1", &b6->sin6_addr);
	bpgd_source_key(&y, &b);
	cr_assert(!bpgd_source_same(&x, &y));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &b6->sin6_addr);
	bpgd_source_key(&y, &b);
	memset(&a, 0, sizeof(a));
	a4->sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
	bpgd_source_key(&x, &a);
	cr_assert(bpgd_source_same(&x, &y));
}

/* The hook scripts bpgated writes at start: whatever single allocation fails,
 * each script on disk is either absent or exactly right, never missing a word
 * (it once dropped the failed writes and wrote e.g. a post-receive hook that
 * ran the gate as pre-receive, or one without its audit log). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "bpgate/buf.h"
#include "bpgate/testhook.h"

static void script_is(const char *dir, const char *name, const char *want)
{
	char p[512];
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (access(p, F_OK) != 0)
		return; /* not written: fine after a failure */
	cr_assert_eq(bpg_file_read(&b, p, 1 << 16, &err), 0, "%s", err.message);
	cr_assert_str_eq(b.ptr ? b.ptr : "", want, "%s", name);
	bpg_buf_dispose(&b);
}

Test(bpgated, hook_scripts_whole_or_not_at_all)
{
	char dir[] = "/tmp/bpgd-hooks-XXXXXX", pre[600], post[600];
	bpgd_config cfg;
	bpg_error err;
	long n, ok_runs = 0;
	const char *head = "#!/bin/sh\n# written by bpgated at start: the gate with the daemon's settings\nexec '/opt/bpgate/bpgate-receive'";
	const char *tail = " --audit-dir '/var/lib/bpgated/audit' --audit-key '/etc/bpgated/audit.skey' \"$@\"\n";

	cr_assert_not_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.hooks_dir = dir;
	cfg.post_receive = true;
	cfg.pre_receive_hook = (char *)"/opt/bpgate/bpgate-receive";
	cfg.audit_log = (char *)"/var/lib/bpgated/audit";
	cfg.server_signing_key = (char *)"/etc/bpgated/audit.skey";
	snprintf(pre, sizeof(pre), "%s%s", head, tail);
	snprintf(post, sizeof(post), "%s --post-receive%s", head, tail);
	cr_assert_eq(bpg_test_alloc_fail_at(1L << 40, -1), 0, "a build with tests has the allocation hook");
	cr_assert_eq(bpgd_hooks_install(&cfg, &err), 0, "%s", err.message);
	long total = bpg_test_alloc_count();
	bpg_test_alloc_fail_at(-1, 0);
	script_is(dir, "pre-receive", pre);
	script_is(dir, "post-receive", post);
	cr_assert_gt(total, 2, "the scripts are built in bpg_bufs (%ld allocations)", total);
	for (n = 0; n <= total; n++) {
		char p[600];
		snprintf(p, sizeof(p), "%s/pre-receive", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/post-receive", dir);
		unlink(p);
		bpg_error_clear(&err);
		bpg_test_alloc_fail_at(n, 1);
		int rc = bpgd_hooks_install(&cfg, &err);
		bpg_test_alloc_fail_at(-1, 0);
		if (rc < 0)
			cr_assert(strstr(err.message, "out of memory"), "allocation %ld: %s", n, err.message);
		else
			ok_runs++;
		script_is(dir, "pre-receive", pre);
		script_is(dir, "post-receive", post);
		if (rc == 0) {
			cr_assert_eq(access(p, F_OK), 0, "allocation %ld: success without post-receive", n);
		}
	}
	cr_assert_geq(ok_runs, 1);
	for (int i = 0; i < 2; i++) {
		char p[600];
		snprintf(p, sizeof(p), "%s/%s", dir, i ? "post-receive" : "pre-receive");
		unlink(p);
	}
	cr_assert_eq(rmdir(dir), 0);
}

/* Without an audit log the gate needs no arguments: pre-receive is a link to
 * it (no shell per push); "post_receive": false removes a post-receive left by
 * an earlier start. */
Test(bpgated, hooks_link_the_gate_and_post_receive_is_optional)
{
	char dir[] = "/tmp/bpgd-hooks-XXXXXX", p[600], target[600];
	bpgd_config cfg;
	bpg_error err;
	ssize_t n;

	cr_assert_not_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.hooks_dir = dir;
	cfg.pre_receive_hook = (char *)"/opt/bpgate/bpgate-receive";
	cfg.post_receive = true;
	cr_assert_eq(bpgd_hooks_install(&cfg, &err), 0, "%s", err.message);
	snprintf(p, sizeof(p), "%s/pre-receive", dir);
	n = readlink(p, target, sizeof(target) - 1);
	cr_assert_gt(n, 0, "pre-receive is a symbolic link");
	target[n] = '\0';
	cr_assert_str_eq(target, "/opt/bpgate/bpgate-receive");
	script_is(dir, "post-receive", "#!/bin/sh\n# written by bpgated at start: the gate with the daemon's settings\n"
		"exec '/opt/bpgate/bpgate-receive' --post-receive \"$@\"\n");
	cfg.post_receive = false;
	cr_assert_eq(bpgd_hooks_install(&cfg, &err), 0, "%s", err.message);
	snprintf(p, sizeof(p), "%s/post-receive", dir);
	cr_assert_neq(access(p, F_OK), 0, "post_receive false: no post-receive");
	cr_assert_eq(bpgd_hooks_install(&cfg, &err), 0, "a second start without one: %s", err.message);
	snprintf(p, sizeof(p), "%s/pre-receive", dir);
	unlink(p);
	cr_assert_eq(rmdir(dir), 0, "nothing else left in the hooks directory");
}
