/*
 * bpgate approve REV --for ENV [-f KEY] [--as PRINCIPAL] [--remote NAME]
 *                [--repository NAME] [--no-push]
 * Sign an approval of REV's tree for ENV with the reviewer's SSH key
 * (bpgate's own signer for plain ed25519 keys; ssh-keygen -Y sign for
 * agent-held, passphrase-protected or other keys), store it under
 * refs/bpgate/approvals/... and push it.
 */
#include "cli.h"
#include "bpgate/approval.h"
#include "bpgate/sshsig.h"
#include "bpgate/util.h"

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int run(char *const argv[])
{
	pid_t pid;
	int st;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void now_utc(char out[32])
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

/* The repository's display name: bpgate.repository, else the remote URL's last component without .git. */
static void repo_name(char *out, size_t size, git_repository *repo, const char *remote)
{
	git_config *c = NULL;
	git_remote *r = NULL;
	const char *v = NULL;

	out[0] = '\0';
	if (git_repository_config_snapshot(&c, repo) == 0 && git_config_get_string(&v, c, "bpgate.repository") == 0 && v)
		snprintf(out, size, "%s", v);
	git_config_free(c);
	if (!out[0] && git_remote_lookup(&r, repo, remote) == 0 && git_remote_url(r)) {
		const char *u = git_remote_url(r);
		size_t n = strlen(u);
		while (n && u[n - 1] == '/')
			n--;
		size_t s = n;
		while (s && u[s - 1] != '/' && u[s - 1] != ':')
			s--;
		if (n - s > 4 && strncmp(u + n - 4, ".git", 4) == 0)
			n -= 4;
		snprintf(out, size, "%.*s", (int)(n - s), u + s);
	}
	git_remote_free(r);
	git_error_clear();
}

static int sign(bpg_buf *sig, const char *key_path, const bpg_buf *stmt, bpg_ssh_pubkey *pub)
{
	bpg_buf data = BPG_BUF_INIT, pubdata = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_ssh_seckey *key = NULL;
	bpg_error err;
	int rc = -1;

	if (bpg_file_read(&data, key_path, BPG_SSH_KEYFILE_MAX, &err) < 0) {
		fprintf(stderr, "bpgate approve: %s\n", err.message);
		goto done;
	}
	if (bpg_buf_printf(&path, "%s.pub", key_path) < 0) {
		fprintf(stderr, "bpgate approve: out of memory\n");
		goto done;
	}
	if (bpg_file_read(&pubdata, path.ptr, 16384, &err) == 0 && bpg_ssh_pubkey_parse(pub, NULL, pubdata.ptr, pubdata.size, &err) < 0) {
		fprintf(stderr, "bpgate approve: %s: %s\n", path.ptr, err.message);
		goto done;
	}
	if (bpg_ssh_seckey_is_foreign(data.ptr, data.size)) {
		/* ssh-keygen signs a file: KEY.pub must exist for the principal lookup */
		char tmpl[] = "/tmp/bpgate-approval-XXXXXX";
		int fd = mkstemp(tmpl);
		bpg_buf sp = BPG_BUF_INIT;
		if (fd < 0 || write(fd, stmt->ptr, stmt->size) != (ssize_t)stmt->size) {
			if (fd >= 0)
				close(fd);
			goto done;
		}
		close(fd);
		char *argv[] = { "ssh-keygen", "-q", "-Y", "sign", "-n", BPG_APPROVAL_NAMESPACE, "-f", (char *)key_path, tmpl, NULL };
		if (bpg_buf_printf(&sp, "%s.sig", tmpl) == 0 && run(argv) == 0 && bpg_file_read(sig, sp.ptr, BPG_APPROVAL_MAX, &err) == 0)
			rc = 0;
		else
			fprintf(stderr, "bpgate approve: ssh-keygen -Y sign failed\n");
		unlink(tmpl);
		unlink(sp.ptr);
		bpg_buf_dispose(&sp);
		goto done;
	}
	if (bpg_ssh_seckey_parse(&key, data.ptr, data.size, key_path, &err) < 0 ||
	    bpg_sshsig_sign(sig, key, stmt->ptr, stmt->size, BPG_APPROVAL_NAMESPACE, BPG_SSHSIG_SHA512, &err) < 0) {
		fprintf(stderr, "bpgate approve: %s\n", err.message);
		goto done;
	}
	*pub = *bpg_ssh_seckey_pubkey(key);
	rc = 0;
done:
	bpg_ssh_seckey_free(key);
	bpg_buf_dispose(&data);
	bpg_buf_dispose(&pubdata);
	bpg_buf_dispose(&path);
	return rc;
}

int cmd_approve(int argc, char **argv)
{
	const char *rev = NULL, *env = NULL, *key = NULL, *as = NULL, *remote = "origin", *repo_opt = NULL;
	bool push = true;
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_reference *ref = NULL;
	bpg_allowed_signers *signers = NULL;
	bpg_buf stmt = BPG_BUF_INIT, sig = BPG_BUF_INIT, refname = BPG_BUF_INIT, keybuf = BPG_BUF_INIT, found = BPG_BUF_INIT;
	bpg_approval a;
	bpg_ssh_pubkey pub;
	bpg_error err;
	git_oid id;
	int rc = BPG_EXIT_ERROR;
	static const char *use = "usage: bpgate approve REV --for ENV [-f KEY] [--as PRINCIPAL] [--remote NAME] "
		"[--repository NAME] [--no-push]";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) env = argv[++i];
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) key = argv[++i];
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc) as = argv[++i];
		else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc) remote = argv[++i];
		else if (strcmp(argv[i], "--repository") == 0 && i + 1 < argc) repo_opt = argv[++i];
		else if (strcmp(argv[i], "--no-push") == 0) push = false;
		else if (argv[i][0] != '-' && !rev) rev = argv[i];
		else return cli_usage(use);
	}
	if (!rev || !env)
		return cli_usage(use);
	memset(&a, 0, sizeof(a));
	memset(&pub, 0, sizeof(pub));
	git_libgit2_init();
	if (git_repository_open_ext(&repo, ".", GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		fprintf(stderr, "bpgate approve: not inside a git repository\n");
		goto done;
	}
	if (git_revparse_single(&obj, repo, rev) < 0 || git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		fprintf(stderr, "bpgate approve: '%s' is not a commit\n", rev);
		goto done;
	}
	if (!key) {
		const char *home = getenv("HOME");
		if (bpg_buf_printf(&keybuf, "%s/.ssh/id_ed25519", home ? home : "") < 0) {
			fprintf(stderr, "bpgate approve: out of memory\n");
			goto done;
		}
		key = keybuf.ptr;
	}
	if (repo_opt)
		snprintf(a.repository, sizeof(a.repository), "%s", repo_opt);
	else
		repo_name(a.repository, sizeof(a.repository), repo, remote);
	snprintf(a.environment, sizeof(a.environment), "%s", env);
	git_oid_tostr(a.tree, sizeof(a.tree), git_commit_tree_id(commit));
	git_oid_tostr(a.commit, sizeof(a.commit), git_commit_id(commit));
	now_utc(a.time);
	if (as) {
		snprintf(a.approver, sizeof(a.approver), "%s", as);
	} else {
		/* find the principal of the key in .bpgate/allowed_signers (needs KEY.pub for agent keys) */
		bpg_buf p = BPG_BUF_INIT, pubdata = BPG_BUF_INIT;
		int prc = bpg_buf_printf(&p, "%s.pub", key);
		if (prc == 0 && bpg_file_read(&pubdata, p.ptr, 16384, &err) == 0)
			bpg_ssh_pubkey_parse(&pub, NULL, pubdata.ptr, pubdata.size, &err);
		bpg_buf_clear(&p);
		if (prc == 0)
			prc = bpg_buf_printf(&p, "%s.bpgate/allowed_signers",
				git_repository_workdir(repo) ? git_repository_workdir(repo) : "");
		int n = -1; /* out of memory (prc < 0): nobody found, refused below */
		if (prc == 0 && bpg_allowed_signers_load(&signers, p.ptr, &err) == 0)
			n = bpg_allowed_signers_find_principals(&found, signers, &pub, BPG_APPROVAL_NAMESPACE, time(NULL), &err);
		bpg_buf_dispose(&p);
		bpg_buf_dispose(&pubdata);
		if (n != 1 || !found.ptr) {
			fprintf(stderr, "bpgate approve: cannot tell who you are from %s.pub and .bpgate/allowed_signers; "
				"pass --as PRINCIPAL\n", key);
			goto done;
		}
		found.ptr[strcspn(found.ptr, "\n,")] = '\0';
		snprintf(a.approver, sizeof(a.approver), "%s", found.ptr);
	}
	if (bpg_approval_format(&stmt, &a, &err) < 0) {
		cli_report_error("approve", &err);
		goto done;
	}
	if (sign(&sig, key, &stmt, &pub) < 0)
		goto done;
	if (bpg_approval_store(&id, repo, &a, sig.ptr, sig.size, &err) < 0 || bpg_approval_refname(&refname, &a, &err) < 0) {
		cli_report_error("approve", &err);
		goto done;
	}
	if (git_reference_create(&ref, repo, refname.ptr, &id, 0, "bpgate approve") < 0) {
		fprintf(stderr, "bpgate approve: cannot create %s: %s\n", refname.ptr, git_error_last()->message);
		goto done;
	}
	printf("approved tree %.12s (commit %.12s) of %s for %s as %s\n  %s\n", a.tree, a.commit, a.repository,
		a.environment, a.approver, refname.ptr);
	rc = BPG_EXIT_OK;
	if (push) {
		bpg_buf spec = BPG_BUF_INIT;
		int src = bpg_buf_printf(&spec, "%s:%s", refname.ptr, refname.ptr);
		char *pargv[] = { "git", "push", "-q", (char *)remote, spec.ptr, NULL };
		if (src < 0 || run(pargv) != 0) { /* never a push without the refspec */
			fprintf(stderr, "bpgate approve: pushing the approval failed; push it later with: git push %s %s\n",
				remote, spec.ptr);
			rc = BPG_EXIT_FINDINGS;
		}
		bpg_buf_dispose(&spec);
	}
done:
	git_reference_free(ref);
	git_commit_free(commit);
	git_object_free(obj);
	bpg_allowed_signers_free(signers);
	git_repository_free(repo);
	bpg_buf_dispose(&stmt);
	bpg_buf_dispose(&sig);
	bpg_buf_dispose(&refname);
	bpg_buf_dispose(&keybuf);
	bpg_buf_dispose(&found);
	git_libgit2_shutdown();
	return rc;
}
