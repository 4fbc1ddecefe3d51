/*
 * The daemon's JSON configuration: load, default, validate.
 *
 * Syntax errors are located as file:line:column (from jansson). Meaning
 * errors name the JSON pointer of the offending member, since jansson keeps
 * no positions for values. Unknown members are errors: a misspelt limit must
 * not silently fall back to a default.
 */
#include "bpgated.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (256u * 1024u)

static int cfg_err(bpg_error *err, const char *file, const char *ptr, const char *fmt, const char *a)
{
	return bpg_error_set(err, BPG_EINVALID, "%s: %s: %s%s", file, ptr, fmt, a ? a : "");
}

static int dup_into(char **dst, const char *s)
{
	char *p = strdup(s);
	if (!p)
		return BPG_ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

/* Resolve a path relative to the config file's directory. */
static int path_into(char **dst, const char *base_dir, const char *s)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	if (s[0] == '/')
		return dup_into(dst, s);
	rc = bpg_buf_printf(&b, "%s/%s", base_dir, s);
	if (rc == 0) {
		free(*dst);
		*dst = bpg_buf_detach(&b);
	}
	bpg_buf_dispose(&b);
	return rc;
}

static int get_string(json_t *obj, const char *key, const char *ptr, const char **out,
	const char *file, bpg_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v) || json_string_length(v) > PATH_MAX)
		return cfg_err(err, file, ptr, "expected a non-empty string without NUL bytes", NULL);
	*out = json_string_value(v);
	return 0;
}

static int get_int(json_t *obj, const char *key, const char *ptr, int *out, long lo, long hi,
	const char *file, bpg_error *err)
{
	json_t *v = json_object_get(obj, key);
	char range[64];

	if (!v)
		return 0;
	snprintf(range, sizeof(range), "%ld..%ld", lo, hi);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return cfg_err(err, file, ptr, "expected an integer in ", range);
	*out = (int)json_integer_value(v);
	return 0;
}

static int check_members(json_t *obj, const char *const *allowed, const char *prefix,
	const char *file, bpg_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (!allowed[i]) {
			bpg_buf ptr = BPG_BUF_INIT;
			int rc;
			BPG_IGNORE(bpg_buf_puts(&ptr, prefix)); /* an error path: a lost location cannot un-refuse the config */
			bpg_jsonptr_push(&ptr, key, strlen(key));
			rc = cfg_err(err, file, ptr.ptr ? ptr.ptr : "", "unknown member (typo?)", NULL);
			bpg_buf_dispose(&ptr);
			return rc;
		}
	}
	return 0;
}

static const char *const top_members[] = { "listen", "repo_root", "state_dir", "host_key",
	"hooks_dir", "keys_file", "server_signing_key", "audit_log", "pre_receive_hook", "bpgate", "git",
	"approval_key", "session_user",
	"post_receive", "path", "home", "log_level", "limits", NULL };
static const char *const listen_members[] = { "address", "port", NULL };
static const char *const limit_members[] = { "max_connections", "max_per_principal",
	"auth_timeout", "idle_timeout", "max_command_length", "shutdown_grace", "max_startups",
	"per_source_max_startups", NULL };

static void set_defaults(bpgd_config *cfg)
{
	cfg->port = 2222;
	cfg->post_receive = true;
	cfg->limits.max_connections = 64;
	cfg->limits.max_per_principal = 8;
	cfg->limits.auth_timeout = 30;
	cfg->limits.idle_timeout = 600;
	cfg->limits.max_command_length = 1024;
	cfg->limits.shutdown_grace = 300;
	cfg->limits.startups_begin = 10;
	cfg->limits.startups_rate = 30;
	cfg->limits.startups_full = 60;
	cfg->limits.per_source_max_startups = 8;
}

