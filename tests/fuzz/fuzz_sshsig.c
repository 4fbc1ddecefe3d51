/* libFuzzer: SSHSIG armor and blob parsing, the crypto check and the full
 * verification against a fixed allowed_signers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpgate/sshsig.h"

static const char signers_text[] =
	"*@example.com,!mallory@example.com namespaces=\"file,git\" ssh-ed25519 "
	"AAAAC3NzaC1lZDI1NTE5AAAAICqxQI1Mf9C/CrMkG1TvkcTfAJzVGUeQEq7/lwN5R3d6\n"
	"ca@example.com cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMbp9GLbozTeF/Kil35sD9eNggHFJ46AGojhMRMa0Lnv\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bpg_allowed_signers *signers;
	bpg_sshsig *sig = NULL;
	bpg_sshsig_result res;
	bpg_error err;

	if (!signers && bpg_allowed_signers_parse(&signers, signers_text, sizeof(signers_text) - 1, "f", &err) < 0)
		__builtin_trap();
	if (bpg_sshsig_parse_blob(&sig, data, size, &err) == 0) {
		(void)bpg_sshsig_check(NULL, sig, "msg", 3, bpg_sshsig_namespace(sig), &err);
		bpg_sshsig_free(sig);
	}
	if (bpg_sshsig_parse(&sig, (const char *)data, size, &err) == 0)
		bpg_sshsig_free(sig);
	(void)bpg_sshsig_verify(&res, "msg", 3, (const char *)data, size, "file", NULL, signers, 1700000000, &err);
	(void)bpg_sshsig_verify(&res, "msg", 3, (const char *)data, size, "file", "reviewer2@example.com", signers,
		1700000000, &err);
	return 0;
}
