#!/usr/bin/env bash
# End-to-end: commands that must not mislead (issue #18, items 1-14, one
# section each). Each section says what it checks; each failed on the code
# before its fix (the commit message says how that was checked).
source "$(dirname "$0")/lib.sh"

# --- item 1: pending and status fetch what they report on -------------------------------------
# The server (a bare repository) has dev at tree T, a break-glass release
# record and an approval of T for stage under refs/bpgate/. A fresh clone has
# none of refs/bpgate/* (git clone does not fetch them) and no local dev.
git init -q -b main "$E2E_TMP/i1"; cd "$E2E_TMP/i1"
bpgate init >/dev/null; rm -f .git/hooks/pre-commit .git/hooks/commit-msg .git/hooks/pre-push
git add -A; git commit -qm "govern"
git checkout -q -b dev; echo change > x.txt; git add x.txt; git commit -qm change
T=$(git rev-parse 'HEAD^{tree}'); C=$(git rev-parse HEAD)
git init -q --bare -b main "$E2E_TMP/i1srv.git"   # a server's repository: no remote of its own
git push -q "$E2E_TMP/i1srv.git" main dev
rec=$(printf '{"kind":"break-glass","environment":"prod","new":"%s","tree":"%s","pusher":"grace","time":"2025-06-07T10:30:00Z","incident":"INC-1","scenarios":[]}' "$C" "$T" |
  git --git-dir="$E2E_TMP/i1srv.git" hash-object -w --stdin)
git --git-dir="$E2E_TMP/i1srv.git" update-ref "refs/bpgate/releases/prod/$C" "$rec"
git clone -q "$E2E_TMP/i1srv.git" "$E2E_TMP/i1clone"; cd "$E2E_TMP/i1clone"
[ -z "$(git for-each-ref refs/bpgate/ refs/heads/dev)" ] && [ "$(git branch --show-current)" = main ] &&
  ok "item 1: the clone has neither refs/bpgate/* nor a local dev" ||
  fail "item 1: the clone already has the refs"
BPGATE_TIME=2025-06-07T12:30:00Z expect_exit 1 "item 1: pending in a fresh clone fetches and lists the break-glass change" -- bpgate pending
expect_grep "$E2E_TMP/out" "prod  commit ${C:0:12}  tree ${T:0:12}  INC-1" "item 1: pending names the change it fetched"
[ -n "$(git for-each-ref "refs/bpgate/releases/prod/$C")" ] && ok "item 1: the release record is fetched" || fail "item 1: not fetched"
expect_exit 0 "item 1: status in the clone" -- bpgate status "$C"
expect_grep "$E2E_TMP/out" "dev    origin/dev         has this tree" "item 1: status reads origin/dev (no local dev)"
expect_grep "$E2E_TMP/out" "prod   origin/main        does not have this tree" "item 1: and origin/main for prod"
# the server cannot be reached: no answer, exit 2, saying why and what to do
git remote set-url origin "$E2E_TMP/gone.git"
expect_exit 2 "item 1: pending exits 2 when it cannot fetch" -- bpgate pending
expect_grep "$E2E_TMP/err" "bpgate pending: cannot fetch the approvals, release records and branches" "item 1: pending says it could not fetch"
expect_grep "$E2E_TMP/err" "pass --no-fetch to see what this clone has" "item 1: and names --no-fetch"
expect_exit 2 "item 1: status exits 2 when it cannot fetch" -- bpgate status "$C"
expect_grep "$E2E_TMP/err" "bpgate status: cannot fetch" "item 1: status says it could not fetch"
BPGATE_TIME=2025-06-07T12:30:00Z expect_exit 1 "item 1: pending --no-fetch reports what the clone has" -- bpgate pending --no-fetch
expect_grep "$E2E_TMP/err" "not fetched (--no-fetch)" "item 1: and says it did not fetch"
# the server's own repository (no remote): no fetch, as before (bpgated runs these there)
BPGATE_TIME=2025-06-07T12:30:00Z expect_exit 1 "item 1: pending --repo on the server's repository" -- bpgate pending --repo "$E2E_TMP/i1srv.git"
expect_exit 0 "item 1: status --repo on the server's repository" -- bpgate status --repo "$E2E_TMP/i1srv.git" "$C"
expect_grep "$E2E_TMP/out" "dev    dev                has this tree" "item 1: status reads the server's own dev"

finish
