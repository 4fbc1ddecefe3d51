#!/usr/bin/env bash
# Audit log figures (issue #20): for logs of 10^4, 10^5 and 10^6 entries,
# open + full verify, the migration append (one full pass, what every append
# cost before the frontier), an append as the gate makes it (median of 21
# per run), and verify --since after 1, 10, 100, 1000 new entries; then 21
# CLI appends (a process each) to the largest log (median). RUNS runs (default 5), each
# with `uptime` before and after it; per figure: every run, median, min-max.
# append = wall time (median of 21 in a run; 4 fsyncs + 2 renames, so the
# disk's and the machine's load show); append_cpu = its CPU time (the work);
# fsync = one 300-byte append + fsync to a file in the same directory (median of 21).
# usage: tests/bench/audit.sh [RUNS] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}; shift || true
sizes=${*:-10000 100000 1000000}
b=build-bench
[ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
ninja -C $b tests/bench/bench_audit hooks/bpgate | tail -n 1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$tmp/figs
echo "machine: $(nproc) CPU(s), $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
for r in $(seq 1 "$runs"); do
  echo "run $r: $(uptime | sed 's/.*load average/load average/')"
  for n in $sizes; do
    rm -rf "$tmp/log"
    nice -n 0 "$b/tests/bench/bench_audit" "$tmp/log" "$n" | tee "$tmp/one" | grep -v '^fig' | sed 's/^/  /'
    sed -n "s/^fig /$r $n /p" "$tmp/one" >> "$out"
  done
  echo "  after run $r: $(uptime | sed 's/.*load average/load average/')"
  # CLI appends to the last (largest) log: process start + key load + open + append.
  last=${sizes##* }
  for i in $(seq 1 21); do
    s=$(date +%s%N)
    echo "{\"n\":$i}" | "$b/hooks/bpgate" audit append --log "$tmp/log" --signing-key "$tmp/log.skey" >/dev/null
    e=$(date +%s%N)
    echo "$(( (e - s) / 1000 ))"
  done | sort -n | sed -n 11p | awk -v r="$r" -v n="$last" '{ printf "%s %s append_cli %.3f\n", r, n, $1 / 1000 }' >> "$out"
done
python3 - "$out" <<'PY'
import sys, statistics as st, collections
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, n, name, ms = line.split()
    rows[(n, name)][int(r)] = float(ms)
order = ["open_verify", "append_migration", "append", "append_min", "append_max", "append_cpu", "fsync", "since_1", "since_10", "since_100", "since_1000", "append_cli"]
print("\n%-8s %-22s %9s %17s   %s" % ("entries", "figure (ms)", "median", "min-max", "every run"))
for n in sorted({k[0] for k in rows}, key=int):
    for name in order:
        v = rows.get((n, name))
        if not v:
            continue
        xs = [v[k] for k in sorted(v)]
        print("%-8s %-22s %9.2f %8.2f-%-8.2f   %s" % (n, name, st.median(xs), min(xs), max(xs),
              " ".join("%.2f" % x for x in xs)))
PY
