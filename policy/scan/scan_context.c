/*
 * Context: what the words next to a value, or the JSON key that holds it,
 * say about it. Identifiers are split into words (camelCase, snake_case,
 * kebab-case, dots) and each word maps to classes. A weak pattern (a bare
 * 9-digit number, a date, a capitalised word) becomes a finding only with
 * the right class; id-like keys (…Id, uuid, hash, serial, ts) silence weak
 * numeric patterns.
 */
#include "scan_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

typedef struct {
	const char *word;
	unsigned cls;
} word_class;

/* Words, lower case. */
static const word_class words[] = {
	{ "ssn", C_SSN }, { "ssns", C_SSN }, { "social", C_SSN }, { "socialsecurity", C_SSN },
	{ "dob", C_DOB }, { "birth", C_DOB }, { "born", C_DOB }, { "birthday", C_DOB },
	{ "birthdate", C_DOB }, { "dateofbirth", C_DOB },
	/* birth date in the languages of the larger markets (ASCII spellings) */
	{ "geburtsdatum", C_DOB }, { "geburtstag", C_DOB }, { "geboren", C_DOB },
	{ "naissance", C_DOB }, { "nacimiento", C_DOB }, { "nascimento", C_DOB },
	{ "nascita", C_DOB }, { "geboortedatum", C_DOB }, { "urodzenia", C_DOB },
	{ "fodelsedatum", C_DOB },
	{ "driver", C_DL }, { "drivers", C_DL }, { "driving", C_DL }, { "dl", C_DL },
	{ "passport", C_PASSPORT }, { "travel", C_PASSPORT },
	{ "bank", C_BANK }, { "acct", C_BANK }, { "routing", C_BANK },
	{ "mrn", C_MRN }, { "medical", C_MRN }, { "chart", C_MRN },
	{ "phone", C_PHONE }, { "telephone", C_PHONE }, { "tel", C_PHONE }, { "mobile", C_PHONE },
	{ "cell", C_PHONE }, { "fax", C_PHONE }, { "msisdn", C_PHONE }, { "whatsapp", C_PHONE },
	/* phone in the languages of the larger markets (ASCII spellings) */
	{ "telefon", C_PHONE }, { "telefono", C_PHONE }, { "telefone", C_PHONE },
	{ "telefoon", C_PHONE }, { "mobil", C_PHONE }, { "mobiel", C_PHONE }, { "movil", C_PHONE },
	{ "celular", C_PHONE }, { "cellulare", C_PHONE }, { "handy", C_PHONE }, { "natel", C_PHONE },
	{ "portable", C_PHONE }, { "telefonnummer", C_PHONE }, { "mobilnummer", C_PHONE },
	{ "cellphone", C_PHONE }, { "mob", C_PHONE }, { "tlf", C_PHONE }, { "puhelin", C_PHONE },
	{ "itin", C_ITIN }, { "taxpayer", C_ITIN }, { "tin", C_ITIN },
	{ "nhs", C_NHS }, { "npi", C_NPI }, { "nino", C_NINO }, { "mbi", C_MBI },
	{ "card", C_CARD }, { "credit", C_CARD }, { "pan", C_CARD }, { "visa", C_CARD },
	{ "mastercard", C_CARD }, { "amex", C_CARD }, { "cc", C_CARD },
	{ "ip", C_IP }, { "email", C_EMAIL }, { "mail", C_EMAIL },
	{ "firstname", C_PERSONKEY }, { "lastname", C_PERSONKEY }, { "surname", C_PERSONKEY },
	{ "fullname", C_PERSONKEY }, { "givenname", C_PERSONKEY }, { "familyname", C_PERSONKEY },
	{ "middlename", C_PERSONKEY }, { "forename", C_PERSONKEY },
	{ "patient", C_NAME }, { "customer", C_NAME }, { "contact", C_NAME }, { "member", C_NAME },
	{ "employee", C_NAME }, { "person", C_NAME }, { "user", C_NAME }, { "client", C_NAME },
	{ "recipient", C_NAME }, { "sender", C_NAME }, { "holder", C_NAME }, { "cardholder", C_NAME },
	{ "signer", C_NAME }, { "signatory", C_NAME }, { "guest", C_NAME }, { "passenger", C_NAME },
	{ "applicant", C_NAME }, { "student", C_NAME }, { "buyer", C_NAME }, { "attendee", C_NAME },
	{ "beneficiary", C_NAME }, { "insured", C_NAME }, { "subscriber", C_NAME },
	{ "billing", C_NAME }, { "shipping", C_NAME }, { "owner", C_NAME }, { "assignee", C_NAME },
	/* people by their role in a record (issue #19) */
	{ "author", C_NAME }, { "creator", C_NAME }, { "organizer", C_NAME }, { "organiser", C_NAME },
	{ "reporter", C_NAME }, { "requester", C_NAME }, { "requestor", C_NAME },
	{ "approver", C_NAME }, { "reviewer", C_NAME }, { "tenant", C_NAME }, { "candidate", C_NAME },
	{ "vorname", C_PERSONKEY }, { "nachname", C_PERSONKEY }, { "apellido", C_PERSONKEY },
	{ "apellidos", C_PERSONKEY }, { "prenom", C_PERSONKEY }, { "cognome", C_PERSONKEY },
	{ "sobrenome", C_PERSONKEY }, { "nazwisko", C_PERSONKEY }, { "imie", C_PERSONKEY },
	{ "street", C_ADDRESS }, { "address", C_ADDRESS }, { "addr", C_ADDRESS },
	{ "line1", C_ADDRESS }, { "addressline1", C_ADDRESS }, { "streetaddress", C_ADDRESS },
	{ "password", C_SECRET }, { "passwd", C_SECRET }, { "pwd", C_SECRET }, { "pass", C_SECRET },
	{ "passphrase", C_SECRET }, { "secret", C_SECRET }, { "secrets", C_SECRET },
	{ "token", C_SECRET }, { "apikey", C_SECRET }, { "apitoken", C_SECRET },
	{ "credential", C_SECRET }, { "credentials", C_SECRET }, { "authorization", C_SECRET },
	{ "bearer", C_SECRET }, { "accesskey", C_SECRET },
	{ "privatekey", C_SECRET }, { "clientsecret", C_SECRET }, { "sessiontoken", C_SECRET },
	{ "aws", C_AWS }, { "make", C_MAKE }, { "integromat", C_MAKE },
	{ "id", C_IDLIKE }, { "ids", C_IDLIKE }, { "uuid", C_IDLIKE }, { "guid", C_IDLIKE },
	{ "hash", C_IDLIKE }, { "sha", C_IDLIKE }, { "sha1", C_IDLIKE }, { "sha256", C_IDLIKE },
	{ "md5", C_IDLIKE }, { "checksum", C_IDLIKE }, { "integrity", C_IDLIKE },
	{ "serial", C_IDLIKE }, { "count", C_IDLIKE }, { "page", C_IDLIKE }, { "order", C_IDLIKE },
	{ "invoice", C_IDLIKE }, { "tracking", C_IDLIKE }, { "amount", C_IDLIKE },
	{ "index", C_IDLIKE }, { "size", C_IDLIKE }, { "total", C_IDLIKE }, { "port", C_IDLIKE },
	{ "rev", C_IDLIKE }, { "commit", C_IDLIKE }, { "etag", C_IDLIKE },
	{ "ts", C_TIME }, { "timestamp", C_TIME }, { "time", C_TIME }, { "created", C_TIME },
	{ "updated", C_TIME }, { "modified", C_TIME }, { "expires", C_TIME }, { "expiry", C_TIME },
	{ "at", C_TIME }, { "epoch", C_TIME },
	{ "version", C_VERSION }, { "ver", C_VERSION },
	{ "dea", C_MEDLIC }, { "certificate", C_MEDLIC },
	{ "date", C_DATE },
	/* words that make a secret-looking key something else */
	{ "url", C_NOTSECRET }, { "uri", C_NOTSECRET }, { "endpoint", C_NOTSECRET },
	{ "name", C_NOTSECRET | C_NAMEWORD }, { "type", C_NOTSECRET }, { "file", C_NOTSECRET },
	{ "path", C_NOTSECRET }, { "public", C_NOTSECRET }, { "format", C_NOTSECRET },
	{ "length", C_NOTSECRET }, { "len", C_NOTSECRET }, { "pattern", C_NOTSECRET },
	{ "regex", C_NOTSECRET }, { "keystore", C_NOTSECRET }, { "keytab", C_NOTSECRET },
	{ "keyfile", C_NOTSECRET }, { "csrf", C_NOTSECRET }, { "publishable", C_NOTSECRET }, { "xsrf", C_NOTSECRET },
	{ "accessor", C_NOTSECRET }, { "policy", C_NOTSECRET }, { "mode", C_NOTSECRET },
	{ "enabled", C_NOTSECRET }, { "required", C_NOTSECRET }, { "label", C_NOTSECRET },
	{ "hint", C_NOTSECRET }, { "field", C_NOTSECRET }, { "header", C_NOTSECRET },
	{ "expires", C_NOTSECRET }, { "expiry", C_NOTSECRET }, { "ttl", C_NOTSECRET },
	{ "kind", C_NOTSECRET }, { "mask", C_NOTSECRET }, { "masked", C_NOTSECRET },
};

