/*
 * Signing statements with the user's SSH key (sshsign.h).
 */
#include "sshsign.h"
#include "cli.h"
#include "bpgate/sshsig.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int cli_run(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void cli_now_utc(char out[32])
{
	const char *fixed = getenv("BPGATE_TIME");
	time_t t = time(NULL);
	struct tm tm;

	if (fixed && strlen(fixed) == 20) {
		snprintf(out, 32, "%s", fixed);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ssh-keygen signs a file: write the statement to a private temporary file. */
static int sign_with_ssh_keygen(bpg_buf *sig, const char *key_path, const char *ns, const void *msg, size_t len,
	size_t maxsig, const char *cmd)
{
	char tmpl[] = "/tmp/bpgate-sign-XXXXXX";
	bpg_buf sp = BPG_BUF_INIT;
	bpg_error err;
	int fd = mkstemp(tmpl), rc = -1;

	if (fd < 0) {
		fprintf(stderr, "bpgate %s: cannot create a temporary file to sign\n", cmd);
		return -1;
	}
	if (write(fd, msg, len) != (ssize_t)len) {
		fprintf(stderr, "bpgate %s: cannot write the statement to sign\n", cmd);
		close(fd);
		goto done;
	}
	close(fd);
	char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-n", (char *)ns, "-f", (char *)key_path, tmpl, NULL };
	if (bpg_buf_printf(&sp, "%s.sig", tmpl) < 0)
		goto done;
	if (cli_run(argv) != 0 || bpg_file_read(sig, sp.ptr, maxsig, &err) < 0)
		fprintf(stderr, "bpgate %s: ssh-keygen -Y sign -n %s failed\n", cmd, ns);
	else
		rc = 0;
	unlink(sp.ptr);
done:
	unlink(tmpl);
	bpg_buf_dispose(&sp);
	return rc;
}

int cli_ssh_sign(bpg_buf *sig, const char *key_path, const char *ns, const void *msg, size_t len, size_t maxsig,
	bpg_ssh_pubkey *pub, const char *cmd)
{
	bpg_buf data = BPG_BUF_INIT;
	bpg_ssh_seckey *key = NULL;
	bpg_error err;
	int rc = -1;

	if (bpg_file_read(&data, key_path, BPG_SSH_KEYFILE_MAX, &err) < 0) {
		fprintf(stderr, "bpgate %s: %s\n", cmd, err.message);
		goto done;
	}
	if (bpg_ssh_seckey_is_foreign(data.ptr, data.size)) {
		rc = sign_with_ssh_keygen(sig, key_path, ns, msg, len, maxsig, cmd);
		goto done;
	}
	if (bpg_ssh_seckey_parse(&key, data.ptr, data.size, key_path, &err) < 0 ||
	    bpg_sshsig_sign(sig, key, msg, len, ns, BPG_SSHSIG_SHA512, &err) < 0) {
		fprintf(stderr, "bpgate %s: %s\n", cmd, err.message);
		goto done;
	}
	if (pub)
		*pub = *bpg_ssh_seckey_pubkey(key);
	rc = 0;
done:
	bpg_ssh_seckey_free(key);
	bpg_buf_dispose(&data);
	return rc;
}

int cli_ssh_principal(char *out, size_t size, git_repository *repo, const char *key_path, const char *ns,
	const char *cmd)
{
	bpg_buf p = BPG_BUF_INIT, pubdata = BPG_BUF_INIT, found = BPG_BUF_INIT;
	bpg_allowed_signers *signers = NULL;
	bpg_ssh_pubkey pub;
	bpg_error err;
	int n = -1;

	memset(&pub, 0, sizeof(pub));
	/* each cause named: a missing key is not "cannot tell who you are" */
	if (access(key_path, F_OK) != 0) {
		fprintf(stderr, "bpgate %s: no SSH key at %s (%s): pass -f KEY with the private key whose public key is in "
			".bpgate/allowed_signers\n", cmd, key_path, strerror(errno));
		goto done;
	}
	if (bpg_buf_printf(&p, "%s.pub", key_path) < 0)
		goto done;
	if (bpg_file_read(&pubdata, p.ptr, 16384, &err) < 0) {
		fprintf(stderr, "bpgate %s: cannot read %s, the public half of %s: %s (write it with: ssh-keygen -y -f %s > %s)\n",
			cmd, p.ptr, key_path, err.message, key_path, p.ptr);
		goto done;
	}
	if (bpg_ssh_pubkey_parse(&pub, NULL, pubdata.ptr, pubdata.size, &err) < 0) {
		fprintf(stderr, "bpgate %s: %s: %s\n", cmd, p.ptr, err.message);
		goto done;
	}
	bpg_buf_clear(&p);
	if (bpg_buf_printf(&p, "%s.bpgate/allowed_signers", git_repository_workdir(repo) ? git_repository_workdir(repo) : "") < 0)
		goto done;
	if (bpg_allowed_signers_load(&signers, p.ptr, &err) < 0) {
		fprintf(stderr, "bpgate %s: %s\n", cmd, err.message);
		goto done;
	}
	n = bpg_allowed_signers_find_principals(&found, signers, &pub, ns, time(NULL), &err);
	if (n == 1 && found.ptr) {
		found.ptr[strcspn(found.ptr, "\n,")] = '\0';
		snprintf(out, size, "%s", found.ptr);
	} else if (n == 0) {
		fprintf(stderr, "bpgate %s: no line of .bpgate/allowed_signers gives the key %s.pub (namespace %s) to anyone: "
			"pass -f KEY with your key that is there, or ask an admin to add this one\n", cmd, key_path, ns);
		n = -1;
	} else if (n > 1) {
		fprintf(stderr, "bpgate %s: the key %s.pub is given to several principals in .bpgate/allowed_signers "
			"(namespace %s); pass --as PRINCIPAL\n", cmd, key_path, ns);
		n = -1;
	} else {
		fprintf(stderr, "bpgate %s: %s\n", cmd, err.message);
	}
done:
	bpg_allowed_signers_free(signers);
	bpg_buf_dispose(&p);
	bpg_buf_dispose(&pubdata);
	bpg_buf_dispose(&found);
	return n == 1 ? 0 : -1;
}
