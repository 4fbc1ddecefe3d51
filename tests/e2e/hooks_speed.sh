#!/usr/bin/env bash
# End-to-end: what makes the client hooks fast (#20) changes nothing they decide.
# - the hooks do not load libcurl (only the Make API client opens it, on first use);
# - libgit2's set-up does not read the system CA bundle (bpgate never uses libgit2 for HTTPS);
# - policy tests (.bpgate/tests) that loaded cleanly are not parsed again: the record
#   .git/bpgate-policy-tests.ok is the digest of their bytes, so an edited, broken or
#   forged one still refuses exactly as before, with the same messages.
source "$(dirname "$0")/lib.sh"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
repo="$E2E_TMP/repo"
git init -q "$repo"; cd "$repo"
bpgate init >/dev/null 2>&1 || fail "bpgate init"
git add .bpgate && git commit -qm "Govern this repository" --no-verify
git checkout -q -b dev
mkdir -p scenarios/crm-contact-sync tests/fixtures/a
cp "$pack/blueprints/crm-contact-sync.good.blueprint.json" scenarios/crm-contact-sync/a.blueprint.json
printf '{"customer": {"email": "user1@example.com"}}\n' > tests/fixtures/a/c.json
git add -A
printf 'change\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$E2E_TMP/msg"
record=.git/bpgate-policy-tests.ok

# libcurl and its libraries are not loaded by a hook
LD_DEBUG=libs bpgate hook pre-commit >/dev/null 2>"$E2E_TMP/libs" || fail "pre-commit with LD_DEBUG=libs"
if grep -q "libcurl" "$E2E_TMP/libs"; then fail "the pre-commit hook loads libcurl"; grep libcurl "$E2E_TMP/libs" | head -3
else ok "the pre-commit hook does not load libcurl"; fi
grep -q "libc\.so" "$E2E_TMP/libs" && ok "(LD_DEBUG=libs lists what is loaded: libc is)" || fail "LD_DEBUG=libs shows nothing"

# libgit2's set-up does not read the CA bundle (needs strace to see it)
if command -v strace >/dev/null; then
  # (LeakSanitizer cannot run under a tracer: no leak check in this one run)
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -e trace=open,openat -o "$E2E_TMP/trace" bpgate hook pre-commit >/dev/null 2>&1 || fail "pre-commit under strace"
  grep -q "policy.json" "$E2E_TMP/trace" || fail "strace saw no open of policy.json"
  if grep -q "ca-certificates\|/etc/ssl/certs" "$E2E_TMP/trace"; then fail "the pre-commit hook reads the CA bundle"
  else ok "the pre-commit hook does not read the CA bundle"; fi
  # the gate too: bpgate-receive never speaks HTTPS through libgit2 either
  git init -q --bare "$E2E_TMP/gate.git"
  (cd "$E2E_TMP/gate.git" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" GIT_DIR=. \
    strace -f -e trace=open,openat -o "$E2E_TMP/trace-gate" bpgate-receive < /dev/null >/dev/null 2>&1) || true
  grep -q "gate.git" "$E2E_TMP/trace-gate" || fail "strace saw bpgate-receive open no repository"
  if grep -q "ca-certificates\|/etc/ssl/certs" "$E2E_TMP/trace-gate"; then fail "bpgate-receive reads the CA bundle"
  else ok "bpgate-receive does not read the CA bundle"; fi
else
  ok "strace is not installed: the CA bundle check is skipped"
fi

# the record: written after a clean load, and only then
rm -f "$record"
expect_exit 0 "pre-commit accepts the staged change (no record yet)" -- bpgate hook pre-commit
[ -f "$record" ] && grep -qE '^bpgate policy tests v1 [0-9a-f]{64}$' "$record" &&
  ok "a clean load records the digest of the policy tests" || fail "no record after a clean load"
cp "$record" "$E2E_TMP/good.record"
expect_exit 0 "pre-commit accepts it again (tests known good)" -- bpgate hook pre-commit
expect_exit 0 "commit-msg accepts the message (tests known good)" -- bpgate hook commit-msg "$E2E_TMP/msg"
cmp -s "$record" "$E2E_TMP/good.record" && ok "the record is stable" || fail "the record changed with nothing changed"

# a broken test file refuses, whatever the record says, with the message of a load without one
tests=(.bpgate/tests/*.json); t=${tests[0]}
cp "$t" "$E2E_TMP/test.bak"
printf '{"name": 1}\n' > "$t"
expect_exit 2 "a broken policy test refuses the commit although a record exists" -- bpgate hook pre-commit
cp "$E2E_TMP/err" "$E2E_TMP/err.warm"
expect_grep "$E2E_TMP/err" "the policy in .bpgate/ does not load" "says the policy does not load"
expect_grep "$E2E_TMP/err" "$t" "names the broken test file"
cmp -s "$record" "$E2E_TMP/good.record" && ok "a failed load leaves the record alone" || fail "record rewritten by a failed load"
rm -f "$record"
expect_exit 2 "the same refusal without a record" -- bpgate hook pre-commit
cmp -s "$E2E_TMP/err" "$E2E_TMP/err.warm" && ok "the same messages with or without a record" ||
  { fail "messages differ with a record"; diff "$E2E_TMP/err.warm" "$E2E_TMP/err" | head; }
[ -f "$record" ] && fail "a failed load wrote a record" || ok "a failed load writes no record"

# a forged record (any digest but the right one) changes nothing
printf 'bpgate policy tests v1 %064d\n' 0 > "$record"
expect_exit 2 "a forged record does not hide a broken test" -- bpgate hook commit-msg "$E2E_TMP/msg"
expect_grep "$E2E_TMP/err" "$t" "commit-msg names the broken test file too"
# the good record for other bytes: the record is per content, not per repository
cp "$E2E_TMP/good.record" "$record"
expect_exit 2 "the record of the valid tests does not cover an edited test" -- bpgate hook pre-commit

# repaired: accepted again, and recorded again
cp "$E2E_TMP/test.bak" "$t"
expect_exit 0 "the repaired test loads and the change is accepted" -- bpgate hook pre-commit
cmp -s "$record" "$E2E_TMP/good.record" && ok "the same bytes give the same record" || fail "record differs for the same bytes"

# a finding reads the same with the tests known good as with a cold load
printf '{"customer": {"email": "jane.doe@gmail.com", "phone": "+44 7700 900123"}}\n' > tests/fixtures/a/c.json
git add -A
expect_exit 1 "personal data in a fixture is refused (tests known good)" -- bpgate hook pre-commit
cp "$E2E_TMP/err" "$E2E_TMP/find.warm"
rm -f "$record"
expect_exit 1 "personal data in a fixture is refused (cold load)" -- bpgate hook pre-commit
cmp -s "$E2E_TMP/err" "$E2E_TMP/find.warm" && ok "the same findings, word for word" ||
  { fail "findings differ"; diff "$E2E_TMP/find.warm" "$E2E_TMP/err" | head; }
finish