/* Two-word phrases: (first, second) -> class. */
static const struct { const char *a, *b; unsigned cls; } pairs[] = {
	{ "date", "birth", C_DOB }, { "birth", "date", C_DOB }, { "social", "security", C_SSN },
	{ "driver", "license", C_DL }, { "driver", "licence", C_DL }, { "drivers", "license", C_DL },
	{ "license", "number", C_DL }, { "bank", "account", C_BANK }, { "account", "number", C_BANK },
	{ "medical", "record", C_MRN }, { "record", "number", C_MRN }, { "patient", "id", C_MRN },
	{ "travel", "document", C_PASSPORT }, { "first", "name", C_PERSONKEY },
	{ "created", "by", C_NAME }, { "updated", "by", C_NAME }, { "modified", "by", C_NAME },
	{ "assigned", "to", C_NAME }, { "requested", "by", C_NAME }, { "approved", "by", C_NAME },
	{ "signed", "by", C_NAME }, { "sent", "by", C_NAME }, { "contact", "person", C_NAME },
	{ "last", "name", C_PERSONKEY }, { "full", "name", C_PERSONKEY },
	{ "given", "name", C_PERSONKEY }, { "family", "name", C_PERSONKEY },
	{ "api", "key", C_SECRET }, { "api", "token", C_SECRET }, { "access", "key", C_SECRET },
	{ "access", "token", C_SECRET }, { "private", "key", C_SECRET },
	{ "secret", "key", C_SECRET }, { "client", "secret", C_SECRET },
	{ "refresh", "token", C_SECRET }, { "ssh", "key", C_SECRET },
	{ "signing", "key", C_SECRET }, { "master", "key", C_SECRET },
	{ "encryption", "key", C_SECRET }, { "phone", "number", C_PHONE },
	{ "nhs", "number", C_NHS }, { "insurance", "number", C_NINO },
	{ "tax", "id", C_ITIN }, { "id", "token", C_SECRET }, { "session", "token", C_SECRET },
};

