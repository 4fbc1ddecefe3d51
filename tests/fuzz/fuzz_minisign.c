/* libFuzzer: minisign public key, secret key and signature files. */
#include <stddef.h>
#include <stdint.h>

#include "bpgate/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The key of vectors/minisign (public data), so that well-formed inputs reach the crypto. */
	static const char pubtext[] = "RWQr6aErmFCi7516b6h26VsGViwGiLAxTaGSxbXNCyVjXNNTTPHAxVav";
	const char *text = (const char *)data;
	bpg_minisign_pubkey pk, fixed;
	bpg_minisign_seckey *sk = NULL;
	bpg_minisign_sig *sig = NULL;
	bpg_error err;
	bool enc;

	(void)bpg_minisign_pubkey_parse(&pk, text, size, "fuzz", &err);
	(void)bpg_minisign_seckey_is_encrypted(&enc, text, size, "fuzz", &err);
	/* No passphrase: an encrypted key stops before scrypt (its cost is attacker-chosen). */
	if (bpg_minisign_seckey_parse(&sk, text, size, NULL, "fuzz", &err) == 0)
		bpg_minisign_seckey_free(sk);
	if (bpg_minisign_pubkey_parse(&fixed, pubtext, sizeof(pubtext) - 1, "k", &err) != 0)
		__builtin_trap();
	if (bpg_minisign_sig_parse(&sig, text, size, "fuzz", &err) == 0) {
		(void)bpg_minisign_sig_verify(sig, &fixed, data, size, 0, &err);
		(void)bpg_minisign_sig_trusted_comment(sig);
		bpg_minisign_sig_free(sig);
	}
	return 0;
}
