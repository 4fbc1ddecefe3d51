/* libFuzzer target: the blueprint parser, its JSON model and a self-diff. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bpgate/blueprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpg_blueprint *bp = NULL;
	bpg_bpdiff *d = NULL;
	json_t *j = NULL;
	bpg_error err;

	if (bpg_blueprint_parse(&bp, (const char *)data, size, "fuzz", &err) == 0) {
		if (bpg_blueprint_to_json(&j, bp, &err) == 0)
			json_decref(j);
		if (bpg_bpdiff_compute(&d, bp, bp, &err) == 0) {
			if (bpg_bpdiff_count(d) != 0)
				abort(); /* a blueprint never differs from itself */
			bpg_bpdiff_free(d);
		}
		bpg_blueprint_free(bp);
	}
	return 0;
}
