#!/usr/bin/env bash
# End-to-end: one process per commit (#20).
# - `bpgate init` / `bpgate install` put commit-msg and pre-push in place, as symlinks to
#   bpgate-hook beside the bpgate binary (bpgate linked statically where the build can, else
#   linked again; argv[0] names the hook: no shell between git and bpgate); it runs the hooks
#   and nothing else; pre-commit only
#   with --early-check; a hook that was there before is chained by the script, as before.
# - commit-msg judges the staged content in full (scanner, blueprint rules): a secret refused
#   by pre-commit before is refused by commit-msg with the same finding, byte for byte, for the
#   index git commits (`commit -a`, `commit PATH`), and the message is kept.
# - `bpgate install --uninstall` removes our symlinks and puts back what was there.
source "$(dirname "$0")/lib.sh"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
bin=$(command -v bpgate)
hookbin=$(dirname "$(readlink -f "$bin")")/bpgate-hook
[ -x "$hookbin" ] && ok "bpgate-hook is built beside bpgate" || fail "no $hookbin"
repo="$E2E_TMP/repo"
git init -q "$repo"; cd "$repo"
hooks=.git/hooks

expect_exit 0 "bpgate init" -- bpgate init
expect_grep "$E2E_TMP/out" "installed commit-msg" "init installs commit-msg"
expect_grep "$E2E_TMP/out" "installed pre-push" "init installs pre-push"
[ -e $hooks/pre-commit ] && fail "init installed pre-commit (the early check is opt-in)" || ok "no pre-commit hook by default"
for h in commit-msg pre-push; do
  if [ -L $hooks/$h ] && [ "$(readlink $hooks/$h)" = "$hookbin" ]; then ok "$h is a symlink to bpgate-hook"
  else fail "$h is not a symlink to $hookbin: $(ls -l $hooks/$h)"; fi
done
# a bpgate-hook of another version beside bpgate is not used: the hooks run bpgate itself
alt="$E2E_TMP/alt-bin"; mkdir -p "$alt"; cp "$(readlink -f "$bin")" "$alt/bpgate"
printf '#!/bin/sh\necho "bpgate 0.0.1-stale"\n' > "$alt/bpgate-hook"; chmod +x "$alt/bpgate-hook"
if "$alt/bpgate" --version >/dev/null 2>&1; then
  git init -q "$E2E_TMP/alt-repo"
  (cd "$E2E_TMP/alt-repo" && "$alt/bpgate" install >/dev/null 2>"$E2E_TMP/alt.err") || fail "install with a stale bpgate-hook beside"
  [ "$(readlink "$E2E_TMP/alt-repo/.git/hooks/commit-msg")" = "$alt/bpgate" ] &&
    ok "a bpgate-hook of another version is not linked: the hooks run bpgate" ||
    fail "the hooks link to $(readlink "$E2E_TMP/alt-repo/.git/hooks/commit-msg")"
  grep -q "is not bpgate" "$E2E_TMP/alt.err" && ok "install says why" || fail "install did not say why: $(cat "$E2E_TMP/alt.err")"
else
  ok "bpgate cannot run from another folder in this build (shared libraries): the stale bpgate-hook check is skipped"
fi
# bpgate-hook runs the hooks only (the Make commands dlopen libcurl, which a static program cannot)
expect_exit 2 "bpgate-hook refuses another command" -- "$hookbin" status
expect_grep "$E2E_TMP/err" "bpgate-hook runs only the git hooks" "bpgate-hook says what it runs"
expect_exit 0 "bpgate-hook --version" -- "$hookbin" --version
# static where the build can (release builds; never under the sanitizers): no dynamic loader
if [ "${BPG_HOOK_STATIC:-0}" = 1 ]; then
  file -L "$hookbin" | grep -q "static-pie linked" && ok "bpgate-hook is a static PIE" ||
    fail "bpgate-hook is not statically linked: $(file -L "$hookbin")"
else
  ok "bpgate-hook is bpgate linked again in this build (sanitizers, or a library without its archive): the static link is not checked"
fi
git add .bpgate && git commit -qm "Govern this repository" --no-verify && git checkout -q -b dev

