/* Release bundle manifests: model, strict parse, canonical serialisation. */
#include "bundle_internal.h"
#include "bpgate/jsonheap.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void bpg_bundle_free(bpg_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nfiles; i++) {
		free((char *)b->files[i].path);
		free((char *)b->files[i].sha256);
	}
	for (size_t i = 0; i < b->nscenarios; i++) {
		free((char *)b->scenarios[i].file);
		free((char *)b->scenarios[i].name);
	}
	for (size_t i = 0; i < b->npatterns; i++)
		free(b->patterns[i]);
	free(b->files);
	free(b->scenarios);
	free(b->patterns);
	free(b->environment);
	free(b->commit);
	free(b->created);
	free(b->creator);
	free(b);
}

const char *bpg_bundle_environment(const bpg_bundle *b) { return b->environment; }
const char *bpg_bundle_source_commit(const bpg_bundle *b) { return b->commit; }
const char *bpg_bundle_created(const bpg_bundle *b) { return b->created; }
const char *bpg_bundle_creator(const bpg_bundle *b) { return b->creator; }
size_t bpg_bundle_file_count(const bpg_bundle *b) { return b->nfiles; }
size_t bpg_bundle_scenario_count(const bpg_bundle *b) { return b->nscenarios; }
size_t bpg_bundle_pattern_count(const bpg_bundle *b) { return b->npatterns; }

const bpg_bundle_file *bpg_bundle_file_at(const bpg_bundle *b, size_t i)
{
	return i < b->nfiles ? &b->files[i] : NULL;
}

const bpg_bundle_scenario *bpg_bundle_scenario_at(const bpg_bundle *b, size_t i)
{
	return i < b->nscenarios ? &b->scenarios[i] : NULL;
}

const char *bpg_bundle_pattern_at(const bpg_bundle *b, size_t i)
{
	return i < b->npatterns ? b->patterns[i] : NULL;
}

bool bundle_path_ok(const char *p, size_t len, const char **why)
{
	size_t seg = 0;

	*why = NULL;
	if (len == 0 || len > BPG_BUNDLE_PATH_MAX)
		*why = "empty or longer than 1024 bytes";
	else if (p[0] == '/')
		*why = "absolute";
	else if (!bpg_utf8_valid(p, len))
		*why = "not valid UTF-8";
	for (size_t i = 0; !*why && i <= len; i++) {
		if (i == len || p[i] == '/') {
			size_t n = i - seg;
			if (n == 0 || (n == 1 && p[seg] == '.') || (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
				*why = "has an empty, \".\" or \"..\" segment (files must be below the manifest's directory)";
			seg = i + 1;
		} else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\') {
			*why = "has a control character, '\"' or '\\'";
		}
	}
	return *why == NULL;
}

static bool hex64_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

bool bundle_env_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return i > 0 && i <= 64;
}

/* ---- serialisation ---------------------------------------------------- */

static int to_json(json_t **out, const bpg_bundle *b)
{
	json_t *root = json_object(), *files = json_object(), *scen = json_array(), *pat = json_array();
	int bad = !root || !files || !scen || !pat;

	for (size_t i = 0; !bad && i < b->nfiles; i++)
		bad |= json_object_set_new(files, b->files[i].path, json_string(b->files[i].sha256));
	for (size_t i = 0; !bad && i < b->nscenarios; i++)
		bad |= json_array_append_new(scen, json_pack("{s:s, s:s}", "file", b->scenarios[i].file,
			"name", b->scenarios[i].name));
	for (size_t i = 0; !bad && i < b->npatterns; i++)
		bad |= json_array_append_new(pat, json_string(b->patterns[i]));
	if (!bad) {
		bad |= json_object_set_new(root, "created", json_string(b->created));
		bad |= json_object_set_new(root, "creator", json_string(b->creator));
		bad |= json_object_set_new(root, "environment", json_string(b->environment));
		bad |= json_object_set(root, "files", files);
		bad |= json_object_set_new(root, "format_version", json_integer(BPG_BUNDLE_FORMAT_VERSION));
		bad |= json_object_set(root, "patterns", pat);
		bad |= json_object_set(root, "scenarios", scen);
		bad |= json_object_set_new(root, "source_commit", b->commit ? json_string(b->commit) : json_null());
	}
	json_decref(files);
	json_decref(scen);
	json_decref(pat);
	if (bad) {
		json_decref(root);
		return BPG_ENOMEM;
	}
	*out = root;
	return 0;
}

int bpg_bundle_serialize(bpg_buf *out, const bpg_bundle *b, bpg_error *err)
{
	json_t *root = NULL;
	char *text = NULL;
	int rc = 0;

	if (to_json(&root, b) < 0 ||
	    !(text = bpg_json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS)) ||
	    bpg_buf_puts(out, text) < 0 || bpg_buf_putc(out, '\n') < 0)
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory writing the manifest");
	free(text);
	json_decref(root);
	return rc;
}

/* ---- parsing ---------------------------------------------------------- */

