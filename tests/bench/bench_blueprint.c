/* Parse throughput of the blueprint model: bench_blueprint ROUNDS FILE...
 * Prints MB/s over all files and the peak resident set size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bpgate/blueprint.h"
#include "bpgate/buf.h"

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 0;
	size_t bytes = 0, modules = 0;
	struct timespec t0, t1;
	struct rusage ru;
	double secs;

	if (rounds <= 0 || argc < 3) {
		fprintf(stderr, "usage: bench_blueprint ROUNDS FILE...\n");
		return 2;
	}
	bpg_buf *data = calloc((size_t)argc, sizeof(*data));
	for (int i = 2; i < argc; i++) {
		bpg_error err;
		if (bpg_file_read(&data[i], argv[i], BPG_BLUEPRINT_MAX_BYTES, &err) < 0) {
			fprintf(stderr, "%s\n", err.message);
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++) {
		for (int i = 2; i < argc; i++) {
			bpg_blueprint *bp = NULL;
			bpg_error err;
			if (bpg_blueprint_parse(&bp, data[i].ptr, data[i].size, argv[i], &err) < 0) {
				fprintf(stderr, "%s\n", err.message);
				return 2;
			}
			modules += bpg_blueprint_module_count(bp);
			bytes += data[i].size;
			bpg_blueprint_free(bp);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.1f MB in %.3f s: %.1f MB/s, %zu modules, peak RSS %ld MB\n",
		(double)bytes / 1e6, secs, (double)bytes / 1e6 / secs, modules, ru.ru_maxrss / 1024);
	for (int i = 2; i < argc; i++)
		bpg_buf_dispose(&data[i]);
	free(data);
	return 0;
}
