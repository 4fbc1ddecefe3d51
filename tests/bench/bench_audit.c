/*
 * Audit log figures (issue #20). Builds a log of N entries directly through
 * the library (records, the signed checkpoint and the frontier: seconds at a
 * million), then times, in this order:
 *   - open + full verify (bpg_audit_open + bpg_audit_verify: every entry),
 *   - the first append after deleting the frontier (migration: one full pass,
 *     what every append cost before the frontier),
 *   - APPENDS appends the way the gate makes them (bpg_audit_open_append,
 *     bpg_audit_append: lock, checkpoint signature, frontier, last record,
 *     write + fsync, sign, rename, frontier), each timed alone,
 *   - verify --since: bpg_audit_verify_since after K new entries, K = 1, 10,
 *     100, 1000 (the kept frontier from a full pass, outside the timing).
 * Prints one "fig <name> <ms>" line per figure (audit.sh aggregates them).
 * usage: bench_audit DIR N [APPENDS]     DIR must not exist
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "bpgate/audit.h"
#include "bpgate/util.h"

#define ORIGIN "bench.example.com/audit"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what, const bpg_error *err)
{
	fprintf(stderr, "bench_audit: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

static int entry_text(char *e, size_t cap, uint64_t i)
{
	return snprintf(e, cap,
		"{\"time\":\"2024-05-01T10:00:00Z\",\"type\":\"push.accepted\",\"pusher\":\"builder%llu@example.com\","
		"\"ref\":\"refs/heads/stage\",\"old\":\"%040llu\",\"new\":\"%040llu\",\"policy\":\"%040d\"}",
		(unsigned long long)(i % 50), (unsigned long long)i, (unsigned long long)i + 1, 7);
}

static void put_file(const char *dir, const char *name, const char *data, size_t len)
{
	char p[4096];
	bpg_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (bpg_file_write_atomic(p, data, len, 0600, &err) < 0)
		die(p, &err);
}

/* Entries, checkpoint and frontier of n entries, written directly. */
static void generate(const char *dir, uint64_t n, const bpg_note_signer *s)
{
	bpg_audit_frontier f;
	bpg_checkpoint cp = { .origin = ORIGIN };
	bpg_buf note = BPG_BUF_INIT;
	bpg_error err;
	char p[4096], e[512], hex[65];
	uint64_t off = 0;
	FILE *fp;

	memset(&f, 0, sizeof(f));
	snprintf(p, sizeof(p), "%s/entries", dir);
	if (!(fp = fopen(p, "w")))
		die(p, NULL);
	for (uint64_t i = 0; i < n; i++) {
		int len = entry_text(e, sizeof(e), i), w;
		bpg_hash leaf;

		bpg_merkle_leaf_hash(&leaf, e, (size_t)len);
		bpg_hex_encode(hex, leaf.b, 32);
		if ((w = fprintf(fp, "%llu %s %s\n", (unsigned long long)i, hex, e)) < 0)
			die("write entries", NULL);
		if (f.size > 0)
			bpg_merkle_frontier_push(&f.prev, &f.last_leaf);
		f.size++;
		f.last_off = off;
		f.last_leaf = leaf;
		off += (uint64_t)w;
		f.length = off;
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0)
		die("flush entries", NULL);
	cp.size = n;
	bpg_audit_frontier_root(&cp.root, &f);
	if (bpg_checkpoint_sign(&note, &cp, s, &err) < 0)
		die("sign", &err);
	put_file(dir, "checkpoint", note.ptr, note.size);
	snprintf(p, sizeof(p), "%s/frontier", dir);
	if (bpg_audit_frontier_save(p, &f, &err) < 0)
		die(p, &err);
	printf("log of %llu entries, %.1f MB\n", (unsigned long long)n, (double)off / 1e6);
	bpg_buf_dispose(&note);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double last_cpu_ms; /* CPU time of the last append_one(): the work, without I/O waits */

static double append_one(const char *dir, const bpg_note_signer *s, uint64_t i)
{
	bpg_audit_log *log = NULL;
	bpg_error err;
	char e[512];
	int len = entry_text(e, sizeof(e), i);
	double c0 = cpu_now(), t0 = now(), t1;

	if (bpg_audit_open_append(&log, dir, &err) < 0 || bpg_audit_append(log, e, (size_t)len, s, NULL, &err) < 0)
		die("append", &err);
	bpg_audit_free(log);
	t1 = now();
	last_cpu_ms = (cpu_now() - c0) * 1e3;
	return (t1 - t0) * 1e3;
}

int main(int argc, char **argv)
{
	unsigned char seed[32] = { 42 };
	bpg_note_signer *s = NULL;
	bpg_note_verifier *v = NULL;
	bpg_audit_log *log = NULL;
	bpg_error err;
	const char *dir;
	uint64_t n, size, appends = 21;
	double t0, t1, *ms;
	char p[4096];

	if (argc < 3 || argc > 4)
		return 2;
	dir = argv[1];
	n = strtoull(argv[2], NULL, 10);
	if (argc == 4)
		appends = strtoull(argv[3], NULL, 10);
	if (appends == 0 || mkdir(dir, 0700) < 0) {
		fprintf(stderr, "bench_audit: %s must not exist; APPENDS > 0\n", dir);
		return 2;
	}
	if (bpg_note_signer_from_seed(&s, ORIGIN, seed, &err) < 0 || bpg_note_verifier_from_signer(&v, s, &err) < 0)
		die("key", &err);
	t0 = now();
	generate(dir, n, s);
	printf("generated in %.1f s\n", now() - t0);
	size = n;

	t0 = now();
	if (bpg_audit_open(&log, dir, &err) < 0 || bpg_audit_verify(log, v, &err) < 0)
		die("open + verify", &err);
	t1 = now();
	bpg_audit_free(log);
	log = NULL;
	printf("fig open_verify %.3f\n", (t1 - t0) * 1e3);

	snprintf(p, sizeof(p), "%s/frontier", dir);
	if (unlink(p) < 0)
		die("unlink frontier", NULL);
	printf("fig append_migration %.3f\n", append_one(dir, s, size++));

	if (!(ms = calloc(2 * appends, sizeof(*ms))))
		die("calloc", NULL);
	/* The disk's price right now: append 300 bytes to a file and fsync it (an append does 4 fsyncs). */
	{
		char probe[4096];
		int fd;

		snprintf(probe, sizeof(probe), "%s/fsync-probe", dir);
		if ((fd = open(probe, O_WRONLY | O_CREAT | O_APPEND, 0600)) < 0)
			die(probe, NULL);
		for (uint64_t i = 0; i < appends; i++) {
			char buf[300];

			memset(buf, 'x', sizeof(buf));
			t0 = now();
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) < 0)
				die("fsync probe", NULL);
			ms[i] = (now() - t0) * 1e3;
		}
		close(fd);
		unlink(probe);
		qsort(ms, appends, sizeof(*ms), cmp_d);
		printf("fig fsync %.3f\n", ms[appends / 2]);
	}
	for (uint64_t i = 0; i < appends; i++) {
		ms[i] = append_one(dir, s, size++);
		ms[appends + i] = last_cpu_ms;
	}
	qsort(ms, appends, sizeof(*ms), cmp_d);
	qsort(ms + appends, appends, sizeof(*ms), cmp_d);
	printf("fig append %.3f\n", ms[appends / 2]);
	printf("fig append_min %.3f\n", ms[0]);
	printf("fig append_max %.3f\n", ms[appends - 1]);
	printf("fig append_cpu %.3f\n", ms[appends + appends / 2]);
	free(ms);

	for (uint64_t k = 1; k <= 1000; k *= 10) {
		bpg_checkpoint kept;
		bpg_audit_frontier f;
		uint64_t added = 0;

		/* What an auditor kept after the last verification (outside the timing): the
		 * checkpoint and the frontier (verify_since checks that they agree). */
		if (bpg_audit_open_append(&log, dir, &err) < 0 || bpg_audit_frontier_load(&f, p, &err) < 0)
			die("kept", &err);
		kept = *bpg_audit_checkpoint(log);
		bpg_audit_free(log);
		log = NULL;
		for (uint64_t i = 0; i < k; i++)
			append_one(dir, s, size++);
		t0 = now();
		if (bpg_audit_verify_since(NULL, &added, dir, v, &kept, &f, &err) < 0)
			die("verify_since", &err);
		t1 = now();
		if (added != k)
			die("verify_since: wrong count", NULL);
		printf("fig since_%llu %.3f\n", (unsigned long long)k, (t1 - t0) * 1e3);
	}
	/* The key beside the log, for audit.sh's CLI appends (a bench key, not a secret). */
	{
		bpg_buf k = BPG_BUF_INIT;

		snprintf(p, sizeof(p), "%s.skey", dir);
		if (bpg_note_signer_format(&k, s) < 0 || bpg_buf_putc(&k, '\n') < 0 ||
		    bpg_file_write_atomic(p, k.ptr, k.size, 0600, &err) < 0)
			die(p, &err);
		bpg_buf_dispose(&k);
	}
	bpg_note_signer_free(s);
	bpg_note_verifier_free(v);
	return 0;
}