#define NWORDS (sizeof(words) / sizeof(words[0]))
static unsigned char word_len[NWORDS];
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))
static unsigned char pair_len[NPAIRS][2];
/* words[] grouped by first letter ('a'..'z', then anything else): word_order lists the
 * indices of words[] letter by letter, word_first[k] the range of letter k in it
 * ([0] -1 when none) */
static short word_order[NWORDS];
_Static_assert(NWORDS <= SHRT_MAX, "word indices are shorts");
static short word_first[27][2];

static int word_letter(const char *w)
{
	return w[0] >= 'a' && w[0] <= 'z' ? w[0] - 'a' : 26;
}
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static void names_init(void);

static void tables_init(void)
{
	/* Run once per process (pthread_once); the tables are read-only afterwards. The words
	 * are grouped by first letter in table order (a counting sort, stable: where a word is
	 * listed twice, the first listing answers, as the stable merge sort that was here
	 * before left it; sorting the 231 words took a tenth of a commit hook's scanner set-up) */
	size_t at[28] = { 0 };

	for (size_t i = 0; i < NWORDS; i++) {
		word_len[i] = (unsigned char)strlen(words[i].word);
		at[word_letter(words[i].word) + 1]++;
	}
	for (size_t k = 0; k < 27; k++) {
		word_first[k][0] = at[k + 1] ? (short)at[k] : -1;
		word_first[k][1] = (short)(at[k] + at[k + 1]);
		at[k + 1] += at[k];
	}
	for (size_t i = 0; i < NWORDS; i++)
		word_order[at[word_letter(words[i].word)]++] = (short)i;
	for (size_t i = 0; i < NPAIRS; i++) {
		pair_len[i][0] = (unsigned char)strlen(pairs[i].a);
		pair_len[i][1] = (unsigned char)strlen(pairs[i].b);
	}
	names_init();
}

