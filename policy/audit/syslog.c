/*
 * RFC 5424 syslog lines for audit entries, with the signed checkpoint as
 * structured data so a collector (journald, rsyslog) holds what it needs to
 * check the lines it received against the log's key.
 */
#include "internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PRI_AUDIT_INFO 110 /* facility 13 (log audit) * 8 + severity 6 */

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* RFC 5424 TIMESTAMP: YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+hh:mm|-hh:mm). */
static bool timestamp_ok(const char *s, size_t n)
{
	size_t i = 19;

	if (n < 20 || n > 32 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
	    !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	if (s[i] == '.') {
		size_t f = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f || i - f > 6)
			return false;
	}
	if (i + 1 == n && s[i] == 'Z')
		return true;
	return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
		digits(s + i + 4, 2);
}

/* PRINTUSASCII field (HOSTNAME, APP-NAME): 1..max printable non-space bytes, else "-". */
static int put_field(bpg_buf *out, const char *v, size_t max)
{
	size_t n = 0;

	for (; v && v[n] && n < max; n++)
		if ((unsigned char)v[n] <= 0x20 || (unsigned char)v[n] >= 0x7f)
			break;
	if (!v || n == 0 || (v[n] && n < max))
		return bpg_buf_puts(out, "-");
	return bpg_buf_put(out, v, n);
}

/* SD-PARAM value: '"', '\' and ']' escaped with a backslash (RFC 5424 6.3.3). */
static int put_param(bpg_buf *out, const char *name, const char *v, size_t n)
{
	int rc = bpg_buf_printf(out, " %s=\"", name);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (v[i] == '"' || v[i] == '\\' || v[i] == ']')
			rc = bpg_buf_putc(out, '\\');
		if (rc == 0)
			rc = bpg_buf_putc(out, v[i]);
	}
	return rc ? rc : bpg_buf_putc(out, '"');
}

static int put_checkpoint_sd(bpg_buf *out, const char *note, size_t len, bpg_error *err)
{
	bpg_checkpoint cp;
	const char *text, *sig;
	size_t tlen, slen;
	bpg_buf root = BPG_BUF_INIT;
	char size[24];
	int rc;

	if ((rc = bpg_audit__note_text(&text, &tlen, note, len, err)) < 0 ||
	    (rc = bpg_checkpoint_parse(&cp, text, tlen, err)) < 0)
		return rc;
	if (bpg_audit__note_sig_line(&sig, &slen, note, len, cp.origin) < 0)
		return bpg_error_set(err, BPG_EINVALID, "checkpoint: no signature by its origin '%s'",
			cp.origin);
	bpg_buf_clear(&root);
	if (bpg_audit__b64_put(&root, cp.root.b, BPG_HASH_SIZE) < 0) {
		bpg_buf_dispose(&root);
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	snprintf(size, sizeof(size), "%llu", (unsigned long long)cp.size);
	if ((rc = bpg_buf_puts(out, "[checkpoint@" BPG_SYSLOG_PEN)) < 0 ||
	    (rc = put_param(out, "origin", cp.origin, strlen(cp.origin))) < 0 ||
	    (rc = put_param(out, "size", size, strlen(size))) < 0 ||
	    (rc = put_param(out, "root", root.ptr, root.size)) < 0 ||
	    (rc = put_param(out, "sig", sig, slen)) < 0 || (rc = bpg_buf_putc(out, ']')) < 0)
		rc = bpg_error_set(err, rc, "out of memory");
	bpg_buf_dispose(&root);
	return rc;
}

/* The entry's top-level "time" when it is an RFC 5424 timestamp. */
static int put_timestamp(bpg_buf *out, const char *entry, size_t len)
{
	json_t *j = json_loadb(entry, len, 0, NULL), *t = j ? json_object_get(j, "time") : NULL;
	int rc;

	if (json_is_string(t) && timestamp_ok(json_string_value(t), json_string_length(t)))
		rc = bpg_buf_put(out, json_string_value(t), json_string_length(t));
	else
		rc = bpg_buf_putc(out, '-');
	json_decref(j);
	return rc;
}

int bpg_syslog_format(bpg_buf *out, const bpg_syslog_opts *opts, uint64_t index,
	const char *entry, size_t len, const char *checkpoint_note, size_t note_len, bpg_error *err)
{
	bpg_syslog_opts o = BPG_SYSLOG_OPTS_INIT;
	char host[256] = "", hex[2 * BPG_HASH_SIZE + 1];
	bpg_hash leaf;
	int rc;

	if (opts)
		o = *opts;
	if ((rc = bpg_audit__entry_check(entry, len, err)) < 0)
		return rc;
	if (!o.hostname) {
		if (gethostname(host, sizeof(host) - 1) < 0)
			host[0] = '\0';
		o.hostname = host;
	}
	bpg_merkle_leaf_hash(&leaf, entry, len);
	bpg_hex_encode(hex, leaf.b, BPG_HASH_SIZE);
	if ((rc = bpg_buf_printf(out, "<%d>1 ", PRI_AUDIT_INFO)) < 0 ||
	    (rc = put_timestamp(out, entry, len)) < 0 || (rc = bpg_buf_putc(out, ' ')) < 0 ||
	    (rc = put_field(out, o.hostname, 255)) < 0 || (rc = bpg_buf_putc(out, ' ')) < 0 ||
	    (rc = put_field(out, o.app_name ? o.app_name : "bpgate", 48)) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	rc = o.procid > 0 ? bpg_buf_printf(out, " %ld", o.procid) : bpg_buf_puts(out, " -");
	if (rc < 0 || bpg_buf_printf(out, " audit [entry@" BPG_SYSLOG_PEN " index=\"%llu\" leaf=\"%s\"]",
			(unsigned long long)index, hex) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (checkpoint_note && (rc = put_checkpoint_sd(out, checkpoint_note, note_len, err)) < 0)
		return rc;
	if (bpg_buf_putc(out, ' ') < 0 || bpg_buf_put(out, entry, len) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	return 0;
}

int bpg_syslog_send(const char *socket_path, const char *line, size_t len, bpg_error *err)
{
	struct sockaddr_un sa;
	int fd, rc = 0;

	if (!socket_path)
		socket_path = "/dev/log";
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return bpg_error_set(err, BPG_EINVALID, "%s: socket path too long", socket_path);
	memcpy(sa.sun_path, socket_path, strlen(socket_path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return bpg_error_set(err, BPG_EIO, "syslog: socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, line, len, 0) < 0)
		rc = bpg_error_set(err, BPG_EIO, "syslog: %s: %s", socket_path, strerror(errno));
	close(fd);
	return rc;
}
