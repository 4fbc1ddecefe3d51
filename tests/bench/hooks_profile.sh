#!/usr/bin/env bash
# Where each client hook's time goes, in instructions (valgrind's callgrind:
# the same count on a busy machine as on a quiet one), on the commit of
# tests/bench/hooks.sh (3 blueprints + 3 fixtures, regulated pack).
#   tests/bench/hooks_profile.sh [BUILD_DIR]     (default: build-bench, release)
# Phases are inclusive counts of the functions named beside them; "other" is
# the rest (libc start-up, library constructors, exit).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
b=${1:-build-bench}
command -v valgrind >/dev/null || { echo "hooks_profile.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
if [ "$b" = build-bench ]; then
  [ -f $b/build.ninja ] || meson setup $b -Dbuildtype=release -Dtests=true >/dev/null
  ninja -C $b hooks/bpgate >/dev/null
fi
bin=$(cd "$b/hooks" && pwd)/bpgate
export BPGATE_PACKS="$src/policy/packs" NO_COLOR=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" GIT_CONFIG_NOSYSTEM=1; mkdir -p "$HOME"
git config --global user.name bench; git config --global user.email bench@example.com
git config --global init.defaultBranch main
pack="$src/policy/packs/regulated"
printf 'bench\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$tmp/msg"
r="$tmp/repo"
git init -q "$r"; cd "$r"
PATH="$(dirname "$bin"):$PATH" "$bin" init >/dev/null
git add .bpgate && git commit -qm init --no-verify && git checkout -q -b dev
for s in a b c; do
  mkdir -p scenarios/crm-contact-sync "tests/fixtures/$s"
  sed "s/Web form/Web form $s 1/" "$pack/blueprints/crm-contact-sync.good.blueprint.json" > "scenarios/crm-contact-sync/$s.blueprint.json"
  printf '{"customer": {"email": "user%s1@example.com", "note": "round 1"}}\n' "$s" > "tests/fixtures/$s/c.json"
done
git add -A
# a first run as git would make it (e.g. caches written), then the measured one; under
# valgrind too: the policy-tests record names the program's file, which under valgrind
# is valgrind's tool (policy/engine/loadcache.c)
"$bin" hook pre-commit; "$bin" hook commit-msg "$tmp/msg"
valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" hook pre-commit >/dev/null 2>&1
# as in a repository whose policy tests did not change in the last 2 s (the stat record is
# written then: policy/engine/loadcache.c), like tests/bench/hooks.sh
sleep 3
valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" hook pre-commit >/dev/null 2>&1

inc() { # inc FILE FUNCTION... -> inclusive Ir of the first function found
  local f fn v
  f=$1; shift
  for fn in "$@"; do
    v=$(callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
      awk -v fn="$fn" '!done { for (i = 2; i <= NF; i++) if ($i ~ ":" fn "$" && $(i+1) ~ /^\[/) { gsub(",", "", $1); print $1; done = 1; break } }')
    [ -n "$v" ] && { echo "$v"; return; }
  done
  echo 0
}
M() { awk -v v="$1" 'BEGIN{printf "%7.1f", v/1e6}'; }
profile() { # profile NAME ARGS...
  local name=$1 out="$tmp/cg.$1"; shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" hook "$@" >/dev/null 2>&1
  local total ld git pol gat scn jud cls other
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')
  ld=$(inc "$out" _dl_start)
  git=$(inc "$out" git_libgit2_init)
  pol=$(( $(inc "$out" bpg_policy_files_read_dir_hooks bpg_policy_files_read_dir) + $(inc "$out" bpg_policy_load_cached bpg_policy_load) ))
  gat=$(( $(inc "$out" bpg_gather_staged) + $(inc "$out" bpg_gather_message) + $(inc "$out" bpg_gather_message_staged) ))
  scn=$(( $(inc "$out" bpg_scanner_new) + $(inc "$out" scan_pattern) ))
  jud=$(inc "$out" fe_judge)
  cls=$(inc "$out" fe_close)
  other=$((total - ld - git - pol - gat - jud - cls))
  printf '%-11s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' "$name" "$(M "$total")" "$(M "$ld")" "$(M "$git")" "$(M "$pol")" \
    "$(M "$gat")" "$(M "$scn")" "$(M "$jud")" "$(M "$cls")" "$(M "$other")"
}
echo "instructions (millions) per hook run, $bin"
printf '%-11s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' hook total ld.so libgit2 policy gather "(scan" judge close other
printf '%-11s %7s %7s %7s %7s %7s %7s %7s %7s %7s\n' "" "" "" init "r+load" "" "set-up)" "" "" ""
profile pre-commit pre-commit
profile commit-msg commit-msg "$tmp/msg"
echo "ld.so: _dl_start (loading and relocating $(ldd "$bin" | grep -c '=>') libraries); libgit2 init: git_libgit2_init;"
echo "policy load: bpg_policy_files_read_dir(_hooks) + bpg_policy_load(_cached); gather: bpg_gather_staged + bpg_gather_message(_staged), of which"
echo "(scan set-up): bpg_scanner_new + scan_pattern (pcre2 compile + JIT, on first use); judge: fe_judge; close: fe_close"
