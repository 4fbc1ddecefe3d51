/* Unit tests for the blueprint model and its semantic diff. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpgate/blueprint.h"
#include "bpgate/buf.h"
#include "mutate.h"

static bpg_blueprint *parse_ok(const char *json)
{
	bpg_blueprint *bp = NULL;
	bpg_error err;
	int rc = bpg_blueprint_parse(&bp, json, strlen(json), "t.json", &err);
	cr_assert_eq(rc, 0, "parse failed: %s", err.message);
	return bp;
}

static int parse_fail(const char *json, size_t len, bpg_error *err)
{
	bpg_blueprint *bp = NULL;
	int rc = bpg_blueprint_parse(&bp, json, len, "t.json", err);
	cr_assert_null(bp);
	return rc;
}

/* ---- an independent walk of the corpus, written without the parser ---- */

typedef struct {
	size_t modules;
	json_t *connections; /* set: id text -> true */
} walk_result;

static bool is_connection_key(const json_t *module, const char *key)
{
	const json_t *specs = json_object_get(json_object_get(module, "metadata"), "parameters");
	size_t i;
	json_t *s;
	if (!strcmp(key, "__IMTCONN__") || !strcmp(key, "account") || !strcmp(key, "makeConnectionId"))
		return true;
	json_array_foreach(specs, i, s) {
		const char *n = json_string_value(json_object_get(s, "name"));
		const char *t = json_string_value(json_object_get(s, "type"));
		if (n && t && !strcmp(n, key) && !strncmp(t, "account", 7))
			return true;
	}
	return false;
}

/* Iterative: a stack of flows (arrays of modules). */
static void independent_walk(const json_t *doc, walk_result *out)
{
	const json_t *stack[4096];
	size_t top = 0;
	const json_t *orphans = json_object_get(json_object_get(json_object_get(doc, "metadata"),
		"designer"), "orphans");
	size_t i, j;
	json_t *v, *m;

	out->modules = 0;
	out->connections = json_object();
	stack[top++] = json_object_get(doc, "flow");
	json_array_foreach(orphans, i, v)
		stack[top++] = v;
	while (top > 0) {
		const json_t *flow = stack[--top];
		json_array_foreach(flow, i, m) {
			const char *key;
			json_t *val;
			out->modules++;
			json_object_foreach(json_object_get(m, "parameters"), key, val) {
				if (!is_connection_key(m, key))
					continue;
				if (json_is_integer(val) && json_integer_value(val) != 0) {
					char num[32];
					snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(val));
					json_object_set_new(out->connections, num, json_true());
				} else if (json_is_string(val)) {
					json_object_set_new(out->connections, json_string_value(val), json_true());
				}
			}
			static const char *subs[] = { "routes", "branches", "tools" };
			for (size_t s = 0; s < 3; s++)
				json_array_foreach(json_object_get(m, subs[s]), j, v)
					stack[top++] = json_object_get(v, "flow");
			if (json_is_array(json_object_get(m, "onerror")))
				stack[top++] = json_object_get(m, "onerror");
			cr_assert_lt(top, 4000);
		}
	}
}

static const char *shared_dir(void)
{
	const char *d = getenv("BPG_SHARED_DIR");
	return d ? d : "../shared";
}

/* The real exports of the corpus, one path at a time (false at the end; closes dh). */
static DIR *open_corpus(void)
{
	char dir[1024];
	DIR *dh;
	snprintf(dir, sizeof(dir), "%s/corpus/blueprints/real", shared_dir());
	dh = opendir(dir);
	cr_assert_not_null(dh, "cannot open %s", dir);
	return dh;
}

static bool next_export(DIR *dh, char *path, size_t size, const char **name)
{
	struct dirent *e;
	while ((e = readdir(dh)))
		if (strstr(e->d_name, ".json")) {
			snprintf(path, size, "%s/corpus/blueprints/real/%s", shared_dir(), e->d_name);
			*name = e->d_name;
			return true;
		}
	closedir(dh);
	return false;
}

