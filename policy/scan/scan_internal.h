/* Internal interfaces of the scan module (not installed). */
#ifndef BPG_SCAN_INTERNAL_H
#define BPG_SCAN_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpgate/buf.h"
#include "bpgate/scan.h"

/* Rule ids; the order is the order of scan_rule_table. */
typedef enum {
	R_EMAIL, R_PHONE, R_US_SSN, R_CREDIT_CARD, R_IBAN, R_IP_ADDRESS, R_DATE_OF_BIRTH,
	R_UK_NHS, R_UK_NINO, R_US_PASSPORT, R_US_DRIVER_LICENSE, R_US_ITIN, R_US_NPI, R_US_MBI,
	R_US_BANK_NUMBER, R_MEDICAL_RECORD_NUMBER, R_MEDICAL_LICENSE, R_PERSON_NAME,
	R_STREET_ADDRESS, R_CRYPTO_WALLET, R_PRIVATE_KEY, R_AWS_ACCESS_KEY, R_AWS_SECRET_KEY,
	R_GENERIC_API_KEY, R_JWT, R_SLACK_TOKEN, R_SLACK_WEBHOOK_URL, R_GITHUB_TOKEN,
	R_STRIPE_KEY, R_PASSWORD_IN_URL, R_MAKE_WEBHOOK_URL, R_MAKE_API_TOKEN,
	R_ZAPIER_WEBHOOK_URL, R_DISCORD_WEBHOOK_URL, R_TELEGRAM_BOT_TOKEN, R_IFTTT_WEBHOOK_KEY,
	R_POWER_AUTOMATE_URL, R_TEAMS_WEBHOOK_URL, R_SENDGRID_KEY, R_GITLAB_TOKEN, R_NPM_TOKEN,
	R_GOOGLE_API_KEY, R_SHOPIFY_TOKEN, R_OPENAI_KEY, R_COUNT
} scan_rule;

typedef struct {
	const char *id;
	bpg_scan_kind kind;
	const char *hint;
} scan_rule_info;

extern const scan_rule_info scan_rule_table[R_COUNT];

/* Context classes: what the words around a value (or its JSON key) say. */
enum {
	C_SSN = 1u << 0, C_DOB = 1u << 1, C_DL = 1u << 2, C_PASSPORT = 1u << 3,
	C_BANK = 1u << 4, C_MRN = 1u << 5, C_PHONE = 1u << 6, C_ITIN = 1u << 7,
	C_NHS = 1u << 8, C_NPI = 1u << 9, C_NINO = 1u << 10, C_CARD = 1u << 11,
	C_IP = 1u << 12, C_EMAIL = 1u << 13, C_NAME = 1u << 14, C_ADDRESS = 1u << 15,
	C_SECRET = 1u << 16, C_AWS = 1u << 17, C_MAKE = 1u << 18, C_IDLIKE = 1u << 19,
	C_TIME = 1u << 20, C_VERSION = 1u << 21, C_MEDLIC = 1u << 22, C_PERSONKEY = 1u << 23,
	C_NOTSECRET = 1u << 24, C_DATE = 1u << 25, C_MBI = 1u << 26,
	C_NAMEWORD = 1u << 27, /* the key's last word is "name" (contactName, customer_name) */
	C_SOLEWORD = 1u << 28, /* the key is a single word (signer, recipient) */
};

/* Classes of an identifier or of a run of words (camelCase, snake_case, kebab). */
unsigned scan_words_classes(const char *s, size_t len, bool as_key);

/* The compiled scanner. */
enum { P_SECRET, P_NUMBER, P_ALPHA, P_KEYWORD, P_IPV6, P_DATE, P_COUNT };

struct bpg_scanner {
	bpg_scan_options opts;
	pcre2_code *code[P_COUNT];
	pcre2_code *anchored[P_COUNT]; /* the same patterns, anchored (candidate runs) */
	/* per pattern [0: code, 1: anchored]: subject bytes it was run on, and whether it is
	 * JIT-compiled (scan_match, scan_rules.c) */
	size_t fed[2][P_COUNT];
	bool jitted[2][P_COUNT];
	bool jit_tried[2][P_COUNT]; /* compiled for JIT or failed to: never tried again */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	bpg_buf scratch;    /* decoded JSON string */
	bpg_buf filebuf;    /* contents of small files */
	uint32_t *map;      /* decoded offset -> raw offset */
	size_t map_cap;
	bpg_buf ptr;        /* current JSON pointer */
	struct scan_pending *pend; /* candidate findings of the current segment */
	size_t npend, pend_cap;
	struct key_cache_ent *kcache; /* key text -> classes (scan_json.c: a memo) */
	unsigned kcache_bits;         /* log2 of its entries */
	size_t kcache_misses;         /* since it was made */
};

