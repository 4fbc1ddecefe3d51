/*
 * The rule table (entity ids, kinds, fix hints) and how the scanner gets the pcre2
 * patterns it runs over every segment (scan_patterns.c). Each pattern is one alternation whose
 * branches end in (*MARK:xx); the engine dispatches on the mark and
 * validates the hit in C. Every quantifier is bounded or possessive and
 * every branch starts with a literal or a narrow class, so JIT can skip
 * quickly and no input backtracks for long (a match limit backs this up).
 */
#include "scan_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "bpgate/testhook.h"

const scan_rule_info scan_rule_table[R_COUNT] = {
	[R_EMAIL] = { "EMAIL", BPG_SCAN_PII, "use an address at example.com / example.org (RFC 2606)" },
	[R_PHONE] = { "PHONE", BPG_SCAN_PII, "use a fictional number (US 555-0100..0199, UK 07700 900xxx)" },
	[R_US_SSN] = { "US_SSN", BPG_SCAN_PII, "use a masked or invalid SSN (e.g. 000-00-0000 patterns are never issued)" },
	[R_CREDIT_CARD] = { "CREDIT_CARD", BPG_SCAN_PII, "use a documented test card (4111 1111 1111 1111)" },
	[R_IBAN] = { "IBAN", BPG_SCAN_PII, "use a masked IBAN or a published test IBAN" },
	[R_IP_ADDRESS] = { "IP_ADDRESS", BPG_SCAN_PII, "use a documentation address (192.0.2.0/24, 2001:db8::/32)" },
	[R_DATE_OF_BIRTH] = { "DATE_OF_BIRTH", BPG_SCAN_PII, "use a synthetic date or mask it" },
	[R_UK_NHS] = { "UK_NHS", BPG_SCAN_PII, "use a masked NHS number or one failing the check digit" },
	[R_UK_NINO] = { "UK_NINO", BPG_SCAN_PII, "use a masked National Insurance number" },
	[R_US_PASSPORT] = { "US_PASSPORT", BPG_SCAN_PII, "mask the passport number" },
	[R_US_DRIVER_LICENSE] = { "US_DRIVER_LICENSE", BPG_SCAN_PII, "mask the driver licence number" },
	[R_US_ITIN] = { "US_ITIN", BPG_SCAN_PII, "mask the ITIN" },
	[R_US_NPI] = { "US_NPI", BPG_SCAN_PII, "mask the NPI or use one failing the check digit" },
	[R_US_MBI] = { "US_MBI", BPG_SCAN_PII, "mask the Medicare Beneficiary Identifier" },
	[R_US_BANK_NUMBER] = { "US_BANK_NUMBER", BPG_SCAN_PII, "mask the account number" },
	[R_MEDICAL_RECORD_NUMBER] = { "MEDICAL_RECORD_NUMBER", BPG_SCAN_PII, "use a synthetic record number" },
	[R_MEDICAL_LICENSE] = { "MEDICAL_LICENSE", BPG_SCAN_PII, "mask the DEA / licence number" },
	[R_PERSON_NAME] = { "PERSON_NAME", BPG_SCAN_PII, "use an obviously fictional name (e.g. Jane Doe)" },
	[R_STREET_ADDRESS] = { "STREET_ADDRESS", BPG_SCAN_PII, "use a fictional address" },
	[R_CRYPTO_WALLET] = { "CRYPTO_WALLET", BPG_SCAN_PII, "mask the wallet address" },
	[R_PRIVATE_KEY] = { "PRIVATE_KEY", BPG_SCAN_SECRET, "remove the key and rotate it; keep keys in a keychain" },
	[R_AWS_ACCESS_KEY] = { "AWS_ACCESS_KEY", BPG_SCAN_SECRET, "deactivate the key in IAM and use a role or a secret store" },
	[R_AWS_SECRET_KEY] = { "AWS_SECRET_KEY", BPG_SCAN_SECRET, "rotate the AWS secret key; never commit it" },
	[R_GENERIC_API_KEY] = { "GENERIC_API_KEY", BPG_SCAN_SECRET, "rotate the credential and reference it from a keychain/connection" },
	[R_JWT] = { "JWT", BPG_SCAN_SECRET, "remove the token; it may still be valid" },
	[R_SLACK_TOKEN] = { "SLACK_TOKEN", BPG_SCAN_SECRET, "revoke the Slack token and use a connection" },
	[R_SLACK_WEBHOOK_URL] = { "SLACK_WEBHOOK_URL", BPG_SCAN_SECRET, "regenerate the Slack webhook" },
	[R_GITHUB_TOKEN] = { "GITHUB_TOKEN", BPG_SCAN_SECRET, "revoke the GitHub token" },
	[R_STRIPE_KEY] = { "STRIPE_KEY", BPG_SCAN_SECRET, "roll the Stripe key" },
	[R_PASSWORD_IN_URL] = { "PASSWORD_IN_URL", BPG_SCAN_SECRET, "remove the password from the URL and rotate it" },
	[R_MAKE_WEBHOOK_URL] = { "MAKE_WEBHOOK_URL", BPG_SCAN_SECRET, "anyone with this URL can start the scenario: regenerate it, keep it out of fixtures" },
	[R_MAKE_API_TOKEN] = { "MAKE_API_TOKEN", BPG_SCAN_SECRET, "revoke the Make API token (Profile > API)" },
	[R_ZAPIER_WEBHOOK_URL] = { "ZAPIER_WEBHOOK_URL", BPG_SCAN_SECRET, "regenerate the Zapier catch hook" },
	[R_DISCORD_WEBHOOK_URL] = { "DISCORD_WEBHOOK_URL", BPG_SCAN_SECRET, "delete the Discord webhook and create a new one" },
	[R_TELEGRAM_BOT_TOKEN] = { "TELEGRAM_BOT_TOKEN", BPG_SCAN_SECRET, "revoke the bot token with @BotFather (/revoke)" },
	[R_IFTTT_WEBHOOK_KEY] = { "IFTTT_WEBHOOK_KEY", BPG_SCAN_SECRET, "regenerate the IFTTT Webhooks key (Webhooks settings)" },
	[R_POWER_AUTOMATE_URL] = { "POWER_AUTOMATE_URL", BPG_SCAN_SECRET, "anyone with the sig= URL can run the flow: regenerate the trigger URL" },
	[R_TEAMS_WEBHOOK_URL] = { "TEAMS_WEBHOOK_URL", BPG_SCAN_SECRET, "remove the Teams incoming webhook and create a new one" },
	[R_SENDGRID_KEY] = { "SENDGRID_KEY", BPG_SCAN_SECRET, "delete the SendGrid API key" },
	[R_GITLAB_TOKEN] = { "GITLAB_TOKEN", BPG_SCAN_SECRET, "revoke the GitLab token" },
	[R_NPM_TOKEN] = { "NPM_TOKEN", BPG_SCAN_SECRET, "revoke the npm token (npm token revoke)" },
	[R_GOOGLE_API_KEY] = { "GOOGLE_API_KEY", BPG_SCAN_SECRET, "delete or restrict the Google API key" },
	[R_SHOPIFY_TOKEN] = { "SHOPIFY_TOKEN", BPG_SCAN_SECRET, "rotate the Shopify access token" },
	[R_OPENAI_KEY] = { "OPENAI_KEY", BPG_SCAN_SECRET, "revoke the OpenAI API key" },
};