Test(blueprint, every_real_export_parses_and_matches_an_independent_walk)
{
	DIR *dh = open_corpus();
	const char *name;
	char path[2048];
	int files = 0;
	size_t total = 0;

	while (next_export(dh, path, sizeof(path), &name)) {
		bpg_blueprint *bp = NULL;
		bpg_error err;
		json_t *root, *model = NULL;
		json_error_t jerr;
		walk_result want;

		cr_assert_eq(bpg_blueprint_load(&bp, path, &err), 0, "%s: %s", name, err.message);
		root = json_load_file(path, 0, &jerr);
		cr_assert_not_null(root);
		independent_walk(root, &want);
		cr_expect_eq(bpg_blueprint_module_count(bp), want.modules, "%s: %zu modules, walk found %zu",
			name, bpg_blueprint_module_count(bp), want.modules);
		cr_assert_eq(bpg_blueprint_to_json(&model, bp, &err), 0);
		const json_t *conns = json_object_get(model, "connections");
		cr_expect_eq(json_array_size(conns), json_object_size(want.connections),
			"%s: connection set size differs", name);
		size_t i;
		json_t *c;
		json_array_foreach(conns, i, c)
			cr_expect(json_object_get(want.connections, json_string_value(c)) != NULL,
				"%s: connection %s not found by the walk", name, json_string_value(c));
		/* ids are unique in real exports */
		for (size_t k = 0; k < bpg_blueprint_module_count(bp); k++) {
			const bpg_module *m = bpg_blueprint_module(bp, k);
			cr_expect_eq(bpg_blueprint_module_by_id(bp, m->id), m, "%s: id %lld not unique",
				name, m->id);
		}
		total += want.modules;
		files++;
		json_decref(want.connections);
		json_decref(model);
		json_decref(root);
		bpg_blueprint_free(bp);
	}
	cr_assert_geq(files, 40, "only %d corpus files", files);
	cr_assert_geq(total, 1000);
}

Test(blueprint, containers_paths_pointers_and_refs)
{
	const char *json =
		"{\"name\":\"S\",\"flow\":["
		"{\"id\":1,\"module\":\"gateway:CustomWebHook\",\"version\":1,\"parameters\":{\"hook\":245}},"
		"{\"id\":2,\"module\":\"builtin:BasicRouter\",\"version\":1,\"mapper\":null,\"routes\":["
		"  {\"flow\":[{\"id\":3,\"module\":\"google-sheets:addRow\",\"version\":2,"
		"    \"parameters\":{\"__IMTCONN__\":77},\"mapper\":{\"values\":{\"0\":\"{{1.email}}\"}},"
		"    \"filter\":{\"name\":\"only new\",\"conditions\":[[{\"a\":\"{{1.x}}\",\"o\":\"exist\"}]]},"
		"    \"onerror\":[{\"id\":4,\"module\":\"builtin:Break\",\"version\":1}]}]},"
		"  {\"flow\":[{\"id\":5,\"module\":\"http:ActionSendData\",\"version\":3,\"mapper\":{\"method\":\"get\"}}]}]},"
		"{\"id\":6,\"module\":\"builtin:BasicIfElse\",\"version\":1,\"branches\":["
		"  {\"type\":\"else\",\"flow\":[{\"id\":7,\"module\":\"slack:CreateMessage\",\"version\":4}]}]},"
		"{\"id\":8,\"module\":\"ai-local-agent:RunLocalAIAgent\",\"version\":0,"
		"  \"parameters\":{\"makeConnectionId\":9},\"tools\":[{\"name\":\"t\",\"flow\":[{\"id\":9,\"module\":\"discord:createMessage\"}]}]}],"
		"\"metadata\":{\"scenario\":{\"dlq\":true,\"confidential\":false},\"zone\":\"eu1.make.com\",\"future\":1,"
		"\"designer\":{\"orphans\":[[{\"id\":10,\"module\":\"hubspotcrm:createContact\",\"version\":1}]]}}}";
	bpg_blueprint *bp = parse_ok(json);
	const bpg_module *m;

	cr_assert_str_eq(bpg_blueprint_name(bp), "S");
	cr_assert_str_eq(bpg_blueprint_zone(bp), "eu1.make.com");
	cr_assert_eq(bpg_blueprint_module_count(bp), 10);
	cr_assert_eq(bpg_blueprint_flag(bp, "dlq"), BPG_FLAG_TRUE);
	cr_assert_eq(bpg_blueprint_flag(bp, "confidential"), BPG_FLAG_FALSE);
	cr_assert_eq(bpg_blueprint_flag(bp, "dataloss"), BPG_FLAG_UNSET);

	m = bpg_blueprint_module_by_id(bp, 1);
	cr_assert_eq(m->effect, BPG_EFFECT_TRIGGER);
	cr_assert_eq(m->nrefs, 1);
	cr_assert_str_eq(m->refs[0].kind, "webhook");
	cr_assert_str_eq(m->refs[0].value, "245");
	cr_assert_str_eq(m->refs[0].pointer, "/flow/0/parameters/hook");

	m = bpg_blueprint_module_by_id(bp, 3);
	cr_assert_eq(m->container, BPG_CONTAINER_ROUTE);
	cr_assert_str_eq(m->path, "flow > 2.routes[0]");
	cr_assert_str_eq(m->pointer, "/flow/1/routes/0/flow/0");
	cr_assert_eq(m->parent_id, 2);
	cr_assert(m->writes);
	cr_assert(m->has_error_handler);
	cr_assert_str_eq(m->error_directive, "builtin:Break");
	cr_assert_str_eq(m->filter_name, "only new");
	cr_assert_str_eq(m->refs[0].kind, "connection");
	cr_assert_str_eq(m->refs[0].value, "77");
	cr_assert_eq(m->nliterals, 1);
	cr_assert_str_eq(m->literals[0].pointer, "/flow/1/routes/0/flow/0/mapper/values/0");
	cr_assert_str_eq(m->literals[0].value, "{{1.email}}");

	m = bpg_blueprint_module_by_id(bp, 4);
	cr_assert_eq(m->container, BPG_CONTAINER_ONERROR);
	cr_assert_str_eq(m->pointer, "/flow/1/routes/0/flow/0/onerror/0");
	cr_assert_str_eq(m->path, "flow > 2.routes[0] > 3.onerror");

	m = bpg_blueprint_module_by_id(bp, 5);
	cr_assert_eq(m->effect, BPG_EFFECT_READ, "GET is a read");
	cr_assert_not(m->writes);

	m = bpg_blueprint_module_by_id(bp, 7);
	cr_assert_eq(m->container, BPG_CONTAINER_BRANCH);
	cr_assert_str_eq(m->pointer, "/flow/2/branches/0/flow/0");
	cr_assert_eq(m->effect, BPG_EFFECT_MESSAGE);

	m = bpg_blueprint_module_by_id(bp, 9);
	cr_assert_eq(m->container, BPG_CONTAINER_TOOL);
	cr_assert_str_eq(m->pointer, "/flow/3/tools/0/flow/0");
	cr_assert_str_eq(bpg_blueprint_module_by_id(bp, 8)->refs[0].kind, "connection");

	m = bpg_blueprint_module_by_id(bp, 10);
	cr_assert_eq(m->container, BPG_CONTAINER_ORPHAN);
	cr_assert_str_eq(m->pointer, "/metadata/designer/orphans/0/0");
	cr_assert_str_eq(m->path, "orphans[0]");
	bpg_blueprint_free(bp);
}

