/* libFuzzer target: policy files and facts. The first byte picks the input:
 * even, a policy.json for the loader; odd, a facts document evaluated under
 * the shipped regulated pack (loaded once). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bpg_config.h"
#include "bpgate/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bpg_policy *pack;

static void load_pack(void)
{
	bpg_policy_files *files = NULL;
	bpg_error err;

	if (bpg_policy_files_read_dir(&files, BPG_SOURCE_ROOT "/policy/packs/regulated", &err) < 0 ||
	    bpg_policy_load(&pack, NULL, files, &err) < 0)
		abort(); /* the shipped pack must always load */
	bpg_policy_files_free(files);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpg_error err;

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		bpg_policy_files *files = NULL;
		bpg_policy *p = NULL;
		bpg_diags *diags = NULL;
		if (bpg_policy_files_new(&files, ".bpgate", &err) == 0 &&
		    bpg_policy_files_add(files, "policy.json", data + 1, size - 1, &err) == 0) {
			if (bpg_policy_load(&p, &diags, files, &err) == 0)
				bpg_policy_free(p);
		}
		bpg_diags_free(diags);
		bpg_policy_files_free(files);
		return 0;
	}
	if (!pack)
		load_pack();
	json_error_t je;
	json_t *facts = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
	if (facts) {
		bpg_decision *d = NULL;
		if (bpg_evaluate(&d, pack, facts, &err) == 0)
			bpg_decision_free(d);
		json_decref(facts);
	}
	return 0;
}
