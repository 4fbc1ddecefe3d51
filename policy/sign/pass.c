/* Passphrases: from a file descriptor or the terminal (echo off), never argv. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASS_MAX 1024

void bpg_passphrase_free(char *pass)
{
	if (pass)
		sodium_free(pass); /* wipes */
}

/* Read one line (without LF / CRLF) byte by byte, so nothing past it is consumed. */
static int read_line(char *buf, int fd, const char *what, bpg_error *err)
{
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bpg_error_set(err, BPG_EIO, "cannot read the passphrase from %s: %s", what,
				strerror(errno));
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= PASS_MAX)
			return bpg_error_set(err, BPG_ETOOBIG, "passphrase from %s longer than %d bytes", what,
				PASS_MAX - 1);
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return 0;
}

static int read_tty(char *buf, int tty, const char *prompt, bpg_error *err)
{
	struct termios old, quiet;
	bool restore = false;
	int rc;

	if (tcgetattr(tty, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		restore = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	if (write(tty, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	rc = read_line(buf, tty, "the terminal", err);
	if (write(tty, "\n", 1) < 0) {
		/* nothing to do */
	}
	if (restore)
		tcsetattr(tty, TCSAFLUSH, &old);
	return rc;
}

int bpg_passphrase_read(char **out, int fd, const char *prompt, bool confirm, bpg_error *err)
{
	char *a = sign_secure_alloc(PASS_MAX), *b = NULL;
	int tty = -1, rc = 0;

	*out = NULL;
	if (!a)
		return bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
	if (fd >= 0) {
		if ((rc = read_line(a, fd, "the passphrase file descriptor", err)) < 0)
			goto done;
	} else {
		if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
			rc = bpg_error_set(err, BPG_EIO,
				"no terminal to ask for the passphrase (%s); pass it on a file descriptor with "
				"--passphrase-fd N", strerror(errno));
			goto done;
		}
		if ((rc = read_tty(a, tty, prompt ? prompt : "Passphrase: ", err)) < 0)
			goto done;
		if (confirm) {
			if (!(b = sign_secure_alloc(PASS_MAX))) {
				rc = bpg_error_set(err, BPG_ENOMEM, "out of guarded memory");
				goto done;
			}
			if ((rc = read_tty(b, tty, "Passphrase (again): ", err)) < 0)
				goto done;
			if (strlen(a) != strlen(b) || sodium_memcmp(a, b, strlen(a)) != 0) {
				rc = bpg_error_set(err, BPG_EINVALID, "the two passphrases differ");
				goto done;
			}
		}
	}
	*out = a;
	a = NULL;
done:
	if (tty >= 0)
		close(tty);
	bpg_passphrase_free(a);
	bpg_passphrase_free(b);
	return rc;
}