Test(blueprint, model_json_is_stable)
{
	bpg_blueprint *bp = parse_ok("{\"name\":\"N\",\"flow\":[{\"id\":3,\"module\":\"hubspotcrm:updateContact\","
		"\"version\":2,\"parameters\":{\"__IMTCONN__\":5},\"mapper\":{\"email\":\"a\"}}],"
		"\"metadata\":{\"scenario\":{\"dlq\":false}}}");
	json_t *j = NULL;
	bpg_error err;
	char *s;

	cr_assert_eq(bpg_blueprint_to_json(&j, bp, &err), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(s,
		"{\"connections\":[\"5\"],\"datastores\":[],\"instant\":null,\"keychains\":[],\"module_count\":1,"
		"\"modules\":[{\"action\":\"updateContact\",\"app\":\"hubspotcrm\",\"container\":\"flow\",\"depth\":0,"
		"\"effect\":\"write\",\"error_directive\":null,\"filter\":null,\"has_error_handler\":false,\"id\":3,"
		"\"label\":null,\"literals\":[{\"pointer\":\"/flow/0/mapper/email\",\"value\":\"a\"}],"
		"\"mapper\":{\"email\":\"a\"},\"module\":\"hubspotcrm:updateContact\",\"parent_id\":null,"
		"\"path\":\"flow\",\"pointer\":\"/flow/0\",\"refs\":[{\"key\":\"__IMTCONN__\",\"kind\":\"connection\","
		"\"pointer\":\"/flow/0/parameters/__IMTCONN__\",\"value\":\"5\"}],\"version\":2,\"writes\":true}],"
		"\"name\":\"N\",\"settings\":{\"dlq\":false},\"webhooks\":[],\"writes\":true,\"zone\":null}");
	free(s);
	json_decref(j);
	bpg_blueprint_free(bp);
}

Test(blueprint, bom_unknown_fields_and_api_wrapper_accepted)
{
	bpg_blueprint *bp = parse_ok("\xEF\xBB\xBF{\"flow\":[{\"id\":1,\"module\":\"x:y\",\"newField\":{\"a\":1}}],"
		"\"metadata\":{},\"_public_note\":\"hi\"}");
	cr_assert_eq(bpg_blueprint_module_count(bp), 1);
	cr_assert_str_eq(bpg_blueprint_name(bp), "");
	bpg_blueprint_free(bp);
	bp = parse_ok("{\"code\":\"OK\",\"response\":{\"blueprint\":{\"name\":\"W\",\"flow\":[],\"metadata\":{}}}}");
	cr_assert_str_eq(bpg_blueprint_name(bp), "W");
	bpg_blueprint_free(bp);
}

Test(blueprint, bad_input_is_located)
{
	bpg_error err;

	cr_assert_eq(parse_fail("{\"flow\": [1, 2", 14, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "t.json:1:") && strstr(err.message, "not valid JSON"), "%s", err.message);

	cr_assert_eq(parse_fail("not json", 8, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "t.json:1:") && strstr(err.message, "not valid JSON"), "%s", err.message);

	cr_assert_eq(parse_fail("[1,2]", 5, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message,
		"t.json: /: not a blueprint: expected a JSON object at the top level, found an array");

	cr_assert_eq(parse_fail("{\"name\":\"x\"}", 12, &err), BPG_EINVALID);
	cr_assert_str_eq(err.message,
		"t.json: /flow: not a blueprint: missing \"flow\" (the array of modules of a Make.com export)");

	const char *nonmodule = "{\"flow\":[{\"id\":1,\"routes\":[{\"flow\":[7]}]}]}";
	cr_assert_eq(parse_fail(nonmodule, strlen(nonmodule), &err), BPG_EINVALID);
	cr_assert_str_eq(err.message, "t.json: /flow/0/routes/0/flow/0: expected a module object, found an integer");

	cr_assert_eq(parse_fail("{\"flow\":[],\n \"flow\":[]}", 23, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "t.json:2:") && strstr(err.message, "duplicate"), "%s", err.message);

	cr_assert_eq(parse_fail("{\"flow\":[],\"name\":\"\xff\"}", 22, &err), BPG_EINVALID);
	cr_assert(strstr(err.message, "t.json:1:") && strstr(err.message, "0xff"), "%s", err.message);
}

Test(blueprint, deep_nesting_is_refused_without_crashing)
{
	size_t depth = 100000;
	char *s = malloc(2 * depth + 16);
	bpg_error err;
	size_t n = 0;

	n += (size_t)sprintf(s, "{\"flow\":");
	for (size_t i = 0; i < depth; i++)
		s[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		s[n++] = ']';
	s[n++] = '}';
	cr_assert_eq(parse_fail(s, n, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "nested deeper than 2048 levels"), "%s", err.message);
	free(s);
}

Test(blueprint, container_depth_limit)
{
	bpg_buf b = BPG_BUF_INIT;
	bpg_error err;
	int levels = BPG_BLUEPRINT_MAX_DEPTH + 2;

	cr_assert_eq(bpg_buf_puts(&b, "{\"flow\":"), 0);
	for (int i = 0; i < levels; i++)
		cr_assert_eq(bpg_buf_printf(&b, "[{\"id\":%d,\"module\":\"builtin:BasicRouter\",\"routes\":[{\"flow\":", i + 1), 0);
	cr_assert_eq(bpg_buf_puts(&b, "[]"), 0);
	for (int i = 0; i < levels; i++)
		cr_assert_eq(bpg_buf_puts(&b, "}]}]"), 0);
	cr_assert_eq(bpg_buf_puts(&b, "}"), 0);
	cr_assert_eq(parse_fail(b.ptr, b.size, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "nested more than 64 containers deep"), "%s", err.message);
	bpg_buf_dispose(&b);
}

Test(blueprint, oversized_file_refused_before_reading)
{
	char path[] = "/tmp/bpg-big-XXXXXX";
	int fd = mkstemp(path);
	bpg_blueprint *bp = NULL;
	bpg_error err;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 200L << 20), 0); /* sparse: 200 MB without writing them */
	close(fd);
	cr_assert_eq(bpg_blueprint_load(&bp, path, &err), BPG_ETOOBIG);
	cr_assert(strstr(err.message, "209715200 bytes, larger than the 67108864-byte limit"), "%s", err.message);
	unlink(path);
}

Test(blueprint, effect_classification)
{
	cr_assert_eq(bpg_module_effect_of("google-sheets:addRow", NULL), BPG_EFFECT_WRITE);
	cr_assert_eq(bpg_module_effect_of("airtable:ActionCreateRecord", NULL), BPG_EFFECT_WRITE);
	cr_assert_eq(bpg_module_effect_of("airtable:ActionSearchRecords", NULL), BPG_EFFECT_READ);
	cr_assert_eq(bpg_module_effect_of("datastore:DeleteRecord", NULL), BPG_EFFECT_WRITE);
	cr_assert_eq(bpg_module_effect_of("google-sheets:watchRows", NULL), BPG_EFFECT_TRIGGER);
	cr_assert_eq(bpg_module_effect_of("hubspotcrm:getContact", NULL), BPG_EFFECT_READ);
	cr_assert_eq(bpg_module_effect_of("http:ActionSendData", "post"), BPG_EFFECT_HTTP_WRITE);
	cr_assert_eq(bpg_module_effect_of("http:ActionSendData", "get"), BPG_EFFECT_READ);
	cr_assert_eq(bpg_module_effect_of("http:MakeRequest", NULL), BPG_EFFECT_HTTP_WRITE);
	cr_assert_eq(bpg_module_effect_of("hubspotcrm:MakeAPICall", "GET"), BPG_EFFECT_READ);
	cr_assert_eq(bpg_module_effect_of("twilio:SendSMS", NULL), BPG_EFFECT_MESSAGE);
	cr_assert_eq(bpg_module_effect_of("facebook-pages:CreatePost", NULL), BPG_EFFECT_MESSAGE);
	cr_assert_eq(bpg_module_effect_of("openai-gpt-3:CreateCompletion", NULL), BPG_EFFECT_EGRESS);
	cr_assert_eq(bpg_module_effect_of("builtin:BasicRouter", NULL), BPG_EFFECT_NONE);
	cr_assert_eq(bpg_module_effect_of("util:SetVariable2", NULL), BPG_EFFECT_NONE);
	cr_assert_eq(bpg_module_effect_of("scenario-service:CallSubscenario", NULL), BPG_EFFECT_CALL);
	cr_assert_eq(bpg_module_effect_of("code:ExecuteCode", NULL), BPG_EFFECT_CODE);
	cr_assert_eq(bpg_module_effect_of("pdf-co:postPdfInfo", NULL), BPG_EFFECT_EGRESS);
	cr_assert_eq(bpg_module_effect_of("google-docs:exportADocument", NULL), BPG_EFFECT_READ);
	cr_assert_eq(bpg_module_effect_of("someapp:doSomethingUnknown", NULL), BPG_EFFECT_WRITE);
}

static const char *OLD_BP =
	"{\"name\":\"Leads\",\"flow\":["
	"{\"id\":1,\"module\":\"gateway:CustomWebHook\",\"version\":1,\"parameters\":{\"hook\":10}},"
	"{\"id\":2,\"module\":\"hubspotcrm:createContact\",\"version\":1,\"parameters\":{\"__IMTCONN__\":20},"
	" \"mapper\":{\"email\":\"{{1.email}}\",\"stage\":\"lead\"}},"
	"{\"id\":3,\"module\":\"slack:CreateMessage\",\"version\":4,\"filter\":{\"name\":\"vip\",\"conditions\":[]}},"
	"{\"id\":4,\"module\":\"builtin:BasicRouter\",\"version\":1,\"routes\":[{\"flow\":[]},{\"flow\":[]}]}],"
	"\"metadata\":{\"scenario\":{\"dlq\":false,\"maxErrors\":3}}}";

static const char *NEW_BP =
	"{\"name\":\"Leads v2\",\"flow\":["
	"{\"id\":1,\"module\":\"gateway:CustomWebHook\",\"version\":1,\"parameters\":{\"hook\":10}},"
	"{\"id\":2,\"module\":\"hubspotcrm:createContact\",\"version\":2,\"parameters\":{\"__IMTCONN__\":21},"
	" \"mapper\":{\"email\":\"{{1.mail}}\",\"owner\":\"x\"},"
	" \"onerror\":[{\"id\":9,\"module\":\"builtin:Break\",\"version\":1}]},"
	"{\"id\":4,\"module\":\"builtin:BasicRouter\",\"version\":1,\"routes\":[{\"flow\":[]},{\"flow\":["
	"  {\"id\":3,\"module\":\"slack:CreateMessage\",\"version\":4,\"filter\":{\"name\":\"vip\",\"conditions\":[[{\"a\":\"1\",\"o\":\"exist\"}]]}}]}]}],"
	"\"metadata\":{\"scenario\":{\"dlq\":true,\"maxErrors\":3,\"confidential\":true}}}";

Test(blueprint, semantic_diff_is_exact)
{
	bpg_blueprint *a = parse_ok(OLD_BP), *b = parse_ok(NEW_BP);
	bpg_bpdiff *d = NULL;
	bpg_error err;
	static const struct { const char *kind; long long id; const char *field, *old_v, *new_v; } want[] = {
		{ "name", 0, NULL, "Leads", "Leads v2" },
		{ "setting", 0, "confidential", "(unset)", "true" },
		{ "setting", 0, "dlq", "false", "true" },
		{ "version", 2, NULL, "1", "2" },
		{ "connection", 2, "__IMTCONN__", "20", "21" },
		{ "mapper", 2, "mapper.email", "\"{{1.email}}\"", "\"{{1.mail}}\"" },
		{ "mapper", 2, "mapper.owner", NULL, "\"x\"" },
		{ "mapper", 2, "mapper.stage", "\"lead\"", NULL },
		{ "error_handling", 2, NULL, NULL, "builtin:Break" },
		{ "moved", 3, NULL, "flow", "flow > 4.routes[1]" },
		{ "filter", 3, NULL, "\"vip\" []", "\"vip\" [[{\"a\":\"1\",\"o\":\"exist\"}]]" },
		{ "added", 9, NULL, NULL, "flow > 2.onerror" },
	};

	cr_assert_eq(bpg_bpdiff_compute(&d, a, b, &err), 0);
	cr_assert_eq(bpg_bpdiff_count(d), sizeof(want) / sizeof(want[0]), "got %zu changes", bpg_bpdiff_count(d));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const bpg_change *c = bpg_bpdiff_get(d, i);
		cr_expect_str_eq(bpg_change_kind_name(c->kind), want[i].kind, "change %zu", i);
		cr_expect_eq(c->module_id, want[i].id, "change %zu", i);
#define STR_EQ(x, y) cr_expect((!(x) && !(y)) || ((x) && (y) && !strcmp((x), (y))), \
		"change %zu: '%s' != '%s'", i, (x) ? (x) : "(null)", (y) ? (y) : "(null)")
		STR_EQ(c->field, want[i].field);
		STR_EQ(c->old_value, want[i].old_v);
		STR_EQ(c->new_value, want[i].new_v);
	}
	bpg_bpdiff_free(d);

	/* the reverse direction removes module 9 and restores the rest */
	cr_assert_eq(bpg_bpdiff_compute(&d, b, a, &err), 0);
	cr_assert_str_eq(bpg_change_kind_name(bpg_bpdiff_get(d, bpg_bpdiff_count(d) - 1)->kind), "removed");
	bpg_bpdiff_free(d);

	/* identical blueprints: no change */
	cr_assert_eq(bpg_bpdiff_compute(&d, a, a, &err), 0);
	cr_assert_eq(bpg_bpdiff_count(d), 0);
	bpg_bpdiff_free(d);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
}

