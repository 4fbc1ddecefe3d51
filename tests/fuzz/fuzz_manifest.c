/* libFuzzer: release bundle manifests, and the bundle check over an empty tree. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpgate/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_nothing(bpg_buf *out, const char *path, size_t max, void *payload, bpg_error *err)
{
	(void)out;
	(void)max;
	(void)payload;
	return bpg_error_set(err, BPG_ENOTFOUND, "%s: absent", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	bpg_bundle *b = NULL, *b2 = NULL;
	bpg_bundle_result *res = NULL;
	bpg_buf one = BPG_BUF_INIT, two = BPG_BUF_INIT;
	bpg_tree tree = { read_nothing, NULL, NULL };
	bpg_error err;

	if (bpg_bundle_parse(&b, text, size, "fuzz", &err) == 0) {
		/* Canonical form is a fixed point: serialise, parse, serialise gives the same bytes. */
		if (bpg_bundle_serialize(&one, b, &err) != 0 ||
		    bpg_bundle_parse(&b2, one.ptr, one.size, "again", &err) != 0 ||
		    bpg_bundle_serialize(&two, b2, &err) != 0 || one.size != two.size ||
		    memcmp(one.ptr, two.ptr, one.size) != 0)
			__builtin_trap();
	}
	if (bpg_bundle_check(&res, "r/x.bundle.json", text, size, NULL, 0, NULL, 0, &tree, &err) == 0)
		bpg_bundle_result_free(res);
	bpg_bundle_free(b);
	bpg_bundle_free(b2);
	bpg_buf_dispose(&one);
	bpg_buf_dispose(&two);
	return 0;
}