# the hook process maps no SSH, OpenSSL or Kerberos library (libgit2 linked statically without
# them: hooks/git2_nonet.c; BPG_LIBGIT2_STATIC comes from the build, tests/meson.build)
LD_DEBUG=libs "$bin" hook pre-commit >/dev/null 2>"$E2E_TMP/libs" || fail "pre-commit with LD_DEBUG=libs"
grep -q "calling init: .*libc\.so" "$E2E_TMP/libs" || fail "LD_DEBUG=libs shows nothing"
if [ "${BPG_LIBGIT2_STATIC:-0}" = 1 ]; then
  if grep -E "calling init: .*(libgit2|libssh2|libcrypto\.so|libgssapi|libkrb5|libmbed)" "$E2E_TMP/libs" | head -3 | grep .; then
    fail "the hook process loads libgit2.so or its SSH/Kerberos libraries"
  else ok "the hook process loads neither libgit2.so nor libssh2, libcrypto, GSSAPI, Kerberos or mbedTLS"; fi
  nm "$(readlink -f "$bin")" > "$E2E_TMP/nm" 2>/dev/null || true
  grep -q " T libssh2_session_init_ex$" "$E2E_TMP/nm" &&
    ok "libssh2's entry points are bpgate's closed stubs" || fail "libssh2_session_init_ex is not the stub"
else
  ok "built with the shared libgit2 (-Dlibgit2_static=disabled): the library check is skipped"
fi

printf 'fixture\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$E2E_TMP/msg"
mkdir -p tests/fixtures
printf '{"customer": {"email": "jane.doe@example.com"}}\n' > tests/fixtures/a.json
git add tests
expect_exit 0 "a clean commit passes through the commit-msg symlink" -- git commit -q -F "$E2E_TMP/msg"
[ -z "$(cat "$E2E_TMP/err")" ] && ok "an accepted commit is quiet" || fail "accepted commit printed: $(cat "$E2E_TMP/err")"

# one process per commit: git runs one hook, bpgate itself, no shell (strace sees every exec)
printf '{"customer": {"email": "jane.doe@example.com", "n": 1}}\n' > tests/fixtures/a.json
git add tests
if command -v strace >/dev/null; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -e trace=execve -o "$E2E_TMP/exec" git commit -q -F "$E2E_TMP/msg" >/dev/null 2>&1 || fail "commit under strace"
  grep -v ' = -1 ' "$E2E_TMP/exec" | grep 'execve(' | sed 's/^[0-9]* *//' > "$E2E_TMP/execs"
  n=$(grep -c 'hooks/' "$E2E_TMP/execs" || true)
  [ "$n" = 1 ] && grep -q "execve(\"$hooks/commit-msg\"\|execve(\"[^\"]*/$hooks/commit-msg\"" "$E2E_TMP/execs" &&
    ok "one hook process per commit: commit-msg" || { fail "hook processes: $n"; cat "$E2E_TMP/execs"; }
  grep -q 'execve("/bin/sh\|execve("/usr/bin/sh\|execve("/bin/dash' "$E2E_TMP/execs" &&
    { fail "a shell runs in a commit"; cat "$E2E_TMP/execs"; } || ok "no shell between git and bpgate"
else
  git commit -q -F "$E2E_TMP/msg"
  ok "strace is not installed: the exec count is skipped"
fi

# a secret in a staged fixture: commit-msg refuses it, with pre-commit's finding, byte for byte
printf '{"customer": {"email": "jane.doe@gmail.com", "phone": "+44 7700 900123"}}\n' > tests/fixtures/a.json
git add tests
expect_exit 1 "bpgate hook pre-commit refuses the staged personal data" -- bpgate hook pre-commit
grep -v '^refused:' "$E2E_TMP/err" > "$E2E_TMP/pre.findings"
expect_exit 1 "bpgate hook commit-msg refuses the staged personal data (pre-commit not installed)" -- \
  bpgate hook commit-msg "$E2E_TMP/msg"
grep -v '^refused:\|^bpgate commit-msg: your message is kept' "$E2E_TMP/err" > "$E2E_TMP/msg.findings"
cmp -s "$E2E_TMP/pre.findings" "$E2E_TMP/msg.findings" && ok "the same findings as pre-commit, byte for byte" ||
  { fail "findings differ"; diff "$E2E_TMP/pre.findings" "$E2E_TMP/msg.findings" | head; }
expect_grep "$E2E_TMP/err" "tests/fixtures/a.json:1:25 #/customer/email: error [scan-findings]: EMAIL found (ja********om)" "the finding is located and masked"
# what git runs (bpgate-hook, static in release builds, with its own pcre2) uses the patterns
# the build compiled: a test flag refuses any pattern it would have to compile again
BPGATE_TEST_FLAGS=scan-precompiled-required expect_exit 1 "bpgate-hook with the embedded patterns only" -- \
  "$hooks/commit-msg" "$E2E_TMP/msg"
expect_grep "$E2E_TMP/err" "EMAIL found (ja********om)" "bpgate-hook finds it with the embedded patterns"
if grep -q "not usable with this pcre2" "$E2E_TMP/err"; then fail "bpgate-hook cannot use the embedded patterns"
else ok "bpgate-hook decodes the embedded patterns"; fi

