/*
 * Numbering plans (ITU-T E.164) of the 25 countries where Make has most
 * users, for phone numbers written with a country code ("+CC ..." or
 * "00CC ..."): the national significant number must have one of the
 * lengths the country's plan allows (as google/libphonenumber's metadata
 * lists them: fixed line, mobile, toll-free and shared-cost numbers), and
 * must not start with the trunk prefix 0 (none of these plans give an NSN a
 * leading 0, but Italy's fixed lines). Country codes are prefix-free, so
 * the first one that matches is the one.
 */
#include "scan_internal.h"

#include <string.h>

struct plan {
	const char *cc;
	unsigned char min, max; /* lengths of the national significant number */
	bool zero;              /* an NSN may start with 0 (Italy) */
};

static const struct plan plans[] = {
	{ "1", 10, 10, false },   /* US, CA (NANP) */
	{ "44", 9, 10, false },   /* GB */
	{ "49", 6, 13, false },   /* DE: 2-digit area + 4-digit subscriber .. mobiles of 11 */
	{ "33", 9, 9, false },    /* FR */
	{ "34", 9, 9, false },    /* ES */
	{ "39", 6, 12, true },    /* IT: fixed lines keep their 0 */
	{ "31", 9, 11, false },   /* NL */
	{ "32", 8, 9, false },    /* BE */
	{ "41", 9, 9, false },    /* CH */
	{ "43", 7, 13, false },   /* AT */
	{ "420", 9, 9, false },   /* CZ */
	{ "48", 9, 9, false },    /* PL */
	{ "351", 9, 9, false },   /* PT */
	{ "46", 7, 10, false },   /* SE */
	{ "45", 8, 8, false },    /* DK */
	{ "353", 7, 10, false },  /* IE */
	{ "61", 9, 9, false },    /* AU */
	{ "55", 10, 11, false },  /* BR */
	{ "52", 10, 10, false },  /* MX */
	{ "54", 10, 11, false },  /* AR: mobiles carry a 9 before the area code */
	{ "57", 8, 10, false },   /* CO */
	{ "91", 10, 10, false },  /* IN */
	{ "90", 10, 10, false },  /* TR */
	{ "972", 8, 9, false },   /* IL */
};

int scan_phone_cc_plan(const char *d, size_t nd)
{
	for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		size_t k = strlen(plans[i].cc);
		if (nd > k && memcmp(d, plans[i].cc, k) == 0) {
			size_t nsn = nd - k;
			if (nsn < plans[i].min || nsn > plans[i].max)
				return 0;
			if (d[k] == '0' && !plans[i].zero)
				return 0;
			if (k == 1 && (d[1] < '2' || d[4] < '2'))
				return 0; /* NANP: area code and exchange start with 2-9 */
			return 1;
		}
	}
	return -1;
}
