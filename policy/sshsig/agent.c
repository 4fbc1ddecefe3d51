/*
 * ssh-agent client: list keys and sign (see sshagent.h). Messages are
 * uint32 length || byte type || payload, with strings as in RFC 4251.
 */
#define _DEFAULT_SOURCE
#include "internal.h"
#include "bpgate/sshagent.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum {
	AGENT_FAILURE = 5,
	AGENT2_FAILURE = 30,    /* older agents' spellings of a refusal */
	AGENT_COM_FAILURE = 102,
	AGENTC_REQUEST_IDENTITIES = 11,
	AGENT_IDENTITIES_ANSWER = 12,
	AGENTC_SIGN_REQUEST = 13,
	AGENT_SIGN_RESPONSE = 14,
};

/* OpenSSH's agent refuses messages over 256 KiB; so do we. */
#define AGENT_MAX_MESSAGE (256 * 1024)
/* What is signed fits one request with room for the key blob and framing
 * (a minisign signature sends 64 bytes, a legacy one the whole file). */
#define SIGN_MAX_DATA (AGENT_MAX_MESSAGE - 1024)
/* An agent may ask its user to confirm a signature (ssh-add -c): each
 * exchange, connecting included, must be over within this time. */
#define AGENT_TIMEOUT_S 120

struct bpg_ssh_agent {
	int fd;
	bpg_buf reply; /* the last reply's payload (type byte first) */
};

