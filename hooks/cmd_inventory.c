/* `bpgate inventory`: every blueprint with its catalog entry beside what the
 * blueprint itself shows; uncatalogued and inconsistent ones first. */
#include "frontend.h"
#include "make_status.h"

#include <stdlib.h>
#include <string.h>

#include "bpgate/blueprint.h"
#include "bpgate/buf.h"
#include "bpgate/query.h"
#include "bpgate/util.h"
#include "bpgate/jsonheap.h"

/* Every connection id the catalog allows in any environment. */
static bool connection_catalogued(const json_t *entry, const char *id)
{
	const char *env;
	json_t *ids;
	json_object_foreach(json_object_get(entry, "connections"), env, ids)
		if (bpg_strings_has(ids, id))
			return true;
	return false;
}

/* The first data class of the entry that the confidential rule covers (its
 * data_classes parameter, default PII and PHI), or NULL; NULL when the rule is off. */
static const char *confidential_class(const bpg_policy *p, const json_t *entry)
{
	const json_t *classes = bpg_policy_rule_param(p, "confidential", "data_classes");
	size_t i;
	json_t *c;
	if (!entry || !bpg_policy_rule_on(p, "confidential"))
		return NULL;
	json_array_foreach(json_object_get(entry, "data_classes"), i, c)
		if (json_is_string(c) && bpg_strings_has(classes, json_string_value(c)))
			return json_string_value(c);
	return NULL;
}

static json_t *inventory_row(const bpg_policy *p, const char *path, const bpg_blueprint *bp)
{
	const json_t *policy = bpg_policy_json(p);
	const json_t *entry = bpg_catalog_match(policy, path);
	json_t *problems = json_array(), *model = NULL, *row;
	size_t writes = 0;
	bpg_error err;
	bpg_flag dlq = bpg_blueprint_flag(bp, "dlq"), conf = bpg_blueprint_flag(bp, "confidential");
	const char *personal = confidential_class(p, entry);

	for (size_t i = 0; i < bpg_blueprint_module_count(bp); i++)
		if (bpg_blueprint_module(bp, i)->writes && bpg_blueprint_module(bp, i)->container != BPG_CONTAINER_ORPHAN)
			writes++;
	if (bpg_blueprint_to_json(&model, bp, &err) < 0)
		return NULL;
	if (!entry)
		json_array_append_new(problems, json_string("not in the catalog"));
	/* the rules' own parameters and modes (bpgate/query.h); `bpgate check` gives the verdict */
	if (writes && dlq != BPG_FLAG_TRUE && bpg_policy_rule_on(p, "writeback-dlq"))
		json_array_append_new(problems, json_string("writes back but does not keep incomplete executions (dlq)"));
	if (personal && conf != BPG_FLAG_TRUE)
		json_array_append_new(problems, json_sprintf("handles %s data but is not marked confidential", personal));
	if (entry && bpg_policy_rule_on(p, "connections")) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(model, "connections"), i, c)
			if (!connection_catalogued(entry, json_string_value(c))) {
				json_array_append_new(problems, json_sprintf("connection %s is not catalogued",
					json_string_value(c)));
			}
	}
	row = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:O, s:O, s:i, s:s, s:s, s:o}",
		"path", path, "scenario", bpg_blueprint_name(bp),
		"catalog_id", entry ? json_incref(json_object_get(entry, "id")) : json_null(),
		"owner", entry ? json_incref(json_object_get(entry, "owner")) : json_null(),
		"risk", entry ? json_incref(json_object_get(entry, "risk")) : json_null(),
		"data_classes", entry && json_object_get(entry, "data_classes") ?
			json_incref(json_object_get(entry, "data_classes")) : json_array(),
		"writes_to", entry && json_object_get(entry, "writes_to") ?
			json_incref(json_object_get(entry, "writes_to")) : json_array(),
		"connections", json_object_get(model, "connections"),
		"webhooks", json_object_get(model, "webhooks"),
		"write_modules", (int)writes,
		"dlq", dlq == BPG_FLAG_TRUE ? "true" : dlq == BPG_FLAG_FALSE ? "false" : "unset",
		"confidential", conf == BPG_FLAG_TRUE ? "true" : conf == BPG_FLAG_FALSE ? "false" : "unset",
		"problems", problems);
	json_decref(model);
	return row;
}