printf 'Add the customer fixture\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$E2E_TMP/msg2"
head=$(git rev-parse HEAD)
expect_exit 1 "git commit refuses the staged personal data (commit-msg)" -- git commit -q -F "$E2E_TMP/msg2"
expect_grep "$E2E_TMP/err" "EMAIL found (ja********om)" "git commit names the finding"
expect_grep "$E2E_TMP/err" 'your message is kept; once fixed, commit it again with git commit -e -F "$(git rev-parse --git-path COMMIT_EDITMSG)"' "says how to reuse the message"
[ "$(git rev-parse HEAD)" = "$head" ] && ok "nothing was committed" || fail "a commit was made"
cmp -s "$(git rev-parse --git-path COMMIT_EDITMSG)" "$E2E_TMP/msg2" && ok "the message is kept in COMMIT_EDITMSG" ||
  fail "COMMIT_EDITMSG does not hold the message"
if grep -q "jane.doe@gmail.com" "$E2E_TMP/err"; then fail "the whole value was printed"; else ok "the whole value is never printed"; fi

# the index git commits: `commit -a` (the work tree) and `commit PATH` (only PATH)
printf '{"customer": {"email": "jane.doe@example.com"}}\n' > tests/fixtures/a.json
git add tests
printf '{"customer": {"email": "john.roe@gmail.com"}}\n' > tests/fixtures/a.json   # not staged
expect_exit 1 "commit -a: the work tree's personal data is refused" -- git commit -qa -F "$E2E_TMP/msg2"
expect_grep "$E2E_TMP/err" "EMAIL found (jo********om)" "commit -a: the finding of the work tree's file"
git add tests   # staged now; commit only another path
printf '{"note": "synthetic"}\n' > tests/fixtures/b.json
git add tests/fixtures/b.json
printf '{"note": "synthetic, 2"}\n' > tests/fixtures/b.json
expect_exit 0 "commit PATH: only PATH is judged (the staged personal data elsewhere is not committed)" -- \
  git commit -q -F "$E2E_TMP/msg2" tests/fixtures/b.json
git show --stat HEAD | grep -q "tests/fixtures/a.json" && fail "a.json was committed" || ok "commit PATH committed only PATH"
expect_exit 1 "the personal data still staged is refused at the next commit" -- git commit -q -F "$E2E_TMP/msg2"
git checkout -q HEAD -- tests/fixtures/a.json

# the early check: pre-commit on request, a symlink too; a plain install removes it again
expect_exit 0 "install --early-check" -- bpgate install --early-check
[ -L $hooks/pre-commit ] && [ "$(readlink $hooks/pre-commit)" = "$hookbin" ] &&
  ok "--early-check installs pre-commit as a symlink" || fail "no pre-commit symlink after --early-check"
printf '{"customer": {"email": "jane.doe@gmail.com"}}\n' > tests/fixtures/a.json
git add tests
expect_exit 1 "with the early check, the staged personal data is refused" -- git commit -q -F "$E2E_TMP/msg2"
expect_grep "$E2E_TMP/err" "EMAIL found (ja********om)" "names the finding"
if grep -q "your message is kept" "$E2E_TMP/err"; then fail "commit-msg ran after pre-commit refused"
else ok "refused before the message (pre-commit)"; fi
git checkout -q HEAD -- tests/fixtures/a.json
expect_exit 0 "a plain install goes back to one hook per commit" -- bpgate install
expect_grep "$E2E_TMP/out" "removed pre-commit" "says it removed the early check"
[ -e $hooks/pre-commit ] && fail "pre-commit still installed" || ok "pre-commit removed"

# a hook that was there before: chained by the script (no symlink), and a foreign pre-commit is left alone
printf '#!/bin/sh\necho "$1" >> "%s/chained.log"\n' "$E2E_TMP" > $hooks/commit-msg.mine
chmod +x $hooks/commit-msg.mine
rm $hooks/commit-msg; mv $hooks/commit-msg.mine $hooks/commit-msg
printf '#!/bin/sh\necho pre >> "%s/pre.log"\n' "$E2E_TMP" > $hooks/pre-commit; chmod +x $hooks/pre-commit
cp $hooks/pre-commit "$E2E_TMP/pre-commit.mine"
expect_exit 0 "install over an existing commit-msg hook" -- bpgate install
expect_grep "$E2E_TMP/out" "kept the existing commit-msg hook as commit-msg.pre-bpgate" "the existing hook is kept"
[ ! -L $hooks/commit-msg ] && grep -q "bpgate-hook" $hooks/commit-msg && ok "chaining needs the script: commit-msg is the script" ||
  fail "commit-msg is not the chaining script"