/* Per-call state of one scan of one buffer. */
typedef struct {
	bpg_scanner *s;
	bpg_findings *out;
	const char *path;
	const char *base; /* the whole buffer */
	size_t len;
	/* incremental line/column tracking (offsets only grow within a pass) */
	size_t pos_off, pos_line, pos_col;
	size_t first_finding; /* index in out where this buffer's findings start */
	/* the segment being matched */
	const char *seg;
	size_t seg_len;
	size_t seg_raw;       /* offset of the segment in base */
	const uint32_t *map;  /* seg offset -> offset from seg_raw; NULL = identity */
	const char *seg_lo;   /* start of the buffer seg lies in (base, or the decoded string) */
	bool in_json;
	bool json_number;
	size_t accept_end;    /* matches starting at or past this seg offset belong to the next window */
	const char *pointer;  /* NULL outside JSON */
	unsigned keyctx;      /* classes of the key and its ancestors */
	unsigned keyself;     /* classes of the nearest key only */
	unsigned seg_rules;   /* bit per rule-family already found in this segment */
	uint64_t seg_found;   /* bit per rule found in this segment */
	size_t last_aws_key;  /* offset+1 of the last AWS access key, 0 = none */
	/* files: give back mapped pages behind the scan (NULL for buffers) */
	void (*release)(void *arg, size_t upto);
	void *release_arg;
	size_t released;
	/* (line, column) filter for the staged check: NULL = keep all */
	const unsigned char *keep_lines;
	size_t keep_nlines;
} scan_ctx;

struct scan_pending {
	scan_rule rule;
	size_t raw;   /* offset in the scanned buffer */
	size_t start; /* offset in the segment */
	size_t vlen;
	bool synthetic;
};

int scan_compile(bpg_scanner *s, bpg_error *err);
/* The compiled pattern `which` (anchored: the candidate runs' copy), compiled on first
 * use and kept in s (freed by bpg_scanner_free); scan_fed() counts a segment of `len`
 * bytes it is about to be run on. */
int scan_pattern(pcre2_code **out, bpg_scanner *s, int which, bool anchored, bpg_error *err);
void scan_fed(bpg_scanner *s, int which, bool anchored, size_t len);
/* pcre2_match() of pattern `which` (from scan_pattern) at `off`: by pcre2's interpreter
 * until the pattern has been run on SCAN_JIT_AFTER bytes, then by JIT; where the one that
 * ran stops at a limit, the other runs the match again, so the answer does not depend on
 * which ran first (scan_rules.c). */
int scan_match(bpg_scanner *s, int which, bool anchored, const char *seg, size_t len, size_t off);
/* whether `which` has an anchored copy (candidates): secret, number, alpha, keyword */
static inline bool scan_pattern_anchored(int which)
{
	return which != P_IPV6 && which != P_DATE;
}
/* scan_patterns.c: pattern `which` compiled as the scanner runs it (NULL and pcre2's
 * error code and offset when it cannot be), and its name for messages */
pcre2_code *scan_pattern_compile(int which, bool anchored, int *ec, PCRE2_SIZE *eo);
const char *scan_pattern_name(int which);
/* scan_patterns_pre.c (generated by bpg_scan_precompile at build time): each pattern's
 * pcre2_serialize_encode() bytes, [0: unanchored, 1: anchored][which]; bytes NULL where
 * there is no such copy */
typedef struct {
	const unsigned char *bytes;
	size_t size;
} scan_precompiled;
extern const scan_precompiled scan_patterns_pre[2][P_COUNT];
/* the identity of the pcre2 that made them, and of the one running: scan_pcre2_id() */
extern const char scan_patterns_pre_pcre2[];
#define SCAN_PCRE2_ID_MAX 192
int scan_pcre2_id(char out[SCAN_PCRE2_ID_MAX]);
int scan_flush(scan_ctx *c, bpg_error *err);
int scan_buffer_ctx(scan_ctx *c, bpg_error *err);

/* candidates (scan_cand.c): the next offset >= i in s[0, n) where a match of
 * family `which` can start, n when none; only P_SECRET, P_NUMBER, P_ALPHA and
 * P_KEYWORD have them. */
size_t scan_cand_next(int which, const char *s, size_t n, size_t i);
/* alnum: scan_features()' f->alnum of the segment */
size_t scan_cand_next_mask(int which, const char *s, size_t n, size_t i, uint64_t stops,
	uint64_t alnum);
/* The byte tables of scan_cand_next() and scan_features(): once, before either runs
 * (scan_compile() does it). */
void scan_cand_init(void);