const char *bpg_scan_rule_hint(const char *rule)
{
	for (size_t i = 0; rule && i < R_COUNT; i++)
		if (strcmp(scan_rule_table[i].id, rule) == 0)
			return scan_rule_table[i].hint;
	return "";
}

size_t bpg_scan_rule_count(void)
{
	return R_COUNT;
}

const char *bpg_scan_rule_id(size_t i)
{
	return i < R_COUNT ? scan_rule_table[i].id : NULL;
}

/* Every pattern is compiled (and JIT-compiled) on its first use, in the form that use
 * needs: the candidate runs use the anchored copies of secret/number/alpha/keyword, so
 * their unanchored copies are never compiled; ipv6 and date only when a text has two
 * colons or speaks of birth. The same compiled code as an eager compile, so the same
 * matches; a commit of a few small files compiles what it uses (issue #20). */
int scan_compile(bpg_scanner *s, bpg_error *err)
{
	(void)s, (void)err;
	scan_cand_init();
	return 0;
}

/* Whether the pcre2 running is the one that compiled the embedded patterns (its version and
 * configuration: scan_pcre2_id); asked once per process. */
static pthread_once_t pre_once = PTHREAD_ONCE_INIT;
static bool pre_usable;

static void pre_check(void)
{
	char id[SCAN_PCRE2_ID_MAX];

	pre_usable = scan_pcre2_id(id) == 0 && strcmp(id, scan_patterns_pre_pcre2) == 0;
}

/* The pattern as the build compiled it (scan_patterns_pre.c); NULL when another pcre2 runs
 * here than the one the library was built with, or when it cannot decode the bytes, and
 * then the caller compiles it. The bytes are the library's own, never input. */
