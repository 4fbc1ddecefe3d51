/* libFuzzer: signature extraction from raw git commit and tag objects, and
 * verification with namespace "git". */
#include <stddef.h>
#include <stdint.h>

#include "bpgate/sshsig.h"

static const char signers_text[] =
	"release-signer@example.com namespaces=\"git\" ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAIFGgI0ZEkzaby5gmDSz8JK5fZBbf4tk4/NZYcFmEfQhX TEST-ONLY\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bpg_allowed_signers *signers;
	bpg_buf payload = BPG_BUF_INIT, sig = BPG_BUF_INIT;
	bpg_sshsig_result res;
	int64_t when;
	bpg_error err;
	const char *raw = (const char *)data;

	if (!signers && bpg_allowed_signers_parse(&signers, signers_text, sizeof(signers_text) - 1, "f", &err) < 0)
		__builtin_trap();
	(void)bpg_gitsig_extract(&payload, &sig, &when, BPG_GITSIG_COMMIT, raw, size, &err);
	bpg_buf_clear(&payload);
	bpg_buf_clear(&sig);
	(void)bpg_gitsig_extract(&payload, &sig, &when, BPG_GITSIG_TAG, raw, size, &err);
	(void)bpg_gitsig_verify(&res, BPG_GITSIG_COMMIT, raw, size, signers, 1704164645, &err);
	(void)bpg_gitsig_verify(&res, BPG_GITSIG_TAG, raw, size, signers, 1704164645, &err);
	bpg_buf_dispose(&payload);
	bpg_buf_dispose(&sig);
	return 0;
}
