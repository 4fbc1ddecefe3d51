/*
 * Unit tests for audit-log witnesses (bpgate/witness.h): the newest
 * checkpoint is kept and a log that goes back behind it is refused; push
 * output is parsed with git's decorations; forged and cut-off checkpoints
 * are refused; seen checkpoints are folded into latest once covered.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpgate/witness.h"
#include "bpgate/util.h"

static char *tmpdir(void)
{
	char *d = strdup("/tmp/bpg-witness-XXXXXX");
	cr_assert(mkdtemp(d));
	return d;
}

static void rm_rf(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	cr_assert(pid > 0);
	while (waitpid(pid, NULL, 0) < 0)
		;
}

static void append_n(const char *dir, const bpg_note_signer *s, int n)
{
	bpg_audit_log *log = NULL;
	bpg_error err;
	char e[32];

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0, "%s", err.message);
	for (int i = 0; i < n; i++) {
		int len = snprintf(e, sizeof(e), "{\"n\":%d}", i);
		cr_assert_eq(bpg_audit_append(log, e, (size_t)len, s, NULL, &err), 0, "%s", err.message);
	}
	bpg_audit_free(log);
}

static void note_of(bpg_buf *out, const char *dir)
{
	bpg_audit_log *log = NULL;
	bpg_error err;
	const char *n;
	size_t len = 0;

	cr_assert_eq(bpg_audit_open(&log, dir, &err), 0, "%s", err.message);
	cr_assert((n = bpg_audit_checkpoint_note(log, &len)));
	bpg_buf_clear(out);
	cr_assert_eq(bpg_buf_put(out, n, len), 0);
	bpg_audit_free(log);
}

/* What git shows of the server's lines: "remote: " prefix, ESC [K and CR on a terminal. */
static void as_push_output(bpg_buf *out, const bpg_buf *note)
{
	bpg_buf_clear(out);
	cr_assert_eq(bpg_buf_puts(out, "remote: bpgate: accepted 1 ref update(s)\x1b[K\r\n"), 0);
	for (size_t i = 0; i < note->size;) {
		const char *nl = memchr(note->ptr + i, '\n', note->size - i);
		size_t n = (size_t)(nl - note->ptr - i);
		cr_assert_eq(bpg_buf_printf(out, "remote: " BPG_WITNESS_LINE_PREFIX "%.*s\x1b[K\r\n", (int)n,
			note->ptr + i), 0);
		i += n + 1;
	}
	cr_assert_eq(bpg_buf_puts(out, "To ssh://example/x.git\n"), 0);
}