static unsigned word_lookup(const char *w, size_t n)
{
	int k = word_letter(w);
	if (word_first[k][0] < 0)
		return 0;
	for (int j = word_first[k][0]; j < word_first[k][1]; j++) {
		int i = word_order[j];
		if (word_len[i] == n && memcmp(words[i].word, w, n) == 0)
			return words[i].cls;
	}
	return 0;
}

#define MAX_WORDS 12
#define MAX_WORD 24

/*
 * Classes of a run of text. With as_key, the text is an identifier and the
 * last word decides "id-like" and "not a secret" (api_key_id, token_url);
 * otherwise every word counts.
 */
unsigned scan_words_classes(const char *s, size_t len, bool as_key)
{
	char w[MAX_WORDS][MAX_WORD];
	size_t wl[MAX_WORDS];
	size_t nw = 0, cur = 0;
	unsigned cls = 0, last_cls = 0;
	char joined[64];
	size_t jl = 0;

	pthread_once(&tables_once, tables_init);
	if (len > 256)
		s += len - 256, len = 256;
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)s[i] : 0;
		bool alnum = isalnum(ch);
		/* camelCase boundary: lower followed by upper */
		bool boundary = !alnum || (i > 0 && isupper(ch) && islower((unsigned char)s[i - 1]));
		if (boundary && cur > 0) {
			if (nw == MAX_WORDS) {
				memmove(w[0], w[1], sizeof(w[0]) * (MAX_WORDS - 1));
				memmove(wl, wl + 1, sizeof(wl[0]) * (MAX_WORDS - 1));
				nw--;
			}
			wl[nw++] = cur;
			cur = 0;
		}
		if (alnum && cur < MAX_WORD - 1) {
			w[nw < MAX_WORDS ? nw : MAX_WORDS - 1][cur++] = (char)tolower(ch);
			if (as_key && jl < sizeof(joined) - 1)
				joined[jl++] = (char)tolower(ch);
		}
	}
	for (size_t i = 0; i < nw; i++) {
		unsigned c = word_lookup(w[i], wl[i]);
		if (i + 1 < nw)
			for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
				if (pair_len[k][0] == wl[i] && pairs[k].a[0] == w[i][0] &&
				    memcmp(pairs[k].a, w[i], wl[i]) == 0 && pair_len[k][1] == wl[i + 1] &&
				    memcmp(pairs[k].b, w[i + 1], wl[i + 1]) == 0)
					/* a key of just the pair (createdBy) names what it holds */
					cls |= pairs[k].cls | (nw == 2 && as_key && pairs[k].cls == C_NAME ?
						C_SOLEWORD : 0);
		if (i + 1 == nw) {
			last_cls = c;
			/* "auth" names a credential only as the last word (basic_auth, not AuthSource) */
			if (wl[i] == 4 && memcmp(w[i], "auth", 4) == 0)
				cls |= C_SECRET;
		}
		cls |= c & ~(unsigned)(C_IDLIKE | C_NOTSECRET | C_TIME | C_VERSION | C_NAMEWORD);
		/* a CSRF token or a key documented as public is not a secret, wherever
		 * the word stands (csrf_token, publicToken, publishableKey) */
		if (as_key && (c & C_NOTSECRET) && ((wl[i] == 4 && (memcmp(w[i], "csrf", 4) == 0 ||
		    memcmp(w[i], "xsrf", 4) == 0)) || (wl[i] == 6 && memcmp(w[i], "public", 6) == 0) ||
		    (wl[i] == 11 && memcmp(w[i], "publishable", 11) == 0)))
			cls |= C_NOTSECRET;
	}
	if (as_key) {
		cls |= word_lookup(joined, jl); /* "apikey", "dateofbirth", "firstname" */
		/* the last word says what the value is: token_url, private_key_id */
		cls |= last_cls & (C_IDLIKE | C_NOTSECRET | C_TIME | C_VERSION | C_NAMEWORD);
		if (nw == 1)
			cls |= last_cls | C_SOLEWORD;
	} else {
		cls |= last_cls & (C_TIME | C_VERSION);
	}
	return cls;
}

