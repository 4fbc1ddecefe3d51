/* libFuzzer target: what an SSH client sends bpgated before git starts. The
 * first byte picks the parser:
 *   0  the exec request          -> bpgd_cmd_parse (limit 1024 bytes, as the default)
 *   1  one quoted git argument   -> bpgd_sq_dequote, then bpgd_repo_name on the result
 *   2  a repository path         -> bpgd_repo_name
 *   3  the GIT_PROTOCOL env value -> bpgd_git_protocol_valid
 *   4  a principals file         -> bpgd_keys_parse, bpgd_keys_find
 *   5  text for a log line       -> bpgd_esc
 * The bytes are NUL-terminated copies, as the daemon sees them (libssh gives
 * it C strings). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpgated.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bpg_buf a = BPG_BUF_INIT, b = BPG_BUF_INIT;
	bpg_error err;
	char *s;

	if (size < 1)
		return 0;
	if (!(s = malloc(size)))
		abort();
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 6) {
	case 0: {
		bpgd_cmd cmd;
		if (bpgd_cmd_parse(&cmd, s, 1024, &err) == 0) {
			/* a parsed command always names a valid repository when it has one */
			if (cmd.repo && bpgd_repo_name(&a, cmd.repo, &err) < 0)
				abort();
			bpgd_cmd_release(&cmd);
		}
		break;
	}
	case 1:
		if (bpgd_sq_dequote(&a, s, &err) == 0 && a.ptr && strlen(a.ptr) == a.size)
			(void)bpgd_repo_name(&b, a.ptr, &err);
		break;
	case 2:
		if (bpgd_repo_name(&a, s, &err) == 0) {
			/* the normalised name is a fixed point */
			if (bpgd_repo_name(&b, a.ptr, &err) < 0 || strcmp(a.ptr, b.ptr) != 0)
				abort();
		}
		break;
	case 3:
		(void)bpgd_git_protocol_valid(s);
		break;
	case 4: {
		bpgd_keys keys;
		if (bpgd_keys_parse(&keys, (const char *)data + 1, size - 1, "fuzz", &err) == 0) {
			if (keys.count)
				(void)bpgd_keys_find(&keys, keys.ents[keys.count - 1].blob_b64);
			bpgd_keys_release(&keys);
		}
		break;
	}
	default: {
		char out[256];
		(void)bpgd_esc(out, sizeof(out), s);
		break;
	}
	}
	bpg_buf_dispose(&a);
	bpg_buf_dispose(&b);
	free(s);
	return 0;
}