static int cmp_rows(const void *a, const void *b)
{
	const json_t *ra = *(const json_t *const *)a, *rb = *(const json_t *const *)b;
	bool ua = json_is_null(json_object_get(ra, "catalog_id")), ub = json_is_null(json_object_get(rb, "catalog_id"));
	size_t pa = json_array_size(json_object_get(ra, "problems")), pb = json_array_size(json_object_get(rb, "problems"));
	if (ua != ub)
		return ua ? -1 : 1;
	if ((pa > 0) != (pb > 0))
		return pa > 0 ? -1 : 1;
	return strcmp(json_string_value(json_object_get(ra, "path")), json_string_value(json_object_get(rb, "path")));
}

static void csv_field(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		/* Spreadsheets run cells that start with these: neutralise them. */
		putchar((unsigned char)*s < 0x20 ? ' ' : *s);
	}
	putchar('"');
}

static char *joined(const json_t *arr, const char *sep)
{
	bpg_buf b = BPG_BUF_INIT;
	size_t i;
	json_t *v;
	int jrc = 0; /* NULL (out of memory) rather than a list with items missing */
	json_array_foreach(arr, i, v) {
		if (i)
			jrc |= bpg_buf_puts(&b, sep);
		jrc |= bpg_buf_puts(&b, json_is_string(v) ? json_string_value(v) : "?");
	}
	if (jrc != 0) {
		bpg_buf_dispose(&b);
		return NULL;
	}
	return bpg_buf_detach(&b);
}

/* Per environment: where the deployment records say this scenario is deployed
 * ("prod 1a2b3c4d5e6f (Make 301, drift: clean)"). */
static void attach_deployed(json_t *row, const json_t *status)
{
	const char *id = json_string_value(json_object_get(row, "catalog_id"));
	json_t *list = json_array();
	const char *env;
	json_t *e;
	if (!id || !list) {
		json_decref(list);
		return;
	}
	json_object_foreach((json_t *)status, env, e) {
		const json_t *s = json_object_get(json_object_get(e, "scenarios"), id);
		const char *commit = json_string_value(json_object_get(s, "commit"));
		const char *drift = json_string_value(json_object_get(s, "drift"));
		if (commit)
			json_array_append_new(list, json_sprintf("%s %.12s (Make %lld, drift: %s)", env, commit,
				(long long)json_integer_value(json_object_get(s, "make_id")), drift ? drift : "not checked"));
	}
	json_object_set_new(row, "deployed", list);
}

static void print_rows(json_t **rows, size_t n, bpg_format fmt)
{
	static const char *cols[] = { "path", "scenario", "catalog_id", "owner", "risk", "data_classes",
		"writes_to", "connections", "webhooks", "write_modules", "dlq", "confidential", "problems", "deployed" };
	if (fmt == BPG_FORMAT_CSV) {
		for (size_t c = 0; c < sizeof(cols) / sizeof(*cols); c++)
			printf("%s%s", c ? "," : "", cols[c]);
		putchar('\n');
	}
	for (size_t r = 0; r < n; r++) {
		const json_t *row = rows[r];
		if (fmt == BPG_FORMAT_CSV) {
			for (size_t c = 0; c < sizeof(cols) / sizeof(*cols); c++) {
				const json_t *v = json_object_get(row, cols[c]);
				char num[32], *s = NULL;
				const char *text = "";
				if (json_is_string(v))
					text = json_string_value(v);
				else if (json_is_integer(v))
					snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v)), text = num;
				else if (json_is_array(v))
					text = (s = joined(v, "; ")) ? s : "(out of memory)";
				if (c)
					putchar(',');
				if (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')
					putchar('\'');
				csv_field(text);
				free(s);
			}
			putchar('\n');
			continue;
		}
		char *conns = joined(json_object_get(row, "connections"), ","), *probs;
		printf("%s  \"%s\"\n", json_string_value(json_object_get(row, "path")),
			json_string_value(json_object_get(row, "scenario")));
		if (json_is_null(json_object_get(row, "catalog_id")))
			printf("  catalog: (none)\n");
		else
			printf("  catalog: %s, owner %s, risk %s\n", json_string_value(json_object_get(row, "catalog_id")),
				json_string_value(json_object_get(row, "owner")), json_string_value(json_object_get(row, "risk")));
		printf("  blueprint: %lld write modules, dlq %s, confidential %s, connections [%s]\n",
			(long long)json_integer_value(json_object_get(row, "write_modules")),
			json_string_value(json_object_get(row, "dlq")),
			json_string_value(json_object_get(row, "confidential")), conns ? conns : "(out of memory)");
		char *dep = joined(json_object_get(row, "deployed"), "; ");
		if (dep && *dep)
			printf("  deployed: %s\n", dep);
		free(dep);
		probs = joined(json_object_get(row, "problems"), "; ");
		if (!probs || *probs)
			printf("  problems: %s\n", probs ? probs : "(out of memory)");
		free(conns);
		free(probs);
	}
}

