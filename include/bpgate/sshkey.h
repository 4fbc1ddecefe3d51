/*
 * bpgate — OpenSSH ed25519 keys: public key lines ("ssh-ed25519 AAAA...
 * comment"), public key blobs and fingerprints, and unencrypted
 * "openssh-key-v1" private key files ("-----BEGIN OPENSSH PRIVATE KEY-----").
 *
 * Ownership:
 *  - bpg_ssh_pubkey is a plain value (32 bytes of public key); copy it freely.
 *  - bpg_ssh_seckey is opaque; its secret half lives in sodium_malloc'd,
 *    guarded memory that is wiped by bpg_ssh_seckey_free() (accepts NULL).
 *  - Strings returned by getters are borrowed from the key.
 *
 * Encrypted (passphrase-protected) private keys are refused with BPG_EINVALID
 * and a message saying to sign through ssh-keygen/ssh-agent instead
 * (`bpgate sshsig sign` does that itself, `bpgate sign` asks ssh-agent, see
 * sshagent.h); bpg_ssh_seckey_is_encrypted() lets a caller choose that route
 * before trying.
 */
#ifndef INCLUDE_bpgate_sshkey_h__
#define INCLUDE_bpgate_sshkey_h__

#include "common.h"
#include "buf.h"
#include <stdbool.h>

BPG_BEGIN_DECL

#define BPG_SSH_ED25519_PK_SIZE 32
#define BPG_SSH_ED25519_SIG_SIZE 64
/** Size of the ssh-ed25519 public key blob: string "ssh-ed25519" || string pk. */
#define BPG_SSH_PUBKEY_BLOB_SIZE 51
/** "SHA256:" + 43 base64 characters + NUL. */
#define BPG_SSH_FINGERPRINT_SIZE 51
/** Largest private key file read (OpenSSH ed25519 keys are ~400 bytes). */
#define BPG_SSH_KEYFILE_MAX 16384

/** An ed25519 public key. */
typedef struct {
	unsigned char pk[BPG_SSH_ED25519_PK_SIZE];
} bpg_ssh_pubkey;

/** An ed25519 private key (opaque; secret bytes in sodium_malloc'd memory). */
typedef struct bpg_ssh_seckey bpg_ssh_seckey;

/**
 * Parse one public key line: "ssh-ed25519 <base64 blob> [comment]" (leading
 * blanks allowed, trailing LF/CR ignored). When comment is not NULL it gets
 * the comment (possibly empty; bpg_buf owned by the caller). Other key types
 * give BPG_EINVALID naming the type.
 */
BPG_EXTERN(int) bpg_ssh_pubkey_parse(bpg_ssh_pubkey *out, bpg_buf *comment,
	const char *line, size_t len, bpg_error *err);

/** Decode a public key blob (exactly string "ssh-ed25519" || string pk(32)). */
BPG_EXTERN(int) bpg_ssh_pubkey_from_blob(bpg_ssh_pubkey *out,
	const unsigned char *blob, size_t len, bpg_error *err);

/** Write the 51-byte public key blob. */
BPG_EXTERN(void) bpg_ssh_pubkey_blob(unsigned char out[BPG_SSH_PUBKEY_BLOB_SIZE],
	const bpg_ssh_pubkey *key);

/** "SHA256:<base64 without padding of SHA-256(blob)>", as ssh-keygen -l prints. */
BPG_EXTERN(void) bpg_ssh_pubkey_fingerprint(char out[BPG_SSH_FINGERPRINT_SIZE],
	const bpg_ssh_pubkey *key);

/** Append "ssh-ed25519 <base64>[ <comment>]" (no LF) to out. */
BPG_EXTERN(int) bpg_ssh_pubkey_format(bpg_buf *out, const bpg_ssh_pubkey *key,
	const char *comment);

/** Equality of two public keys (constant time; public data, but cheap). */
BPG_EXTERN(bool) bpg_ssh_pubkey_equal(const bpg_ssh_pubkey *a, const bpg_ssh_pubkey *b);

/**
 * Parse an OpenSSH private key file's contents (unencrypted ssh-ed25519).
 * `name` is used in messages. Checks the armor, magic, cipher/kdf "none",
 * one key, matching check integers, that the public key in the public
 * section equals the one in the private section and equals the one derived
 * from the seed, and the padding bytes 1, 2, 3, ...
 */
BPG_EXTERN(int) bpg_ssh_seckey_parse(bpg_ssh_seckey **out, const char *data, size_t len,
	const char *name, bpg_error *err);

/**
 * Read and parse a private key file, refusing (like ssh) a file that group
 * or others may read ("permissions 0644 for 'x' are too open"). The file is
 * read into guarded memory and wiped.
 */
BPG_EXTERN(int) bpg_ssh_seckey_load(bpg_ssh_seckey **out, const char *path, bpg_error *err);

/**
 * The public key of an openssh-key-v1 private key file's contents, read
 * from its public section: a passphrase-protected key has one too (what
 * signing through ssh-agent needs). Nothing secret is decoded.
 */
BPG_EXTERN(int) bpg_ssh_seckey_public(bpg_ssh_pubkey *out, const char *data, size_t len, const char *name,
	bpg_error *err);

/** True when data is an openssh-key-v1 private key protected by a passphrase. */
BPG_EXTERN(bool) bpg_ssh_seckey_is_encrypted(const char *data, size_t len);

/**
 * True when data is an openssh-key-v1 private key that bpgate cannot use
 * itself but ssh-keygen can: passphrase-protected, or of another type than
 * ssh-ed25519 (RSA, ECDSA, security keys).
 */
BPG_EXTERN(bool) bpg_ssh_seckey_is_foreign(const char *data, size_t len);

/** Make a key from a 32-byte Ed25519 seed (tests, key generation). */
BPG_EXTERN(int) bpg_ssh_seckey_from_seed(bpg_ssh_seckey **out,
	const unsigned char seed[32], const char *comment, bpg_error *err);

/**
 * Write the key as an unencrypted openssh-key-v1 file (armored, 70-column
 * base64, as ssh-keygen writes). `checkint` is the random check integer
 * (pass randombytes_random()). out should be wiped by the caller
 * (sodium_memzero(out->ptr, out->size)) before disposal.
 */
BPG_EXTERN(int) bpg_ssh_seckey_format(bpg_buf *out, const bpg_ssh_seckey *key,
	uint32_t checkint, bpg_error *err);

/** Borrowed public half of the key. */
BPG_EXTERN(const bpg_ssh_pubkey *) bpg_ssh_seckey_pubkey(const bpg_ssh_seckey *key);
/** Borrowed comment of the key ("" when none). */
BPG_EXTERN(const char *) bpg_ssh_seckey_comment(const bpg_ssh_seckey *key);

/**
 * Raw Ed25519 signature of msg (no SSHSIG framing): what a minisign signer
 * needs from an OpenSSH key. For SSHSIG use bpg_sshsig_sign().
 */
BPG_EXTERN(int) bpg_ssh_seckey_sign_raw(unsigned char sig[BPG_SSH_ED25519_SIG_SIZE],
	const bpg_ssh_seckey *key, const void *msg, size_t len, bpg_error *err);

/** Wipe and free (accepts NULL). */
BPG_EXTERN(void) bpg_ssh_seckey_free(bpg_ssh_seckey *key);

BPG_END_DECL

#endif