/* Common given names (capitalised in text). Ambiguous English words such as
 * May, Will, Mark, Grace, Hope are deliberately absent. */
static const char *const first_names[] = {
	"Aaron", "Adam", "Adrian", "Ahmed", "Aiden", "Alan", "Albert", "Alex", "Alexander",
	"Alexandra", "Alice", "Alicia", "Alison", "Amanda", "Amelia", "Amy", "Andrea", "Andrew",
	"Angela", "Anna", "Anne", "Anthony", "Antonio", "Arthur", "Ashley", "Barbara", "Benjamin",
	"Betty", "Brandon", "Brian", "Bruce", "Carl", "Carlos", "Carol", "Caroline", "Catherine",
	"Charles", "Charlotte", "Chen", "Cheryl", "Chloe", "Christina", "Christine", "Christopher",
	"Claire", "Daniel", "Danielle", "David", "Deborah", "Dennis", "Diana", "Diane", "Donald",
	"Donna", "Dorothy", "Douglas", "Dylan", "Edward", "Elena", "Elizabeth", "Emily", "Emma",
	"Eric", "Ethan", "Eugene", "Evelyn", "Fatima", "Fernando", "Fiona", "Francesca", "Gabriel",
	"Gary", "George", "Gerald", "Gregory", "Hannah", "Harold", "Harry", "Heather", "Helen",
	"Henry", "Isabella", "Jack", "Jacob", "James", "Jane", "Janet", "Jason", "Jennifer",
	"Jeremy", "Jerry", "Jessica", "Joan", "Joe", "John", "Jonathan", "Jose", "Joseph", "Joshua",
	"Juan", "Judith", "Julia", "Julie", "Justin", "Karen", "Kate", "Katherine", "Kathleen",
	"Kelly", "Kenneth", "Kevin", "Kimberly", "Kyle", "Larry", "Laura", "Lauren", "Linda",
	"Lisa", "Logan", "Louis", "Lucas", "Luis", "Madison", "Margaret", "Maria", "Marie",
	"Marilyn", "Martha", "Mary", "Matthew", "Megan", "Melissa", "Michael", "Michelle",
	"Mohammed", "Muhammad", "Nancy", "Natalie", "Nathan", "Nicholas", "Nicole", "Noah",
	"Olivia", "Oliver", "Pamela", "Patricia", "Patrick", "Paul", "Peter", "Philip", "Priya",
	"Rachel", "Rahul", "Raymond", "Rebecca", "Richard", "Robert", "Roger", "Ronald", "Ruth",
	"Ryan", "Samantha", "Samuel", "Sandra", "Sara", "Sarah", "Scott", "Sean", "Sharon",
	"Shirley", "Sophia", "Sophie", "Stephanie", "Stephen", "Steven", "Susan", "Teresa",
	"Thomas", "Timothy", "Tyler", "Victoria", "Vincent", "Virginia", "Walter", "Wayne",
	"William", "Zachary", "Dan", "Jim", "Tom", "Bob", "Ben", "Sam", "Tim", "Ken", "Jon",
	"Liam", "Lucy", "Mia", "Ava", "Ella", "Ivan", "Igor", "Olga", "Hans", "Klaus", "Pierre",
	"Marco", "Giulia", "Ana", "Miguel", "Pedro", "Carmen", "Yuki", "Hiroshi", "Arjun",
};

