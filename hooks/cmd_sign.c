/*
 * `bpgate keygen`, `sign`, `verify` (minisign-compatible) and `bundle`
 * (create, sign, verify release bundles). Flags follow minisign's.
 * Passphrases come from the terminal or --passphrase-fd N, never argv.
 */
#include "cli.h"
#include "bpgate/bundle.h"
#include "bpgate/sign.h"
#include "bpgate/sshagent.h"
#include "bpgate/sshkey.h"
#include "bpgate/util.h"

#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { OPT_PASSFD = 1000, OPT_ENV, OPT_OUT, OPT_PATTERN, OPT_CREATOR };

#define SSH_ARMOR "-----BEGIN OPENSSH PRIVATE KEY-----"

static int fail(const char *cmd, const bpg_error *err)
{
	cli_report_error(cmd, err);
	return err->code == BPG_EVERIFY ? BPG_EXIT_FINDINGS : BPG_EXIT_ERROR;
}

static int parse_fd(int *out, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > 65535) {
		fprintf(stderr, "bpgate: --passphrase-fd expects a file descriptor number, got '%s'\n", s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int get_pass(char **out, const char *key_path, void *payload, bpg_error *err)
{
	int fd = *(int *)payload;
	char prompt[512];

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", key_path);
	return bpg_passphrase_read(out, fd, prompt, false, err);
}

static bool file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- secret keys: minisign files, or OpenSSH ed25519 keys -------------- */

/* A passphrase-protected OpenSSH key signs through ssh-agent (bpgate does
 * not decrypt OpenSSH keys): the agent is asked only when a signature is
 * needed, so `keygen -R` works from the key file alone. */
typedef struct {
	const char *path;
	bpg_ssh_pubkey pub;
	bpg_ssh_agent *agent;
} agent_signer;

typedef struct {
	bpg_minisign_seckey *key;
	bpg_ssh_seckey *ssh;   /* the signer behind key when it is an OpenSSH key */
	agent_signer *agent;   /* ... or when it is one behind a passphrase */
} loaded_key;

static int ssh_sign_fn(unsigned char sig[64], const void *msg, size_t len, void *payload, bpg_error *err)
{
	return bpg_ssh_seckey_sign_raw(sig, payload, msg, len, err);
}

static int agent_sign_fn(unsigned char sig[64], const void *msg, size_t len, void *payload, bpg_error *err)
{
	agent_signer *s = payload;
	bool has = false;
	int rc;

	if (!s->agent) {
		if ((rc = bpg_ssh_agent_open(&s->agent, NULL, err)) < 0 ||
		    (rc = bpg_ssh_agent_has(&has, s->agent, &s->pub, err)) < 0) {
			bpg_error_prefix(err, "%s is passphrase-protected, so bpgate signs with it through ssh-agent: ",
				s->path);
			goto fail;
		}
		if (!has) {
			rc = bpg_error_set(err, BPG_ENOTFOUND, "%s is passphrase-protected and ssh-agent does not "
				"hold it: run `ssh-add %s`, then sign again", s->path, s->path);
			goto fail;
		}
	}
	return bpg_ssh_agent_sign_raw(sig, s->agent, &s->pub, msg, len, err);
fail: /* ask again from the start next time */
	bpg_ssh_agent_free(s->agent);
	s->agent = NULL;
	return rc;
}

static void loaded_key_dispose(loaded_key *k)
{
	bpg_minisign_seckey_free(k->key);
	bpg_ssh_seckey_free(k->ssh);
	if (k->agent)
		bpg_ssh_agent_free(k->agent->agent);
	free(k->agent);
	k->key = NULL;
	k->ssh = NULL;
	k->agent = NULL;
}

static int load_seckey(loaded_key *out, const char *path, int passfd, bpg_error *err)
{
	unsigned char keynum[8];
	char head[sizeof(SSH_ARMOR)] = "";
	bpg_buf text = BPG_BUF_INIT;
	FILE *f;
	int rc;

	out->key = NULL;
	out->ssh = NULL;
	out->agent = NULL;
	if ((rc = bpg_seckey_file_check_mode(path, err)) < 0)
		return rc;
	if ((f = fopen(path, "rb"))) {
		size_t n = fread(head, 1, sizeof(head) - 1, f);
		head[n] = '\0';
		fclose(f);
	}
	if (strcmp(head, SSH_ARMOR) != 0)
		return bpg_minisign_seckey_load(&out->key, path, get_pass, &passfd, err);
	/* An OpenSSH key: signatures are made by it (or by ssh-agent, for one
	 * behind a passphrase), the key id is derived from its public key. The
	 * loader keeps a plain key in guarded memory; only when it turns the key
	 * down is the file read again as text, to see whether it is encrypted
	 * (then nothing in it is secret in the clear). */
	if ((rc = bpg_ssh_seckey_load(&out->ssh, path, err)) == 0) {
		bpg_minisign_keynum_for(keynum, bpg_ssh_seckey_pubkey(out->ssh)->pk);
		return bpg_minisign_seckey_external(&out->key, keynum, bpg_ssh_seckey_pubkey(out->ssh)->pk,
			ssh_sign_fn, out->ssh, err);
	}
	if (bpg_file_read(&text, path, BPG_SSH_KEYFILE_MAX, NULL) == 0 &&
	    bpg_ssh_seckey_is_encrypted(text.ptr, text.size)) {
		if (!(out->agent = calloc(1, sizeof(*out->agent)))) {
			rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
			goto done;
		}
		out->agent->path = path;
		if ((rc = bpg_ssh_seckey_public(&out->agent->pub, text.ptr, text.size, path, err)) < 0)
			goto done;
		bpg_minisign_keynum_for(keynum, out->agent->pub.pk);
		rc = bpg_minisign_seckey_external(&out->key, keynum, out->agent->pub.pk, agent_sign_fn, out->agent, err);
	}
done:
	bpg_buf_dispose(&text);
	return rc;
}

/* A public key: minisign file, -P string, or an OpenSSH "ssh-ed25519 AAAA..." line. */
static int load_pubkey(bpg_minisign_pubkey *out, const char *path, const char *b64, bpg_error *err)
{
	bpg_buf buf = BPG_BUF_INIT;
	bpg_ssh_pubkey ssh;
	int rc;

	if (b64)
		return bpg_minisign_pubkey_parse(out, b64, strlen(b64), "-P", err);
	if ((rc = bpg_file_read(&buf, path, BPG_MINISIGN_FILE_MAX, err)) < 0)
		goto done;
	if (buf.size > 12 && memcmp(buf.ptr, "ssh-ed25519 ", 12) == 0) {
		if ((rc = bpg_ssh_pubkey_parse(&ssh, NULL, buf.ptr, buf.size, err)) == 0) {
			memcpy(out->pk, ssh.pk, 32);
			bpg_minisign_keynum_for(out->keynum, ssh.pk);
		}
		goto done;
	}
	rc = bpg_minisign_pubkey_parse(out, buf.ptr ? buf.ptr : "", buf.size, path, err);
done:
	bpg_buf_dispose(&buf);
	return rc;
}

static int write_pubkey(const char *path, const bpg_minisign_pubkey *pk, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	int rc;

	if (bpg_minisign_pubkey_format(&text, pk) < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
	else
		rc = bpg_file_write_atomic(path, text.ptr, text.size, 0644, err);
	bpg_buf_dispose(&text);
	return rc;
}

/* ---- keygen ----------------------------------------------------------- */

#define KEYGEN_USAGE "bpgate keygen [-W] [-f] [-c COMMENT] [--passphrase-fd N] -p PUBKEY -s SECKEY\n" \
	"       bpgate keygen -R -s SECKEY -p PUBKEY   (recreate the public key; SECKEY may be an OpenSSH ed25519 key)"

int cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-fd", required_argument, NULL, OPT_PASSFD }, { NULL, 0, NULL, 0 } };
	const char *pub = NULL, *sec = NULL, *comment = NULL;
	bool nopass = false, force = false, recreate = false;
	int c, passfd = -1, rc = BPG_EXIT_OK;
	loaded_key k = { NULL, NULL, NULL };
	bpg_minisign_pubkey pk;
	char *pass = NULL;
	char id[BPG_MINISIGN_KEYID_SIZE];
	bpg_error err = { 0, "" };

	optind = 0;
	while ((c = getopt_long(argc, argv, "+Wfp:s:c:Rh", longopts, NULL)) != -1) {
		switch (c) {
		case 'W': nopass = true; break;
		case 'f': force = true; break;
		case 'R': recreate = true; break;
		case 'p': pub = optarg; break;
		case 's': sec = optarg; break;
		case 'c': comment = optarg; break;
		case OPT_PASSFD: if (parse_fd(&passfd, optarg) < 0) return BPG_EXIT_ERROR; break;
		default: return cli_usage(KEYGEN_USAGE);
		}
	}
	if (!pub || !sec || optind != argc)
		return cli_usage(KEYGEN_USAGE);
	if (recreate) {
		if (load_seckey(&k, sec, passfd, &err) < 0 || (bpg_minisign_seckey_pubkey(&pk, k.key),
			    write_pubkey(pub, &pk, &err)) < 0) {
			rc = fail("keygen", &err);
			goto done;
		}
		goto report;
	}
	if (!force && (file_exists(pub) || file_exists(sec))) {
		fprintf(stderr, "bpgate keygen: %s or %s already exists; use -f to overwrite it\n", pub, sec);
		return BPG_EXIT_ERROR;
	}
	if (!nopass && bpg_passphrase_read(&pass, passfd, "Passphrase for the new key: ", true, &err) < 0) {
		rc = fail("keygen", &err);
		goto done;
	}
	if (bpg_minisign_seckey_generate(&k.key, &err) < 0 ||
	    bpg_minisign_seckey_write(sec, k.key, pass, NULL, comment, &err) < 0) {
		rc = fail("keygen", &err);
		goto done;
	}
	bpg_minisign_seckey_pubkey(&pk, k.key);
	if (write_pubkey(pub, &pk, &err) < 0) {
		rc = fail("keygen", &err);
		goto done;
	}
	printf("The secret key was saved as %s%s\n", sec, nopass ? " (not encrypted)" : "");
report:
	bpg_minisign_keyid(id, pk.keynum);
	printf("The public key (key id %s) was saved as %s\n", id, pub);
	{
		char b64[BPG_MINISIGN_PUBKEY_B64_SIZE];
		bpg_minisign_pubkey_base64(b64, &pk);
		printf("Files signed with it can be verified with:\n  minisign -Vm <file> -P %s\n", b64);
	}
done:
	bpg_passphrase_free(pass);
	loaded_key_dispose(&k);
	return rc;
}

/* ---- sign ------------------------------------------------------------- */

#define SIGN_USAGE "bpgate sign [-l] [-x SIGFILE] [-t TRUSTED_COMMENT] [-c UNTRUSTED_COMMENT] " \
	"[--passphrase-fd N] -s SECKEY -m FILE"

static int sign_to(const char *sigpath, const loaded_key *k, const char *file, const bpg_minisign_sign_opts *o,
	bpg_error *err)
{
	bpg_buf out = BPG_BUF_INIT;
	int rc;

	if ((rc = bpg_minisign_sign_file(&out, k->key, file, o, err)) == 0)
		rc = bpg_file_write_atomic(sigpath, out.ptr, out.size, 0644, err);
	bpg_buf_dispose(&out);
	return rc;
}

int cmd_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-fd", required_argument, NULL, OPT_PASSFD }, { NULL, 0, NULL, 0 } };
	bpg_minisign_sign_opts o = BPG_MINISIGN_SIGN_OPTS_INIT;
	const char *sec = NULL, *file = NULL, *sigpath = NULL;
	bpg_buf defsig = BPG_BUF_INIT;
	loaded_key k = { NULL, NULL, NULL };
	bpg_error err = { 0, "" };
	int c, passfd = -1, rc = BPG_EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+s:m:x:t:c:lWh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': sec = optarg; break;
		case 'm': file = optarg; break;
		case 'x': sigpath = optarg; break;
		case 't': o.trusted_comment = optarg; break;
		case 'c': o.untrusted_comment = optarg; break;
		case 'l': o.legacy = true; break;
		case 'W': break; /* minisign's "key is not encrypted" hint: we detect it */
		case OPT_PASSFD: if (parse_fd(&passfd, optarg) < 0) return BPG_EXIT_ERROR; break;
		default: return cli_usage(SIGN_USAGE);
		}
	}
	if (!sec || !file || optind != argc)
		return cli_usage(SIGN_USAGE);
	if (!sigpath) {
		if (bpg_buf_printf(&defsig, "%s.minisig", file) < 0) {
			bpg_error_set(&err, BPG_ENOMEM, "out of memory");
			return fail("sign", &err);
		}
		sigpath = defsig.ptr;
	}
	if (load_seckey(&k, sec, passfd, &err) < 0 || sign_to(sigpath, &k, file, &o, &err) < 0)
		rc = fail("sign", &err);
	loaded_key_dispose(&k);
	bpg_buf_dispose(&defsig);
	return rc;
}

