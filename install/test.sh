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
# The heap tuning as release builds run it: under the sanitizers above it does nothing.
bash tests/unit/heap_plain.sh "$builddir"
# Every libFuzzer target for a few seconds (skipped when clang is missing).
bash tests/bench/fuzz.sh "${BPG_FUZZ_SECONDS:-3}"
# The closing line: every test meson ran (unit suites and end-to-end scripts).
python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
res = [json.loads(l)["result"] for l in open(sys.argv[1]) if l.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in res)
skip = sum(r == "SKIP" for r in res)
print(f"tests: {ok} passed, {len(res) - ok - skip} failed, {skip} skipped")
PY
