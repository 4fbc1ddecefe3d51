/* Pre-receive stdin: "<old> SP <new> SP <ref> LF" per ref update. Every byte
 * is hostile: lines are bounded, ids are 40 lower-case hex digits (SHA-1
 * repositories only), ref names must be valid and under refs/heads/,
 * refs/tags/ or refs/bpgate/. */
#include "receive.h"
#include "bpgate/gitobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rcv_hex40(const char *s, size_t n)
{
	if (n != 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool refname_ok(const char *name)
{
	static const char *allowed[] = { "refs/heads/", "refs/tags/", "refs/bpgate/" };
	int valid = 0;

	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	if (git_reference_name_is_valid(&valid, name) < 0 || !valid)
		return false;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strncmp(name, allowed[i], strlen(allowed[i])) == 0 && name[strlen(allowed[i])])
			return true;
	return false;
}

int rcv_read_updates(rcv_updates *out, FILE *f, bpg_error *err)
{
	char line[RCV_MAX_LINE + 2];
	size_t lineno = 0;

	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		lineno++;
		if (len == 0 || line[len - 1] != '\n')
			return bpg_error_set(err, BPG_EINVALID, "input line %zu is longer than %d bytes or not terminated",
				lineno, RCV_MAX_LINE);
		line[--len] = '\0';
		if (memchr(line, '\0', len))
			return bpg_error_set(err, BPG_EINVALID, "input line %zu contains a NUL byte", lineno);
		if (out->n >= RCV_MAX_REFS)
			return bpg_error_set(err, BPG_ETOOBIG, "more than %d ref updates in one push; push them in parts",
				RCV_MAX_REFS);
		char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (!sp1 || !sp2)
			return bpg_error_set(err, BPG_EINVALID, "input line %zu is not '<old> <new> <ref>'", lineno);
		if (!rcv_hex40(line, (size_t)(sp1 - line)) || !rcv_hex40(sp1 + 1, (size_t)(sp2 - sp1 - 1)))
			return bpg_error_set(err, BPG_EINVALID, "input line %zu: object ids must be 40 lower-case hex digits "
				"(SHA-256 repositories are not supported)", lineno);
		if (!refname_ok(sp2 + 1))
			return bpg_error_set(err, BPG_EINVALID, "ref name on input line %zu is not accepted: only valid names "
				"under refs/heads/, refs/tags/ and refs/bpgate/ may be pushed", lineno);
		rcv_update *v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v)
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		out->v = v;
		memcpy(v[out->n].old_hex, line, 40);
		v[out->n].old_hex[40] = '\0';
		memcpy(v[out->n].new_hex, sp1 + 1, 40);
		v[out->n].new_hex[40] = '\0';
		if (!(v[out->n].name = strdup(sp2 + 1)))
			return bpg_error_set(err, BPG_ENOMEM, "out of memory");
		out->n++;
	}
	if (ferror(f))
		return bpg_error_set(err, BPG_EIO, "cannot read the ref updates from standard input");
	return 0;
}

int rcv_check_old_values(git_repository *repo, const rcv_updates *ups, bpg_error *err)
{
	for (size_t i = 0; i < ups->n; i++) {
		const rcv_update *u = &ups->v[i];
		char real[GIT_OID_HEXSZ + 1];
		git_oid id;
		int r = git_reference_name_to_id(&id, repo, u->name);
		if (r == GIT_ENOTFOUND) {
			memset(real, '0', 40);
			real[40] = '\0';
		} else if (r < 0) {
			int rc = bpg_error_set(err, BPG_ERROR, "cannot read %s: %s", u->name,
				bpg_git_message());
			git_error_clear();
			return rc;
		} else {
			git_oid_tostr(real, sizeof(real), &id);
		}
		git_error_clear();
		if (strcmp(real, u->old_hex) != 0)
			return bpg_error_set(err, BPG_EINVALID, "%s: the update says the ref is at %s but it is at %s "
				"(a forged or stale old value: git would not apply it); nothing was judged", u->name,
				strspn(u->old_hex, "0") == 40 ? "(none)" : u->old_hex, strspn(real, "0") == 40 ? "(none)" : real);
	}
	return 0;
}

int rcv_read_push_options(json_t *out, const char *(*lookup)(const char *name), bpg_error *err)
{
	const char *cnt = lookup("GIT_PUSH_OPTION_COUNT");
	char *end = NULL;
	long n = cnt && *cnt ? strtol(cnt, &end, 10) : 0;

	if (cnt && *cnt && (*end != '\0' || n < 0))
		return bpg_error_set(err, BPG_EINVALID, "GIT_PUSH_OPTION_COUNT is not a number");
	if (n > RCV_MAX_PUSH_OPTIONS)
		return bpg_error_set(err, BPG_EINVALID, "too many push options");
	for (long i = 0; i < n; i++) {
		char key[48];
		snprintf(key, sizeof(key), "GIT_PUSH_OPTION_%ld", i);
		const char *v = lookup(key);
		json_t *s = v && strlen(v) <= RCV_MAX_PUSH_OPTION_LEN ? json_string(v) : NULL;
		if (!s || json_array_append_new(out, s) < 0)
			return bpg_error_set(err, BPG_EINVALID, "a push option is missing, too long or not UTF-8");
	}
	return 0;
}

void rcv_updates_free(rcv_updates *u)
{
	for (size_t i = 0; u && i < u->n; i++)
		free(u->v[i].name);
	if (u)
		free(u->v);
}

void rcv_put_safe(FILE *f, const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && n < 8192; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}
