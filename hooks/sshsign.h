/*
 * Signing a statement with the user's SSH key for a namespace (sshsign.c):
 * bpgate's own SSHSIG signer for a plain ed25519 key file, `ssh-keygen -Y
 * sign` for agent-held, passphrase-protected or other keys; and finding the
 * principal of that key in .bpgate/allowed_signers. Buffers are the
 * caller's; nothing is kept.
 */
#ifndef BPG_HOOKS_SSHSIGN_H
#define BPG_HOOKS_SSHSIGN_H

#include <git2.h>
#include "bpgate/buf.h"
#include "bpgate/sshkey.h"

/* Append the armoured signature of msg to sig (at most maxsig bytes); pub receives the key. -1 after a message on stderr. */
int cli_ssh_sign(bpg_buf *sig, const char *key_path, const char *ns, const void *msg, size_t len, size_t maxsig,
	bpg_ssh_pubkey *pub, const char *cmd);

/* The one principal of KEY.pub in the work tree's .bpgate/allowed_signers for ns; -1 after a message. */
int cli_ssh_principal(char *out, size_t size, git_repository *repo, const char *key_path, const char *ns,
	const char *cmd);

/* Run argv (PATH search), wait: its exit code, or -1. */
int cli_run(char *const argv[]);

/* Now as RFC 3339 UTC, or BPGATE_TIME when it has that form (tests). */
void cli_now_utc(char out[32]);

#endif