/* ---- issue #18 item 12 ------------------------------------------------ */

Test(blueprint, orphan_routes_and_handlers_are_orphans_and_never_write)
{
	bpg_blueprint *bp = parse_ok("{\"flow\":[{\"id\":1,\"module\":\"gateway:CustomWebHook\"}],"
		"\"metadata\":{\"designer\":{\"orphans\":[[{\"id\":5,\"module\":\"builtin:BasicRouter\","
		"\"routes\":[{\"flow\":[{\"id\":6,\"module\":\"hubspotcrm:createContact\"}]}]},"
		"{\"id\":7,\"module\":\"hubspotcrm:updateContact\","
		"\"onerror\":[{\"id\":8,\"module\":\"google-sheets:addRow\"}]}]]}}}");
	static const struct { long long id; const char *container, *path; } want[] = {
		{ 1, "flow", "flow" }, { 5, "orphan", "orphans[0]" },
		{ 6, "orphan", "orphans[0] > 5.routes[0]" }, { 7, "orphan", "orphans[0]" },
		{ 8, "orphan", "orphans[0] > 7.onerror" },
	};
	json_t *j = NULL;
	bpg_error err;

	cr_assert_eq(bpg_blueprint_module_count(bp), 5);
	for (size_t i = 0; i < 5; i++) {
		const bpg_module *m = bpg_blueprint_module(bp, i);
		cr_expect_eq(m->id, want[i].id, "module %zu", i);
		cr_expect_str_eq(bpg_container_name(m->container), want[i].container, "module %lld", m->id);
		cr_expect_str_eq(m->path, want[i].path, "module %lld", m->id);
	}
	cr_assert(!bpg_blueprint_writes(bp), "orphans never run, so they do not write");
	cr_assert_eq(bpg_blueprint_to_json(&j, bp, &err), 0);
	cr_assert(json_is_false(json_object_get(j, "writes")));
	json_decref(j);
	bpg_blueprint_free(bp);
}

