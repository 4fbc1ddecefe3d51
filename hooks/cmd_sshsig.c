/*
 * `bpgate sshsig sign|verify|find-principals|check-novalidate` (meaning what
 * `ssh-keygen -Y ...` means) and `bpgate verify-commit` (as `git
 * verify-commit` with gpg.format=ssh).
 */
#include "cli.h"
#include "bpgate/buf.h"
#include "bpgate/sshkey.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <git2.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MESSAGE_MAX ((size_t)256 << 20)

static const char *sshsig_usage =
	"bpgate sshsig verify -f ALLOWED_SIGNERS -I PRINCIPAL -n NAMESPACE -s SIG [-O verify-time=T] < MESSAGE\n"
	"       bpgate sshsig sign -f KEY -n NAMESPACE [-O hashalg=sha256|sha512] [FILE...] < MESSAGE > SIG\n"
	"       bpgate sshsig find-principals -f ALLOWED_SIGNERS -s SIG [-O verify-time=T]\n"
	"       bpgate sshsig check-novalidate -n NAMESPACE -s SIG < MESSAGE";

typedef struct {
	const char *file, *principal, *ns, *sig;
	bpg_sshsig_hash hash;
	bool hash_set, time_set;
	time_t when;
	int first_arg; /* index of the first non-option argument */
} opts;