int cmd_inventory(int argc, char **argv)
{
	bpg_format fmt = BPG_FORMAT_TEXT;
	git_index *index = NULL;
	json_t **rows = NULL;
	size_t n = 0;
	fe_ctx ctx;
	int rc = BPG_EXIT_ERROR;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			if (cli_parse_format(&fmt, argv[++i], 1u << BPG_FORMAT_TEXT | 1u << BPG_FORMAT_JSON |
			    1u << BPG_FORMAT_CSV) < 0)
				return BPG_EXIT_ERROR;
		} else {
			return cli_usage("bpgate inventory [--format text|json|csv]");
		}
	}
	if (fe_open(&ctx, "inventory") < 0)
		return BPG_EXIT_ERROR;
	if (git_repository_index(&index, ctx.repo) < 0)
		goto done;
	rows = calloc(git_index_entrycount(index) + 1, sizeof(*rows));
	for (size_t i = 0; rows && i < git_index_entrycount(index); i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		bpg_buf path = BPG_BUF_INIT, data = BPG_BUF_INIT;
		bpg_blueprint *bp = NULL;
		bpg_error err;
		if (bpg_buf_printf(&path, "%s%s", ctx.workdir, e->path) < 0) {
			fprintf(stderr, "bpgate inventory: out of memory\n");
			bpg_buf_dispose(&path);
			goto done; /* never an inventory with a blueprint missing */
		}
		if (bpg_file_read(&data, path.ptr, BPG_BLUEPRINT_MAX_BYTES, &err) == 0 &&
		    bpg_gather_is_blueprint(e->path, data.ptr, data.size)) {
			if (bpg_blueprint_parse(&bp, data.ptr ? data.ptr : "", data.size, e->path, &err) < 0)
				fprintf(stderr, "bpgate inventory: %s\n", err.message);
			else if ((rows[n] = inventory_row(ctx.policy, e->path, bp)))
				n++;
		}
		bpg_blueprint_free(bp);
		bpg_buf_dispose(&path);
		bpg_buf_dispose(&data);
	}
	qsort(rows, n, sizeof(*rows), cmp_rows);
	json_t *deployed = make_status_json(ctx.repo, bpg_policy_json(ctx.policy));
	for (size_t i = 0; deployed && i < n; i++)
		attach_deployed(rows[i], deployed);
	json_decref(deployed);
	if (fmt == BPG_FORMAT_JSON) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append(arr, rows[i]);
		json_t *doc = json_pack("{s:o}", "scenarios", arr);
		char *s = bpg_json_dumps(doc, JSON_INDENT(2));
		puts(s ? s : "{}");
		free(s);
		json_decref(doc);
	} else {
		print_rows(rows, n, fmt);
	}
	rc = BPG_EXIT_OK;
done:
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i]);
	free(rows);
	git_index_free(index);
	fe_close(&ctx);
	return rc;
}
