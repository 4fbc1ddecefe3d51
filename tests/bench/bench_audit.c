/*
 * Audit log figures: build a log of N entries directly (records + a signed
 * checkpoint), then time open+verify, one append (lock, reload, verify,
 * write, fsync, sign, rename) and an inclusion proof.
 * usage: bench_audit DIR N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bpgate/audit.h"
#include "bpgate/util.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned char seed[32] = { 42 };
	bpg_note_signer *s = NULL;
	bpg_note_verifier *v = NULL;
	bpg_audit_log *log = NULL;
	bpg_buf ent = BPG_BUF_INIT, note = BPG_BUF_INIT, path = BPG_BUF_INIT;
	bpg_merkle_proof proof;
	bpg_checkpoint cp = { .origin = "bench.example.com/audit" };
	bpg_hash *leaves;
	bpg_error err;
	double t0, t1;
	uint64_t n, idx;
	char e[512], hex[65];

	if (argc != 3)
		return 2;
	n = strtoull(argv[2], NULL, 10);
	leaves = calloc(n + 1, sizeof(*leaves));
	mkdir(argv[1], 0700);
	bpg_note_signer_from_seed(&s, cp.origin, seed, &err);
	bpg_note_verifier_from_signer(&v, s, &err);
	for (uint64_t i = 0; i < n; i++) {
		int len = snprintf(e, sizeof(e),
			"{\"time\":\"2024-05-01T10:00:00Z\",\"type\":\"push.accepted\",\"pusher\":\"builder%llu@example.com\","
			"\"ref\":\"refs/heads/stage\",\"old\":\"%040llu\",\"new\":\"%040llu\",\"policy\":\"%040d\"}",
			(unsigned long long)(i % 50), (unsigned long long)i, (unsigned long long)i + 1, 7);
		bpg_merkle_leaf_hash(&leaves[i], e, (size_t)len);
		bpg_hex_encode(hex, leaves[i].b, 32);
		if (bpg_buf_printf(&ent, "%llu %s %s\n", (unsigned long long)i, hex, e) < 0) {
			fprintf(stderr, "bench_audit: out of memory at entry %llu\n", (unsigned long long)i);
			return 1;
		}
	}
	cp.size = n;
	bpg_merkle_root(&cp.root, leaves, n);
	bpg_checkpoint_sign(&note, &cp, s, &err);
	if (bpg_buf_printf(&path, "%s/entries", argv[1]) < 0) {
		fprintf(stderr, "bench_audit: out of memory\n");
		return 1;
	}
	bpg_file_write_atomic(path.ptr, ent.ptr, ent.size, 0600, &err);
	bpg_buf_clear(&path);
	if (bpg_buf_printf(&path, "%s/checkpoint", argv[1]) < 0) {
		fprintf(stderr, "bench_audit: out of memory\n");
		return 1;
	}
	bpg_file_write_atomic(path.ptr, note.ptr, note.size, 0600, &err);
	printf("log of %llu entries, %.1f MB\n", (unsigned long long)n, ent.size / 1e6);

	t0 = now();
	if (bpg_audit_open(&log, argv[1], &err) < 0 || bpg_audit_verify(log, v, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	t1 = now();
	printf("open + verify:        %8.1f ms  (%.0f entries/s)\n", (t1 - t0) * 1e3, n / (t1 - t0));
	t0 = now();
	if (bpg_audit_append(log, "{\"type\":\"bench\"}", 16, s, &idx, &err) < 0) {
		fprintf(stderr, "%s\n", err.message);
		return 1;
	}
	t1 = now();
	printf("one append:           %8.1f ms  (reload + verify + fsync + sign + rename)\n", (t1 - t0) * 1e3);
	t0 = now();
	bpg_audit_prove(&proof, log, n / 2, n + 1, &err);
	t1 = now();
	printf("inclusion proof:      %8.1f ms  (%zu hashes)\n", (t1 - t0) * 1e3, proof.len);
	bpg_audit_free(log);
	bpg_note_signer_free(s);
	bpg_note_verifier_free(v);
	bpg_buf_dispose(&ent);
	bpg_buf_dispose(&note);
	bpg_buf_dispose(&path);
	free(leaves);
	return 0;
}
