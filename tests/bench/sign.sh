#!/usr/bin/env bash
# Signing figures of docs/readme/sign.md: bpgate against minisign on the same
# files and keys, release build, every run printed with the load it started
# under, then the median and min-max.
#   tests/bench/sign.sh [RUNS] [MIB]        (defaults 5 runs, a 100 MiB file)
# Timed: `bpgate sign` (prehashed, unencrypted key), `bpgate verify`,
# `minisign -Vm` on bpgate's signature, and `bpgate sign` with a
# passphrase-protected key (scrypt, as minisign's, dominates). The peak RSS of
# `bpgate sign` is reported too (GNU time). Not run by install/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
runs=${1:-5}
mib=${2:-100}
command -v minisign >/dev/null || { echo "sign.sh: needs minisign (install/deps.sh)" >&2; exit 2; }
b=build-bench
[ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
ninja -C $b hooks/bpgate >/dev/null
bpgate="$src/$b/hooks/bpgate"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sign-bench.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
head -c $((mib << 20)) /dev/urandom > "$tmp/file"
"$bpgate" keygen -W -p "$tmp/plain.pub" -s "$tmp/plain.key" >/dev/null
printf 'bench passphrase\nbench passphrase\n' > "$tmp/pass"
"$bpgate" keygen --passphrase-fd 3 -p "$tmp/enc.pub" -s "$tmp/enc.key" >/dev/null 3<"$tmp/pass"

ms() { # ms CMD... -> wall milliseconds of CMD (which must succeed)
  local t0 t1
  t0=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { sort -n | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }

printf '%-4s %-6s %10s %10s %12s %12s %9s\n' run load sign verify "minisign -V" "sign (scrypt)" "RSS MiB"
: > "$tmp/all"
for r in $(seq 1 "$runs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  s=$(ms "$bpgate" sign -s "$tmp/plain.key" -m "$tmp/file")
  v=$(ms "$bpgate" verify -q -p "$tmp/plain.pub" -m "$tmp/file")
  m=$(ms minisign -Vqm "$tmp/file" -p "$tmp/plain.pub")
  e=$(ms "$bpgate" sign --passphrase-fd 3 -s "$tmp/enc.key" -m "$tmp/file" 3<"$tmp/pass")
  rss=$( { /usr/bin/time -f '%M' "$bpgate" sign -s "$tmp/plain.key" -m "$tmp/file" >/dev/null; } 2>&1 | tail -1)
  rss=$((rss / 1024))
  printf '%-4s %-6s %10s %10s %12s %12s %9s\n' "$r" "$load" "$s" "$v" "$m" "$e" "$rss"
  echo "$s $v $m $e $rss" >> "$tmp/all"
done
printf '%-11s' "median"; for c in 1 2 3 4 5; do printf ' %s' "$(cut -d' ' -f$c "$tmp/all" | median)"; done; echo
printf '%-11s' "min-max"; for c in 1 2 3 4 5; do printf ' %s' "$(cut -d' ' -f$c "$tmp/all" | range)"; done; echo
echo "(ms; ${mib} MiB of random bytes; release build; $(nproc) cores; load at the end $(cut -d' ' -f1 /proc/loadavg))"