cmp -s $hooks/pre-commit "$E2E_TMP/pre-commit.mine" && ok "a foreign pre-commit is left alone" || fail "the foreign pre-commit changed"
printf '{"customer": {"email": "jane.doe@gmail.com"}}\n' > tests/fixtures/a.json
git add tests
expect_exit 1 "the chained commit-msg still refuses the staged personal data" -- git commit -q -F "$E2E_TMP/msg2"
expect_grep "$E2E_TMP/err" "EMAIL found (ja********om)" "names the finding (chained)"
[ -s "$E2E_TMP/chained.log" ] && ok "the previous commit-msg ran first" || fail "the previous commit-msg did not run"
git checkout -q HEAD -- tests/fixtures/a.json

# uninstall: our symlink and script go, what was there comes back; a foreign symlink stays
ln -s /bin/true $hooks/post-commit
expect_exit 0 "install --uninstall" -- bpgate install --uninstall
expect_grep "$E2E_TMP/out" "removed commit-msg" "commit-msg removed"
expect_grep "$E2E_TMP/out" "removed pre-push" "pre-push (a symlink) removed"
[ -e $hooks/pre-push ] || [ -L $hooks/pre-push ] && fail "the pre-push symlink is still there" || ok "no pre-push left"
[ ! -L $hooks/commit-msg ] && grep -q chained $hooks/commit-msg && ! grep -q bpgate-hook $hooks/commit-msg &&
  ok "the previous commit-msg is restored" || fail "the previous commit-msg is not restored"
[ -e $hooks/commit-msg.pre-bpgate ] && fail "commit-msg.pre-bpgate left behind" || ok "nothing left as .pre-bpgate"
cmp -s $hooks/pre-commit "$E2E_TMP/pre-commit.mine" && ok "the foreign pre-commit is still there" || fail "the foreign pre-commit was touched"
[ -L $hooks/post-commit ] && ok "a symlink that is not bpgate is not ours" || fail "uninstall removed a foreign symlink"
rm $hooks/post-commit $hooks/pre-commit

# installed again after the uninstall: symlinks again (nothing to chain but the restored commit-msg)
rm $hooks/commit-msg
expect_exit 0 "install again" -- bpgate install
[ -L $hooks/commit-msg ] && [ -L $hooks/pre-push ] && ok "symlinks again" || fail "not symlinks after a reinstall"

# the policy tests are not read again while unchanged: .git/bpgate-policy-tests.ok.stat maps their
# paths and stat data (ctime included) to the digest of their bytes, written only for files
# older than 2 s (a file rewritten within one time stamp tick keeps its stat data otherwise)
msg3="$E2E_TMP/msg3"; printf 'x\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$msg3"
statrec=.git/bpgate-policy-tests.ok.stat
rm -f $statrec .git/bpgate-policy-tests.ok
# changed "in an hour": never settled, however long the hook takes to start
touch -d "@$(( $(date +%s) + 3600 ))" .bpgate/tests/*.json
expect_exit 0 "commit-msg loads the policy (tests just changed)" -- bpgate hook commit-msg "$msg3"
[ -e $statrec ] && fail "a stat record for files changed just now" || ok "no stat record for files changed less than 2 s ago"
touch -d "@$(( $(date +%s) - 60 ))" .bpgate/tests/*.json   # mtime in the past; the ctime is now
sleep 3   # the ctime settles: at least 3 s pass, whatever the machine's speed (a clock condition)
expect_exit 0 "commit-msg (tests settled)" -- bpgate hook commit-msg "$msg3"
grep -qE '^bpgate policy tests stat v1 [0-9a-f]{64} [0-9a-f]{64}$' $statrec && ok "the stat record is written" ||
  fail "no stat record after a clean load of settled files"
if command -v strace >/dev/null; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -e trace=open,openat -o "$E2E_TMP/open" bpgate hook commit-msg "$msg3" >/dev/null 2>&1 || fail "commit-msg under strace"
  grep -q "policy.json" "$E2E_TMP/open" || fail "strace saw no open of policy.json"
  grep -q ".bpgate/tests/" "$E2E_TMP/open" && fail "unchanged policy tests were read again" ||
    ok "unchanged policy tests are not read again (stat record)"
fi
# a same-size edit with the old mtime put back: ctime still moves, so the edit is seen
tests=(.bpgate/tests/*.json); t=${tests[0]}
cp -p "$t" "$E2E_TMP/t.bak"
{ printf '['; tail -c +2 "$E2E_TMP/t.bak"; } > "$t"; touch -r "$E2E_TMP/t.bak" "$t"
[ "$(stat -c %s "$t")" = "$(stat -c %s "$E2E_TMP/t.bak")" ] || fail "the edit changed the size"
expect_exit 2 "a same-size edit with the mtime put back is still seen: the broken test refuses" -- \
  bpgate hook commit-msg "$msg3"
expect_grep "$E2E_TMP/err" "$t" "names the broken test file"
cp -p "$E2E_TMP/t.bak" "$t"
expect_exit 0 "restored: accepted again" -- bpgate hook commit-msg "$msg3"
finish
