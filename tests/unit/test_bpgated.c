/* Unit tests for bpgated's parsers: exec commands (git's sq_quote rules),
 * repository names, GIT_PROTOCOL values and the principals file. */
#include <criterion/criterion.h>
#include <string.h>

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
