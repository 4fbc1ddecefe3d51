#!/usr/bin/env bash
# Added time of the client hooks on a typical commit (3 blueprints, 3 fixtures)
# against the same `git commit` in the same repository content with no hook. Release
# build of its own.
#   tests/bench/hooks.sh [ROUNDS] [RUNS]
# Each run times ROUNDS commits in each repository, interleaved (a plain commit,
# then a hooked one, so a change of machine load hits both alike), and each hook
# run on its own (`bpgate hook pre-commit`, `bpgate hook commit-msg`) as many
# times. The hooked repository has what `bpgate init` installs (since #20: commit-msg
# and pre-push, symlinks to bpgate; one process per commit); pre-commit alone is the
# optional early check (`bpgate install --early-check`), not run by these commits. It prints every run with the load average it started under, then the
# median and min-max over the runs. Every repository is made by `bpgate init` (the pack's
# policy, contracts, environments and ~100 policy tests); the unhooked ones then lose the
# hooks, so "added" is what the hooks add and nothing else. Until #20's fourth pass the
# unhooked repository held policy.json and contracts only: "policy only" still times that
# one, and "added vs policy only" is the figure the bench printed before (it also counts
# git's own cost of ~100 more files in the index). "empty hook" is what a commit-msg hook
# that does nothing adds (git's fork and exec of a hook). "added CPU" is the user + system time the
# hooks add (bash's `time`): less sensitive to a busy machine than wall time. Where each hook's time goes (instructions,
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

