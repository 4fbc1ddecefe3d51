/*
 * bpgate — the Make API client (REST API v2, ../shared/specs/make-api.md).
 *
 * One client per run and per Make zone: it holds the base URL, the token and
 * the request budget. Every response is hostile input: bounded in size
 * (max_response), parsed strictly (JSON_REJECT_DUPLICATES, one document, an
 * object at the top), and checked for the envelope the endpoint promises.
 *
 * Transport: libcurl. TLS verification is always on (there is no switch to
 * turn it off); plain http:// is refused unless the host is the loopback
 * interface (127.0.0.1, ::1, localhost), which is only for the tests'
 * stand-in. 429 and 5xx are retried with exponential backoff (Retry-After
 * honoured when present) up to max_retries, then a clear error; a per-minute
 * request budget keeps a run inside the organization's plan limit.
 *
 * The token is never printed: not in an error message, not in a log line,
 * not in an audit entry. Error messages name the method, the path (without
 * the query), the HTTP status, Make's code and Make's detail.
 *
 * Ownership: a bpg_make_client is owned by its creator and freed with
 * bpg_make_client_free() (NULL accepted); it copies the options it is given
 * (the token is wiped from memory on free). Every json_t returned through an
 * out-pointer is a new reference owned by the caller (json_decref).
 * A client is not thread-safe.
 */
#ifndef INCLUDE_bpgate_make_h__
#define INCLUDE_bpgate_make_h__

#include "common.h"
#include "buf.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

BPG_BEGIN_DECL

typedef struct bpg_make_client bpg_make_client;

/** Defaults apply to every field left 0 / NULL. */
typedef struct {
	/** "https://eu1.make.com/api/v2" (from zone) or an environment's api_url; no trailing slash needed. */
	const char *base_url;
	/** The API token (copied). Sent as "Authorization: Token <t>" (Make's API-token form). */
	const char *token;
	/** Extra CA bundle (PEM) trusted besides the system's: the tests' stand-in, a private CA. */
	const char *ca_file;
	long connect_timeout_ms;    /**< default 10,000 */
	long total_timeout_ms;      /**< one request, transfer included; default 60,000 */
	size_t max_response;        /**< bytes of one response body; default 32 MiB; larger fails closed */
	unsigned max_retries;       /**< retries of one request after 429/5xx/transport error; default 5 */
	unsigned backoff_ms;        /**< first backoff; doubles each retry; default 1,000 */
	unsigned backoff_max_ms;    /**< ceiling of one backoff (and of a Retry-After); default 30,000 */
	unsigned budget_per_minute; /**< requests per rolling minute; default 60 (Make's smallest plan) */
	unsigned max_requests;      /**< requests per client in total (a run's ceiling); default 100,000 */
} bpg_make_options;

/**
 * The base URL of an environment: api_url when set, else
 * "https://<zone>/api/v2". *out is malloc'd; free() it.
 */
BPG_EXTERN(int) bpg_make_base_url(char **out, const char *zone, const char *api_url, bpg_error *err) BPG_MUST_CHECK;

BPG_EXTERN(int) bpg_make_client_new(bpg_make_client **out, const bpg_make_options *opts, bpg_error *err) BPG_MUST_CHECK;
BPG_EXTERN(void) bpg_make_client_free(bpg_make_client *client);

/** Requests sent so far, retries included (drift prints it; the bench counts it). */
BPG_EXTERN(unsigned long) bpg_make_client_requests(const bpg_make_client *client);

/**
 * Milliseconds this client has waited so far: retry backoffs and the
 * per-minute budget (drift may print it). In test builds with
 * BPGATE_TEST_MAKE_CLOCK=fake the client never sleeps: a fake clock advances
 * instead (without jitter), and this is the total it would have slept, which
 * the tests assert exactly (BPGATE_TEST_MAKE_REPORT=1 also prints it to
 * stderr when the client is freed).
 */
BPG_EXTERN(unsigned long long) bpg_make_client_waited_ms(const bpg_make_client *client);

/**
 * One call. method: "GET", "POST", "PATCH", "DELETE". path: below the base
 * URL, starting with '/' ("/scenarios/12/blueprint"). query: already encoded
 * ("teamId=5&pg%5Blimit%5D=100"), or NULL. body: sent as JSON, or NULL.
 * On 2xx *out is the parsed top-level object. On an HTTP error the message is
 * "Make API: PATCH /scenarios/12: HTTP 400 IM007 Invalid blueprint: <detail>
 * (<suberror>; ...)" and the code BPG_ENOTFOUND for 404, BPG_EVERIFY for
 * 401/403 (token or scope), BPG_ETOOBIG for a body over max_response (or the
 * max_requests ceiling), BPG_EINVALID for a malformed body ("HTTP 502 with a
 * non-JSON body (text/html), first bytes: ..."), BPG_EIO for a transport
 * failure (connection, TLS verification, timeout), else BPG_ERROR.
 *
 * Retries: a GET is retried after 429, any 5xx and a transport failure; a
 * write (POST, PATCH, DELETE) only after 429 and 503 (the server did
 * nothing) and after a failure to connect (nothing was sent): anything else
 * may have been applied, so it is reported ("the write may or may not have
 * been applied") and the caller re-reads (deploy reads back after every
 * write anyway). Waits: backoff_ms * 2^n, +-20 % jitter, at most
 * backoff_max_ms; a Retry-After in seconds replaces it (capped the same).
 * After max_retries: "Make API: GET /scenarios: still HTTP 503 after 5
 * retries; try again later". 3xx answers are errors: redirects are never
 * followed. Every request, retries included, takes a slot of the rolling
 * per-minute budget (waiting until the oldest is a minute old when full) and
 * counts against max_requests.
 */
