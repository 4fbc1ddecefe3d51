/*
 * Public-key authentication: the key decides the principal.
 *
 * OpenSSH first offers a key without a signature (state NONE: answer PK_OK
 * only for keys we know) and then signs (state VALID: libssh verified the
 * signature; now decide). The login name is ignored, as gitolite and
 * soft-serve do: `git@host` is a convention, identity is the key. Every
 * other method is off (ssh_set_auth_methods) and has no callback.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void key_fingerprint(char *out, size_t outlen, ssh_key key)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	snprintf(out, outlen, "unknown");
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) != 0)
		return;
	fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	if (fp)
		snprintf(out, outlen, "%s", fp);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
}

static int auth_pubkey(ssh_session session, const char *user, struct ssh_key_struct *pubkey,
	char state, void *userdata)
{
	bpgd_conn *conn = userdata;
	char *b64 = NULL, fp[128], euser[80];
	const bpgd_keyent *ent = NULL;
	int rc = SSH_AUTH_DENIED;

	(void)session;
	if (conn->authenticated || ++conn->auth_attempts > BPGD_MAX_AUTH_ATTEMPTS)
		return SSH_AUTH_DENIED;
	key_fingerprint(fp, sizeof(fp), pubkey);
	if (ssh_pki_export_pubkey_base64(pubkey, &b64) == SSH_OK && b64)
		ent = bpgd_keys_find(&conn->keys, b64);
	if (!ent) {
		bpgd_log(BPGD_LOG_INFO, "auth.unknown_key", "remote=%s key=%s type=%s user=\"%s\"", conn->remote, fp,
			ssh_key_type_to_char(ssh_key_type(pubkey)) ? ssh_key_type_to_char(ssh_key_type(pubkey)) : "?",
			bpgd_esc(euser, sizeof(euser), user));
		goto done;
	}
	if (state == SSH_PUBLICKEY_STATE_NONE) {
		rc = SSH_AUTH_SUCCESS; /* libssh answers PK_OK: "sign with it" */
		goto done;
	}
	if (state != SSH_PUBLICKEY_STATE_VALID) {
		bpgd_log(BPGD_LOG_WARN, "auth.bad_signature", "remote=%s key=%s principal=%s", conn->remote, fp, ent->principal);
		goto done;
	}
	snprintf(conn->principal, sizeof(conn->principal), "%s", ent->principal);
	snprintf(conn->key_fp, sizeof(conn->key_fp), "%s", fp);
	conn->admin = ent->admin;
	conn->authenticated = true;
	conn->over_limit = !bpgd_parent_claim(conn->parent_fd, conn->principal);
	bpgd_log(BPGD_LOG_INFO, "auth.ok", "remote=%s principal=%s key=%s admin=%s%s", conn->remote,
		conn->principal, fp, conn->admin ? "yes" : "no", conn->over_limit ? " over_limit=yes" : "");
	rc = SSH_AUTH_SUCCESS;
done:
	ssh_string_free_char(b64);
	return rc;
}

static ssh_channel open_session(ssh_session session, void *userdata)
{
	bpgd_conn *conn = userdata;
	ssh_channel ch;

	/* One session channel per connection, and only after authentication. */
	if (!conn->authenticated || conn->channel) {
		bpgd_log(BPGD_LOG_WARN, "channel.refused", "reason=%s", conn->channel ? "second channel" : "not authenticated");
		return NULL;
	}
	ch = ssh_channel_new(session);
	if (!ch)
		return NULL;
	bpgd_channel_setup(conn, ch);
	conn->channel = ch;
	return ch;
}

void bpgd_auth_setup(bpgd_conn *conn, struct ssh_server_callbacks_struct *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->userdata = conn;
	cb->auth_pubkey_function = auth_pubkey;
	cb->channel_open_request_session_function = open_session;
	ssh_callbacks_init(cb);
	ssh_set_server_callbacks(conn->session, cb);
}

bool bpgd_parent_claim(int parent_fd, const char *principal)
{
	char req[96], ans = 'N';
	int n = snprintf(req, sizeof(req), "C %s\n", principal);
	ssize_t r;

	if (n < 0 || (size_t)n >= sizeof(req))
		return false;
	if (write(parent_fd, req, (size_t)n) != n)
		return false;
	do {
		r = read(parent_fd, &ans, 1);
	} while (r < 0 && errno == EINTR);
	return r == 1 && ans == 'Y';
}