typedef struct {
	size_t digits, colons, dots, maxrun; /* maxrun: longest alphanumeric run */
	size_t name_at; /* first capital scan_names() looks at (n: none) */
	bool at, upper, eq;             /* '@', a capital, '=' */
	bool under;     /* '_' after gh?, [rs]k or github (GitHub, Stripe tokens) */
	bool street;    /* a digit, a blank, a capital */
	bool lead;      /* -----, eyJ, hook, xo / xa */
	bool honorific; /* Mr Ms Mi Dr Pr */
	bool birth;     /* bi, bo, dob (any case) */
	bool vec;       /* read by the vector path, up to 64 bytes (candidate stops): */
	uint64_t alnum; /* a bit per alphanumeric byte */
} scan_seg_features;

void scan_features(const char *s, size_t n, size_t before, scan_seg_features *f);
/* The same as a plain byte loop (scan_features() takes a vector path for
 * short segments, reading up to `before` bytes before s, which must belong
 * to the same buffer; tests compare the two). */
void scan_features_ref(const char *s, size_t n, scan_seg_features *f);
/* For a segment read by the vector path (f->vec): a bit per byte where the
 * candidate loop of `which` stops, for scan_cand_next_mask(). */
uint64_t scan_cand_stops(int which, const char *s, size_t n, const scan_seg_features *f);
/* ... and a bit per capital not after an alphanumeric byte or one of @ . _ -
 * (where scan_names() looks for a name). */
uint64_t scan_name_starts(const char *s, size_t n, const scan_seg_features *f);

/* engine */
int scan_segment(scan_ctx *c, bpg_error *err);
int scan_text(scan_ctx *c, size_t off, size_t len, bpg_error *err);
int scan_emit(scan_ctx *c, scan_rule rule, size_t start, size_t vlen, bool synthetic,
	bpg_error *err);
unsigned scan_line_context(const scan_ctx *c, size_t start);

/* JSON walker: 0 ok, BPG_EINVALID when the text is not JSON (nothing emitted
 * is kept then: the caller truncates and rescans as text). */
int scan_json(scan_ctx *c, bpg_error *err);
/* Scan seg[0, len) (at buffer offset raw, with an optional offset map) in
 * windows, flushing findings after each; key rules run when it fits one window. */
int scan_windows(scan_ctx *c, const char *seg, size_t len, size_t raw, const uint32_t *map,
	bool key_rules, bpg_error *err);
int scan_key_rules(scan_ctx *c, bpg_error *err);
void scan_advance(scan_ctx *c, size_t off);

/* findings */
int scan_findings_add(bpg_findings *f, scan_rule rule, const char *path, size_t line,
	size_t column, const char *pointer, const char *value, size_t vlen, bool synthetic,
	bpg_error *err);
void scan_findings_truncate(bpg_findings *f, size_t n);
bool scan_findings_has(const bpg_findings *f, size_t from, scan_rule rule, size_t line,
	size_t column);
void scan_findings_finish(bpg_findings *f, size_t from);

bool scan_ignore_has(const bpg_scan_ignore *ig, const char *fp);

/* validators (scan_validate.c) */
bool v_luhn(const char *digits, size_t n);
bool v_iban(const char *s, size_t n);
bool v_nhs(const char *d);
bool v_npi(const char *d);
bool v_dea(const char *s);
int v_ssn(const char *d);  /* 1 valid SSN, 2 valid ITIN, 0 neither */
bool v_itin(const char *d);
bool v_base58check(const char *s, size_t n);
bool v_bech32(const char *s, size_t n);
bool v_jwt(const char *s, size_t n);
double v_entropy(const char *s, size_t n);
bool v_placeholder(const char *s, size_t n);
bool v_repetitive(const char *s, size_t n);
bool v_sequential(const char *s, size_t n);
/* Digits of a number written with a country code (no '+' or "00"): 1 when the
 * national number fits the plan of a known country code (scan_phone.c), 0
 * when it does not, -1 for a country code without a plan there. */
int scan_phone_cc_plan(const char *d, size_t nd);
bool v_uuid(const char *s, size_t n);
bool v_hex(const char *s, size_t n);
bool v_synthetic_domain(const char *dom, size_t n);
bool v_ipv4_public(const char *s, size_t n, bool *synthetic);
bool v_ipv6_public(const char *s, size_t n, bool *synthetic);
bool v_test_card(const char *digits);
bool v_first_name(const char *s, size_t n);
/* A person's name by its shape, from any culture: 1..5 capitalised words
 * (non-ASCII letters welcome) and name particles (da, van, bin, ...), no
 * digits, no CamelCase inside a word, no word that names a thing (Team,
 * Invoice, Sheets, ...). min_words: 2 outside name keys. */
bool v_name_shaped(const char *s, size_t n, size_t min_words);
/* The length of the name-shaped run of words at s (0: none), at most 4 words,
 * stopping at the end of the line, a comma or any byte no name has. */
size_t v_name_run(const char *s, size_t n, size_t *words);
bool v_date(const char *s, size_t n);

#endif