Test(blueprint, empty_reference_values_are_no_reference)
{
	bpg_blueprint *bp = parse_ok("{\"flow\":[{\"id\":1,\"module\":\"http:ActionSendData\","
		"\"parameters\":{\"proxyKeychain\":\"\",\"__IMTCONN__\":\"\",\"apiKeyKeychain\":\"42\"}}],"
		"\"metadata\":{}}");
	const bpg_module *m = bpg_blueprint_module(bp, 0);
	json_t *j = NULL;
	bpg_error err;
	json_t *sets;
	char *s;

	cr_assert_eq(m->nrefs, 1);
	cr_assert_str_eq(m->refs[0].key, "apiKeyKeychain");
	cr_assert_str_eq(m->refs[0].value, "42");
	cr_assert_eq(bpg_blueprint_to_json(&j, bp, &err), 0);
	sets = json_pack("{s:O,s:O}", "k", json_object_get(j, "keychains"),
		"c", json_object_get(j, "connections"));
	s = json_dumps(sets, JSON_SORT_KEYS | JSON_COMPACT);
	cr_assert_str_eq(s, "{\"c\":[],\"k\":[\"42\"]}");
	free(s);
	json_decref(sets);
	json_decref(j);
	bpg_blueprint_free(bp);
}

static void expect_changes(const char *from, const char *to, const char *want)
{
	bpg_blueprint *a = parse_ok(from), *b = parse_ok(to);
	bpg_bpdiff *d = NULL;
	json_t *j = NULL;
	bpg_error err;
	char *s;

	cr_assert_eq(bpg_bpdiff_compute(&d, a, b, &err), 0);
	cr_assert_eq(bpg_bpdiff_to_json(&j, d, &err), 0);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	cr_expect_str_eq(s, want);
	free(s);
	json_decref(j);
	bpg_bpdiff_free(d);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
}