static int parse_opts(opts *o, int argc, char **argv)
{
	bpg_error err;
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 1;
	while ((c = getopt(argc, argv, "f:I:n:s:O:")) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'I': o->principal = optarg; break;
		case 'n': o->ns = optarg; break;
		case 's': o->sig = optarg; break;
		case 'O':
			if (strcmp(optarg, "hashalg=sha256") == 0) {
				o->hash = BPG_SSHSIG_SHA256;
				o->hash_set = true;
			} else if (strcmp(optarg, "hashalg=sha512") == 0) {
				o->hash = BPG_SSHSIG_SHA512;
				o->hash_set = true;
			} else if (strncmp(optarg, "verify-time=", 12) == 0) {
				if (bpg_ssh_parse_time(&o->when, optarg + 12, strlen(optarg + 12), &err) < 0) {
					fprintf(stderr, "bpgate sshsig: -O %s: %s\n", optarg, err.message);
					return -1;
				}
				o->time_set = true;
			} else {
				fprintf(stderr, "bpgate sshsig: unknown option -O %s (hashalg=sha256|sha512, verify-time=T)\n", optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	o->first_arg = optind;
	return 0;
}

static time_t now_or(const opts *o)
{
	return o->time_set ? o->when : time(NULL);
}

static int read_input(bpg_buf *out, const char *path, size_t max, const char *cmd)
{
	bpg_error err;

	if (bpg_file_read(out, path, max, &err) < 0) {
		cli_report_error(cmd, &err);
		return -1;
	}
	return 0;
}

static void good_line(FILE *f, const char *ns, const bpg_sshsig_result *res)
{
	bpg_buf p = BPG_BUF_INIT; /* a certificate's principal comes from the signature: escape it */

	bpg_safe_put(&p, res->principal, strlen(res->principal), BPG_SSHSIG_PRINCIPAL_MAX);
	fprintf(f, "%sGood%s \"%s\" signature for %s with ED25519 key %s\n", cli_sgr(f, "\033[32m"),
		cli_sgr(f, "\033[0m"), ns, p.ptr ? p.ptr : "", res->fingerprint);
	bpg_buf_dispose(&p);
}

static int sshsig_verify(int argc, char **argv)
{
	bpg_buf msg = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	bpg_allowed_signers *signers = NULL;
	bpg_sshsig_result res;
	bpg_error err;
	opts o;
	int rc = BPG_EXIT_ERROR;

	if (parse_opts(&o, argc, argv) < 0 || !o.file || !o.principal || !o.ns || !o.sig || o.first_arg != argc)
		return cli_usage(sshsig_usage);
	if (bpg_allowed_signers_load(&signers, o.file, &err) < 0) {
		cli_report_error("sshsig verify", &err);
		goto done;
	}
	if (read_input(&sig, o.sig, BPG_SSHSIG_ARMOR_MAX, "sshsig verify") < 0 ||
	    read_input(&msg, "-", MESSAGE_MAX, "sshsig verify") < 0)
		goto done;
	if (bpg_sshsig_verify(&res, msg.ptr ? msg.ptr : "", msg.size, sig.ptr ? sig.ptr : "", sig.size, o.ns,
		    o.principal, signers, now_or(&o), &err) < 0) {
		fprintf(stderr, "bpgate sshsig verify: %s: refused (%s): %s\n", o.sig,
			bpg_sshsig_reason_name(res.reason), err.message);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	good_line(stdout, o.ns, &res);
	rc = BPG_EXIT_OK;
done:
	bpg_allowed_signers_free(signers);
	bpg_buf_dispose(&msg);
	bpg_buf_dispose(&sig);
	return rc;
}

static int sshsig_find_principals(int argc, char **argv)
{
	bpg_buf sigtext = BPG_BUF_INIT, out = BPG_BUF_INIT;
	bpg_allowed_signers *signers = NULL;
	bpg_sshsig *sig = NULL;
	bpg_error err;
	opts o;
	int n, rc = BPG_EXIT_ERROR;

	if (parse_opts(&o, argc, argv) < 0 || !o.file || !o.sig || o.first_arg != argc)
		return cli_usage(sshsig_usage);
	if (bpg_allowed_signers_load(&signers, o.file, &err) < 0 ||
	    bpg_file_read(&sigtext, o.sig, BPG_SSHSIG_ARMOR_MAX, &err) < 0) {
		cli_report_error("sshsig find-principals", &err);
		goto done;
	}
	if (bpg_sshsig_parse(&sig, sigtext.ptr ? sigtext.ptr : "", sigtext.size, &err) < 0) {
		cli_report_error("sshsig find-principals", &err);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	if (bpg_sshsig_is_cert(sig)) {
		fprintf(stderr, "bpgate sshsig find-principals: the signature is made with a certificate; "
			"use 'sshsig verify -I PRINCIPAL' to check it against a cert-authority line\n");
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	if ((n = bpg_allowed_signers_find_principals(&out, signers, bpg_sshsig_pubkey(sig), NULL, now_or(&o),
		     &err)) < 0) {
		cli_report_error("sshsig find-principals", &err);
		goto done;
	}
	if (n == 0) {
		fprintf(stderr, "bpgate sshsig find-principals: no principal matched\n");
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	fwrite(out.ptr, 1, out.size, stdout);
	rc = BPG_EXIT_OK;
done:
	bpg_sshsig_free(sig);
	bpg_allowed_signers_free(signers);
	bpg_buf_dispose(&sigtext);
	bpg_buf_dispose(&out);
	return rc;
}

static int sshsig_check_novalidate(int argc, char **argv)
{
	bpg_buf msg = BPG_BUF_INIT, sigtext = BPG_BUF_INIT;
	bpg_sshsig *sig = NULL;
	bpg_error err;
	opts o;
	int rc = BPG_EXIT_ERROR;

	if (parse_opts(&o, argc, argv) < 0 || !o.ns || !o.sig || o.first_arg != argc)
		return cli_usage(sshsig_usage);
	if (read_input(&sigtext, o.sig, BPG_SSHSIG_ARMOR_MAX, "sshsig check-novalidate") < 0 ||
	    read_input(&msg, "-", MESSAGE_MAX, "sshsig check-novalidate") < 0)
		goto done;
	rc = BPG_EXIT_FINDINGS;
	if (bpg_sshsig_parse(&sig, sigtext.ptr ? sigtext.ptr : "", sigtext.size, &err) < 0 ||
	    bpg_sshsig_check(NULL, sig, msg.ptr ? msg.ptr : "", msg.size, o.ns, &err) < 0) {
		cli_report_error("sshsig check-novalidate", &err);
		goto done;
	}
	char fp[BPG_SSH_FINGERPRINT_SIZE];
	bpg_ssh_pubkey_fingerprint(fp, bpg_sshsig_pubkey(sig));
	printf("Good \"%s\" signature with ED25519 key %s (no trust decision: check-novalidate)\n", o.ns, fp);
	rc = BPG_EXIT_OK;
done:
	bpg_sshsig_free(sig);
	bpg_buf_dispose(&msg);
	bpg_buf_dispose(&sigtext);
	return rc;
}

/* Run ssh-keygen -Y sign for keys we do not open ourselves (passphrase,
 * ssh-agent, other types). argv only, never a shell; stdin/stdout inherited. */
static int sign_with_ssh_keygen(const opts *o, int nfiles, char **files)
{
	char *args[16 + 64];
	int n = 0, status;
	pid_t pid;

	if (nfiles > 64) {
		fprintf(stderr, "bpgate sshsig sign: at most 64 files at once\n");
		return BPG_EXIT_ERROR;
	}
	args[n++] = "ssh-keygen";
	args[n++] = "-q";
	args[n++] = "-Y";
	args[n++] = "sign";
	args[n++] = "-f";
	args[n++] = (char *)o->file;
	args[n++] = "-n";
	args[n++] = (char *)o->ns;
	if (o->hash_set) {
		args[n++] = "-O";
		args[n++] = o->hash == BPG_SSHSIG_SHA256 ? "hashalg=sha256" : "hashalg=sha512";
	}
	for (int i = 0; i < nfiles; i++)
		args[n++] = files[i];
	args[n] = NULL;
	int e = posix_spawnp(&pid, "ssh-keygen", NULL, NULL, args, environ);
	if (e != 0) {
		fprintf(stderr, "bpgate sshsig sign: cannot run ssh-keygen: %s\n", strerror(e));
		return BPG_EXIT_ERROR;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return BPG_EXIT_ERROR;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return BPG_EXIT_OK;
	fprintf(stderr, "bpgate sshsig sign: ssh-keygen -Y sign failed\n");
	return BPG_EXIT_ERROR;
}

/* What kind of key file is this? Peeks at the start only; reads the whole
 * file (into guarded memory) only to tell a usable key from a foreign one. */
typedef enum { KEY_OURS, KEY_DELEGATE, KEY_BAD } key_route;

static key_route classify_key(const char *path)
{
	char *data = NULL;
	ssize_t n = 0, got;
	key_route route = KEY_BAD;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		fprintf(stderr, "bpgate sshsig sign: %s: cannot open: %s\n", path, strerror(errno));
		return KEY_BAD;
	}
	if (sodium_init() < 0 || !(data = sodium_malloc(BPG_SSH_KEYFILE_MAX + 1)))
		goto done;
	while (n < BPG_SSH_KEYFILE_MAX && (got = read(fd, data + n, (size_t)(BPG_SSH_KEYFILE_MAX - n))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto done;
		n += got;
	}
	if (n >= 4 && (strncmp(data, "ssh-", 4) == 0 || strncmp(data, "sk-", 3) == 0 || strncmp(data, "ecdsa-", 6) == 0))
		route = KEY_DELEGATE; /* a public key: the private half is in ssh-agent */
	else if (n > 35 && strncmp(data, "-----BEGIN OPENSSH PRIVATE KEY-----", 35) == 0)
		route = bpg_ssh_seckey_is_foreign(data, (size_t)n) ? KEY_DELEGATE : KEY_OURS;
	else if (n > 11 && strncmp(data, "-----BEGIN ", 11) == 0)
		route = KEY_DELEGATE; /* PEM RSA/ECDSA keys: ssh-keygen knows them */
	else
		fprintf(stderr, "bpgate sshsig sign: %s: not an SSH key file\n", path);
done:
	if (data)
		sodium_free(data);
	close(fd);
	return route;
}

static int sign_one(const bpg_ssh_seckey *key, const opts *o, const char *in, const char *out)
{
	bpg_buf msg = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	bpg_error err;
	int rc = BPG_EXIT_ERROR;

	if (read_input(&msg, in, MESSAGE_MAX, "sshsig sign") < 0)
		goto done;
	if (bpg_sshsig_sign(&sig, key, msg.ptr ? msg.ptr : "", msg.size, o->ns, o->hash, &err) < 0) {
		cli_report_error("sshsig sign", &err);
		goto done;
	}
	if (!out) {
		if (fwrite(sig.ptr, 1, sig.size, stdout) != sig.size || fflush(stdout) != 0) {
			fprintf(stderr, "bpgate sshsig sign: cannot write the signature to stdout\n");
			goto done;
		}
	} else if (bpg_file_write_atomic(out, sig.ptr, sig.size, 0644, &err) < 0) {
		cli_report_error("sshsig sign", &err);
		goto done;
	}
	rc = BPG_EXIT_OK;
done:
	bpg_buf_dispose(&msg);
	bpg_buf_dispose(&sig);
	return rc;
}

static int sshsig_sign(int argc, char **argv)
{
	bpg_ssh_seckey *key = NULL;
	bpg_error err;
	opts o;
	int rc = BPG_EXIT_ERROR;

	if (parse_opts(&o, argc, argv) < 0 || !o.file || !o.ns || o.principal || o.sig || o.time_set)
		return cli_usage(sshsig_usage);
	switch (classify_key(o.file)) {
	case KEY_DELEGATE:
		return sign_with_ssh_keygen(&o, argc - o.first_arg, argv + o.first_arg);
	case KEY_BAD:
		return BPG_EXIT_ERROR;
	case KEY_OURS:
		break;
	}
	if (bpg_ssh_seckey_load(&key, o.file, &err) < 0) {
		cli_report_error("sshsig sign", &err);
		return BPG_EXIT_ERROR;
	}
	if (o.first_arg == argc) {
		rc = sign_one(key, &o, "-", NULL);
	} else {
		for (int i = o.first_arg; i < argc; i++) {
			bpg_buf out = BPG_BUF_INIT;
			if (bpg_buf_printf(&out, "%s.sig", argv[i]) < 0 ||
			    (rc = sign_one(key, &o, argv[i], out.ptr)) != BPG_EXIT_OK) {
				bpg_buf_dispose(&out);
				rc = BPG_EXIT_ERROR;
				break;
			}
			fprintf(stderr, "Signed %s to %s\n", argv[i], out.ptr);
			bpg_buf_dispose(&out);
		}
	}
	bpg_ssh_seckey_free(key);
	return rc;
}

int cmd_sshsig(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(sshsig_usage);
	if (strcmp(argv[1], "verify") == 0)
		return sshsig_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return sshsig_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "find-principals") == 0)
		return sshsig_find_principals(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-novalidate") == 0)
		return sshsig_check_novalidate(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: %s\n", sshsig_usage);
		return BPG_EXIT_OK;
	}
	return cli_usage(sshsig_usage);
}

/* ------------------------------------------------------------------ */
/* verify-commit                                                       */

static const char *verify_commit_usage =
	"bpgate verify-commit [-v] [-f ALLOWED_SIGNERS] [--now | --verify-time T] REV...\n"
	"  verifies the SSH signature of each commit (or annotated tag) REV, namespace \"git\";\n"
	"  ALLOWED_SIGNERS defaults to .bpgate/allowed_signers of the working tree; keys are\n"
	"  checked against valid-after/valid-before at the committer time, as git does\n"
	"  (--now: at the current time)";

static int read_object(bpg_buf *raw, bpg_gitsig_kind *kind, git_repository *repo, const char *rev)
{
	git_object *obj = NULL;
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	int rc = -1;

	if (git_revparse_single(&obj, repo, rev) < 0) {
		const git_error *e = git_error_last();
		fprintf(stderr, "bpgate verify-commit: %s: not found%s%s\n", rev, e ? ": " : "", e ? e->message : "");
		goto done;
	}
	if (git_object_type(obj) == GIT_OBJECT_COMMIT) {
		*kind = BPG_GITSIG_COMMIT;
	} else if (git_object_type(obj) == GIT_OBJECT_TAG) {
		*kind = BPG_GITSIG_TAG;
	} else {
		fprintf(stderr, "bpgate verify-commit: %s: cannot verify a %s object (commits and annotated tags only)\n",
			rev, git_object_type2string(git_object_type(obj)));
		goto done;
	}
	if (git_repository_odb(&odb, repo) < 0 || git_odb_read(&o, odb, git_object_id(obj)) < 0 ||
	    bpg_buf_put(raw, git_odb_object_data(o), git_odb_object_size(o)) < 0) {
		fprintf(stderr, "bpgate verify-commit: %s: cannot read the object\n", rev);
		goto done;
	}
	rc = 0;
done:
	git_odb_object_free(o);
	git_odb_free(odb);
	git_object_free(obj);
	return rc;
}

/* 0 verified, 1 refused, 2 error. */
static int verify_rev(git_repository *repo, const char *rev, const bpg_allowed_signers *signers, bool verbose,
	int time_mode, time_t fixed)
{
	bpg_buf raw = BPG_BUF_INIT, payload = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	bpg_gitsig_kind kind = BPG_GITSIG_COMMIT;
	bpg_sshsig_result res;
	int64_t when = 0;
	time_t at;
	bpg_error err;
	int rc = BPG_EXIT_ERROR, e;

	if (read_object(&raw, &kind, repo, rev) < 0)
		goto done;
	e = bpg_gitsig_extract(&payload, &sig, &when, kind, raw.ptr, raw.size, &err);
	if (verbose && payload.size)
		fwrite(payload.ptr, 1, payload.size, stdout);
	if (e < 0) {
		fprintf(stderr, "bpgate verify-commit: %s: %s\n", rev, err.message);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	at = time_mode == 0 ? (time_t)when : time_mode == 1 ? time(NULL) : fixed;
	if (bpg_sshsig_verify(&res, payload.ptr, payload.size, sig.ptr, sig.size, "git", NULL, signers, at, &err) < 0) {
		fprintf(stderr, "bpgate verify-commit: %s: refused (%s): %s\n", rev, bpg_sshsig_reason_name(res.reason),
			err.message);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	good_line(stderr, "git", &res);
	rc = BPG_EXIT_OK;
done:
	bpg_buf_dispose(&raw);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&sig);
	return rc;
}

int cmd_verify_commit(int argc, char **argv)
{
	const char *file = NULL;
	bool verbose = false;
	int time_mode = 0; /* 0 committer time, 1 now, 2 fixed */
	time_t fixed = 0;
	git_repository *repo = NULL;
	bpg_allowed_signers *signers = NULL;
	bpg_buf path = BPG_BUF_INIT;
	bpg_error err;
	int i, rc = BPG_EXIT_ERROR, orc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			file = argv[++i];
		} else if (strcmp(argv[i], "--now") == 0) {
			time_mode = 1;
		} else if (strcmp(argv[i], "--verify-time") == 0 && i + 1 < argc) {
			if (bpg_ssh_parse_time(&fixed, argv[i + 1], strlen(argv[i + 1]), &err) < 0) {
				cli_report_error("verify-commit", &err);
				return BPG_EXIT_ERROR;
			}
			i++;
			time_mode = 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s\n", verify_commit_usage);
			return BPG_EXIT_OK;
		} else {
			return cli_usage(verify_commit_usage);
		}
	}
	if (i >= argc)
		return cli_usage(verify_commit_usage);
	git_libgit2_init();
	if ((orc = cli_repo_open(&repo, ".", 0, "verify-commit")) < 0) {
		if (orc != GIT_EOWNER)
			fprintf(stderr, "bpgate verify-commit: not inside a git repository\n");
		goto done;
	}
	if (!file) {
		const char *wd = git_repository_workdir(repo);
		if (!wd) {
			fprintf(stderr, "bpgate verify-commit: bare repository: give the allowed signers with -f FILE\n");
			goto done;
		}
		if (bpg_buf_printf(&path, "%s.bpgate/allowed_signers", wd) < 0) {
			fprintf(stderr, "bpgate verify-commit: out of memory\n");
			goto done;
		}
		file = path.ptr;
	}
	if (bpg_allowed_signers_load(&signers, file, &err) < 0) {
		cli_report_error("verify-commit", &err);
		goto done;
	}
	rc = BPG_EXIT_OK;
	for (; i < argc; i++) {
		int r = verify_rev(repo, argv[i], signers, verbose, time_mode, fixed);
		if (r > rc)
			rc = r;
	}
done:
	bpg_allowed_signers_free(signers);
	bpg_buf_dispose(&path);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return rc;
}