/* The path-valued members: name, destination, required. */
static int load_paths(bpgd_config *cfg, json_t *root, const char *dir, const char *file,
	bpg_error *err)
{
	struct { const char *key; char **dst; } paths[] = {
		{ "repo_root", &cfg->repo_root }, { "state_dir", &cfg->state_dir },
		{ "host_key", &cfg->host_key }, { "hooks_dir", &cfg->hooks_dir },
		{ "keys_file", &cfg->keys_file }, { "server_signing_key", &cfg->server_signing_key },
		{ "audit_log", &cfg->audit_log }, { "pre_receive_hook", &cfg->pre_receive_hook },
		{ "bpgate", &cfg->bpgate }, { "approval_key", &cfg->approval_key },
		{ "git", &cfg->git }, { "home", &cfg->child_home },
	};
	const char *s;
	char ptr[64];
	int rc;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(ptr, sizeof(ptr), "/%s", paths[i].key);
		if ((rc = get_string(root, paths[i].key, ptr, &s, file, err)) < 0)
			return rc;
		if (s && path_into(paths[i].dst, dir, s) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	}
	if ((rc = get_string(root, "session_user", "/session_user", &s, file, err)) < 0)
		return rc;
	if (s && !bpgd_principal_valid(s))
		return cfg_err(err, file, "/session_user", "expected a user name ([A-Za-z0-9][A-Za-z0-9._-]*)", NULL);
	if (s && dup_into(&cfg->session_user, s) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if ((rc = get_string(root, "path", "/path", &s, file, err)) < 0)
		return rc;
	if (s && dup_into(&cfg->child_path, s) < 0)
		return bpg_error_set(err, BPG_ENOMEM, "out of memory");
	if (!cfg->repo_root)
		return cfg_err(err, file, "/repo_root", "required: the directory holding the repositories", NULL);
	if (!cfg->keys_file)
		return cfg_err(err, file, "/keys_file", "required: the principals' keys file", NULL);
	return 0;
}

static int fill_defaults(bpgd_config *cfg, const char *self_dir)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc = 0;

	if (!cfg->listen_address && (rc = dup_into(&cfg->listen_address, "127.0.0.1")) < 0)
		goto done;
	if (!cfg->state_dir && (rc = dup_into(&cfg->state_dir, "/var/lib/bpgated")) < 0)
		goto done;
	if (!cfg->host_key) {
		if ((rc = bpg_buf_printf(&b, "%s/ssh_host_ed25519_key", cfg->state_dir)) < 0)
			goto done;
		cfg->host_key = bpg_buf_detach(&b);
	}
	if (!cfg->approval_key) {
		if ((rc = bpg_buf_printf(&b, "%s/approval_ed25519_key", cfg->state_dir)) < 0)
			goto done;
		cfg->approval_key = bpg_buf_detach(&b);
	}
	if (!cfg->hooks_dir) {
		if ((rc = bpg_buf_printf(&b, "%s/hooks", cfg->state_dir)) < 0)
			goto done;
		cfg->hooks_dir = bpg_buf_detach(&b);
	}
	if (!cfg->pre_receive_hook) {
		if ((rc = bpg_buf_printf(&b, "%s/bpgate-receive", self_dir)) < 0)
			goto done;
		cfg->pre_receive_hook = bpg_buf_detach(&b);
	}
	if (!cfg->bpgate) {
		/* Installed side by side; in a build tree the command is in ../hooks/. */
		if ((rc = bpg_buf_printf(&b, "%s/bpgate", self_dir)) < 0)
			goto done;
		if (access(b.ptr, X_OK) < 0) {
			bpg_buf_clear(&b);
			if ((rc = bpg_buf_printf(&b, "%s/../hooks/bpgate", self_dir)) < 0)
				goto done;
		}
		cfg->bpgate = bpg_buf_detach(&b);
	}
	if (!cfg->git && (rc = dup_into(&cfg->git, "/usr/bin/git")) < 0)
		goto done;
	if (!cfg->child_path && (rc = dup_into(&cfg->child_path, "/usr/local/bin:/usr/bin:/bin")) < 0)
		goto done;
	if (!cfg->child_home && (rc = dup_into(&cfg->child_home, cfg->state_dir)) < 0)
		goto done;
done:
	bpg_buf_dispose(&b);
	return rc;
}

