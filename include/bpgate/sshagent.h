/*
 * bpgate — a client of ssh-agent (draft-miller-ssh-agent), for signing with
 * an ed25519 key that bpgate cannot read itself: one behind a passphrase
 * (`ssh-add` decrypted it into the agent) or one that never leaves the agent.
 *
 * Only what a minisign signer needs: the list of keys, and a raw Ed25519
 * signature of a message. The agent is trusted as little as possible: every
 * reply is bounded (256 KiB, as OpenSSH's own limit), parsed with checked
 * lengths, and every signature it returns is verified against the public
 * key before it is handed out.
 *
 * Ownership: bpg_ssh_agent is opaque, owned by the caller, freed with
 * bpg_ssh_agent_free() (accepts NULL), which closes the connection.
 */
#ifndef INCLUDE_bpgate_sshagent_h__
#define INCLUDE_bpgate_sshagent_h__

#include "common.h"
#include "sshkey.h"

BPG_BEGIN_DECL

typedef struct bpg_ssh_agent bpg_ssh_agent;

/**
 * Connect to the agent listening on the UNIX socket `path` (NULL: the one
 * SSH_AUTH_SOCK names). BPG_ENOTFOUND when there is no agent to talk to,
 * with a message saying to start one and `ssh-add` the key.
 */
BPG_EXTERN(int) bpg_ssh_agent_open(bpg_ssh_agent **out, const char *path, bpg_error *err);

/** Does the agent hold this ed25519 key? */
BPG_EXTERN(int) bpg_ssh_agent_has(bool *out, bpg_ssh_agent *agent, const bpg_ssh_pubkey *key,
	bpg_error *err);

/**
 * The Ed25519 signature of msg (at most 64 KiB) by the agent's key `key`,
 * checked against it: BPG_EVERIFY if the agent refuses or returns a
 * signature that does not verify, BPG_EINVALID on a malformed reply.
 */
BPG_EXTERN(int) bpg_ssh_agent_sign_raw(unsigned char sig[BPG_SSH_ED25519_SIG_SIZE], bpg_ssh_agent *agent,
	const bpg_ssh_pubkey *key, const void *msg, size_t len, bpg_error *err);

BPG_EXTERN(void) bpg_ssh_agent_free(bpg_ssh_agent *agent);

BPG_END_DECL

#endif
