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