Test(blueprint, diff_reports_a_reference_once_added_or_removed)
{
	const char *without = "{\"flow\":[{\"id\":2,\"module\":\"hubspotcrm:createContact\","
		"\"parameters\":{\"x\":1}}],\"metadata\":{}}";
	const char *with = "{\"flow\":[{\"id\":2,\"module\":\"hubspotcrm:createContact\","
		"\"parameters\":{\"x\":1,\"__IMTCONN__\":20}}],\"metadata\":{}}";

	expect_changes(without, with, "{\"changes\":[{\"field\":\"__IMTCONN__\",\"kind\":\"connection\","
		"\"module\":\"hubspotcrm:createContact\",\"module_id\":2,\"new\":\"20\",\"old\":null}]}");
	expect_changes(with, without, "{\"changes\":[{\"field\":\"__IMTCONN__\",\"kind\":\"connection\","
		"\"module\":\"hubspotcrm:createContact\",\"module_id\":2,\"new\":null,\"old\":\"20\"}]}");
}

static void expect_refused(const char *json, const char *message)
{
	bpg_error err;
	cr_assert_eq(parse_fail(json, strlen(json), &err), BPG_EINVALID, "%s", json);
	cr_expect_str_eq(err.message, message);
}

Test(blueprint, missing_bad_and_duplicate_module_ids_are_refused_with_a_pointer)
{
	expect_refused("{\"flow\":[{\"id\":1,\"module\":\"x:y\"},{\"module\":\"x:z\"}]}",
		"t.json: /flow/1/id: module without an \"id\"; export the scenario again from Make");
	expect_refused("{\"flow\":[{\"id\":1,\"module\":\"builtin:BasicRouter\",\"routes\":[{\"flow\":"
		"[{\"id\":\"two\",\"module\":\"x:y\"}]}]}]}",
		"t.json: /flow/0/routes/0/flow/0/id: module id must be a positive integer, "
		"found a string that is not one");
	expect_refused("{\"flow\":[{\"id\":1.5,\"module\":\"x:y\"}]}",
		"t.json: /flow/0/id: module id must be a positive integer, found a number");
	expect_refused("{\"flow\":[{\"id\":null,\"module\":\"x:y\"}]}",
		"t.json: /flow/0/id: module id must be a positive integer, found null");
	expect_refused("{\"flow\":[{\"id\":0,\"module\":\"x:y\"}]}",
		"t.json: /flow/0/id: module id must be a positive integer, found a number below 1");
	expect_refused("{\"flow\":[{\"id\":3,\"module\":\"x:y\",\"onerror\":[{\"id\":4,\"module\":\"x:z\"}]}],"
		"\"metadata\":{\"designer\":{\"orphans\":[[{\"id\":4,\"module\":\"x:w\"}]]}}}",
		"t.json: /metadata/designer/orphans/0/0/id: duplicate module id 4 "
		"(also at /flow/0/onerror/0)");
	/* a decimal string id, as some hand-edited exports carry, still parses */
	bpg_blueprint *bp = parse_ok("{\"flow\":[{\"id\":\"12\",\"module\":\"x:y\"}]}");
	cr_assert_eq(bpg_blueprint_module(bp, 0)->id, 12);
	bpg_blueprint_free(bp);
}

