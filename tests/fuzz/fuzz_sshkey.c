/* libFuzzer: OpenSSH private key files and public key lines. */
#include <stddef.h>
#include <stdint.h>

#include "bpgate/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpg_ssh_seckey *k = NULL;
	bpg_ssh_pubkey pub;
	bpg_buf comment = BPG_BUF_INIT;
	bpg_error err;
	const char *text = (const char *)data;

	(void)bpg_ssh_seckey_is_encrypted(text, size);
	(void)bpg_ssh_seckey_is_foreign(text, size);
	if (bpg_ssh_seckey_parse(&k, text, size, "fuzz", &err) == 0) {
		unsigned char sig[BPG_SSH_ED25519_SIG_SIZE];
		(void)bpg_ssh_seckey_sign_raw(sig, k, "m", 1, &err);
		bpg_ssh_seckey_free(k);
	}
	(void)bpg_ssh_pubkey_parse(&pub, &comment, text, size, &err);
	(void)bpg_ssh_pubkey_from_blob(&pub, data, size, &err);
	bpg_buf_dispose(&comment);
	return 0;
}
