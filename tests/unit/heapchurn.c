/* See heapchurn.h. */
#include "heapchurn.h"
#include "bpgate/heap.h"

#include <stdlib.h>
#include <string.h>

static size_t block_size(size_t i)
{
	return 16 + (i * 7919) % 4000;
}

int ut_heap_churn(size_t blocks, int tuned)
{
	char **b = calloc(blocks, sizeof(*b));
	size_t i;
	int ok = b != NULL;

	if (tuned)
		bpg_heap_thread_start();
	for (i = 0; ok && i < blocks; i++) {
		if (!(b[i] = malloc(block_size(i))))
			ok = 0;
		else
			memset(b[i], (int)(i & 0xff), block_size(i));
	}
	for (i = 0; ok && i < blocks; i++)
		ok = b[i][0] == (char)(i & 0xff) && b[i][block_size(i) - 1] == (char)(i & 0xff);
	for (i = 0; b && i < blocks; i++)
		free(b[i]);
	free(b);
	return ok;
}
