#!/usr/bin/env bash
# What a first touch of memory costs here, RUNS times (default 5): the figure behind the
# hooks' huge-page heap (docs/readme/hooks.md "Speed"). Prints the load beside each run.
#   tests/bench/vm_costs.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/vm_costs" vm_costs.c
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr); THP: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
for r in $(seq 1 "${1:-5}"); do
  printf 'run %s (load %s): ' "$r" "$(cut -d' ' -f1-3 /proc/loadavg)"
  "$tmp/vm_costs"
done
