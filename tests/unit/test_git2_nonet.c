/* hooks/git2_nonet.c, git2_nonet_tls.c: libgit2 linked statically without libssh2, GSSAPI
 * and mbedTLS's TLS (the bpgate command, option libgit2_static), initialised as bpgate does
 * (hooks/gitinit.c). An ssh:// remote fails before any SSH byte is sent (the transport's TCP
 * connection gets nothing and is closed), an https:// remote before its TLS hello, each
 * with libgit2's error. Linked as the bpgate command links libgit2
 * (tests/unit/meson.build). */
#include <criterion/criterion.h>
#include "../../hooks/gitinit.h"
#include <arpa/inet.h>
#include <git2.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

Test(git2_nonet, libgit2_initialises_and_ssh_fails_closed)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	git_remote *r = NULL;
	char url[64], buf[64];
	int l = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(cli_libgit2_init(), 1, "git_libgit2_init with the stubs");
	cr_assert_geq(l, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 4), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "ssh://git@127.0.0.1:%u/repo.git", ntohs(a.sin_port));
	cr_assert_eq(git_remote_create_detached(&r, url), 0);
	cr_assert_lt(git_remote_connect(r, GIT_DIRECTION_FETCH, NULL, NULL, NULL), 0, "an ssh:// remote must fail");
	const git_error *e = git_error_last();
	cr_assert(e && e->message && strstr(e->message, "SSH session"), "libgit2's error: %s", e ? e->message : "(none)");
	git_remote_free(r);
	/* what the server end got: at most a TCP connection that sends nothing */
	struct pollfd p = { .fd = l, .events = POLLIN };
	if (poll(&p, 1, 0) == 1) {
		int c = accept(l, NULL, NULL);
		cr_assert_geq(c, 0);
		cr_assert_leq(recv(c, buf, sizeof(buf), MSG_DONTWAIT), 0, "no byte may reach the server (not even an SSH banner)");
		close(c);
	}
	close(l);
	git_libgit2_shutdown();
}

Test(git2_nonet, https_fails_before_any_tls_byte)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	git_remote *r = NULL;
	char url[64];
	int l = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(cli_libgit2_init(), 1);
	cr_assert_geq(l, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 4), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/repo.git", ntohs(a.sin_port));
	cr_assert_eq(git_remote_create_detached(&r, url), 0);
	cr_assert_lt(git_remote_connect(r, GIT_DIRECTION_FETCH, NULL, NULL, NULL), 0, "an https:// remote must fail");
	const git_error *e = git_error_last();
	cr_assert(e && e->message && strstr(e->message, "TLS is not in this program"), "libgit2's error: %s",
		e ? e->message : "(none)");
	git_remote_free(r);
	struct pollfd p = { .fd = l, .events = POLLIN };
	if (poll(&p, 1, 0) == 1) {
		char buf[64];
		int c = accept(l, NULL, NULL);
		cr_assert_geq(c, 0);
		cr_assert_leq(recv(c, buf, sizeof(buf), MSG_DONTWAIT), 0, "no byte may reach the server (not even a TLS hello)");
		close(c);
	}
	close(l);
	git_libgit2_shutdown();
}