/* ---- verify ----------------------------------------------------------- */

#define VERIFY_USAGE "bpgate verify [-H] [-q|-Q] [-x SIGFILE] (-p PUBKEY_FILE | -P PUBKEY) -m FILE"

int cmd_verify(int argc, char **argv)
{
	const char *pub = NULL, *pubstr = NULL, *file = NULL, *sigpath = NULL;
	bool quiet = false, tc_only = false;
	unsigned flags = 0;
	bpg_buf defsig = BPG_BUF_INIT, sigtext = BPG_BUF_INIT;
	bpg_minisign_sig *sig = NULL;
	bpg_minisign_pubkey pk;
	bpg_error err = { 0, "" };
	int c, rc = BPG_EXIT_OK;

	optind = 0;
	while ((c = getopt(argc, argv, "+p:P:m:x:HqQh")) != -1) {
		switch (c) {
		case 'p': pub = optarg; break;
		case 'P': pubstr = optarg; break;
		case 'm': file = optarg; break;
		case 'x': sigpath = optarg; break;
		case 'H': flags |= BPG_MINISIGN_REQUIRE_PREHASH; break;
		case 'q': quiet = true; break;
		case 'Q': tc_only = true; break;
		default: return cli_usage(VERIFY_USAGE);
		}
	}
	if ((!pub == !pubstr) || !file || optind != argc)
		return cli_usage(VERIFY_USAGE);
	if (!sigpath) {
		if (bpg_buf_printf(&defsig, "%s.minisig", file) < 0) {
			bpg_error_set(&err, BPG_ENOMEM, "out of memory");
			return fail("verify", &err);
		}
		sigpath = defsig.ptr;
	}
	if (load_pubkey(&pk, pub, pubstr, &err) < 0 ||
	    bpg_file_read(&sigtext, sigpath, BPG_MINISIGN_FILE_MAX, &err) < 0 ||
	    bpg_minisign_sig_parse(&sig, sigtext.ptr ? sigtext.ptr : "", sigtext.size, sigpath, &err) < 0) {
		rc = fail("verify", &err);
		goto done;
	}
	if (bpg_minisign_sig_verify_file(sig, &pk, file, flags, &err) < 0) {
		rc = fail("verify", &err);
		goto done;
	}
	if (tc_only)
		printf("%s\n", bpg_minisign_sig_trusted_comment(sig));
	else if (!quiet)
		printf("Signature and comment signature verified\nTrusted comment: %s\n",
			bpg_minisign_sig_trusted_comment(sig));
done:
	bpg_minisign_sig_free(sig);
	bpg_buf_dispose(&sigtext);
	bpg_buf_dispose(&defsig);
	return rc;
}