static int load_object(bpgd_config *cfg, json_t *root, const char *dir, const char *file,
	bpg_error *err)
{
	json_t *listen, *limits, *v;
	const char *s;
	int rc;

	if (!json_is_object(root))
		return cfg_err(err, file, "", "expected a JSON object at the top", NULL);
	if ((rc = check_members(root, top_members, "", file, err)) < 0)
		return rc;
	listen = json_object_get(root, "listen");
	if (listen) {
		if (!json_is_object(listen))
			return cfg_err(err, file, "/listen", "expected an object {\"address\", \"port\"}", NULL);
		if ((rc = check_members(listen, listen_members, "/listen", file, err)) < 0 ||
		    (rc = get_string(listen, "address", "/listen/address", &s, file, err)) < 0)
			return rc;
		if (s && dup_into(&cfg->listen_address, s) < 0)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		if ((rc = get_int(listen, "port", "/listen/port", &cfg->port, 1, 65535, file, err)) < 0)
			return rc;
	}
	if ((rc = load_paths(cfg, root, dir, file, err)) < 0)
		return rc;
	v = json_object_get(root, "post_receive");
	if (v) {
		if (!json_is_boolean(v))
			return cfg_err(err, file, "/post_receive", "expected true or false", NULL);
		cfg->post_receive = json_is_true(v);
	}
	v = json_object_get(root, "log_level");
	if (v) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "info") != 0 &&
		    strcmp(json_string_value(v), "debug") != 0))
			return cfg_err(err, file, "/log_level", "expected \"info\" or \"debug\"", NULL);
		cfg->debug = strcmp(json_string_value(v), "debug") == 0;
	}
	limits = json_object_get(root, "limits");
	if (limits) {
		if (!json_is_object(limits))
			return cfg_err(err, file, "/limits", "expected an object", NULL);
		if ((rc = check_members(limits, limit_members, "/limits", file, err)) < 0 ||
		    (rc = get_int(limits, "max_connections", "/limits/max_connections",
			&cfg->limits.max_connections, 1, 10000, file, err)) < 0 ||
		    (rc = get_int(limits, "max_per_principal", "/limits/max_per_principal",
			&cfg->limits.max_per_principal, 1, 10000, file, err)) < 0 ||
		    (rc = get_int(limits, "auth_timeout", "/limits/auth_timeout",
			&cfg->limits.auth_timeout, 1, 600, file, err)) < 0 ||
		    (rc = get_int(limits, "idle_timeout", "/limits/idle_timeout",
			&cfg->limits.idle_timeout, 1, 86400, file, err)) < 0 ||
		    (rc = get_int(limits, "max_command_length", "/limits/max_command_length",
			&cfg->limits.max_command_length, 64, 65536, file, err)) < 0 ||
		    (rc = get_int(limits, "shutdown_grace", "/limits/shutdown_grace",
			&cfg->limits.shutdown_grace, 0, 86400, file, err)) < 0 ||
		    (rc = get_int(limits, "per_source_max_startups", "/limits/per_source_max_startups",
			&cfg->limits.per_source_max_startups, 1, 10000, file, err)) < 0)
			return rc;
		v = json_object_get(limits, "max_startups");
		if (v) {
			int ms[3];
			bpg_error perr;
			if (!json_is_string(v) || bpgd_max_startups_parse(ms, json_string_value(v), &perr) < 0)
				return cfg_err(err, file, "/limits/max_startups", json_is_string(v) ? perr.message :
					"expected a string \"start:rate:full\", e.g. \"10:30:60\"", NULL);
			cfg->limits.startups_begin = ms[0];
			cfg->limits.startups_rate = ms[1];
			cfg->limits.startups_full = ms[2];
		}
	}
	return 0;
}

int bpgd_config_load(bpgd_config *cfg, const char *path, const char *self_dir, bpg_error *err)
{
	bpg_buf text = BPG_BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL;
	char *dir = NULL, *slash;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	set_defaults(cfg);
	if ((rc = dup_into(&cfg->path, path)) < 0) {
		rc = bpg_error_set(err, rc, "out of memory");
		goto done;
	}
	if ((rc = bpg_file_read(&text, path, CONFIG_MAX_BYTES, err)) < 0)
		goto done;
	root = json_loadb(text.ptr ? text.ptr : "", text.size, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = bpg_error_set(err, BPG_EINVALID, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto done;
	}
	dir = strdup(path);
	if (!dir) {
		rc = bpg_error_set(err, BPG_ENOMEM, "out of memory");
		goto done;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if ((rc = load_object(cfg, root, dir, path, err)) < 0)
		goto done;
	if ((rc = fill_defaults(cfg, self_dir)) < 0)
		rc = bpg_error_set(err, rc, "out of memory");
done:
	json_decref(root);
	bpg_buf_dispose(&text);
	free(dir);
	if (rc < 0)
		bpgd_config_release(cfg);
	return rc;
}

int bpgd_config_check_files(const bpgd_config *cfg, bpg_error *err)
{
	struct stat st;

	if (stat(cfg->repo_root, &st) < 0 || !S_ISDIR(st.st_mode))
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: /repo_root: %s is not a directory (create it, owned by the daemon's user)",
			cfg->path, cfg->repo_root);
	if (access(cfg->git, X_OK) < 0)
		return bpg_error_set(err, BPG_ENOTFOUND, "%s: /git: %s is not executable", cfg->path, cfg->git);
	if (access(cfg->pre_receive_hook, X_OK) < 0)
		return bpg_error_set(err, BPG_ENOTFOUND,
			"%s: /pre_receive_hook: %s is not executable: the daemon refuses to serve pushes without its gate (install bpgate-receive or set /pre_receive_hook)",
			cfg->path, cfg->pre_receive_hook);
	return 0;
}

void bpgd_config_release(bpgd_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->listen_address);
	free(cfg->repo_root);
	free(cfg->state_dir);
	free(cfg->host_key);
	free(cfg->approval_key);
	free(cfg->session_user);
	free(cfg->hooks_dir);
	free(cfg->keys_file);
	free(cfg->server_signing_key);
	free(cfg->audit_log);
	free(cfg->pre_receive_hook);
	free(cfg->bpgate);
	free(cfg->git);
	free(cfg->child_path);
	free(cfg->child_home);
	memset(cfg, 0, sizeof(*cfg));
}
