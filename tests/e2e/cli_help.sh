#!/usr/bin/env bash
# --help and -h on every command and subcommand of bpgate, bpgate-receive and bpgated
# (issue #18, docs): usage plus the options on stdout, exit 0, nothing run (no repository
# needed, no side effect); a bad option prints the usage on stderr and exits 2.
# The commands are read from bpgate's command table (hooks/bpgate.c), the subcommands from
# each command's own --help ("subcommands:"), so a new command is covered without editing
# this file.
source "$(dirname "$0")/lib.sh"
src=${BPG_SOURCE_ROOT:?run through meson test}

mapfile -t cmds < <(sed -n 's/^[[:space:]]*{ "\([a-z][a-z-]*\)", cmd_[a-z_]*,.*/\1/p' "$src/hooks/bpgate.c")
[ "${#cmds[@]}" -ge 20 ] && ok "the command table lists ${#cmds[@]} commands" \
  || fail "the command table of hooks/bpgate.c was not read (${#cmds[@]} commands)"

# Outside any repository: --help must not need one.
mkdir -p "$E2E_TMP/norepo"; cd "$E2E_TMP/norepo"
export GIT_CEILING_DIRECTORIES="$E2E_TMP"

# help_ok DESCRIPTION -- command...: exit 0, "usage:" first on stdout, an options or
# subcommands section, nothing on stderr
help_ok() {
  local what=$1; shift 2
  local got=0
  "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" </dev/null || got=$?
  if [ "$got" -ne 0 ]; then fail "$what: exit $got"; sed 's/^/    /' "$E2E_TMP/out" "$E2E_TMP/err" | head -5; return; fi
  if ! head -1 "$E2E_TMP/out" | grep -q '^usage: '; then fail "$what: stdout does not start with usage:"; head -3 "$E2E_TMP/out" | sed 's/^/    /'; return; fi
  if ! grep -qE '^(options|subcommands)[^:]*:|^  -' "$E2E_TMP/out"; then fail "$what: no options listed"; return; fi
  if [ -s "$E2E_TMP/err" ]; then fail "$what: wrote to stderr"; head -3 "$E2E_TMP/err" | sed 's/^/    /'; return; fi
  ok "$what"
}
# usage_err DESCRIPTION -- command...: exit 2, "usage:" on stderr
usage_err() {
  local what=$1; shift 2
  local got=0
  "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" </dev/null || got=$?
  if [ "$got" -eq 2 ] && grep -q '^usage: ' "$E2E_TMP/err"; then ok "$what"; else
    fail "$what: exit $got, usage on stderr: $(grep -c '^usage: ' "$E2E_TMP/err")"; sed 's/^/    /' "$E2E_TMP/err" | head -5; fi
}

subs_of() { # the subcommands a command's --help lists
  sed -n '/^subcommands:/,/^$/p' "$1" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'
}

nsub=0
for c in "${cmds[@]}"; do
  help_ok "bpgate $c --help" -- bpgate "$c" --help
  cp "$E2E_TMP/out" "$E2E_TMP/help-$c"
  help_ok "bpgate $c -h" -- bpgate "$c" -h
  usage_err "bpgate $c --no-such-option: usage on stderr, exit 2" -- bpgate "$c" --no-such-option
  for s in $(subs_of "$E2E_TMP/help-$c"); do
    nsub=$((nsub + 1))
    help_ok "bpgate $c $s --help" -- bpgate "$c" "$s" --help
    expect_grep "$E2E_TMP/out" "usage: bpgate $c $s" "bpgate $c $s --help is the subcommand's own usage"
    help_ok "bpgate $c $s -h" -- bpgate "$c" "$s" -h
    usage_err "bpgate $c $s --no-such-option: usage on stderr, exit 2" -- bpgate "$c" "$s" --no-such-option
  done
done
[ "$nsub" -ge 20 ] && ok "$nsub subcommands asked for their help" || fail "only $nsub subcommands found"

# The help of a subcommand comes after its options too, and never runs the command.
help_ok "bpgate approve HEAD --for prod --help" -- bpgate approve HEAD --for prod --help
if grep -q 'usage: usage:' "$E2E_TMP/out"; then fail "approve --help says usage: usage:"; else ok "approve --help says usage: once"; fi
usage_err "bpgate approve without arguments" -- bpgate approve
if grep -q 'usage: usage:' "$E2E_TMP/err"; then fail "approve's usage error says usage: usage:"; else ok "approve's usage error says usage: once"; fi

# --help runs nothing: `diff --setup --help` does not configure git, `hook ... --help` judges nothing
git init -q "$E2E_TMP/r"; cd "$E2E_TMP/r"
help_ok "bpgate diff --setup --help in a repository" -- bpgate diff --setup --help
if git config --get diff.bpgate.command >/dev/null || git config --get-regexp '^diff\.' >/dev/null; then
  fail "diff --setup --help changed the git configuration"; else ok "diff --setup --help changed nothing"; fi
usage_err "bpgate diff --setup --bogus" -- bpgate diff --setup --bogus
help_ok "bpgate hook pre-commit --help in a repository without a policy" -- bpgate hook pre-commit --help
cd "$E2E_TMP/norepo"
help_ok "bpgate --help" -- bpgate --help
help_ok "bpgate -h" -- bpgate -h
usage_err "bpgate version --bogus" -- bpgate version --bogus

# --- bpgate-receive and bpgated -------------------------------------------------------------
for p in bpgate-receive bpgated; do
  for h in --help -h; do
    expect_exit 0 "$p $h exits 0" -- "$p" "$h"
    expect_grep "$E2E_TMP/out" "usage: $p" "$p $h prints the usage on stdout"
    expect_grep "$E2E_TMP/out" "--version" "$p $h lists its options"
  done
  expect_exit 0 "$p --version exits 0" -- "$p" --version
  if grep -qE "^$p [0-9]+\.[0-9]+" "$E2E_TMP/out" && [ ! -s "$E2E_TMP/err" ]; then ok "$p --version prints the version"; else
    fail "$p --version: $(head -c 200 "$E2E_TMP/out" "$E2E_TMP/err")"; fi
  usage_err "$p --no-such-option" -- "$p" --no-such-option
done
# bpgate-receive --version must not run as a hook (it used to read stdin and say "push refused")
git init -q --bare "$E2E_TMP/bare.git"; cd "$E2E_TMP/bare.git"
expect_exit 0 "bpgate-receive --version inside a repository" -- env GIT_DIR=. bpgate-receive --version
if grep -qi "refused" "$E2E_TMP/out" "$E2E_TMP/err"; then fail "bpgate-receive --version judged a push"; else ok "bpgate-receive --version judges nothing"; fi
usage_err "bpgate-receive --users (no value)" -- env GIT_DIR=. bpgate-receive --users
finish