Test(witness, rollback_behind_kept_checkpoint_refused)
{
	char *root = tmpdir(), logd[512], logold[512], state[512];
	bpg_note_signer *s = NULL;
	bpg_note_verifier *v = NULL;
	bpg_audit_witness *w = NULL;
	bpg_audit_log *log = NULL;
	bpg_error err;
	bool has = true;
	char cmd[2048];

	snprintf(logd, sizeof(logd), "%s/log", root);
	snprintf(logold, sizeof(logold), "%s/log-old", root);
	snprintf(state, sizeof(state), "%s/state", root);
	cr_assert_eq(bpg_note_signer_generate(&s, "test.example/log", &err), 0, "%s", err.message);
	cr_assert_eq(bpg_note_verifier_from_signer(&v, s, &err), 0);
	append_n(logd, s, 3);
	snprintf(cmd, sizeof(cmd), "%s", logold);
	cr_assert_eq(mkdir(logold, 0700), 0);
	/* keep a copy of the 3-entry log */
	for (const char *f = "entries"; f; f = strcmp(f, "entries") == 0 ? "checkpoint" : NULL) {
		bpg_buf b = BPG_BUF_INIT;
		char a[600], c[600];
		snprintf(a, sizeof(a), "%s/%s", logd, f);
		snprintf(c, sizeof(c), "%s/%s", logold, f);
		cr_assert_eq(bpg_file_read(&b, a, 1 << 20, &err), 0);
		cr_assert_eq(bpg_file_write_atomic(c, b.ptr, b.size, 0600, &err), 0);
		bpg_buf_dispose(&b);
	}
	append_n(logd, s, 2);

	/* First verify: nothing kept, the 5-entry checkpoint becomes latest. */
	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_latest(w, &has), 0);
	cr_assert(!has);
	cr_assert_eq(bpg_audit_open(&log, logd, &err), 0);
	cr_assert_eq(bpg_audit_witness_check(w, log, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_keep(w, log, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_latest(w, &has), 5);
	bpg_audit_free(log);
	bpg_audit_witness_free(w);

	/* The old log is validly signed, but behind what was kept. */
	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_latest(w, &has), 5);
	cr_assert_eq(bpg_audit_open(&log, logold, &err), 0);
	cr_assert_eq(bpg_audit_verify(log, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_check(w, log, &err), BPG_EVERIFY);
	cr_assert(strstr(err.message, "log rolled back: its checkpoint covers 3 entries, the one you kept covers 5"),
		"%s", err.message);
	bpg_audit_free(log);
	bpg_audit_witness_free(w);
	bpg_note_verifier_free(v);
	bpg_note_signer_free(s);
	rm_rf(root);
	free(root);
}

Test(witness, push_output_parsed_forged_and_cut_refused_seen_folded)
{
	char *root = tmpdir(), logd[512], state[512];
	bpg_note_signer *s = NULL, *evil = NULL;
	bpg_note_verifier *v = NULL, *ev = NULL;
	bpg_audit_witness *w = NULL;
	bpg_audit_log *log = NULL;
	bpg_buf note = BPG_BUF_INIT, out = BPG_BUF_INIT;
	bpg_error err;
	size_t added = 0;

	snprintf(logd, sizeof(logd), "%s/log", root);
	snprintf(state, sizeof(state), "%s/state", root);
	cr_assert_eq(bpg_note_signer_generate(&s, "test.example/log", &err), 0);
	cr_assert_eq(bpg_note_signer_generate(&evil, "test.example/log", &err), 0);
	cr_assert_eq(bpg_note_verifier_from_signer(&v, s, &err), 0);
	cr_assert_eq(bpg_note_verifier_from_signer(&ev, evil, &err), 0);
	append_n(logd, s, 2);
	note_of(&note, logd);
	as_push_output(&out, &note);

	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_add(w, out.ptr, out.size, &added, &err), 0, "%s", err.message);
	cr_assert_eq(added, 1);
	cr_assert_eq(bpg_audit_witness_seen(w), 1);
	/* The same one again adds nothing. */
	cr_assert_eq(bpg_audit_witness_add(w, note.ptr, note.size, &added, &err), 0, "%s", err.message);
	cr_assert_eq(added, 0);
	/* Cut before the signature line. */
	cr_assert_eq(bpg_audit_witness_add(w, out.ptr, (size_t)(strstr(out.ptr, "\xe2\x80\x94") - out.ptr), &added,
		&err), BPG_EINVALID);
	cr_assert(strstr(err.message, "cut off before its signature line"), "%s", err.message);
	/* Nothing at all. */
	cr_assert_eq(bpg_audit_witness_add(w, "remote: hello\n", 14, &added, &err), BPG_ENOTFOUND);
	bpg_audit_witness_free(w);

	/* Another key's checkpoint is refused (the evil verifier's own state accepts it, ours not). */
	cr_assert_eq(bpg_audit_witness_open(&w, state, ev, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_add(w, out.ptr, out.size, &added, &err), BPG_EVERIFY);
	bpg_audit_witness_free(w);

	/* The log grows; verifying folds the seen checkpoint into latest. */
	append_n(logd, s, 1);
	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_seen(w), 1);
	cr_assert_eq(bpg_audit_open(&log, logd, &err), 0);
	cr_assert_eq(bpg_audit_witness_check(w, log, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_keep(w, log, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_witness_seen(w), 0);
	cr_assert_eq(bpg_audit_witness_latest(w, NULL), 3);
	bpg_audit_free(log);
	bpg_audit_witness_free(w);

	bpg_buf_dispose(&note);
	bpg_buf_dispose(&out);
	bpg_note_verifier_free(v);
	bpg_note_verifier_free(ev);
	bpg_note_signer_free(s);
	bpg_note_signer_free(evil);
	rm_rf(root);
	free(root);
}

Test(witness, tampered_state_is_reported)
{
	char *root = tmpdir(), logd[512], state[512], p[1024];
	bpg_note_signer *s = NULL;
	bpg_note_verifier *v = NULL;
	bpg_audit_witness *w = NULL;
	bpg_audit_log *log = NULL;
	bpg_error err;

	snprintf(logd, sizeof(logd), "%s/log", root);
	snprintf(state, sizeof(state), "%s/state", root);
	cr_assert_eq(bpg_note_signer_generate(&s, "test.example/log", &err), 0);
	cr_assert_eq(bpg_note_verifier_from_signer(&v, s, &err), 0);
	append_n(logd, s, 1);
	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err), 0, "%s", err.message);
	cr_assert_eq(bpg_audit_open(&log, logd, &err), 0);
	cr_assert_eq(bpg_audit_witness_keep(w, log, &err), 0, "%s", err.message);
	bpg_audit_free(log);
	bpg_audit_witness_free(w);
	snprintf(p, sizeof(p), "%s/test.example_log+%08x/latest", state, bpg_note_verifier_keyid(v));
	cr_assert_eq(bpg_file_write_atomic(p, "test.example/log\n0\nAAAA\n", 24, 0600, &err), 0);
	cr_assert_eq(bpg_audit_witness_open(&w, state, v, &err) < 0, 1);
	cr_assert(strstr(err.message, "kept checkpoint"), "%s", err.message);
	bpg_note_verifier_free(v);
	bpg_note_signer_free(s);
	rm_rf(root);
	free(root);
}