/* ---- bundle ----------------------------------------------------------- */

#define BUNDLE_USAGE \
	"bpgate bundle create --env ENV --out MANIFEST [--pattern GLOB]... [--creator TEXT] FILE...\n" \
	"       bpgate bundle sign [-t TRUSTED_COMMENT] [--passphrase-fd N] -s SECKEY MANIFEST\n" \
	"       bpgate bundle verify (-p PUBKEY_FILE | -P PUBKEY) MANIFEST"

static int bundle_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "env", required_argument, NULL, OPT_ENV }, { "out", required_argument, NULL, OPT_OUT },
		{ "pattern", required_argument, NULL, OPT_PATTERN },
		{ "creator", required_argument, NULL, OPT_CREATOR }, { NULL, 0, NULL, 0 } };
	bpg_bundle_create_opts o = BPG_BUNDLE_CREATE_OPTS_INIT;
	const char **patterns = calloc((size_t)argc + 1, sizeof(char *));
	const char *out = NULL;
	bpg_bundle *b = NULL;
	bpg_buf text = BPG_BUF_INIT;
	bpg_error err = { 0, "" };
	int c, rc = BPG_EXIT_OK;

	if (!patterns)
		return BPG_EXIT_ERROR;
	o.patterns = patterns;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ENV: o.environment = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_PATTERN: patterns[o.npatterns++] = optarg; break;
		case OPT_CREATOR: o.creator = optarg; break;
		default: rc = cli_usage(BUNDLE_USAGE); goto done;
		}
	}
	if (!o.environment || !out || optind >= argc) {
		rc = cli_usage(BUNDLE_USAGE);
		goto done;
	}
	if (o.npatterns == 0)
		o.patterns = NULL;
	if (bpg_bundle_create(&b, out, (const char *const *)argv + optind, (size_t)(argc - optind), &o, &err) < 0 ||
	    bpg_bundle_serialize(&text, b, &err) < 0 ||
	    bpg_file_write_atomic(out, text.ptr, text.size, 0644, &err) < 0) {
		rc = fail("bundle create", &err);
		goto done;
	}
	printf("%s: %zu files, %zu scenarios, environment %s, commit %s\n", out, bpg_bundle_file_count(b),
		bpg_bundle_scenario_count(b), bpg_bundle_environment(b),
		bpg_bundle_source_commit(b) ? bpg_bundle_source_commit(b) : "(none)");