static pcre2_code *precompiled(int which, bool anchored)
{
	const scan_precompiled *pre = &scan_patterns_pre[anchored][which];
	pcre2_code *code = NULL;

	pthread_once(&pre_once, pre_check);
	if (!pre_usable || !pre->bytes || pcre2_serialize_decode(&code, 1, pre->bytes, NULL) != 1)
		return NULL;
	return code;
}

int scan_pattern(pcre2_code **out, bpg_scanner *s, int which, bool anchored, bpg_error *err)
{
	pcre2_code **slot;
	int ec;
	PCRE2_SIZE eo;

	*out = NULL;
	if (which < 0 || which >= P_COUNT || (anchored && !scan_pattern_anchored(which)))
		return bpg_error_set(err, BPG_ERROR, "scan: no such internal pattern");
	slot = anchored ? &s->anchored[which] : &s->code[which];
	if (!*slot && !bpg_test_flag("scan-precompiled-never")) {
		*slot = precompiled(which, anchored);
		/* a test of a build's own binaries: its embedded patterns must be used */
		if (!*slot && bpg_test_flag("scan-precompiled-required"))
			return bpg_error_set(err, BPG_ERROR, "scan: embedded pattern '%s' not usable with this pcre2",
				scan_pattern_name(which));
	}
	if (!*slot) {
		*slot = scan_pattern_compile(which, anchored, &ec, &eo);
		if (!*slot) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(ec, msg, sizeof(msg));
			return bpg_error_set(err, ec == PCRE2_ERROR_HEAPLIMIT || ec == PCRE2_ERROR_NOMEMORY ?
				BPG_ENOMEM : BPG_ERROR, "scan: internal pattern '%s' at offset %zu: %s",
				scan_pattern_name(which), (size_t)eo, (const char *)msg);
		}
	}
	*out = *slot;
	return 0;
}

/*
 * JIT is an accelerator: the interpreter runs the same patterns under the same limits,
 * with the same matches (pcre2 runs its whole test suite both ways). Compiling a pattern
 * for JIT costs more than the interpreter spends on a small commit's few kilobytes (a
 * third of a hook's scan), so a pattern is JIT-compiled once it has been run on this
 * many bytes, in the scanner that runs it (a gate scanning a push gets there at once).
 * The limits count differently: the interpreter has a depth limit JIT does not, and
 * counts its match limit in other steps. So where the one that ran stops at a limit, the
 * other runs the same match again: a match either finds within its own limits is found,
 * whichever ran first, so the findings do not depend on how much the scanner saw before
 * (a commit hook, `bpgate check` and the gate agree). Without JIT (no executable
 * memory: compiling is tried once), the interpreter's answer stands, as before.
 */
#define SCAN_JIT_AFTER ((size_t)64 << 10)

static bool jit(bpg_scanner *s, int k, int which)
{
	pcre2_code *code = k ? s->anchored[which] : s->code[which];

	if (s->jit_tried[k][which] || bpg_test_flag("scan-jit-never"))
		return s->jitted[k][which];
	s->jit_tried[k][which] = true;
	if (!s->jstack) {
		if (!(s->jstack = pcre2_jit_stack_create(32 << 10, 512 << 10, NULL)))
			return false;
		pcre2_jit_stack_assign(s->mctx, NULL, s->jstack);
	}
	s->jitted[k][which] = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	return s->jitted[k][which];
}

void scan_fed(bpg_scanner *s, int which, bool anchored, size_t len)
{
	size_t *fed = &s->fed[anchored][which];

	*fed = len > SIZE_MAX - *fed ? SIZE_MAX : *fed + len;
	if (!s->jit_tried[anchored][which] && (*fed >= SCAN_JIT_AFTER || bpg_test_flag("scan-jit-always")))
		(void)jit(s, anchored, which);
}

static bool limit_hit(int r)
{
	return r < 0 && r != PCRE2_ERROR_NOMATCH;
}

int scan_match(bpg_scanner *s, int which, bool anchored, const char *seg, size_t len, size_t off)
{
	pcre2_code *code = anchored ? s->anchored[which] : s->code[which];
	bool by_jit = s->jitted[anchored][which];
	int r = pcre2_match(code, (PCRE2_SPTR)seg, len, off, PCRE2_NO_UTF_CHECK, s->md, s->mctx);

	if (limit_hit(r) && by_jit)
		r = pcre2_match(code, (PCRE2_SPTR)seg, len, off, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, s->md, s->mctx);
	else if (limit_hit(r) && jit(s, anchored, which))
		r = pcre2_match(code, (PCRE2_SPTR)seg, len, off, PCRE2_NO_UTF_CHECK, s->md, s->mctx);
	return r;
}