static int bad(bpg_error *err, const char *name, const char *ptr, const char *what)
{
	return bpg_error_set(err, BPG_EINVALID, "%s: %s: %s", name, ptr, what);
}

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int parse_files(bpg_bundle *b, json_t *files, const char *name, bpg_error *err)
{
	const char *key, *why;
	json_t *val;
	size_t i = 0;

	if (!json_is_object(files) || json_object_size(files) == 0)
		return bad(err, name, "/files", "expected a non-empty object of path -> sha256");
	if (json_object_size(files) > BPG_BUNDLE_MAX_FILES)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: /files: more than %d files", name, BPG_BUNDLE_MAX_FILES);
	if (!(b->files = calloc(json_object_size(files), sizeof(*b->files))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	json_object_foreach(files, key, val) {
		if (!bundle_path_ok(key, strlen(key), &why))
			return bpg_error_set(err, BPG_EINVALID, "%s: /files: path \"%s\" %s", name, key, why);
		if (!json_is_string(val) || !hex64_ok(json_string_value(val)))
			return bpg_error_set(err, BPG_EINVALID,
				"%s: /files: \"%s\": expected 64 lower-case hex digits (SHA-256)", name, key);
		b->files[i].path = dup_str(key);
		b->files[i].sha256 = dup_str(json_string_value(val));
		b->nfiles = ++i;
		if (!b->files[i - 1].path || !b->files[i - 1].sha256)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	qsort(b->files, b->nfiles, sizeof(*b->files), bundle_file_cmp);
	return 0;
}

static int parse_lists(bpg_bundle *b, json_t *pat, json_t *scen, const char *name, bpg_error *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(pat) || json_array_size(pat) > 256)
		return bad(err, name, "/patterns", "expected an array of at most 256 glob strings");
	if (!(b->patterns = calloc(json_array_size(pat) + 1, sizeof(char *))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	json_array_foreach(pat, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return bpg_error_set(err, BPG_EINVALID, "%s: /patterns/%zu: expected a glob string", name, i);
		if (!(b->patterns[i] = dup_str(json_string_value(v))))
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		b->npatterns = i + 1;
	}
	if (!json_is_array(scen) || json_array_size(scen) > BPG_BUNDLE_MAX_FILES)
		return bad(err, name, "/scenarios", "expected an array");
	if (!(b->scenarios = calloc(json_array_size(scen) + 1, sizeof(*b->scenarios))))
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	json_array_foreach(scen, i, v) {
		const char *f = NULL, *n = NULL;
		if (json_unpack(v, "{s:s, s:s !}", "file", &f, "name", &n) != 0)
			return bpg_error_set(err, BPG_EINVALID,
				"%s: /scenarios/%zu: expected {\"file\": string, \"name\": string}", name, i);
		b->scenarios[i].file = dup_str(f);
		b->scenarios[i].name = dup_str(n);
		b->nscenarios = i + 1;
		if (!b->scenarios[i].file || !b->scenarios[i].name)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	return 0;
}

int bpg_bundle_parse(bpg_bundle **out, const char *data, size_t len, const char *name, bpg_error *err)
{
	json_t *root = NULL, *files = NULL, *pat = NULL, *scen = NULL, *commit = NULL;
	const char *env = NULL, *created = NULL, *creator = NULL;
	json_int_t version = 0;
	json_error_t jerr;
	bpg_bundle *b = NULL;
	int rc = 0;

	*out = NULL;
	if (!name)
		name = "manifest";
	if (len > BPG_BUNDLE_MAX_BYTES)
		return bpg_error_set(err, BPG_ETOOBIG, "%s: larger than %zu bytes", name, BPG_BUNDLE_MAX_BYTES);
	if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr))) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		goto done;
	}
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:o}",
		    "created", &created, "creator", &creator, "environment", &env, "files", &files,
		    "format_version", &version, "patterns", &pat, "scenarios", &scen,
		    "source_commit", &commit) != 0) {
		rc = bpg_error_set(err, BPG_EINVALID,
			"%s: not a bundle manifest (%s); expected exactly the keys created, creator, environment, "
			"files, format_version, patterns, scenarios, source_commit", name, jerr.text);
		goto done;
	}
	if (version != BPG_BUNDLE_FORMAT_VERSION) {
		rc = bad(err, name, "/format_version", "unsupported version (this bpgate reads version 1)");
		goto done;
	}
	if (!bundle_env_ok(env)) {
		rc = bad(err, name, "/environment", "expected 1-64 characters of [A-Za-z0-9._-]");
		goto done;
	}
	if (!json_is_null(commit) && !(json_is_string(commit) && (json_string_length(commit) == 40 ||
		    json_string_length(commit) == 64) && strspn(json_string_value(commit),
		    "0123456789abcdef") == json_string_length(commit))) {
		rc = bad(err, name, "/source_commit", "expected null or a hex commit id");
		goto done;
	}
	if (!sign_text_ok(created) || !sign_text_ok(creator)) {
		rc = bad(err, name, "/created or /creator", "control characters are not allowed");
		goto done;
	}
	if (!(b = calloc(1, sizeof(*b)))) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	b->environment = dup_str(env);
	b->created = dup_str(created);
	b->creator = dup_str(creator);
	b->commit = json_is_string(commit) ? dup_str(json_string_value(commit)) : NULL;
	if (!b->environment || !b->created || !b->creator || (json_is_string(commit) && !b->commit)) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = parse_files(b, files, name, err)) < 0 || (rc = parse_lists(b, pat, scen, name, err)) < 0)
		goto done;
	*out = b;
	b = NULL;
done:
	bpg_bundle_free(b);
	json_decref(root);
	return rc;
}

int bundle_file_cmp(const void *a, const void *b)
{
	return strcmp(((const bpg_bundle_file *)a)->path, ((const bpg_bundle_file *)b)->path);
}

bool sign_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool bpg_bundle_is_manifest_path(const char *path)
{
	size_t n = strlen(path), s = sizeof(".bundle.json") - 1;

	return n > s && strcmp(path + n - s, ".bundle.json") == 0 && path[n - s - 1] != '/';
}