done:
	bpg_buf_dispose(&text);
	bpg_bundle_free(b);
	free(patterns);
	return rc;
}

static int bundle_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-fd", required_argument, NULL, OPT_PASSFD }, { NULL, 0, NULL, 0 } };
	bpg_minisign_sign_opts so = BPG_MINISIGN_SIGN_OPTS_INIT;
	const char *sec = NULL, *manifest;
	bpg_buf text = BPG_BUF_INIT, sigpath = BPG_BUF_INIT, tc = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	loaded_key k = { NULL, NULL, NULL };
	bpg_bundle *b = NULL;
	bpg_error err = { 0, "" };
	int c, passfd = -1, rc = BPG_EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+s:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': sec = optarg; break;
		case 't': so.trusted_comment = optarg; break;
		case OPT_PASSFD: if (parse_fd(&passfd, optarg) < 0) return BPG_EXIT_ERROR; break;
		default: return cli_usage(BUNDLE_USAGE);
		}
	}
	if (!sec || optind != argc - 1)
		return cli_usage(BUNDLE_USAGE);
	manifest = argv[optind];
	/* Sign only what parses as a manifest; say what is signed in the trusted comment. */
	if (bpg_file_read(&text, manifest, BPG_BUNDLE_MAX_BYTES, &err) < 0 ||
	    bpg_bundle_parse(&b, text.ptr ? text.ptr : "", text.size, manifest, &err) < 0 ||
	    load_seckey(&k, sec, passfd, &err) < 0) {
		rc = fail("bundle sign", &err);
		goto done;
	}
	int trc = 0;
	if (!so.trusted_comment) {
		const char *base = strrchr(manifest, '/');
		trc = bpg_buf_printf(&tc, "timestamp:%lld\tfile:%s\thashed\tenvironment:%s\tcommit:%s",
			(long long)time(NULL), base ? base + 1 : manifest, bpg_bundle_environment(b),
			bpg_bundle_source_commit(b) ? bpg_bundle_source_commit(b) : "none");
		so.trusted_comment = tc.ptr;
	}
	if (trc < 0 || bpg_buf_printf(&sigpath, "%s.minisig", manifest) < 0) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		rc = fail("bundle sign", &err);
		goto done;
	}
	if (bpg_minisign_sign(&sig, k.key, text.ptr, text.size, &so, &err) < 0 ||
	    bpg_file_write_atomic(sigpath.ptr, sig.ptr, sig.size, 0644, &err) < 0) {
		rc = fail("bundle sign", &err);
		goto done;
	}
	printf("%s: signed\n", sigpath.ptr);
