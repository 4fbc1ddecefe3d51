#!/usr/bin/env bash
# End-to-end: the client hook's "what this change adds" cannot be talked round by
# .gitattributes (#20). The scanner counts a finding in a modified file only on the lines
# the change adds; those lines came from libgit2's blob diff, which honours a `diff`
# attribute: with `* -diff` or `* binary` in .gitattributes the diff had no lines, so a
# committer's new e-mail address in a fixture counted as not added and the commit passed.
# The line diff now compares the two sides' bytes without the repository's attributes.
# Real commits through the hooks `bpgate init` installs.
source "$(dirname "$0")/lib.sh"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
repo="$E2E_TMP/repo"
git init -q "$repo"; cd "$repo"
bpgate init >/dev/null 2>&1 || fail "bpgate init"
git add .bpgate && git commit -qm "Govern this repository" --no-verify && git checkout -q -b dev
msg="$E2E_TMP/msg"
printf 'fixture\n\nPurpose: p\nRisk: high\nTest-Plan: t\nRollback: r\nUAT-Evidence: u\n' > "$msg"
mkdir -p tests/fixtures
printf '{"customer": {"note": "hello"}}\n' > tests/fixtures/a.json
git add tests
expect_exit 0 "a clean fixture is committed" -- git commit -q -F "$msg"

for attr in '* -diff' '* binary' 'tests/** -diff'; do
  printf '%s\n' "$attr" > .gitattributes
  printf '{"customer": {"note": "hello", "email": "jane.doe@acme-health.org"}}\n' > tests/fixtures/a.json
  git add -A
  expect_exit 1 "with '$attr' in .gitattributes, a new e-mail address in a modified fixture is refused" -- \
    git commit -q -F "$msg"
  expect_grep "$E2E_TMP/err" "EMAIL found" "the finding is named ('$attr')"
  git checkout -q -- tests/fixtures/a.json 2>/dev/null || git reset -q --hard
  rm -f .gitattributes; git reset -q
done

# the added-lines rule still holds: a finding already there, on a line the change does not
# touch, is not this change's (committed past the hook, as history can hold one)
printf '{"customer": {\n  "email": "jane.doe@acme-health.org",\n  "note": "hello"\n}}\n' > tests/fixtures/b.json
git add tests/fixtures/b.json && git commit -qm "history holds one" --no-verify
printf '{"customer": {\n  "email": "jane.doe@acme-health.org",\n  "note": "hello again"\n}}\n' > tests/fixtures/b.json
git add tests/fixtures/b.json
expect_exit 0 "a change beside a finding it did not add is accepted" -- git commit -q -F "$msg"
printf '{"customer": {\n  "email": "jane.doe@acme-health.org",\n  "note": "hello again",\n  "phone": "+44 20 7946 0321",\n  "backup": "john.smith@acme-health.org"\n}}\n' > tests/fixtures/b.json
git add tests/fixtures/b.json
expect_exit 1 "a finding on an added line is refused" -- git commit -q -F "$msg"
expect_grep "$E2E_TMP/err" "joh" "the added address is the one named"
if grep -q "jan\*" "$E2E_TMP/err"; then fail "the address on the unchanged line is named too"
else ok "the address on the unchanged line is not this change's"; fi
finish
