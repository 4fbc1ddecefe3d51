#!/usr/bin/env bash
# The heap tuning as release builds run it (tests/unit/heap_plain.c says why it is built
# here, without the test build's sanitizers). Run by install/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build-test}/heap_plain
cc -std=c11 -O1 -Wall -Wextra -Werror -Iinclude -pthread policy/core/heap.c tests/unit/heapchurn.c tests/unit/heap_plain.c -o "$out"
rc=0; "$out" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ]
# the JSON heap under an address-space limit (tests/unit/jsonheap_plain.c): a quarter of the
# limit at most (1 GiB: installed, 256 MiB), none under 256 MiB (200: not installed)
jh=${1:-build-test}/jsonheap_plain
cc -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -Iinclude -I"${1:-build-test}" -pthread policy/core/jsonheap.c \
  policy/core/buf.c policy/core/testhook.c policy/core/error.c tests/unit/jsonheap_plain.c -ljansson -o "$jh"
for case in "1024 1" "200 0"; do
  rc=0; "$jh" $case || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 77 ] || { echo "jsonheap_plain $case: exit $rc"; exit 1; }
done
echo "jsonheap_plain: ok (a quarter of an address-space limit at most, none under 64 MiB)"