int bpg_ssh_agent_open(bpg_ssh_agent **out, const char *path, bpg_error *err)
{
	struct sockaddr_un sa;
	struct timeval tv = { AGENT_TIMEOUT_S, 0 };
	bpg_ssh_agent *a;

	*out = NULL;
	if (!path)
		path = getenv("SSH_AUTH_SOCK");
	if (!path || !*path)
		return bpg_error_set(err, BPG_ENOTFOUND, "no ssh-agent (SSH_AUTH_SOCK is not set): start one "
			"(eval \"$(ssh-agent)\") and add the key with ssh-add");
	if (strlen(path) >= sizeof(sa.sun_path))
		return bpg_error_set(err, BPG_EINVALID, "the ssh-agent socket path is too long (%zu bytes)", strlen(path));
	if (!(a = calloc(1, sizeof(*a))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	a->fd = -1;
	a->reply = (bpg_buf)BPG_BUF_INIT;
	a->reply.max = AGENT_MAX_MESSAGE + 1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		/* before connect: a stuck agent's full backlog must not hang us */
		(void)setsockopt(a->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (a->fd < 0 || connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		bpg_ssh_agent_free(a);
		return bpg_error_set(err, BPG_ENOTFOUND, "cannot reach ssh-agent at %s: %s (is it running? "
			"eval \"$(ssh-agent)\", then ssh-add the key)", path, strerror(e));
	}
	*out = a;
	return 0;
}

void bpg_ssh_agent_free(bpg_ssh_agent *agent)
{
	if (!agent)
		return;
	if (agent->fd >= 0)
		close(agent->fd);
	bpg_buf_dispose(&agent->reply);
	free(agent);
}

static int io_error(bpg_error *err, const char *what)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return bpg_error_set(err, BPG_EIO, "ssh-agent did not answer within %d s (%s)", AGENT_TIMEOUT_S, what);
	return bpg_error_set(err, BPG_EIO, "talking to ssh-agent failed (%s): %s", what, strerror(errno));
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static int send_all(int fd, const unsigned char *p, size_t n, const struct timespec *deadline, bpg_error *err)
{
	while (n) {
		if (past(deadline))
			return bpg_error_set(err, BPG_EIO, "ssh-agent did not take the request within %d s", AGENT_TIMEOUT_S);
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_error(err, "sending");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, unsigned char *p, size_t n, const struct timespec *deadline, bpg_error *err)
{
	while (n) {
		if (past(deadline)) /* a trickle of bytes must not stretch the time limit */
			return bpg_error_set(err, BPG_EIO, "ssh-agent did not answer within %d s", AGENT_TIMEOUT_S);
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return bpg_error_set(err, BPG_EIO, "ssh-agent closed the connection mid-reply");
		if (r < 0)
			return io_error(err, "receiving");
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Send one request (type || body) and read one reply into agent->reply.
 * After a failure the stream may be out of step: the connection is closed,
 * and later requests on it fail. */
static int transact(bpg_ssh_agent *a, unsigned char type, const bpg_buf *body, bpg_error *err)
{
	unsigned char hdr[5];
	size_t blen = body ? body->size : 0;
	uint32_t n = (uint32_t)(blen + 1);
	struct timespec deadline;
	int rc;

	if (a->fd < 0)
		return bpg_error_set(err, BPG_EIO, "the connection to ssh-agent was lost after an earlier error");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += AGENT_TIMEOUT_S;
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
	hdr[4] = type;
	a->reply.size = 0;
	if ((rc = send_all(a->fd, hdr, 5, &deadline, err)) < 0 ||
	    (blen && (rc = send_all(a->fd, (const unsigned char *)body->ptr, blen, &deadline, err)) < 0) ||
	    (rc = recv_all(a->fd, hdr, 4, &deadline, err)) < 0)
		goto broken;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > AGENT_MAX_MESSAGE) {
		rc = bpg_error_set(err, BPG_EINVALID, "ssh-agent sent a reply of %u bytes (expected 1 to %d)",
			n, AGENT_MAX_MESSAGE);
		goto broken;
	}
	if (bpg_buf_grow(&a->reply, n) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto broken;
	}
	if ((rc = recv_all(a->fd, (unsigned char *)a->reply.ptr, n, &deadline, err)) < 0)
		goto broken;
	a->reply.size = n;
	return 0;
broken:
	close(a->fd);
	a->fd = -1;
	return rc;
}

int bpg_ssh_agent_has(bool *out, bpg_ssh_agent *agent, const bpg_ssh_pubkey *key, bpg_error *err)
{
	unsigned char want[BPG_SSH_PUBKEY_BLOB_SIZE];
	const unsigned char *blob, *comment, *type;
	size_t blen, clen;
	uint32_t n;
	ssh_reader r;
	int rc;

	*out = false;
	if ((rc = transact(agent, AGENTC_REQUEST_IDENTITIES, NULL, err)) < 0)
		return rc;
	ssh_reader_init(&r, agent->reply.ptr, agent->reply.size);
	if (ssh_get_bytes(&r, &type, 1) < 0 || *type != AGENT_IDENTITIES_ANSWER || ssh_get_u32(&r, &n) < 0)
		return bpg_error_set(err, BPG_EINVALID, "ssh-agent did not answer the request for its keys");
	bpg_ssh_pubkey_blob(want, key);
	for (uint32_t i = 0; i < n; i++) {
		if (ssh_get_string(&r, &blob, &blen) < 0 || ssh_get_string(&r, &comment, &clen) < 0)
			return bpg_error_set(err, BPG_EINVALID, "ssh-agent's list of keys is truncated (key %u of %u)",
				i + 1, n);
		if (blen == sizeof(want) && memcmp(blob, want, sizeof(want)) == 0)
			*out = true;
	}
	if (!ssh_reader_done(&r))
		return bpg_error_set(err, BPG_EINVALID, "ssh-agent's list of keys has trailing data");
	return 0;
}

int bpg_ssh_agent_sign_raw(unsigned char sig[BPG_SSH_ED25519_SIG_SIZE], bpg_ssh_agent *agent,
	const bpg_ssh_pubkey *key, const void *msg, size_t len, bpg_error *err)
{
	unsigned char blob[BPG_SSH_PUBKEY_BLOB_SIZE];
	const unsigned char *type, *sblob, *raw;
	size_t slen, rawlen;
	bpg_buf req = BPG_BUF_INIT;
	ssh_reader r, s;
	int rc;

	if (len > SIGN_MAX_DATA)
		return bpg_error_set(err, BPG_ETOOBIG, "%zu bytes to sign through ssh-agent (at most %d)", len,
			SIGN_MAX_DATA);
	bpg_ssh_pubkey_blob(blob, key);
	if (ssh_put_string(&req, blob, sizeof(blob)) < 0 || ssh_put_string(&req, msg, len) < 0 ||
	    ssh_put_u32(&req, 0) < 0) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = transact(agent, AGENTC_SIGN_REQUEST, &req, err)) < 0)
		goto done;
	ssh_reader_init(&r, agent->reply.ptr, agent->reply.size);
	if (ssh_get_bytes(&r, &type, 1) < 0) {
		rc = bpg_error_set(err, BPG_EINVALID, "ssh-agent sent an empty reply");
		goto done;
	}
	if (*type == AGENT_FAILURE || *type == AGENT2_FAILURE || *type == AGENT_COM_FAILURE) {
		rc = bpg_error_set(err, BPG_EVERIFY, "ssh-agent refused to sign (the key was removed, or its "
			"confirmation was declined)");
		goto done;
	}
	if (*type != AGENT_SIGN_RESPONSE || ssh_get_string(&r, &sblob, &slen) < 0 || !ssh_reader_done(&r)) {
		rc = bpg_error_set(err, BPG_EINVALID, "ssh-agent sent a malformed answer to a signing request "
			"(message type %u)", (unsigned)*type);
		goto done;
	}
	ssh_reader_init(&s, sblob, slen);
	if (ssh_get_expect(&s, "ssh-ed25519") < 0 || ssh_get_string(&s, &raw, &rawlen) < 0 ||
	    rawlen != BPG_SSH_ED25519_SIG_SIZE || !ssh_reader_done(&s)) {
		rc = bpg_error_set(err, BPG_EINVALID, "ssh-agent's signature is not an ssh-ed25519 signature");
		goto done;
	}
	if (crypto_sign_verify_detached(raw, msg, len, key->pk) != 0) {
		rc = bpg_error_set(err, BPG_EVERIFY, "ssh-agent returned a signature that does not verify "
			"against the key");
		goto done;
	}
	memcpy(sig, raw, BPG_SSH_ED25519_SIG_SIZE);
	rc = 0;
done:
	bpg_buf_dispose(&req);
	return rc;
}
