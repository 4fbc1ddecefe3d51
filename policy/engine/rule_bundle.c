/*
 * bundle-signed: every release bundle in the change verified (the bundle
 * module's result arrives as facts: ok, signer, problems) and was signed by
 * a principal with the releasers role.
 */
#include "engine.h"

#include <string.h>

static const bpg_sfield params[] = {
	{ "signer_role", &bpg_s_nonempty, false, "\"releasers\"" },
	{ NULL, NULL, false, NULL },
};

static int eval(bpg_eval *ev)
{
	const char *role = bpg_ev_param_str(ev, "signer_role");
	size_t i, j;
	json_t *b, *pr;
	int rc;

	json_array_foreach(json_object_get(bpg_ev_facts(ev), "bundles"), i, b) {
		const char *signer = bpg_jstr(b, "signer");
		bpg_where w = { bpg_jstr(b, "path"), NULL, NULL, NULL, 0, 0 };
		if (!bpg_jbool(b, "ok")) {
			bool any = false;
			json_array_foreach(json_object_get(b, "problems"), j, pr) {
				any = true;
				if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
					"rebuild and re-sign the bundle: bpgate bundle create, then bpgate bundle sign",
					"bundle does not verify: %s", json_string_value(pr))) < 0)
					return rc;
			}
			if (!any && (rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"rebuild and re-sign the bundle: bpgate bundle create, then bpgate bundle sign",
				"bundle does not verify")) < 0)
				return rc;
			continue;
		}
		if (!signer) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w, "sign the bundle with a releaser's key",
				"bundle is not signed by a known principal")) < 0)
				return rc;
		} else if (!bpg_pol_has_role(bpg_ev_policy(ev), role, signer)) {
			if ((rc = bpg_ev_emit(ev, BPG_SEV_ERROR, &w,
				"have a member of the role sign it, or add the principal to the role (an admin change)",
				"bundle signed by '%s', who is not in role '%s'", signer, role)) < 0)
				return rc;
		}
	}
	return 0;
}

const bpg_rule_def bpg_rule_bundle_signed = {
	.info = { "bundle-signed", "release bundles verify and are signed by a releaser", BPG_MODE_ENFORCE },
	.params = params,
	.eval = eval,
};