setup() { # setup DIR yes|no|policy-only: hooks installed, removed, or the old baseline's content
  git init -q "$1"; (cd "$1"
  if [ "$2" = policy-only ]; then mkdir .bpgate; cp -r "$pack"/policy.json "$pack"/contracts .bpgate/
  else bpgate init >/dev/null; [ "$2" = yes ] || rm -f .git/hooks/pre-commit .git/hooks/commit-msg .git/hooks/pre-push; fi
  git add .bpgate && git commit -qm init --no-verify && git checkout -q -b dev)
}
change() { # change DIR ROUND
  for s in a b c; do
    mkdir -p "$1/scenarios/crm-contact-sync" "$1/tests/fixtures/$s"
    sed "s/Web form/Web form $s $2/" "$pack/blueprints/crm-contact-sync.good.blueprint.json" > "$1/scenarios/crm-contact-sync/$s.blueprint.json"
    printf '{"customer": {"email": "user%s@example.com", "note": "round %s"}}\n' "$s$2" "$2" > "$1/tests/fixtures/$s/c.json"
  done
  git -C "$1" add -A
}
# timed DIR|- CMD... : run CMD (in DIR), add its wall and CPU (user + sys) time in
# microseconds to the globals W and C; a failing CMD stops the bench
TIMEFORMAT='%3R %3U %3S'
us() { echo $(( 10#${1%.*} * 1000000 + 10#${1#*.} * 1000 )); } # "S.mmm" seconds -> microseconds
timed() {
  local d=$1 r u s; shift
  { time (cd "$d" && "$@" >/dev/null 2>&1); } 2>"$tmp/time" || { echo "refused: $*" >&2; exit 1; }
  read -r r u s < "$tmp/time"
  W=$((W + $(us "$r"))); C=$((C + $(us "$u") + $(us "$s")))
}
# git's own cost of running a hook, whatever it does: a commit-msg hook that is an empty
# static program (cc -static), timed like the others (a third repository, interleaved)
empty="$tmp/empty-hook"
printf 'int main(void) { return 0; }\n' > "$tmp/empty.c"
cc -O2 -static -o "$empty" "$tmp/empty.c" 2>/dev/null || cc -O2 -o "$empty" "$tmp/empty.c"
# one_run RUN -> "plain hooked pre-commit commit-msg plain-cpu hooked-cpu empty policy-only"
# in microseconds (means over ROUNDS)
one_run() {
  local p="$tmp/plain$1" h="$tmp/hooked$1" e="$tmp/empty$1" o="$tmp/only$1" tp tpc th thc tpre tmsg te to i
  setup "$p" no; setup "$h" yes; setup "$e" no; ln -s "$empty" "$e/.git/hooks/commit-msg"; setup "$o" policy-only
  # A typical commit comes long after the policy tests last changed. Files changed in the
  # last 2 s are read and hashed again on every hook run (policy/engine/loadcache.c,
  # STAT_SETTLE, git's racy-clean rule), which would charge ~3 ms to the first seconds
  # of commits here: before #20's last round the bench did, to about half its rounds.
  sleep 3
  tp=0 tpc=0 th=0 thc=0 te=0 to=0
  for i in $(seq 1 "$rounds"); do
    change "$p" "$1$i"; change "$h" "$1$i"; change "$e" "$1$i"; change "$o" "$1$i"
    W=0 C=0; timed "$p" git commit -q -F "$msg"; tp=$((tp + W)); tpc=$((tpc + C))
    W=0 C=0; timed "$h" git commit -q -F "$msg"; th=$((th + W)); thc=$((thc + C))
    W=0 C=0; timed "$e" git commit -q -F "$msg"; te=$((te + W))
    W=0 C=0; timed "$o" git commit -q -F "$msg"; to=$((to + W))
  done
  # each hook alone, on a staged change, as git runs it (cwd = the work tree)
  change "$h" "$1x"
  W=0 C=0; for i in $(seq 1 "$rounds"); do timed "$h" bpgate hook pre-commit; done; tpre=$W
  W=0 C=0; for i in $(seq 1 "$rounds"); do timed "$h" bpgate hook commit-msg "$msg"; done; tmsg=$W
  rm -rf "$p" "$h" "$e" "$o"
  echo "$((tp / rounds)) $((th / rounds)) $((tpre / rounds)) $((tmsg / rounds)) $((tpc / rounds)) $((thc / rounds)) $((te / rounds)) $((to / rounds))"
}
ms() { awk -v u="$1" 'BEGIN{printf "%.1f", u/1000}'; }
# stats "v1 v2 ..." -> "median (min-max)" in ms
stats() {
  printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
    printf "%.1f (%.1f-%.1f)", m/1000, v[1]/1000, v[NR]/1000}'
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
echo "git commit (3 blueprints + 3 fixtures): mean of $rounds commits per run, $runs runs; times in ms"
echo "hooks installed by bpgate init: $(cd "$tmp" && git init -q probe && cd probe && bpgate init >/dev/null && ls .git/hooks | grep -v sample | tr '\n' ' ')"
printf '%-4s %-18s %8s %8s %8s %10s %10s %10s %11s %12s %9s\n' run "load 1/5/15 min" "no hook" hooked added "added CPU" pre-commit commit-msg "empty hook" "policy only" "vs p.only"
added_all="" pre_all="" msg_all="" plain_all="" hooked_all="" cpu_all="" empty_all="" only_all="" vsonly_all=""
for r in $(seq 1 "$runs"); do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  one_run "$r" > "$tmp/run"
  read -r tp th tpre tmsg tpc thc te to < "$tmp/run"
  printf '%-4s %-18s %8s %8s %8s %10s %10s %10s %11s %12s %9s\n' "$r" "$load" "$(ms "$tp")" "$(ms "$th")" "$(ms $((th - tp)))" \
    "$(ms $((thc - tpc)))" "$(ms "$tpre")" "$(ms "$tmsg")" "$(ms $((te - tp)))" "$(ms "$to")" "$(ms $((th - to)))"
  only_all+=" $to"; vsonly_all+=" $((th - to))"
  empty_all+=" $((te - tp))"
  added_all+=" $((th - tp))"; pre_all+=" $tpre"; msg_all+=" $tmsg"; plain_all+=" $tp"; hooked_all+=" $th"
  cpu_all+=" $((thc - tpc))"
done
echo "median (min-max) over $runs runs:"
echo "  no hook:           $(stats "$plain_all") ms"
echo "  bpgate hooks:      $(stats "$hooked_all") ms  (git commit with the hooks bpgate init installs)"
echo "  added per commit:  $(stats "$added_all") ms"
echo "  added CPU time:    $(stats "$cpu_all") ms  (user + system of the commit and its hooks, less the plain commit's)"
echo "  pre-commit alone:  $(stats "$pre_all") ms  (bpgate hook pre-commit, process start to exit; installed only with --early-check)"
echo "  commit-msg alone:  $(stats "$msg_all") ms  (what a commit runs: the message and the staged content)"
echo "  an empty hook:     $(stats "$empty_all") ms added  (git's own cost of running any commit-msg hook: an empty static program)"
echo "  policy only:       $(stats "$only_all") ms  (no hook, and .bpgate with policy.json and contracts only: the baseline before #20's fourth pass)"
echo "  added vs that:     $(stats "$vsonly_all") ms  (the figure this bench printed before #20's fourth pass)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