BPG_EXTERN(int) bpg_make_call(json_t **out, bpg_make_client *client, const char *method, const char *path,
	const char *query, const json_t *body, bpg_error *err) BPG_MUST_CHECK;

/* ---- scenarios ------------------------------------------------------------- */

/**
 * Every scenario of a team (folder_id > 0: of that folder), paging with
 * pg[offset]/pg[limit] until a short page. *out: an array of the "scenarios"
 * items as Make returns them (id, name, teamId, folderId, isActive, islinked,
 * lastEdit, scheduling, ...). More than 100,000 scenarios: BPG_ETOOBIG.
 */
BPG_EXTERN(int) bpg_make_scenarios_list(json_t **out, bpg_make_client *client, int64_t team_id,
	int64_t folder_id, bpg_error *err) BPG_MUST_CHECK;

/** GET /scenarios/{id}: *out is the "scenario" object. */
BPG_EXTERN(int) bpg_make_scenario_get(json_t **out, bpg_make_client *client, int64_t id, bpg_error *err) BPG_MUST_CHECK;

/**
 * GET /scenarios/{id}/blueprint (the live version, draft=false): the
 * "response" object's blueprint and scheduling, and its last_edit (may be
 * NULL when the response has none; malloc'd, free()). Any out may be NULL.
 */
BPG_EXTERN(int) bpg_make_blueprint_get(json_t **blueprint, json_t **scheduling, char **last_edit,
	bpg_make_client *client, int64_t id, bpg_error *err) BPG_MUST_CHECK;

/**
 * PATCH /scenarios/{id}?confirmed=true with blueprint and scheduling sent as
 * JSON strings (either may be NULL: left unchanged). *out (may be NULL): the
 * "scenario" object Make answers with.
 */
BPG_EXTERN(int) bpg_make_scenario_update(json_t **out, bpg_make_client *client, int64_t id,
	const json_t *blueprint, const json_t *scheduling, bpg_error *err) BPG_MUST_CHECK;

/** POST /scenarios?confirmed=true into team (and folder when > 0). *out: the "scenario" object. */
BPG_EXTERN(int) bpg_make_scenario_create(json_t **out, bpg_make_client *client, int64_t team_id,
	int64_t folder_id, const json_t *blueprint, const json_t *scheduling, bpg_error *err) BPG_MUST_CHECK;

/** POST /scenarios/{id}/start (active true) or /stop (active false). */
BPG_EXTERN(int) bpg_make_scenario_set_active(bpg_make_client *client, int64_t id, bool active,
	bpg_error *err) BPG_MUST_CHECK;

/**
 * GET /scenarios/{id}/logs for [from_ms, to_ms) (milliseconds since the
 * epoch), check runs hidden, paging with pg[last] until a short page. *out:
 * an array of "scenarioLogs" items. More than max_items (0: 100,000):
 * BPG_ETOOBIG (a window too wide is refused, never cut).
 */
BPG_EXTERN(int) bpg_make_logs_list(json_t **out, bpg_make_client *client, int64_t id, int64_t from_ms,
	int64_t to_ms, size_t max_items, bpg_error *err) BPG_MUST_CHECK;

/* ---- the token ---------------------------------------------------------------- */

/**
 * The API token: $BPGATE_MAKE_TOKEN when set and not empty, else the file
 * (when not NULL): a regular file, owned by the caller's uid, mode 0600 or
 * stricter (refused otherwise, with the fix: chmod 600), at most 4 KiB, one
 * line (trailing newline dropped), printable ASCII. BPG_ENOTFOUND when there
 * is neither. *out is malloc'd: free it with bpg_make_token_free (wipes it).
 */
BPG_EXTERN(int) bpg_make_token_load(char **out, const char *file, bpg_error *err) BPG_MUST_CHECK;
BPG_EXTERN(void) bpg_make_token_free(char *token);

/* ---- blueprints in git ---------------------------------------------------------- */

/**
 * The byte-stable form bpgate writes a blueprint in (make pull; deploy
 * records): keys in Make's order as read (jansson keeps insertion order),
 * 4-space indent, "\n" at the end, non-ASCII kept as UTF-8. Pulling twice
 * gives the same bytes.
 */
BPG_EXTERN(int) bpg_make_blueprint_format(bpg_buf *out, const json_t *blueprint, bpg_error *err) BPG_MUST_CHECK;

/**
 * Rewrite the references of a blueprint (in place) through a reference map:
 * map is {"account": {"<id in git>": <id in the environment>, ...}, "hook":
 * {...}, "keychain", "datastore", "udt", "device"}. The kind of each module
 * parameter comes from the module's metadata.parameters[].type (as in
 * bpgate/blueprint.h); integers stay integers. A reference with no mapping
 * fails (BPG_ENOTFOUND, naming the module, the JSON pointer, the kind and the
 * id) and leaves the blueprint unchanged. reverse: map from the
 * environment's ids back to the ids in git (make pull from an environment
 * other than the source). *rewritten (may be NULL): references rewritten.
 */
BPG_EXTERN(int) bpg_make_blueprint_map(json_t *blueprint, const json_t *map, bool reverse, size_t *rewritten,
	bpg_error *err) BPG_MUST_CHECK;

BPG_END_DECL

#endif
