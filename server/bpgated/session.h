/*
 * bpgated — the per-connection state shared by session.c (channel, I/O
 * pump, main loop) and auth.c (public-key authentication). Lives on the
 * stack of bpgd_session_serve() in the forked child; everything it points
 * to is owned by it and released when the child exits.
 */
#ifndef SERVER_bpgated_session_h__
#define SERVER_bpgated_session_h__

#include "bpgated.h"

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <time.h>

#define BPGD_MAX_AUTH_ATTEMPTS 10
#define BPGD_MAX_ENV_REQUESTS 32
#define BPGD_STDIN_CAP (4u << 20)   /* bytes queued for git's stdin before we stop reading the channel */

typedef struct {
	const bpgd_config *cfg;
	ssh_session session;
	ssh_event event;
	int parent_fd;
	char remote[80];
	bpgd_keys keys;

	/* authentication */
	bool authenticated;
	bool over_limit;     /* parent refused: per-principal limit reached */
	int auth_attempts;
	char principal[72];
	bool admin;
	char key_fp[128];

	/* the one session channel */
	ssh_channel channel;
	struct ssh_channel_callbacks_struct chan_cb;
	char git_protocol[260];
	int env_requests;
	char *exec_line;     /* set by the exec callback, acted on in the loop */
	bool exec_seen;

	/* the running git child */
	bool started;        /* a command is being served */
	bool finished;       /* exit-status, EOF and CLOSE sent */
	bpgd_child child;
	bool child_reaped;
	int child_status;    /* waitpid status */
	int child_pidfd;     /* readable when git exits (-1: polled instead) */
	bool pidfd_registered;
	bpg_buf to_child;    /* client bytes not yet written to git's stdin */
	bool stdin_stalled;  /* we left bytes in libssh's channel buffer */
	bool in_registered;
	bool in_done;        /* git's stdin is to be closed (or is) */
	bool client_eof;
	bool channel_closed;
	bool out_open[2];    /* git stdout, stderr still open */
	bool out_registered[2];
	bool out_paused[2];  /* the client's window is full */

	time_t last_activity;
	time_t finish_deadline;
} bpgd_conn;

/** Install the server callbacks (auth, channel open) on conn->session. */
void bpgd_auth_setup(bpgd_conn *conn, struct ssh_server_callbacks_struct *cb);
/** Wire the channel callbacks (session.c) onto a freshly opened channel. */
void bpgd_channel_setup(bpgd_conn *conn, ssh_channel channel);

#endif