done:
	loaded_key_dispose(&k);
	bpg_bundle_free(b);
	bpg_buf_dispose(&text);
	bpg_buf_dispose(&sigpath);
	bpg_buf_dispose(&tc);
	bpg_buf_dispose(&sig);
	return rc;
}

static int bundle_verify(int argc, char **argv)
{
	const char *pub = NULL, *pubstr = NULL, *manifest, *slash;
	bpg_buf text = BPG_BUF_INIT, sigpath = BPG_BUF_INIT, sig = BPG_BUF_INIT, dir = BPG_BUF_INIT;
	bpg_bundle_result *res = NULL;
	bpg_releaser rel = { NULL, { { 0 }, { 0 } } };
	bpg_error err = { 0, "" };
	char id[BPG_MINISIGN_KEYID_SIZE];
	bool have_sig;
	bpg_tree tree;
	int c, rc = BPG_EXIT_OK;

	optind = 0;
	while ((c = getopt(argc, argv, "+p:P:h")) != -1) {
		switch (c) {
		case 'p': pub = optarg; break;
		case 'P': pubstr = optarg; break;
		default: return cli_usage(BUNDLE_USAGE);
		}
	}
	if (!pub == !pubstr || optind != argc - 1)
		return cli_usage(BUNDLE_USAGE);
	manifest = argv[optind];
	if (load_pubkey(&rel.key, pub, pubstr, &err) < 0 ||
	    bpg_file_read(&text, manifest, BPG_BUNDLE_MAX_BYTES, &err) < 0) {
		rc = fail("bundle verify", &err);
		goto done;
	}
	bpg_minisign_keyid(id, rel.key.keynum);
	rel.principal = id;
	if (bpg_buf_printf(&sigpath, "%s.minisig", manifest) < 0) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory");
		rc = fail("bundle verify", &err);
		goto done;
	}
	have_sig = bpg_file_read(&sig, sigpath.ptr, BPG_MINISIGN_FILE_MAX, &err) == 0;
	if (!have_sig && err.code != BPG_ENOTFOUND) {
		rc = fail("bundle verify", &err);
		goto done;
	}
	/* The tree is the manifest's directory; paths are reported relative to it. */
	slash = strrchr(manifest, '/');
	if (bpg_buf_put(&dir, manifest, slash ? (size_t)(slash - manifest) : 0) < 0 || bpg_buf_putc(&dir, '\0') < 0) {
		bpg_error_set(&err, BPG_ENOMEM, "out of memory"); /* never checked against another directory */
		rc = fail("bundle verify", &err);
		goto done;
	}
	bpg_tree_workdir(&tree, dir.size > 1 ? dir.ptr : (slash ? "/" : "."));
	if (bpg_bundle_check(&res, slash ? slash + 1 : manifest, text.ptr ? text.ptr : "", text.size,
		    have_sig ? (sig.ptr ? sig.ptr : "") : NULL, sig.size, &rel, 1, &tree, &err) < 0) {
		rc = fail("bundle verify", &err);
		goto done;
	}
	for (size_t i = 0; i < bpg_bundle_result_problem_count(res); i++) {
		const bpg_bundle_problem *p = bpg_bundle_result_problem(res, i);
		bpg_buf line = BPG_BUF_INIT;
		bpg_safe_put(&line, p->path, strlen(p->path), 300);
		fprintf(stderr, "%s: %s: %s\n", bpg_bundle_problem_kind_name(p->kind), line.ptr ? line.ptr : "",
			p->detail);
		bpg_buf_dispose(&line);
	}
	if (!bpg_bundle_result_ok(res)) {
		fprintf(stderr, "bpgate bundle verify: %s: REFUSED (%zu problem%s)\n", manifest,
			bpg_bundle_result_problem_count(res), bpg_bundle_result_problem_count(res) == 1 ? "" : "s");
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	printf("%s: OK, signed by key %s, %zu files match, environment %s\nTrusted comment: %s\n", manifest, id,
		bpg_bundle_file_count(bpg_bundle_result_bundle(res)),
		bpg_bundle_environment(bpg_bundle_result_bundle(res)), bpg_bundle_result_trusted_comment(res));
done:
	bpg_bundle_result_free(res);
	bpg_buf_dispose(&text);
	bpg_buf_dispose(&sigpath);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&dir);
	return rc;
}

int cmd_bundle(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(BUNDLE_USAGE);
	if (strcmp(argv[1], "create") == 0)
		return bundle_create(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return bundle_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return bundle_verify(argc - 1, argv + 1);
	return cli_usage(BUNDLE_USAGE);
}
