#!/usr/bin/env bash
# Added time of the client hooks on a typical commit (3 blueprints, 3 fixtures)
# against the same `git commit` with no hook. Release build of its own.
#   tests/bench/hooks.sh [ROUNDS] [RUNS]
# Each run times ROUNDS commits in each repository, interleaved (a plain commit,
# then a hooked one, so a change of machine load hits both alike), and each hook
# run on its own (`bpgate hook pre-commit`, `bpgate hook commit-msg`) as many
# times. It prints every run with the load average it started under, then the
# median and min-max over the runs. Where each hook's time goes (instructions,
# independent of load): tests/bench/hooks_profile.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
rounds=${1:-20}
runs=${2:-5}
bash install/deps.sh
b=build-bench
[ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
ninja -C $b hooks/bpgate >/dev/null
export PATH="$src/$b/hooks:$PATH" BPGATE_PACKS="$src/policy/packs" NO_COLOR=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1; mkdir -p "$HOME"
git config --global user.name bench; git config --global user.email bench@example.com
git config --global init.defaultBranch main
pack="$src/policy/packs/regulated"
msg="$tmp/msg"
printf 'bench\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$msg"

setup() { # setup DIR HOOKS(yes|no)
  git init -q "$1"; (cd "$1"
  if [ "$2" = yes ]; then bpgate init >/dev/null; else mkdir .bpgate; cp -r "$pack"/policy.json "$pack"/contracts .bpgate/; fi
  git add .bpgate && git commit -qm init --no-verify && git checkout -q -b dev)
}
change() { # change DIR ROUND
  for s in a b c; do
    mkdir -p "$1/scenarios/crm-contact-sync" "$1/tests/fixtures/$s"
    sed "s/Web form/Web form $2/" "$pack/blueprints/crm-contact-sync.good.blueprint.json" > "$1/scenarios/crm-contact-sync/$s.blueprint.json"
    printf '{"customer": {"email": "user%s@example.com", "note": "round %s"}}\n' "$2" "$2" > "$1/tests/fixtures/$s/c.json"
  done
  git -C "$1" add -A
}
now_us() { local t; t=$(date +%s%N); echo $((t / 1000)); }
# one_run RUN -> "plain hooked pre-commit commit-msg" in microseconds (means over ROUNDS)
one_run() {
  local p="$tmp/plain$1" h="$tmp/hooked$1" tp=0 th=0 tpre=0 tmsg=0 t0 t1 i
  setup "$p" no; setup "$h" yes
  for i in $(seq 1 "$rounds"); do
    change "$p" "$1$i"; change "$h" "$1$i"
    t0=$(now_us); git -C "$p" commit -q -F "$msg" >/dev/null 2>&1 || { echo "plain commit failed" >&2; exit 1; }; t1=$(now_us)
    tp=$((tp + t1 - t0))
    t0=$(now_us); git -C "$h" commit -q -F "$msg" >/dev/null 2>&1 || { echo "commit refused" >&2; exit 1; }; t1=$(now_us)
    th=$((th + t1 - t0))
  done
  # each hook alone, on a staged change, as git runs it (cwd = the work tree)
  change "$h" "$1x"
  for i in $(seq 1 "$rounds"); do
    t0=$(now_us); (cd "$h" && bpgate hook pre-commit) || { echo "pre-commit refused" >&2; exit 1; }; t1=$(now_us)
    tpre=$((tpre + t1 - t0))
    t0=$(now_us); (cd "$h" && bpgate hook commit-msg "$msg") || { echo "commit-msg refused" >&2; exit 1; }; t1=$(now_us)
    tmsg=$((tmsg + t1 - t0))
  done
  rm -rf "$p" "$h"
  echo "$((tp / rounds)) $((th / rounds)) $((tpre / rounds)) $((tmsg / rounds))"
}
ms() { awk -v u="$1" 'BEGIN{printf "%.1f", u/1000}'; }
# stats "v1 v2 ..." -> "median (min-max)" in ms
stats() {
  printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
    printf "%.1f (%.1f-%.1f)", m/1000, v[1]/1000, v[NR]/1000}'
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "git commit (3 blueprints + 3 fixtures): mean of $rounds commits per run, $runs runs; times in ms"
printf '%-4s %-26s %9s %9s %9s %11s %11s\n' run "load (1, 5, 15 min)" "no hook" hooked added pre-commit commit-msg
added_all="" pre_all="" msg_all="" plain_all="" hooked_all=""
for r in $(seq 1 "$runs"); do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  read -r tp th tpre tmsg < <(one_run "$r")
  printf '%-4s %-26s %9s %9s %9s %11s %11s\n' "$r" "$load" "$(ms "$tp")" "$(ms "$th")" "$(ms $((th - tp)))" \
    "$(ms "$tpre")" "$(ms "$tmsg")"
  added_all+=" $((th - tp))"; pre_all+=" $tpre"; msg_all+=" $tmsg"; plain_all+=" $tp"; hooked_all+=" $th"
done
echo "median (min-max) over $runs runs:"
echo "  no hook:           $(stats "$plain_all") ms"
echo "  bpgate hooks:      $(stats "$hooked_all") ms  (pre-commit + commit-msg)"
echo "  added per commit:  $(stats "$added_all") ms"
echo "  pre-commit alone:  $(stats "$pre_all") ms  (bpgate hook pre-commit, process start to exit)"
echo "  commit-msg alone:  $(stats "$msg_all") ms"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
