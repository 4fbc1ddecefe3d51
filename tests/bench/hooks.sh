#!/usr/bin/env bash
# Added time of the client hooks on a typical commit (3 blueprints, 3 fixtures)
# against the same `git commit` with no hook. Release build of its own.
#   tests/bench/hooks.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
rounds=${1:-20}
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
time_commits() { # time_commits DIR -> ms per commit
  local total=0 t0 t1
  for i in $(seq 1 "$rounds"); do
    change "$1" "$i"
    t0=$(date +%s%N); git -C "$1" commit -q -F "$msg" >/dev/null 2>&1 || { echo "commit refused" >&2; exit 1; }; t1=$(date +%s%N)
    total=$((total + (t1 - t0) / 1000))
  done
  echo $((total / rounds / 1000))
}
setup "$tmp/plain" no
setup "$tmp/hooked" yes
plain=$(time_commits "$tmp/plain")
hooked=$(time_commits "$tmp/hooked")
echo "git commit (3 blueprints + 3 fixtures), mean of $rounds:"
echo "  no hook:           ${plain} ms"
echo "  bpgate hooks:      ${hooked} ms  (pre-commit + commit-msg)"
echo "  added per commit:  $((hooked - plain)) ms; ratio $(awk -v a="$hooked" -v b="$plain" 'BEGIN{printf "%.2f", a/(b>0?b:1)}')x"
