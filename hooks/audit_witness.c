/*
 * `bpgate audit` witnesses: a log rolled back to an older, validly signed
 * checkpoint is refused by every reading command once this verifier (or a
 * push it saw) has seen a newer checkpoint. See bpgate/witness.h.
 */
#include "audit_witness.h"
#include "cli.h"
#include "bpgate/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int state_dir(audit_witness_opts *wo, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc = 0;

	if (wo->state)
		rc = bpg_buf_puts(&b, wo->state) < 0 ? bpg_error_set(err, BPG_ENOMEM, "out of memory") : 0;
	else
		rc = bpg_audit_witness_default_dir(&b, err);
	if (rc == 0 && b.size >= sizeof(wo->dir))
		rc = bpg_error_set(err, BPG_ETOOBIG, "state directory name longer than %zu bytes", sizeof(wo->dir) - 1);
	if (rc == 0)
		memcpy(wo->dir, b.ptr, b.size + 1);
	bpg_buf_dispose(&b);
	return rc;
}

static int add_file(bpg_audit_witness *w, const char *path, size_t *added, bpg_error *err)
{
	bpg_buf b = BPG_BUF_INIT;
	int rc;

	/* Push output can be long; the checkpoints in it are small. */
	if ((rc = bpg_file_read(&b, path, (size_t)16 << 20, err)) == 0 &&
	    (rc = bpg_audit_witness_add(w, b.ptr ? b.ptr : "", b.size, added, err)) < 0)
		bpg_error_prefix(err, "%s: ", strcmp(path, "-") == 0 ? "standard input" : path);
	bpg_buf_dispose(&b);
	return rc;
}

int audit_witness_guard(audit_witness_opts *wo, const bpg_audit_log *log, const bpg_note_verifier *v,
	bpg_error *err)
{
	bpg_audit_witness *w = NULL;
	int rc;

	if ((rc = state_dir(wo, err)) < 0 || (rc = bpg_audit_witness_open(&w, wo->dir, v, err)) < 0)
		goto done;
	wo->kept_before = bpg_audit_witness_latest(w, &wo->had_kept);
	for (size_t i = 0; i < wo->nfiles; i++)
		if ((rc = add_file(w, wo->files[i], NULL, err)) < 0)
			goto done;
	if ((rc = bpg_audit_witness_check(w, log, err)) < 0 || (rc = bpg_audit_witness_keep(w, log, err)) < 0)
		goto done;
	wo->kept_after = bpg_audit_witness_latest(w, NULL);
done:
	bpg_audit_witness_free(w);
	return rc;
}

int audit_witness_fast_ok(audit_witness_opts *wo, const bpg_checkpoint *kept, const bpg_note_verifier *v,
	bool *ok, const char **why, bpg_error *err)
{
	bpg_audit_witness *w = NULL;
	const bpg_checkpoint *latest;
	int rc;

	*ok = false;
	*why = NULL;
	if (wo->nfiles) {
		*why = "--witness files are checked against the whole log";
		return 0;
	}
	if ((rc = state_dir(wo, err)) < 0 || (rc = bpg_audit_witness_open(&w, wo->dir, v, err)) < 0)
		goto done;
	wo->kept_before = bpg_audit_witness_latest(w, &wo->had_kept);
	latest = bpg_audit_witness_latest_checkpoint(w);
	if (bpg_audit_witness_seen(w) > 0)
		*why = "witnessed checkpoints wait under seen/";
	else if (latest && (latest->size != kept->size || strcmp(latest->origin, kept->origin) != 0 ||
			memcmp(latest->root.b, kept->root.b, BPG_HASH_SIZE) != 0))
		*why = "the newest checkpoint this verifier kept is not the --since one";
	else
		*ok = true;
done:
	bpg_audit_witness_free(w);
	return rc;
}

int audit_witness_keep_only(audit_witness_opts *wo, const bpg_audit_log *log, const bpg_note_verifier *v,
	bpg_error *err)
{
	bpg_audit_witness *w = NULL;
	int rc;

	if ((rc = state_dir(wo, err)) == 0 && (rc = bpg_audit_witness_open(&w, wo->dir, v, err)) == 0 &&
	    (rc = bpg_audit_witness_keep(w, log, err)) == 0)
		wo->kept_after = bpg_audit_witness_latest(w, NULL);
	bpg_audit_witness_free(w);
	return rc;
}

int audit_witness_cmd(int argc, char **argv, audit_witness_opts *wo, const bpg_note_verifier *v)
{
	bpg_audit_witness *w = NULL;
	size_t added = 0, total = 0;
	bpg_error err;
	bool has;
	int rc = BPG_EXIT_OK;

	if (argc < 1 || (strcmp(argv[0], "add") == 0 ? argc < 2 : strcmp(argv[0], "show") != 0 || argc != 1))
		return cli_usage("bpgate audit witness add FILE...|- [--key VKEY] [--state DIR]\n"
			"       bpgate audit witness show [--key VKEY] [--state DIR]");
	if (state_dir(wo, &err) < 0 || bpg_audit_witness_open(&w, wo->dir, v, &err) < 0)
		goto fail;
	for (int i = 1; strcmp(argv[0], "add") == 0 && i < argc; i++) {
		if (add_file(w, argv[i], &added, &err) < 0)
			goto fail;
		total += added;
	}
	uint64_t latest = bpg_audit_witness_latest(w, &has);
	if (strcmp(argv[0], "add") == 0)
		printf("kept %zu new checkpoint(s) of %s+%08" PRIx32 " in %s; `bpgate audit verify` checks the log against them\n",
			total, bpg_note_verifier_name(v), bpg_note_verifier_keyid(v), wo->dir);
	if (has)
		printf("latest: %" PRIu64 " entries (checked against a log)\n", latest);
	else
		printf("latest: none yet\n");
	printf("seen:   %zu checkpoint(s) not yet checked against a log\n", bpg_audit_witness_seen(w));
	goto done;
fail:
	cli_report_error("audit witness", &err);
	rc = err.code == BPG_EVERIFY ? BPG_EXIT_FINDINGS : BPG_EXIT_ERROR;
done:
	bpg_audit_witness_free(w);
	return rc;
}
