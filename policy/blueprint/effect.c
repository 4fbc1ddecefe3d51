/*
 * Which modules act on the outside world. There is no flag in the export, so
 * this is an explicit table of app:action pairs seen in real exports first,
 * then heuristics on the action name (see shared/specs/blueprint-format.md
 * section 11, "Which modules write back"). Documented in the README.
 */
#include "bpgate/blueprint.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

typedef struct {
	const char *module;
	bpg_effect effect;
} effect_entry;

/* Exact entries override the name heuristics in both directions. */
static const effect_entry exact[] = {
	{ "gateway:CustomWebHook", BPG_EFFECT_TRIGGER },
	{ "gateway:CustomMailHook", BPG_EFFECT_TRIGGER },
	{ "gateway:WebhookRespond", BPG_EFFECT_MESSAGE },
	{ "telegram:GetUpdates", BPG_EFFECT_TRIGGER },
	{ "scenario-service:CallSubscenario", BPG_EFFECT_CALL },
	{ "scenario-service:ReturnData", BPG_EFFECT_NONE },
	{ "make:runScenarioWithInputs", BPG_EFFECT_CALL },
	{ "code:ExecuteCode", BPG_EFFECT_CODE },
	{ "pdf-co:postPdfInfo", BPG_EFFECT_EGRESS },
	{ "google-docs:exportADocument", BPG_EFFECT_READ },
	{ "http:ActionGetFile", BPG_EFFECT_READ },
	{ "rss:ActionReadArticles", BPG_EFFECT_READ },
	{ "twilio:SendSMS", BPG_EFFECT_MESSAGE },
	{ "sendgrid:sendMail", BPG_EFFECT_MESSAGE },
	{ "email:ActionSendEmail", BPG_EFFECT_MESSAGE },
	{ "google-email:sendAnEmail", BPG_EFFECT_MESSAGE },
	{ "microsoft-email:createAndSendAMessage", BPG_EFFECT_MESSAGE },
	{ "slack:CreateMessage", BPG_EFFECT_MESSAGE },
	{ "discord:createMessage", BPG_EFFECT_MESSAGE },
	{ "discord:PostMessage", BPG_EFFECT_MESSAGE },
	{ "telegram:SendReplyMessage", BPG_EFFECT_MESSAGE },
	{ "whatsapp-business-cloud:sendMessage", BPG_EFFECT_MESSAGE },
	{ "linkedin:CreatePost", BPG_EFFECT_MESSAGE },
};

/* Apps with no external I/O, and apps that only ship data to a processor. */
static const char *control_apps[] = { "builtin", "util", "json", "regexp", "xml", "markdown",
	"placeholder", "csv", "html", "text" };
static const char *egress_apps[] = { "openai-gpt-3", "anthropic-claude", "gemini-ai",
	"perplexity-ai", "ai-agent", "ai-local-agent", "pdf-co", "pdf4me", "onesaas", "openai" };
static const char *code_apps[] = { "code", "custom-js" };
static const char *http_apps[] = { "http" };

static bool in_list(const char *app, size_t applen, const char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == applen && strncmp(list[i], app, applen) == 0)
			return true;
	return false;
}

/* Case-insensitive "starts with" on the action name, after an optional
 * "Action"/"action" prefix (Airtable's ActionCreateRecord). */
static bool action_starts(const char *action, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(action, "action", 6) == 0 && strlen(action) > 6 && isupper((unsigned char)action[6]))
		action += 6;
	return strncasecmp(action, word, n) == 0;
}

static bool any_prefix(const char *action, const char **words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (action_starts(action, words[i]))
			return true;
	return false;
}

bpg_effect bpg_module_effect_of(const char *module, const char *method)
{
	static const char *triggers[] = { "watch", "trigger" };
	static const char *writes[] = { "create", "add", "update", "upsert", "delete", "upload", "move",
		"share", "append", "clear", "insert", "remove", "put", "patch", "archive",
		"copy", "replace", "objectsInsert", "objectsDelete", "batch", "write", "import", "merge" };
	static const char *messages[] = { "send", "reply", "publish", "notify", "tweet" };
	static const char *reads[] = { "get", "list", "search", "filter", "read", "export", "find",
		"retrieve", "download", "fetch", "lookup", "stats", "count", "check" };
	const char *colon, *action;
	size_t applen;

	if (!module || !*module)
		return BPG_EFFECT_NONE;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(exact[i].module, module) == 0)
			return exact[i].effect;
	colon = strchr(module, ':');
	applen = colon ? (size_t)(colon - module) : strlen(module);
	action = colon ? colon + 1 : "";

	if (in_list(module, applen, control_apps, sizeof(control_apps) / sizeof(*control_apps)))
		return BPG_EFFECT_NONE;
	if (in_list(module, applen, code_apps, sizeof(code_apps) / sizeof(*code_apps)))
		return BPG_EFFECT_CODE;
	if (any_prefix(action, triggers, 2))
		return BPG_EFFECT_TRIGGER;
	if (in_list(module, applen, egress_apps, sizeof(egress_apps) / sizeof(*egress_apps)))
		return BPG_EFFECT_EGRESS;
	/* Generic API calls write iff the method is not GET (unknown counts as a write). */
	if (in_list(module, applen, http_apps, 1) || strcasestr(action, "makeApiCall") ||
	    strcasecmp(action, "lokaliseRest") == 0) {
		if (method && (strcasecmp(method, "get") == 0 || strcasecmp(method, "head") == 0 ||
		    strcasecmp(method, "options") == 0))
			return BPG_EFFECT_READ;
		return BPG_EFFECT_HTTP_WRITE;
	}
	/* Social posts are messages to an audience, whatever the verb. */
	if (strcasestr(action, "post") && (strncmp(module, "facebook", 8) == 0 ||
	    strncmp(module, "instagram", 9) == 0 || strncmp(module, "linkedin", 8) == 0))
		return BPG_EFFECT_MESSAGE;
	if (any_prefix(action, messages, sizeof(messages) / sizeof(*messages)))
		return BPG_EFFECT_MESSAGE;
	if (any_prefix(action, reads, sizeof(reads) / sizeof(*reads)))
		return BPG_EFFECT_READ;
	if (any_prefix(action, writes, sizeof(writes) / sizeof(*writes)))
		return BPG_EFFECT_WRITE;
	/* An action we cannot classify is treated as a write: the gate errs on
	 * the side of the controls (a catalog exception can relax it). */
	return BPG_EFFECT_WRITE;
}

const char *bpg_effect_name(bpg_effect e)
{
	static const char *names[] = { "none", "trigger", "read", "write", "message", "http-write",
		"call", "egress", "code" };
	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

const char *bpg_container_name(bpg_container c)
{
	static const char *names[] = { "flow", "route", "onerror", "branch", "tool", "orphan" };
	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}
