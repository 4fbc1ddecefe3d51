#!/usr/bin/env bash
# Blueprint parse throughput (MB/s) and peak memory, on the real corpus and on
# a generated 50 MB blueprint. Builds an optimised tree of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash install/deps.sh
b=build-bench
[ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
ninja -C $b tests/bench/bench_blueprint >/dev/null
shared=${BPG_SHARED_DIR:-../shared}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/big.blueprint.json" <<'PY'
import json, sys
mods, i = [], 2  # the router is module 1 (ids are positive)
while True:
    mods.append({"id": i, "module": "google-sheets:addRow", "version": 2,
                 "parameters": {"__IMTCONN__": 1000 + i % 7, "spreadsheetId": "/1abc%d" % i},
                 "mapper": {"values": {str(k): "{{1.field%d}} text %d" % (k, i) for k in range(12)}},
                 "metadata": {"designer": {"x": i, "y": 0},
                              "restore": {"parameters": {"__IMTCONN__": {"label": "My Google connection"}}},
                              "expect": [{"name": str(k), "type": "text", "label": "Column %d" % k} for k in range(12)]}})
    i += 1
    if i % 500 == 0 and len(json.dumps(mods)) > 13_600_000:
        break
bp = {"name": "generated", "flow": [{"id": 1, "module": "builtin:BasicRouter", "version": 1,
      "routes": [{"flow": mods[k::4]} for k in range(4)]}],
      "metadata": {"scenario": {"dlq": True}, "designer": {"orphans": []}}}
json.dump(bp, open(sys.argv[1], "w"), indent=4)
PY
echo "real corpus ($(ls "$shared"/corpus/blueprints/real/*.json | wc -l) files, 20 rounds):"
$b/tests/bench/bench_blueprint 20 "$shared"/corpus/blueprints/real/*.json
echo "generated blueprint ($(du -m "$tmp/big.blueprint.json" | cut -f1) MB, 3 rounds):"
$b/tests/bench/bench_blueprint 3 "$tmp/big.blueprint.json"
