#!/usr/bin/env bash
# End-to-end: the client hook's "what this change adds" cannot be talked round (#20).
# The scanner counts a finding in a modified file only on the lines the change adds; those
# lines came from libgit2's blob diff, which honours a `diff` attribute and takes a side with
# a NUL byte for binary: with `* -diff` or `* binary` in .gitattributes, or when the old side
# was a binary file, the diff had no lines, so a committer's new e-mail address counted as not
# added and the commit passed. The line diff now compares the two sides' bytes as text,
# without the repository's attributes. Real commits through the hooks `bpgate init` installs;
# each attack starts from the same clean commit.
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

base=$(git rev-parse HEAD)
for attr in '* -diff' '* binary' 'tests/** -diff'; do
  printf '%s\n' "$attr" > .gitattributes
  printf '{"customer": {"note": "hello", "email": "jane.doe@acme-health.org"}}\n' > tests/fixtures/a.json
  git add -A
  expect_exit 1 "with '$attr' in .gitattributes, a new e-mail address in a modified fixture is refused" -- \
    git commit -q -F "$msg"
  expect_grep "$E2E_TMP/err" "EMAIL found" "the finding is named ('$attr')"
  git reset -q --hard "$base"; rm -f .gitattributes
done

# a file that was binary (a NUL byte: not scanned, the hook lets it in) replaced by text
# holding an address: the old side is binary, and its diff had no lines
printf 'blob\0\001\002 not text\n' > tests/fixtures/c.json
git add tests/fixtures/c.json
expect_exit 0 "a binary file is committed (binary files are not scanned)" -- git commit -q -F "$msg"
printf '{"customer": {"email": "jane.doe@acme-health.org"}}\n' > tests/fixtures/c.json
git add tests/fixtures/c.json
expect_exit 1 "a binary file replaced by text with a new e-mail address is refused" -- git commit -q -F "$msg"
expect_grep "$E2E_TMP/err" "EMAIL found" "the finding is named (binary old side)"
git reset -q --hard "$base"

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

# The gate runs the same code: the binary-then-text attack as two real pushes to
# bpgate-receive (the first push lands a binary file, the second replaces it with text
# holding an address), and the attributes one in a single push
export BPGATE_TIME=2025-06-04T10:30:00Z
srv="$E2E_TMP/server.git"
gate_init "$srv" "$E2E_TMP/work"
mkdir -p tests/fixtures; printf 'fixtures\n' > tests/fixtures/README.md
gate_bootstrap "$srv"
# push_file CODE WHAT FILE CONTENT: commit CONTENT as FILE (past the client hook) and push
# it to the gate, which must exit CODE
push_file() {
  printf "$4" > "$3"
  git add -A && git commit -q --no-verify -F "$msg"
  expect_exit "$1" "gate: $2" -- env BPGATE_USER=alice git push origin dev
}
push_file 0 "a push adding a binary file is accepted (binary files are not scanned)" \
  tests/fixtures/c.json 'blob\0\001\002 not text\n'
push_file 1 "a push replacing that binary file by text with an e-mail address is refused" \
  tests/fixtures/c.json '{"customer": {"email": "jane.doe@acme-health.org"}}\n'
expect_grep "$E2E_TMP/err" "EMAIL found" "gate: the finding is named (binary old side)"
git reset -q --hard origin/dev
printf '* -diff\n' > .gitattributes
push_file 0 "a clean fixture with '* -diff' in .gitattributes is accepted" \
  tests/fixtures/d.json '{"customer": {"note": "hello"}}\n'
push_file 1 "with '* -diff' in .gitattributes, a new e-mail address in a modified fixture is refused" \
  tests/fixtures/d.json '{"customer": {"note": "hello", "email": "john.smith@acme-health.org"}}\n'
expect_grep "$E2E_TMP/err" "EMAIL found" "gate: the finding is named ('* -diff')"
finish