#define NNAMES (sizeof(first_names) / sizeof(first_names[0]))
/* first_names as an open-addressing hash set: index + 1, 0 = empty (a
 * capitalised word is looked up for every one in the text). */
#define NAME_SLOTS 1024
static unsigned short name_slot[NAME_SLOTS];

static size_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h % NAME_SLOTS;
}

/* first two letters of some name ('A'..'Z' x 'a'..'z'): most capitalised
 * words are rejected without the search */
static bool name_pair[26][26];

static void names_init(void)
{
	for (size_t i = 0; i < NNAMES; i++) {
		size_t h = name_hash(first_names[i], strlen(first_names[i]));
		while (name_slot[h])
			h = (h + 1) % NAME_SLOTS;
		name_slot[h] = (unsigned short)(i + 1);
		name_pair[first_names[i][0] - 'A'][first_names[i][1] - 'a'] = true;
	}
}

bool v_first_name(const char *s, size_t n)
{
	pthread_once(&tables_once, tables_init);
	if (n < 2 || n >= 16 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'a' || s[1] > 'z' ||
	    !name_pair[s[0] - 'A'][s[1] - 'a'])
		return false;
	n = strnlen(s, n); /* the text up to a NUL, as a C string compare would see it */
	for (size_t h = name_hash(s, n); name_slot[h]; h = (h + 1) % NAME_SLOTS) {
		const char *w = first_names[name_slot[h] - 1];
		if (strlen(w) == n && memcmp(w, s, n) == 0)
			return true;
	}
	return false;
}

/* Words that name things, not people: a capitalised run holding one is no
 * person's name (scenario, module, app and team names). */
static const char *const thing_words[] = {
	"the", "team", "support", "service", "services", "sales", "inc", "ltd", "llc", "gmbh", "corp",
	"company", "group", "invoice", "invoices", "template", "order", "orders", "report", "sheet",
	"sheets", "row", "rows", "contact", "contacts", "new", "watch", "update", "create", "sync",
	"alert", "alerts", "module", "scenario", "router", "webhook", "webhooks", "data", "test",
	"connection", "google", "microsoft", "slack", "teams", "gmail", "hubspot", "salesforce",
	"notion", "airtable", "shopify", "stripe", "make", "zapier", "api", "http", "json", "email",
	"customer", "customers", "name", "first", "last", "world", "admin", "user", "users", "account",
	"my", "our", "your", "all", "list", "table", "file", "files", "folder", "drive", "calendar",
	"event", "events", "message", "messages", "task", "tasks", "lead", "leads", "deal", "deals",
	"record", "records", "form", "forms", "app", "bot", "channel", "workflow", "flow", "item",
	"items", "product", "products", "payment", "payments", "daily", "weekly", "monthly", "team's",
	"office", "street", "road", "avenue", "city", "hotel", "bank", "university", "hospital",
	"department", "project", "board", "dashboard", "integration", "automation", "notification",
	"and", "for", "with", "from", "to", "of", "in", "on", "by", "get", "send", "add", "set",
	"technology", "tech", "news", "feed", "feeds", "blog", "media", "digital", "magazine",
	"journal", "times", "post", "network", "solutions", "systems", "labs", "studio", "agency",
	"global", "international", "partners", "consulting", "marketing", "software", "cloud",
	"online", "store", "shop", "club", "foundation", "institute", "association", "council",
};

static bool thing_word(const char *w, size_t n)
{
	char low[16];
	if (n >= sizeof(low))
		return false;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)w[i]);
	for (size_t i = 0; i < sizeof(thing_words) / sizeof(thing_words[0]); i++)
		if (strlen(thing_words[i]) == n && memcmp(thing_words[i], low, n) == 0)
			return true;
	return false;
}

