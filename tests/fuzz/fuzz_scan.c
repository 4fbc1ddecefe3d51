/* libFuzzer target: the scanner on arbitrary bytes (JSON walker, patterns,
 * validators, masking, JSON and SARIF rendering). */
#include <stdint.h>
#include <stdlib.h>

#include "bpgate/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bpg_scanner *s;
	bpg_findings *f = NULL;
	bpg_error err;
	json_t *j = NULL;

	if (!s && bpg_scanner_new(&s, NULL, &err) < 0)
		abort();
	if (bpg_findings_new(&f, &err) < 0)
		abort();
	(void)bpg_scan_buffer(s, f, "fuzz", (const char *)data, size, &err);
	if (bpg_findings_to_json(&j, f, &err) == 0)
		json_decref(j);
	if (bpg_findings_to_sarif(&j, f, &err) == 0)
		json_decref(j);
	bpg_findings_free(f);
	return 0;
}
