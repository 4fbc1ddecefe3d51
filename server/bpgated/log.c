/*
 * One-line logs on stderr that journald keeps as they are.
 *
 * Format: "[<N>]bpgated[pid]: <level> conn=<id> event=<name> k=v ...".
 * Under systemd (JOURNAL_STREAM set) each line starts with the syslog
 * priority "<N>" so journald files it at the right level; on a terminal the
 * prefix is left out. Every untrusted value goes through bpgd_esc().
 */
#include "bpgated.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "bpgated";
static bool log_debug;
static bool log_prefix;
static char log_conn[32] = "-";

void bpgd_log_init(const char *prog, bool debug)
{
	log_prog = prog;
	log_debug = debug;
	log_prefix = getenv("JOURNAL_STREAM") != NULL;
}

void bpgd_log_set_conn(const char *conn_id)
{
	snprintf(log_conn, sizeof(log_conn), "%s", conn_id ? conn_id : "-");
}

static const char *level_name(int level)
{
	switch (level) {
	case BPGD_LOG_ERR: return "error";
	case BPGD_LOG_WARN: return "warn";
	case BPGD_LOG_DEBUG: return "debug";
	default: return "info";
	}
}

void bpgd_log(int level, const char *event, const char *fmt, ...)
{
	char line[2048];
	int n;
	va_list ap;

	if (level == BPGD_LOG_DEBUG && !log_debug)
		return;
	n = snprintf(line, sizeof(line), "%s%s[%ld]: %s conn=%s event=%s",
		log_prefix ? (level == BPGD_LOG_ERR ? "<3>" : level == BPGD_LOG_WARN ? "<4>" :
			level == BPGD_LOG_DEBUG ? "<7>" : "<6>") : "",
		log_prog, (long)getpid(), level_name(level), log_conn, event);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (fmt && *fmt) {
		line[n++] = ' ';
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 1)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	/* One write per line so concurrent children do not interleave. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

const char *bpgd_esc(char *dst, size_t dstlen, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstlen == 0)
		return "";
	if (!s)
		s = "(null)";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;
		if (o + need + 4 > dstlen) {
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
