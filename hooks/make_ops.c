/*
 * `bpgate make disable|enable SCENARIO --env ENV --reason "INC-42: ..."`:
 * switch a scenario off (or on again) in Make at once, with a record
 * (refs/bpgate/switches/<env>/<scenario>) and an audit entry.
 *
 * Who may: when the caller was authenticated by the server (bpgated or
 * gitolite set BPGATE_USER / GL_USER from the SSH key), the principal must
 * hold one of the environment's make "disable" roles (the engine answers:
 * bpg_policy_env_make_may; default emergency and releasers). An operator
 * or CI job running it with its own token is recorded by name, and the
 * token's scope (scenarios:write) is the control.
 */
#include "make_cmds.h"
#include "make_common.h"
#include "make_record.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char switch_usage[] =
	"bpgate make disable|enable SCENARIO --env ENV --reason \"INC-42: what happened\"\n"
	"                          [--token-file FILE]\n"
	"\n"
	"  Stop (disable) or start (enable) a catalogued scenario in ENV's Make team\n"
	"  now, recorded under refs/bpgate/switches/ENV/SCENARIO and in the audit log.\n"
	"  Through the server: ssh git@HOST disable REPO SCENARIO --env prod --reason \"...\"\n"
	"  Token scope: scenarios:write.  exit: 0 done, 1 refused, 2 error\n";

/* The principal the server authenticated, or NULL. */
static const char *server_principal(void)
{
	static const char *vars[] = { "BPGATE_USER", "GL_USER" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

int make_switch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "reason", required_argument, NULL, 'r' },
		{ "token-file", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const bool enable = strcmp(argv[0], "enable") == 0;
	const char *what = enable ? "make enable" : "make disable";
	const char *env = NULL, *reason = NULL, *token_file = NULL;
	json_t *rec = NULL, *scen = NULL, *entry_rec = NULL;
	mk_state st = { 0 };
	mk_ctx c;
	bpg_error err;
	int o, rc = BPG_EXIT_ERROR;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'e': env = optarg; break;
		case 'r': reason = optarg; break;
		case 't': token_file = optarg; break;
		case 'h': printf("usage: %s", switch_usage); return BPG_EXIT_OK;
		default: return cli_usage(switch_usage);
		}
	}
	if (!env || argc - optind != 1)
		return cli_usage(switch_usage);
	const char *id = argv[optind];
	if (!reason || !strchr(reason, ':') || strlen(reason) < 5) {
		fprintf(stderr, "bpgate %s: --reason needs \"TICKET-42: what happened\" (a ticket, a colon, why)\n", what);
		return BPG_EXIT_ERROR;
	}
	mk_open_opts mo = { .env = env, .rev_is_env_branch = true, .token_file = token_file, .need_client = true,
		.need_audit = true, .cmd = what };
	if (mk_open(&c, &mo) < 0)
		return BPG_EXIT_ERROR;
	bpg_error_clear(&err);
	const char *principal = server_principal();
	if (principal && !bpg_policy_env_make_may(c.policy, env, "disable", principal)) {
		fprintf(stderr, "bpgate %s: refused: %s holds none of the roles that may disable or enable scenarios "
			"in %s (environments.%s.make.roles.disable; default: emergency, releasers)\n", what, principal, env, env);
		json_t *a = json_pack("{s:s, s:s, s:s}", "scenario", id, "refused", principal, "reason", reason);
		if (mk_audit(&c, enable ? "bpgate-enable-refused" : "bpgate-disable-refused", a, &err) < 0)
			cli_report_error(what, &err);
		json_decref(a);
		rc = BPG_EXIT_FINDINGS;
		goto done;
	}
	const json_t *entry = bpg_policy_catalog_find(c.policy, id);
	if (!entry) {
		fprintf(stderr, "bpgate %s: '%s' is not a scenario of the catalog\n", what, id);
		goto done;
	}
	long long mid = bpg_policy_scenario_make_id(entry, env);
	if (!mid && mk_state_load(&st, c.repo, env, &err) == 0 &&
	    (entry_rec = json_object_get(json_object_get(st.doc, "scenarios"), id)))
		mid = json_is_integer(json_object_get(entry_rec, "make_id")) ?
			(long long)json_integer_value(json_object_get(entry_rec, "make_id")) : 0;
	if (!mid) {
		fprintf(stderr, "bpgate %s: %s has no Make scenario in %s (catalog \"make\")\n", what, id, env);
		goto done;
	}
	/* the audit entry first: an action that cannot be recorded is not taken */
	json_t *a = json_pack("{s:s, s:I, s:s, s:s}", "scenario", id, "make_id", (json_int_t)mid, "reason", reason,
		"phase", "requested");
	int arc = mk_audit(&c, enable ? "bpgate-enable" : "bpgate-disable", a, &err);
	json_decref(a);
	if (arc < 0) {
		cli_report_error(what, &err);
		fprintf(stderr, "bpgate %s: nothing was changed\n", what);
		goto done;
	}
	if (bpg_make_scenario_set_active(c.client, mid, enable, &err) < 0 ||
	    bpg_make_scenario_get(&scen, c.client, mid, &err) < 0) {
		cli_report_error(what, &err);
		goto done;
	}
	const json_t *active = json_object_get(scen, "isActive");
	if (!json_is_boolean(active))
		active = json_object_get(scen, "islinked");
	if (!json_is_boolean(active) || json_boolean_value(active) != enable) {
		fprintf(stderr, "bpgate %s: Make still reports scenario %lld as %s\n", what, mid,
			enable ? "inactive" : "active");
		goto done;
	}
	rec = json_pack("{s:s, s:I, s:b, s:s, s:s, s:s}", "scenario", id, "make_id", (json_int_t)mid, "active", enable,
		"who", principal ? principal : c.who, "time", c.now, "reason", reason);
	if (!rec || mk_switch_save(c.repo, env, id, rec, &err) < 0) {
		cli_report_error(what, &err);
		goto done;
	}
	a = json_pack("{s:s, s:I, s:s, s:s}", "scenario", id, "make_id", (json_int_t)mid, "reason", reason,
		"phase", "done");
	arc = mk_audit(&c, enable ? "bpgate-enable" : "bpgate-disable", a, &err);
	json_decref(a);
	if (arc < 0) {
		cli_report_error(what, &err);
		goto done;
	}
	printf("%s %s in %s (Make scenario %lld): %s\n", id, enable ? "enabled" : "DISABLED", env, mid, reason);
	rc = BPG_EXIT_OK;
done:
	json_decref(rec);
	json_decref(scen);
	mk_state_dispose(&st);
	mk_close(&c);
	return rc;
}