/* ---- the old version's model sharing what did not change ---------------- */

/* Every real export, each of (up to) 20 of its values changed in turn: the model
 * built sharing with the unchanged version's is exactly the model built alone, and
 * a module is shared exactly when its JSON form did not change. */
Test(blueprint, model_sharing_with_another_version_is_exact)
{
	DIR *dh = open_corpus();
	const char *name;
	char path[2048];
	size_t tried = 0, shared_total = 0, unshared_total = 0;

	while (next_export(dh, path, sizeof(path), &name)) {
		bpg_blueprint *base = NULL;
		bpg_error err;
		json_t *root, *base_model = NULL;
		json_error_t jerr;
		size_t leaves;
		bool none = false;

		cr_assert_eq(bpg_blueprint_load(&base, path, &err), 0, "%s: %s", name, err.message);
		cr_assert_eq(bpg_blueprint_to_json(&base_model, base, &err), 0);
		root = json_load_file(path, 0, &jerr);
		cr_assert_not_null(root);
		leaves = mutate_leaf(root, SIZE_MAX, 0, &none);
		/* k == leaves: no value changed, every module shared */
		for (size_t step = leaves / 20 + 1, k = 0; k <= leaves; k = k + step > leaves && k < leaves ? leaves : k + step) {
			json_t *copy = json_deep_copy(root), *alone = NULL, *sharing = NULL;
			bool done = false;
			bpg_blueprint *bp = NULL;
			mutate_leaf(copy, k, 0, &done);
			char *text = json_dumps(copy, 0);
			cr_assert_not_null(text);
			if (bpg_blueprint_parse(&bp, text, strlen(text), "m.json", &err) == 0) {
				cr_assert_eq(bpg_blueprint_to_json(&alone, bp, &err), 0);
				cr_assert_eq(bpg_blueprint_to_json_sharing(&sharing, bp, base, base_model, &err), 0);
				cr_assert(json_equal(alone, sharing), "%s, value %zu changed: the models differ", name, k);
				const json_t *mods = json_object_get(sharing, "modules"), *base_mods = json_object_get(base_model, "modules");
				for (size_t i = 0; i < json_array_size(mods); i++) {
					const json_t *m = json_array_get(mods, i), *twin = NULL;
					for (size_t j = 0; j < json_array_size(base_mods); j++)
						if (json_integer_value(json_object_get(json_array_get(base_mods, j), "id")) ==
						    json_integer_value(json_object_get(m, "id")))
							twin = json_array_get(base_mods, j);
					bool same = twin && json_equal((json_t *)twin, json_array_get(json_object_get(alone, "modules"), i));
					cr_assert_eq(m == twin, same, "%s, value %zu changed: module %zu %s", name, k, i,
						same ? "unchanged but not shared" : "changed but shared");
					shared_total += same;
					unshared_total += !same;
				}
				if (k == leaves)
					cr_assert(json_object_get(sharing, "settings") == json_object_get(base_model, "settings") ||
						!json_object_size(json_object_get(base_model, "settings")));
				tried++;
			}
			json_decref(alone);
			json_decref(sharing);
			bpg_blueprint_free(bp);
			free(text);
			json_decref(copy);
			if (k == leaves)
				break;
		}
		json_decref(root);
		json_decref(base_model);
		bpg_blueprint_free(base);
	}
	cr_assert_geq(tried, 44 * 10, "only %zu versions tried", tried);
	cr_assert_gt(shared_total, 0);
	cr_assert_gt(unshared_total, 44, "changes were not seen: %zu", unshared_total);
}

Test(blueprint, model_sharing_refuses_a_model_of_another_blueprint)
{
	bpg_blueprint *a = parse_ok("{\"name\":\"a\",\"flow\":[{\"id\":1,\"module\":\"json:ParseJSON\"}],\"metadata\":{}}");
	bpg_blueprint *b = parse_ok("{\"name\":\"b\",\"flow\":[],\"metadata\":{}}");
	json_t *bm = NULL, *out = NULL;
	bpg_error err;

	cr_assert_eq(bpg_blueprint_to_json(&bm, b, &err), 0);
	cr_assert_eq(bpg_blueprint_to_json_sharing(&out, a, a, bm, &err), BPG_EINVALID);
	cr_assert_null(out);
	json_decref(bm);
	bpg_blueprint_free(a);
	bpg_blueprint_free(b);
}
