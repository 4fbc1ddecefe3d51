/*
 * Promotion on merge: after git applied an accepted update of an
 * environment's branch whose policy says environments.<env>.make.deploy
 * "auto", post-receive deploys it with `bpgate make deploy --env ENV NEW`
 * (one implementation of deploying: the command's compare and swap,
 * records and audit entries). The token stays on the server (git config
 * bpgate.makeTokenFile of this repository, mode 0600).
 *
 * The push is already accepted and cannot be undone here: a failed deploy
 * is said to the pusher (remote: lines, with the reason and the retry
 * command), recorded in the audit log, and `bpgate status` / `pending` show
 * the environment as "accepted, not deployed" until a deploy succeeds.
 */
#include "receive.h"
#include "bpgate/query.h"

#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv with env: BPGATE_USER/GL_USER removed (the gate's acceptance is the
 * authority here, not the pusher's roles) and BPGATE_DEPLOY_CAUSE set. The exit code, or -1. */
static int run_deploy(char *const argv[], const char *cause, const rcv_config *cfg)
{
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = calloc(n + 4, sizeof(*env));
	char *cause_var = NULL, *log_var = NULL, *key_var = NULL;
	pid_t pid;
	int status = -1, k = 0;

	if (!env || asprintf(&cause_var, "BPGATE_DEPLOY_CAUSE=%s", cause) < 0) {
		free(env);
		return -1;
	}
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "BPGATE_USER=", 12) != 0 && strncmp(*e, "GL_USER=", 8) != 0 &&
		    strncmp(*e, "BPGATE_DEPLOY_CAUSE=", 20) != 0 && strncmp(*e, "BPGATE_AUDIT_LOG=", 17) != 0 &&
		    strncmp(*e, "BPGATE_SERVER_KEY=", 18) != 0)
			env[k++] = *e;
	env[k++] = cause_var;
	/* the deploy's audit entries go to the gate's own log */
	if (cfg->audit_dir && cfg->audit_key && asprintf(&log_var, "BPGATE_AUDIT_LOG=%s", cfg->audit_dir) >= 0 &&
	    asprintf(&key_var, "BPGATE_SERVER_KEY=%s", cfg->audit_key) >= 0) {
		env[k++] = log_var;
		env[k++] = key_var;
	}
	env[k] = NULL;
	fflush(stdout);
	fflush(stderr);
	/* the deploy's own output goes to the pusher: stdout joins stderr (remote: lines) */
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, env) == 0) {
		while (waitpid(pid, &status, 0) < 0)
			;
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	} else {
		status = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	free(cause_var);
	free(log_var);
	free(key_var);
	free(env);
	return status;
}

int rcv_auto_deploy(git_repository *repo, const rcv_config *cfg, const char *policy_ref, const rcv_updates *ups,
	const char *pusher)
{
	rcv_policy pol;
	bpg_error err;
	int failures = 0;

	memset(&pol, 0, sizeof(pol));
	if (rcv_policy_load(&pol, repo, policy_ref, &err) < 0)
		return 0; /* no policy: nothing is "auto" */
	for (size_t i = 0; i < ups->n; i++) {
		const rcv_update *u = &ups->v[i];
		const char *env = rcv_env_for_ref(pol.policy, u->name);
		bpg_make_env m;
		if (!env || strspn(u->new_hex, "0") == 40 || !bpg_policy_env_make(&m, pol.policy, env) ||
		    !m.deploy || strcmp(m.deploy, "auto") != 0)
			continue;
		char cause[300], envbuf[128], rev[41];
		snprintf(cause, sizeof(cause), "accepted push of %s by %s", u->name, pusher ? pusher : "?");
		snprintf(envbuf, sizeof(envbuf), "%s", env);
		snprintf(rev, sizeof(rev), "%s", u->new_hex);
		char *argv[] = { (char *)"bpgate", (char *)"make", (char *)"deploy", (char *)"--env", envbuf, rev, NULL };
		fprintf(stderr, "bpgate: deploying %.12s to %s in Make (make.deploy is \"auto\")\n", u->new_hex, env);
		int st = run_deploy(argv, cause, cfg);
		if (st == 0)
			continue;
		failures++;
		fprintf(stderr, "bpgate: the push is ACCEPTED but NOT DEPLOYED to Make (%s): %s\n"
			"bpgate: retry: ssh git@<server> deploy <repo> --env %s (or on the server: bpgate make deploy --env %s)\n",
			env, st < 0 ? "bpgate could not be started (is it on the PATH of the git server?)" :
			st == 1 ? "a scenario was refused (see above)" : "the deployment failed (see above)", env, env);
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "bpgate-auto-deploy-failed", "environment", env,
			"commit", u->new_hex, "cause", cause, "exit", st);
		if (!e || rcv_audit_append(cfg, e, &err) < 0)
			fprintf(stderr, "warning: bpgate: the failed deployment was not recorded in the audit log\n");
		json_decref(e);
	}
	rcv_policy_free(&pol);
	return failures;
}
