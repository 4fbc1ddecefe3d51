/*
 * Unauthenticated connections (sshd's MaxStartups and PerSourceMaxStartups):
 * the parent's admission decision for a new connection, pure so that it can
 * be tested with a chosen random number. A connection counts as
 * unauthenticated from accept until its child claims a principal slot.
 */
#include "bpgated.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bpgd_max_startups_parse(int out[3], const char *s, bpg_error *err)
{
	long v[3];
	const char *p = s;

	for (int i = 0; i < 3; i++) {
		char *end;
		if (!p || *p < '0' || *p > '9')
			goto bad;
		v[i] = strtol(p, &end, 10);
		if (end - p > 5 || (i < 2 && *end != ':') || (i == 2 && *end != '\0'))
			goto bad;
		p = end + 1;
	}
	if (v[0] < 1 || v[0] > v[2] || v[2] > 10000 || v[1] > 100)
		return bpg_error_set(err, BPG_EINVALID, "expected start:rate:full with 1 <= start <= full <= 10000 and "
			"rate 0..100 (a percentage)");
	for (int i = 0; i < 3; i++)
		out[i] = (int)v[i];
	return 0;
bad:
	return bpg_error_set(err, BPG_EINVALID, "expected \"start:rate:full\", e.g. \"10:30:60\"");
}

bpgd_startup_verdict bpgd_startup_admit(const bpgd_config *cfg, size_t unauth, size_t from_source, unsigned rnd)
{
	size_t start = (size_t)cfg->limits.startups_begin, full = (size_t)cfg->limits.startups_full;
	unsigned rate = (unsigned)cfg->limits.startups_rate, p;

	if (from_source >= (size_t)cfg->limits.per_source_max_startups)
		return BPGD_STARTUP_PER_SOURCE;
	if (unauth >= full)
		return BPGD_STARTUP_FULL;
	if (unauth < start)
		return BPGD_STARTUP_ACCEPT;
	/* rate% at start, rising linearly to 100% at full (full > start here) */
	p = rate + (unsigned)((100 - rate) * (unauth - start) / (full - start));
	return rnd % 100 < p ? BPGD_STARTUP_EARLY_DROP : BPGD_STARTUP_ACCEPT;
}

const char *bpgd_startup_verdict_name(bpgd_startup_verdict v)
{
	switch (v) {
	case BPGD_STARTUP_PER_SOURCE:
		return "per_source";
	case BPGD_STARTUP_FULL:
		return "full";
	case BPGD_STARTUP_EARLY_DROP:
		return "early_drop";
	default:
		return "accept";
	}
}

void bpgd_source_key(bpgd_source *out, const struct sockaddr_storage *ss)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		out->b[0] = 4;
		memcpy(out->b + 1, &in->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			out->b[0] = 4;
			memcpy(out->b + 1, in6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->b[0] = 6; /* one /64: what one host or site gets */
			memcpy(out->b + 1, in6->sin6_addr.s6_addr, 8);
		}
	}
}

bool bpgd_source_same(const bpgd_source *a, const bpgd_source *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}