static bool particle(const char *w, size_t n)
{
	static const char *const p[] = { "da", "de", "do", "dos", "das", "del", "della", "di", "du",
		"van", "von", "der", "den", "ter", "bin", "binti", "al", "el", "la", "le", "y", "e", "ibn",
		"st", "mac" };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (strlen(p[i]) == n && memcmp(p[i], w, n) == 0)
			return true;
	return false;
}

/* One word of a name: a capital (ASCII, or a UTF-8 letter) then letters,
 * hyphens, apostrophes; 0 when it is not one, 2 when a particle, 3 when a
 * word that names a thing. */
static int name_word(const char *w, size_t n)
{
	unsigned char c0 = (unsigned char)w[0];
	size_t lower = 0, upper_after = 0;
	if (n == 0 || n > 24)
		return 0;
	if (c0 >= 'a' && c0 <= 'z')
		return particle(w, n) ? 2 : 0;
	if (!((c0 >= 'A' && c0 <= 'Z') || c0 >= 0xC3))
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch >= 'a' && ch <= 'z') {
			lower++;
		} else if (ch >= 'A' && ch <= 'Z') {
			if (lower && !(w[i - 1] == '-' || w[i - 1] == '\'') &&
			    !(i == 2 && w[0] == 'M' && w[1] == 'c') &&
			    !(i == 3 && memcmp(w, "Mac", 3) == 0))
				upper_after++;
		} else if (ch >= 0x80) {
			lower++;
		} else if (ch != '-' && ch != '\'' && !(ch == '.' && i + 1 == n && n == 2)) {
			return 0;
		}
	}
	if (upper_after || (n > 1 && lower == 0 && !(n == 2 && w[1] == '.')))
		return 0; /* HubSpot, ACME */
	if (thing_word(w, n))
		return 3;
	for (size_t i = 1, b = 0; i <= n; i++) /* Event-App: each part of a hyphenated word */
		if (i == n || w[i] == '-') {
			if (b > 0 && thing_word(w + b, i - b))
				return 3;
			if (b == 0 && i < n && thing_word(w, i))
				return 3;
			b = i + 1;
		}
	{ /* English noun suffixes no personal name has: Construction, Management */
		static const char *const suf[] = { "tion", "sion", "ment", "ness", "ship", "ware", "ology" };
		for (size_t i = 0; i < sizeof(suf) / sizeof(suf[0]); i++) {
			size_t sl = strlen(suf[i]);
			if (n >= sl + 4 && memcmp(w + n - sl, suf[i], sl) == 0)
				return 3;
		}
	}
	return 1;
}

bool v_name_shaped(const char *s, size_t n, size_t min_words)
{
	size_t nw = 0, i = 0;
	while (n && s[n - 1] == ' ')
		n--;
	while (i < n) {
		size_t j = i;
		int k;
		while (j < n && s[j] != ' ')
			j++;
		if (j == i)
			return false;
		k = name_word(s + i, j - i);
		if (k == 0 || k == 3 || (k == 2 && nw == 0))
			return false;
		nw += k == 1;
		if (nw > 5)
			return false;
		i = j;
		while (i < n && s[i] == ' ')
			i++;
	}
	return nw >= min_words && nw >= 1;
}

size_t v_name_run(const char *s, size_t n, size_t *nwords)
{
	size_t i = 0, end = 0, nw = 0;
	while (i < n && nw < 4) {
		size_t j = i;
		int k;
		while (j < n && s[j] != ' ' && s[j] != ',' && s[j] != '\n' && s[j] != '\r' &&
		       s[j] != '"' && s[j] != '!' && s[j] != ';' && s[j] != ':' && s[j] != '(' &&
		       s[j] != '<' && s[j] != '\\' && !(s[j] == '.' && (j + 1 == n || s[j + 1] == ' ' || s[j + 1] == '\n')))
			j++;
		if (j == i)
			break;
		k = name_word(s + i, j - i);
		if (k == 3) { /* "Construction Dive Technology": a thing's name */
			nw = 0;
			end = 0;
			break;
		}
		if (k == 0 || (k == 2 && nw == 0))
			break;
		if (k == 1) {
			nw++;
			end = j;
		}
		if (j >= n || s[j] != ' ')
			break;
		i = j + 1;
	}
	*nwords = nw;
	return end;
}
