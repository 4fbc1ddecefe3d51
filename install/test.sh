#!/usr/bin/env bash
# The README's test command: install what is needed, build with -Werror under
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash install/deps.sh
builddir=${BPG_TEST_BUILDDIR:-build-test}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug -Doptimization=1 -Dtests=true
else
  meson configure "$builddir" -Dwerror=true -Db_sanitize=address,undefined >/dev/null
fi
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2 "$@"
# Every libFuzzer target for a few seconds (skipped when clang is missing).
bash tests/bench/fuzz.sh "${BPG_FUZZ_SECONDS:-3}"
