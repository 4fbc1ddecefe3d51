#!/usr/bin/env bash
# Audit log figures: open+verify, one append and one proof on logs of 1k,
# 10k and 100k entries; appends per second through the CLI. Builds an
# optimised tree of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash install/deps.sh
b=build-bench
[ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
ninja -C $b tests/bench/bench_audit hooks/bpgate | tail -n 3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for n in 1000 10000 100000; do
  "$b/tests/bench/bench_audit" "$tmp/log$n" "$n"
done
"$b/hooks/bpgate" audit keygen bench.example.com/cli --out "$tmp/k" >/dev/null 2>&1
start=$(date +%s.%N)
for i in $(seq 1 200); do
  echo "{\"n\":$i}" | "$b/hooks/bpgate" audit append --log "$tmp/cli" --signing-key "$tmp/k.skey" >/dev/null
done
end=$(date +%s.%N)
python3 -c "print('CLI: 200 appends (a process each, fsync each) in %.2f s = %.0f appends/s' % ($end - $start, 200 / ($end - $start)))"
