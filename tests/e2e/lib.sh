# Shared helpers for the end-to-end tests (sourced).
set -euo pipefail
BPG_BUILD_ROOT=${BPG_BUILD_ROOT:?run through meson test}
BPG_SHARED_DIR=${BPG_SHARED_DIR:?run through meson test}
export PATH="$BPG_BUILD_ROOT/hooks:$BPG_BUILD_ROOT/server:$PATH"
export NO_COLOR=1 GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.com
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.com
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bpg-e2e.XXXXXX")
export HOME="$E2E_TMP/home"
mkdir -p "$HOME"
trap 'rm -rf "$E2E_TMP"' EXIT
# Never start inside the source tree: a stray `git commit` would land in it.
cd "$E2E_TMP"
git config --global init.defaultBranch main
git config --global user.name tester
git config --global user.email tester@example.com

E2E_PASSED=0
E2E_FAILED=0
ok() { E2E_PASSED=$((E2E_PASSED + 1)); echo "ok - $*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "FAIL - $*"; }

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
  local want=$1 what=$2; shift 3
  local got=0
  "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" || got=$?
  if [ "$got" -eq "$want" ]; then ok "$what"; else
    fail "$what: exit $got, wanted $want"; sed 's/^/    /' "$E2E_TMP/out" "$E2E_TMP/err" | head -20; fi
}
# expect_grep FILE PATTERN DESCRIPTION (fixed string)
expect_grep() {
  if grep -qF -- "$2" "$1"; then ok "$3"; else fail "$3: '$2' not in output"; sed 's/^/    /' "$1" | head -20; fi
}
# gate_init SRV WORK: a bare repository SRV gated by bpgate-receive (alice the bootstrap
# principal, acme/make-scenarios) and a working copy WORK (cwd after the call) with the
# regulated pack's policy and contracts in .bpgate/; add files, then gate_bootstrap
gate_init() {
  printf 'alice alice\nalice@example.com alice\n' > "$E2E_TMP/users"
  git init -q --bare "$1"
  git -C "$1" symbolic-ref HEAD refs/heads/main
  git -C "$1" config bpgate.users "$E2E_TMP/users"
  git -C "$1" config bpgate.repository acme/make-scenarios
  git -C "$1" config bpgate.bootstrap true
  git -C "$1" config bpgate.bootstrapPrincipal alice
  ln -s "$BPG_BUILD_ROOT/server/bpgate-receive" "$1/hooks/pre-receive"
  git init -q "$2"; cd "$2"
  git config bpgate.repository acme/make-scenarios
  git config user.name Alice; git config user.email alice@example.com
  mkdir -p .bpgate
  cp "$BPG_SOURCE_ROOT/policy/packs/regulated/policy.json" .bpgate/policy.json
  cp -r "$BPG_SOURCE_ROOT/policy/packs/regulated/contracts" .bpgate/contracts
}
# gate_bootstrap SRV: commit what is there as main, push main and dev while bootstrapping,
# end the bootstrap, check out dev
gate_bootstrap() {
  git add -A && git commit -qm "Govern this repository"
  git remote add origin "$1"; git branch dev
  expect_exit 0 "bootstrap push" -- env BPGATE_USER=alice git push -q origin main dev
  git -C "$1" config --unset bpgate.bootstrap
  git checkout -q dev
}
finish() {
  echo "$E2E_PASSED passed, $E2E_FAILED failed"
  [ "$E2E_FAILED" -eq 0 ]
}
