/*
 * The JSON heap (bpgate/jsonheap.h) under an address-space limit, as release builds
 * run it. Built without the test build's sanitizer (whose shadow memory needs more
 * address space than any such limit leaves) by tests/unit/heap_plain.sh. Under
 * RLIMIT_AS the heap reserves a quarter of the limit at most, and nothing when that
 * quarter is under 64 MiB. Usage: jsonheap_plain LIMIT_MIB WANT (WANT 1: installed,
 * 0: not). Exit 0 when it holds, 77 when it does not apply (not Linux), 1 otherwise.
 */
#include "bpgate/jsonheap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	struct rlimit rl;
	int want, got;
	json_t *arr;

	if (argc != 3)
		return 1;
#ifndef __linux__
	return 77;
#endif
	rl.rlim_cur = rl.rlim_max = (rlim_t)strtoul(argv[1], NULL, 10) << 20;
	want = atoi(argv[2]);
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("jsonheap_plain: setrlimit");
		return 1;
	}
	got = bpg_json_heap_install();
	if (got != want) {
		fprintf(stderr, "jsonheap_plain: under %s MiB: installed %d, wanted %d\n", argv[1], got, want);
		return 1;
	}
	/* values work either way, and come from the heap only when it is installed */
	arr = json_array();
	for (int i = 0; arr && i < 100000; i++)
		if (json_array_append_new(arr, json_sprintf("value %d", i)) < 0)
			return 1;
	if (!arr || json_array_size(arr) != 100000 || strcmp(json_string_value(json_array_get(arr, 99999)), "value 99999") ||
	    bpg_json_heap_owns(json_array_get(arr, 0)) != (want == 1)) {
		fprintf(stderr, "jsonheap_plain: values wrong under %s MiB\n", argv[1]);
		return 1;
	}
	char *s = bpg_json_dumps(json_array_get(arr, 5), JSON_ENCODE_ANY);
	if (!s || strcmp(s, "\"value 5\"") != 0)
		return 1;
	free(s);
	json_decref(arr);
	return 0;
}
