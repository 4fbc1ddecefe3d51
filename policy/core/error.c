/* Error records: formatting, and keeping raw control bytes out of messages. */
#include "bpg_config.h"
#include "bpgate/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bpg_error_clear(bpg_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->message[0] = '\0';
}

/* Messages often quote hostile input (file names, ref names, JSON keys):
 * never let a terminal escape sequence through. */
static void scrub_controls(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			*s = '?';
	}
}

int bpg_error_set(bpg_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	scrub_controls(err->message);
	return code;
}

void bpg_error_prefix(bpg_error *err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(err->message)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	size_t plen = strlen(prefix);

	memcpy(old, err->message, sizeof(old));
	if (plen >= sizeof(err->message))
		plen = sizeof(err->message) - 1;
	memcpy(err->message, prefix, plen);
	size_t olen = strnlen(old, sizeof(old) - 1);
	if (olen > sizeof(err->message) - 1 - plen)
		olen = sizeof(err->message) - 1 - plen;
	memcpy(err->message + plen, old, olen);
	err->message[plen + olen] = '\0';
	scrub_controls(err->message);
}

const char *bpg_version(void)
{
	return BPG_VERSION;
}
