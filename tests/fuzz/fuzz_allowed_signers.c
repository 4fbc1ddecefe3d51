/* libFuzzer: allowed_signers parsing, principal lookup and ssh pattern-lists. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpgate/sshsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpg_allowed_signers *s = NULL;
	bpg_buf out = BPG_BUF_INIT;
	bpg_ssh_pubkey key;
	bpg_error err;
	const char *text = (const char *)data;
	time_t t;

	memset(&key, 0, sizeof(key));
	if (bpg_allowed_signers_parse(&s, text, size, "fuzz", &err) == 0) {
		(void)bpg_allowed_signers_find_principals(&out, s, &key, "git", 1700000000, &err);
		bpg_allowed_signers_free(s);
	}
	/* first line as a pattern list, the rest as a name */
	const char *nl = memchr(text, '\n', size);
	if (nl) {
		size_t plen = (size_t)(nl - text);
		(void)bpg_ssh_pattern_list_match(text, plen, nl + 1, size - plen - 1);
	}
	(void)bpg_ssh_parse_time(&t, text, size, &err);
	bpg_buf_dispose(&out);
	return 0;
}
