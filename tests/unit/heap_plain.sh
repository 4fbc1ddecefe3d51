#!/usr/bin/env bash
# The heap tuning as release builds run it (tests/unit/heap_plain.c says why it is built
# here, without the test build's sanitizers). Run by install/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build-test}/heap_plain
cc -std=c11 -O1 -Wall -Wextra -Werror -Iinclude -pthread policy/core/heap.c tests/unit/heapchurn.c tests/unit/heap_plain.c -o "$out"
rc=0; "$out" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ]
