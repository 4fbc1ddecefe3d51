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

# --- item 4: the allowed_signers template names the namespace approvals use --------------------
git init -q -b main "$E2E_TMP/i4"; cd "$E2E_TMP/i4"
bpgate init >/dev/null
expect_grep .bpgate/allowed_signers '# erin namespaces="git,bpgate-approval@v1" ssh-ed25519' "item 4: the template names bpgate-approval@v1"
expect_exit 0 "item 4: policy check passes the template" -- bpgate policy check
# a reviewer follows the template with a real key: an approval signed by it verifies
ssh-keygen -q -t ed25519 -N '' -C carol -f "$E2E_TMP/i4carol"
sed -n 's/^# erin \(namespaces="[^"]*"\) .*/carol \1/p' .bpgate/allowed_signers | tr -d '\n' > "$E2E_TMP/i4line"
echo " $(cut -d' ' -f1,2 "$E2E_TMP/i4carol.pub")" >> "$E2E_TMP/i4line"
cat "$E2E_TMP/i4line" >> .bpgate/allowed_signers
printf 'approval' > "$E2E_TMP/i4msg"
ssh-keygen -q -Y sign -f "$E2E_TMP/i4carol" -n bpgate-approval@v1 "$E2E_TMP/i4msg" 2>/dev/null
expect_exit 0 "item 4: a key added as the template says verifies for approvals (ssh-keygen -Y verify)" -- \
  ssh-keygen -Y verify -f .bpgate/allowed_signers -I carol -n bpgate-approval@v1 -s "$E2E_TMP/i4msg.sig" < "$E2E_TMP/i4msg"
# the old template's namespace, and a typo: flagged by policy check
echo "dave namespaces=\"git,bpgate-approval\" $(cut -d' ' -f1,2 "$E2E_TMP/i4carol.pub")" >> .bpgate/allowed_signers
echo "erin namespaces=\"bpgate-uat@v1,bpgate-aproval@v1\" $(cut -d' ' -f1,2 "$E2E_TMP/i4carol.pub")" >> .bpgate/allowed_signers
expect_exit 1 "item 4: policy check flags namespaces no bpgate verification uses" -- bpgate policy check
n=$(grep -c '^#' .bpgate/allowed_signers || true)
expect_grep "$E2E_TMP/out" ".bpgate/allowed_signers:$((n + 2)):22: namespaces= names 'bpgate-approval', which no bpgate verification uses (known: git, bpgate-approval@v1, bpgate-uat@v1, bpgate-health@v1): signatures of this key made for bpgate are refused; approvals use bpgate-approval@v1" \
  "item 4: names the file, line, column and the right namespace"
expect_grep "$E2E_TMP/out" ".bpgate/allowed_signers:$((n + 3)):32: namespaces= names 'bpgate-aproval@v1'" "item 4: flags a typo too"
expect_grep "$E2E_TMP/out" "2 problems in allowed_signers" "item 4: counts them"

# --- item 6: the commit-msg hint fixes the commit being made, not the previous one -------------
cd "$E2E_TMP/i4"; git checkout -q .bpgate/allowed_signers 2>/dev/null || true
git add -A; git commit -qm "govern" --no-verify
prev=$(git rev-parse HEAD)
mkdir -p scenarios/weekly-digest; printf '{"name":"digest","flow":[]}\n' > scenarios/weekly-digest/digest.json
git add scenarios
expect_exit 1 "item 6: commit-msg refuses a blueprint change without trailers" -- git commit -m "digest: first blueprint"
expect_grep "$E2E_TMP/err" "fix: add 'Purpose: ...' as the last paragraph of this commit's message and commit again; your message is kept: git commit -e -F \"\$(git rev-parse --git-path COMMIT_EDITMSG)\" --trailer 'Purpose: <value>'" \
  "item 6: the hint re-commits the message being written"
if grep -q -- "--amend" "$E2E_TMP/err"; then fail "item 6: the commit-msg hint still says --amend"; else ok "item 6: the commit-msg hint does not say --amend"; fi
[ "$(git rev-parse HEAD)" = "$prev" ] && ok "item 6: nothing was committed" || fail "item 6: a commit was made"
# follow the hint (the editor accepts the message as it is)
expect_exit 0 "item 6: the hinted command commits the change" -- env GIT_EDITOR=true git commit -e -F "$(git rev-parse --git-path COMMIT_EDITMSG)" \
  --trailer 'Purpose: weekly digest' --trailer 'Risk: low' --trailer 'Test-Plan: ran it in dev' --trailer 'Rollback: revert'
[ "$(git rev-parse HEAD^)" = "$prev" ] && ok "item 6: the previous commit is untouched" || fail "item 6: the previous commit was rewritten"
[ "$(git log -1 --format=%s)" = "digest: first blueprint" ] && ok "item 6: the message written is kept" || fail "item 6: message: $(git log -1 --format=%s)"
expect_exit 0 "item 6: the commit carries the trailers" -- git log -1 --format=%B
expect_grep "$E2E_TMP/out" "Purpose: weekly digest" "item 6: Purpose trailer present"

# --- item 7: a plain git server set up as the docs say: an accepted signed push prints no error -
# The commands are the ones of docs/readme/server.md "### Install", run as written (paths swapped).
S7="$E2E_TMP/srv7/scenarios.git"; mkdir -p "$E2E_TMP/srv7"; git init -q --bare "$S7"
python3 - "$BPG_SOURCE_ROOT/docs/readme/server.md" > "$E2E_TMP/install7.sh" <<'PY2'
import sys, re
doc = open(sys.argv[1]).read()
block = re.search(r"### Install\n\n```sh\n(.*?)```", doc, re.S).group(1)
print(block)
PY2
sed -i -e "s|/srv/git/scenarios.git|$S7|g" -e "s|/usr/bin/bpgate-receive|$BPG_BUILD_ROOT/server/bpgate-receive|g" "$E2E_TMP/install7.sh"
expect_exit 0 "item 7: the documented install commands run" -- bash -e "$E2E_TMP/install7.sh"
ssh-keygen -q -t ed25519 -N '' -C grace -f "$E2E_TMP/grace7"
git -C "$S7" config bpgate.bootstrap true; git -C "$S7" config bpgate.bootstrapPrincipal grace
git init -q -b main "$E2E_TMP/w7"; cd "$E2E_TMP/w7"
bpgate init >/dev/null; rm -f .git/hooks/pre-push .git/hooks/pre-commit .git/hooks/commit-msg
echo "grace namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$E2E_TMP/grace7.pub")" >> .bpgate/allowed_signers
git add -A; git commit -qm "govern"
expect_exit 0 "item 7: the bootstrap push" -- env BPGATE_USER=grace git push "$S7" main
git -C "$S7" config --unset bpgate.bootstrap
git checkout -q -b dev; echo note > notes.txt; git add notes.txt; git commit -qm "a note"
expect_exit 0 "item 7: a signed push is accepted" -- env BPGATE_USER=grace git -c gpg.format=ssh -c user.signingkey="$E2E_TMP/grace7.pub" \
  push --signed "$S7" dev
if grep -q "error" "$E2E_TMP/err"; then fail "item 7: the accepted push printed an error"; sed 's/^/    /' "$E2E_TMP/err"; else ok "item 7: the accepted signed push prints no error"; fi
expect_grep "$E2E_TMP/err" "bpgate: accepted" "item 7: the gate's summary line is there"

# --- item 8: error messages name the cause -------------------------------------------------------
cd "$E2E_TMP/i4"
expect_exit 2 "item 8: approve without a key" -- bpgate approve HEAD --for prod --no-push
expect_grep "$E2E_TMP/err" "bpgate approve: no SSH key at $HOME/.ssh/id_ed25519 (No such file or directory): pass -f KEY with the private key whose public key is in .bpgate/allowed_signers" \
  "item 8: approve names the missing key file and -f KEY"
expect_exit 2 "item 8: approve -f with a key file that is not there" -- bpgate approve HEAD --for prod --no-push -f "$E2E_TMP/nokey"
expect_grep "$E2E_TMP/err" "no SSH key at $E2E_TMP/nokey" "item 8: names the file given"
ssh-keygen -q -t ed25519 -N '' -C zed -f "$E2E_TMP/zed"
expect_exit 2 "item 8: approve with a key nobody is given" -- bpgate approve HEAD --for prod --no-push -f "$E2E_TMP/zed"
expect_grep "$E2E_TMP/err" "no line of .bpgate/allowed_signers gives the key $E2E_TMP/zed.pub (namespace bpgate-approval@v1) to anyone" \
  "item 8: says the key is not in allowed_signers"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  git init -q "$E2E_TMP/owned"; chown -R nobody "$E2E_TMP/owned"; mkdir -p "$E2E_TMP/owned/sub"; cd "$E2E_TMP/owned/sub"
  expect_exit 2 "item 8: check in a repository owned by another user" -- bpgate check
  expect_grep "$E2E_TMP/err" "bpgate check: $E2E_TMP/owned is a git repository owned by another user, which git refuses to use (\"dubious ownership\"); if you trust it: git config --global --add safe.directory $E2E_TMP/owned" \
    "item 8: check names dubious ownership and safe.directory"
  expect_exit 2 "item 8: status there" -- bpgate status --no-fetch
  expect_grep "$E2E_TMP/err" "safe.directory $E2E_TMP/owned" "item 8: status names safe.directory"
  git config --global --add safe.directory "$E2E_TMP/owned"
  expect_exit 2 "item 8: with safe.directory set, the repository opens (no policy: another error)" -- bpgate check
  if grep -q "owned by another user" "$E2E_TMP/err"; then fail "item 8: still refused as owned by another"; else ok "item 8: safe.directory is honoured"; fi
  cd "$E2E_TMP"
else
  echo "note: item 8 ownership checks need root (chown); skipped"
fi

# --- item 9: a long refusal is grouped by rule, each fix once; JSON keeps every finding -----------
git init -q -b main "$E2E_TMP/i9"; cd "$E2E_TMP/i9"
bpgate init >/dev/null; git add -A; git commit -qm govern --no-verify
mkdir -p fixtures; for i in $(seq 0 199); do echo "{\"email\": \"person$i@gmail.com\"}"; done > fixtures/people.jsonl
git add -A; git commit -qm "fixtures" --no-verify
expect_exit 1 "item 9: check refuses 200 findings" -- bpgate check HEAD~1..HEAD
[ "$(wc -l < "$E2E_TMP/out")" -eq 203 ] && ok "item 9: 203 lines (header, 200 findings, one fix, summary)" ||
  fail "item 9: $(wc -l < "$E2E_TMP/out") lines"
[ "$(head -1 "$E2E_TMP/out")" = "[scan-findings] 200 findings: 200 errors, 0 warnings, 0 info" ] && ok "item 9: the rule's header counts them" ||
  fail "item 9: header: $(head -1 "$E2E_TMP/out")"
[ "$(grep -c '^  fix (' "$E2E_TMP/out")" -eq 1 ] && ok "item 9: the fix is printed once" || fail "item 9: $(grep -c '^  fix (' "$E2E_TMP/out") fix lines"
expect_grep "$E2E_TMP/out" "  fix (all 200): replace it with a synthetic value" "item 9: and says how many findings it fixes"
expect_grep "$E2E_TMP/out" "  fixtures/people.jsonl:1:12: error: EMAIL found (pe********om), fingerprint " "item 9: every finding keeps its location"
expect_exit 1 "item 9: --format json" -- bpgate check --format json HEAD~1..HEAD
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["findings"]; sys.exit(0 if len(f)==200 and all(x.get("fix") for x in f) else 1)' "$E2E_TMP/out" &&
  ok "item 9: JSON has all 200 findings, each with its fix" || fail "item 9: JSON incomplete"
# a short refusal keeps the one-block-per-finding form
git reset -q --hard HEAD~1; head -3 "$E2E_TMP/out" >/dev/null
for i in 1 2; do echo "{\"email\": \"someone$i@gmail.com\"}"; done > people.txt; mkdir -p fixtures; mv people.txt fixtures/
git add -A; git commit -qm "two" --no-verify
expect_exit 1 "item 9: a short refusal" -- bpgate check HEAD~1..HEAD
[ "$(grep -c '  fix: ' "$E2E_TMP/out")" -eq 2 ] && ok "item 9: short refusals keep a fix per finding" || fail "item 9: short form changed"

# --- item 10: SARIF: every result has a physical location; the log fits the SARIF 2.1.0 schema ---
cd "$E2E_TMP/i9"
mkdir -p scenarios/weekly-digest; printf '{"name":"digest","flow":[]}\n' > scenarios/weekly-digest/digest.json
git add -A; git commit -qm "blueprint without trailers" --no-verify
expect_exit 1 "item 10: check --format sarif (commit-level and line findings)" -- bpgate check --format sarif HEAD~2..HEAD
cp "$E2E_TMP/out" "$E2E_TMP/i10.sarif"
expect_exit 0 "item 10: the SARIF log validates (SARIF 2.1.0 schema constraints, a location on every result)" -- \
  python3 "$BPG_SOURCE_ROOT/tests/e2e/sarif_check.py" "$E2E_TMP/i10.sarif"
python3 - "$E2E_TMP/i10.sarif" > "$E2E_TMP/i10.txt" <<'PY2'
import json, sys
for r in json.load(open(sys.argv[1]))["runs"][0]["results"]:
    pl = r["locations"][0]["physicalLocation"]
    print(r["ruleId"], pl["artifactLocation"]["uri"], pl["region"]["startLine"])
PY2
expect_grep "$E2E_TMP/i10.txt" "change-template scenarios/weekly-digest/digest.json 1" "item 10: a commit-level finding is shown on the commit's first changed file, line 1"
expect_grep "$E2E_TMP/i10.txt" "scan-findings fixtures/people.txt 1" "item 10: a finding with a line keeps its file and line"

# --- item 11: a manifest never counts as its own extra file; a minimal blueprint is a scenario ---
mkdir -p "$E2E_TMP/i11/rel/scenarios"; cd "$E2E_TMP/i11"
bpgate keygen -W -p r.pub -s r.key >/dev/null
printf '{"name":"a","flow":[]}\n' > rel/scenarios/a.json
printf '{"setting": 1}\n' > rel/config.json
expect_exit 0 "item 11: bundle create with a manifest not named *.bundle.json" -- bpgate bundle create --env prod --out rel/manifest.json rel/scenarios/a.json rel/config.json
expect_grep "$E2E_TMP/out" "2 files, 1 scenarios" "item 11: the minimal blueprint is a scenario"
python3 -c 'import json,sys; m=json.load(open("rel/manifest.json")); s=m["scenarios"]; sys.exit(0 if len(s)==1 and s[0]["name"]=="a" else 1)' &&
  ok "item 11: the manifest's scenarios name it" || fail "item 11: scenarios: $(cat rel/manifest.json)"
expect_exit 0 "item 11: bundle sign" -- bpgate bundle sign -s r.key rel/manifest.json
expect_exit 0 "item 11: bundle verify accepts the bundle it just signed" -- bpgate bundle verify -p r.pub rel/manifest.json
if grep -q "extra" "$E2E_TMP/out" "$E2E_TMP/err"; then fail "item 11: an extra file is reported"; else ok "item 11: no extra file"; fi
# an extra file is still found
printf 'x\n' > rel/scenarios/b.json
expect_exit 1 "item 11: a real extra file is still refused" -- bpgate bundle verify -p r.pub rel/manifest.json

# --- item 14: the .pre-commit-hooks.yaml entries under Debian's pre-commit; pre-push without refs -
cd "$E2E_TMP"
git init -q -b main "$E2E_TMP/i14bare"; cd "$E2E_TMP/i14bare"; bpgate init >/dev/null
expect_exit 2 "item 14: bpgate hook pre-push without arguments or refs refuses" -- bpgate hook pre-push
expect_grep "$E2E_TMP/err" "bpgate pre-push: nothing to judge" "item 14: and says why"
if command -v pre-commit >/dev/null; then
  export PRE_COMMIT_HOME="$E2E_TMP/pc-home"
  # the shipped .pre-commit-hooks.yaml, as a hook repository pre-commit clones (a local path: no network)
  git init -q -b main "$E2E_TMP/hooksrc"; cp "$BPG_SOURCE_ROOT/.pre-commit-hooks.yaml" "$E2E_TMP/hooksrc/"
  git -C "$E2E_TMP/hooksrc" add -A; git -C "$E2E_TMP/hooksrc" commit -qm hooks
  rev=$(git -C "$E2E_TMP/hooksrc" rev-parse HEAD)
  git init -q --bare "$E2E_TMP/i14srv.git"
  git init -q -b main "$E2E_TMP/i14"; cd "$E2E_TMP/i14"
  bpgate init >/dev/null; rm -f .git/hooks/pre-commit .git/hooks/commit-msg .git/hooks/pre-push
  printf 'repos:\n- repo: %s\n  rev: %s\n  hooks:\n  - id: bpgate-pre-commit\n  - id: bpgate-commit-msg\n  - id: bpgate-pre-push\n' \
    "$E2E_TMP/hooksrc" "$rev" > .pre-commit-config.yaml
  expect_exit 0 "item 14: pre-commit install (three hook types)" -- pre-commit install --hook-type pre-commit --hook-type commit-msg --hook-type pre-push
  git add -A
  expect_exit 0 "item 14: the first commit passes both commit hooks" -- git commit -qm "govern"
  cat "$E2E_TMP/out" "$E2E_TMP/err" > "$E2E_TMP/all"; expect_grep "$E2E_TMP/all" "bpgate (personal data, secrets, blueprint rules, bundles)" "item 14: bpgate-pre-commit ran"
  mkdir -p fixtures; echo '{"email": "jane.doe@gmail.com"}' > fixtures/p.json; git add fixtures
  expect_exit 1 "item 14: bpgate-pre-commit refuses personal data in a fixture" -- git commit -qm "fixture"
  cat "$E2E_TMP/out" "$E2E_TMP/err" > "$E2E_TMP/all"; expect_grep "$E2E_TMP/all" "EMAIL found" "item 14: with bpgate's finding"
  git rm -q --cached -r fixtures; rm -rf fixtures
  mkdir -p scenarios/weekly-digest; printf '{"name":"digest","flow":[]}\n' > scenarios/weekly-digest/d.json; git add scenarios
  expect_exit 1 "item 14: bpgate-commit-msg refuses a blueprint change without trailers" -- git commit -qm "digest"
  cat "$E2E_TMP/out" "$E2E_TMP/err" > "$E2E_TMP/all"; expect_grep "$E2E_TMP/all" "has no 'Purpose:' trailer" "item 14: with the change-template finding"
  expect_exit 0 "item 14: with the trailers the commit is made" -- git commit -qm "digest" -m "Purpose: p
Risk: low
Test-Plan: t
Rollback: r"
  git push -q "$E2E_TMP/i14srv.git" main 2>/dev/null || true
  git remote add origin "$E2E_TMP/i14srv.git"; git fetch -q origin
  echo '{"name":"digest 2","flow":[]}' > scenarios/weekly-digest/d.json; git add -A
  git commit -q --no-verify -m "digest 2 without trailers"
  expect_exit 1 "item 14: bpgate-pre-push (through the framework) refuses the pushed commit without trailers" -- git push origin main
  cat "$E2E_TMP/out" "$E2E_TMP/err" > "$E2E_TMP/all"; expect_grep "$E2E_TMP/all" "has no 'Purpose:' trailer" "item 14: pre-push judged the pushed range"
  [ "$(git rev-parse origin/main)" != "$(git rev-parse main)" ] && ok "item 14: nothing was pushed" || fail "item 14: pushed"
  git commit -q --amend --no-verify -m "digest 2" -m "Purpose: p
Risk: low
Test-Plan: t
Rollback: r"
  expect_exit 0 "item 14: the fixed commit is pushed through the framework's pre-push" -- git push origin main
  unset PRE_COMMIT_HOME
else
  echo "note: pre-commit (Debian package) missing: item 14's framework checks skipped"
fi

# --- a governed repository on bpgated (items 2, 3): grace admin; alice builds, bob promotes, ----
# --- carol and dave review, erin releases ---------------------------------------------------
daemon="$BPG_BUILD_ROOT/server/bpgated"; receive="$BPG_BUILD_ROOT/server/bpgate-receive"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && [ -x "$daemon" ] || { echo "SKIP: needs ssh, ssh-keygen, bpgated"; finish; exit 77; }
D="$E2E_TMP/d"; K="$E2E_TMP/keys"; mkdir -p "$D/repos" "$D/state" "$K"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$E2E_TMP"' EXIT
people="alice bob carol dave erin grace"
for p in $people; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$K/$p"; done
: > "$D/keys"; : > "$K/allowed_signers"; : > "$K/users"
for p in $people; do
  if [ "$p" = grace ]; then echo "grace admin $(cut -d' ' -f1,2 "$K/grace.pub")" >> "$D/keys"
  else echo "$p $(cut -d' ' -f1,2 "$K/$p.pub")" >> "$D/keys"; fi
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$K/$p.pub")" >> "$K/allowed_signers"
  echo "$p $p" >> "$K/users"; echo "$p@example.com $p" >> "$K/users"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/cfg.json" <<END
{ "listen": { "address": "127.0.0.1", "port": $port }, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$receive", "limits": { "idle_timeout": 60 } }
END
(cd "$D" && exec "$daemon" --config "$D/cfg.json" > "$D/log" 2>&1) & PIDS+=("$!")
for _ in $(seq 200); do grep -q 'event=listen' "$D/log" && break; sleep 0.05; done
grep -q 'event=listen' "$D/log" || { fail "bpgated did not start"; cat "$D/log"; finish; exit 1; }
SSHOPTS="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
URL="ssh://git@127.0.0.1:$port/team/scenarios.git"
SRV="$D/repos/team/scenarios.git"
sshas() { local who=$1; shift; timeout 60 ssh $SSHOPTS -p "$port" -i "$K/$who" git@127.0.0.1 "$@"; }
push() { local who=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$who" timeout 120 git push "$@"; }
as() { local who=$1; shift; env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$who" timeout 120 "$@"; }
expect_exit 0 "repo create team/scenarios" -- sshas grace repo create team/scenarios
rid=$(git --git-dir="$SRV" config bpgate.repositoryId)
git --git-dir="$SRV" config bpgate.users "$K/users"
git init -q -b main "$E2E_TMP/admin"; cd "$E2E_TMP/admin"
bpgate init --repository-id "$rid" >/dev/null
python3 - .bpgate/policy.json <<'PY2'
import json, sys
p = json.load(open(sys.argv[1]))
for r in ("change-window", "stage-health", "signed-push"):
    p["rules"][r] = {"mode": "off"}
json.dump(p, open(sys.argv[1], "w"), indent=2)
PY2
cp "$K/allowed_signers" .bpgate/allowed_signers
rm -f .git/hooks/pre-commit .git/hooks/commit-msg .git/hooks/pre-push
mkdir -p scenarios/weekly-digest; echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A; git -c user.name=grace -c user.email=grace@example.com commit -qm "Govern this repository"
git branch stage; git branch dev
push grace 0 "the admin's bootstrap push" "$URL" main stage dev
git --git-dir="$SRV" config --unset bpgate.bootstrap
git checkout -q dev
echo "Sent on Mondays" >> scenarios/weekly-digest/README.md; git add -A
git -c user.name=Alice -c user.email=alice@example.com commit -qm "digest: mondays"
T=$(git rev-parse 'HEAD^{tree}'); C=$(git rev-parse HEAD)
push alice 0 "alice pushes her change to dev" "$URL" "$C:refs/heads/dev"
push bob 0 "bob promotes dev to stage" "$URL" "$C:refs/heads/stage"
as carol git clone -q "$URL" "$E2E_TMP/carol" 2>/dev/null; cd "$E2E_TMP/carol"
git config bpgate.repositoryId "$rid"
approve() { as "$1" bpgate approve "${@:2}" -f "$K/$1"; }

# --- item 2: the server refuses an approval that would never count -----------------------------
# carol's clone names the repository "scenarios" (say, from an old setup); the server calls it
# team/scenarios. Before: the approval ref was accepted and then never counted.
git config bpgate.repository scenarios
expect_exit 1 "item 2: an approval naming another repository is refused on push" -- approve carol origin/stage --for prod
expect_grep "$E2E_TMP/err" "is for repository 'scenarios'; this repository is 'team/scenarios': it would never count here" \
  "item 2: the refusal names both repository names"
expect_grep "$E2E_TMP/err" "run \`git config bpgate.repository 'team/scenarios'\` there" "item 2: the hint names the repository name setting"
[ -z "$(git --git-dir="$SRV" for-each-ref refs/bpgate/approvals/)" ] && ok "item 2: the server stores no approval" || fail "item 2: stored"
# an environment the policy does not have
git config bpgate.repository team/scenarios
expect_exit 1 "item 2: an approval for an environment the policy lacks is refused" -- approve carol origin/stage --for qa
expect_grep "$E2E_TMP/err" "is for environment 'qa', which this repository's policy does not have" "item 2: the refusal names the environment"
# a tree the server does not have (a commit carol never pushed)
git checkout -q -b local origin/stage; echo local >> scenarios/weekly-digest/README.md; git commit -qam "not pushed"
expect_exit 1 "item 2: an approval of a tree the server does not have is refused" -- approve carol local --for prod
expect_grep "$E2E_TMP/err" "which this repository does not have: it would never count here" "item 2: the refusal says the tree is missing"
expect_grep "$E2E_TMP/err" "push the commit first" "item 2: and how to fix it"
git checkout -q --detach origin/stage
expect_exit 0 "item 2: with the server's name the approval is accepted" -- approve carol origin/stage --for prod
[ -n "$(git --git-dir="$SRV" for-each-ref "refs/bpgate/approvals/prod/$T/carol/")" ] && ok "item 2: and stored" || fail "item 2: not stored"

# --- item 3: approve warns when the approval can never count; status does not count it ---------
expect_exit 0 "item 3: status of carol's approved commit" -- as carol bpgate status "$C"
expect_grep "$E2E_TMP/out" "prod   origin/main        does not have this tree; approvals: 2 verified: carol, carol; counting: carol" \
  "item 3: status counts carol's approval of alice's change once"
expect_grep "$E2E_TMP/out" "carol's approval does not count: it names repository 'scenarios', this is 'team/scenarios' (git config bpgate.repository); it may be one the server refused" \
  "item 3: not the one item 2's server refused (still in carol's clone)"
# carol writes a change herself; it reaches stage; she approves it for prod
git checkout -q --detach origin/dev
echo "carol's tweak" >> scenarios/weekly-digest/README.md
GIT_AUTHOR_NAME=Carol GIT_AUTHOR_EMAIL=carol@example.com GIT_COMMITTER_NAME=Carol GIT_COMMITTER_EMAIL=carol@example.com \
  git commit -qam "digest: carol's tweak"
C2=$(git rev-parse HEAD); T2=$(git rev-parse 'HEAD^{tree}')
push carol 0 "item 3: carol pushes her own change to dev" origin "$C2:refs/heads/dev"
push bob 0 "item 3: bob promotes it to stage" origin "$C2:refs/heads/stage"
as carol git fetch -q origin
expect_exit 0 "item 3: carol approves her own change (stored: the server decides on promotion)" -- approve carol origin/stage --for prod
expect_grep "$E2E_TMP/err" "bpgate approve: warning: this approval will never count: carol authored or committed ${C2:0:12} of the change (refs/remotes/origin/main)" \
  "item 3: approve warns that an author's approval never counts"
expect_exit 0 "item 3: status of carol's own change" -- as carol bpgate status "$C2"
expect_grep "$E2E_TMP/out" "prod   origin/main        does not have this tree; approvals: 1 verified: carol; counting: none" \
  "item 3: status does not count it"
expect_grep "$E2E_TMP/out" "carol's approval does not count: carol authored or committed ${C2:0:12}" "item 3: and says why"
# alice (a builder) approving, and carol approving for dev (no approvals count there)
expect_exit 1 "item 3: alice approves for prod (the server refuses it)" -- approve alice origin/stage --for prod
expect_grep "$E2E_TMP/err" "bpgate approve: warning: this approval will never count: alice may not approve for prod: only the roles reviewers, cab, admins do" \
  "item 3: approve warns that alice lacks an approving role"
expect_exit 1 "item 3: carol approves for dev (the server refuses it)" -- approve carol origin/dev --for dev
expect_grep "$E2E_TMP/err" "bpgate approve: warning: this approval will never count: carol may not approve for dev: no role approves for that environment" \
  "item 3: approve warns that no approval counts for dev"

# --- item 5: check --explain does not call server rules a pass; pre-push previews them --------
expect_exit 0 "item 5: check --explain in CI" -- bpgate check --explain origin/main..origin/stage
expect_grep "$E2E_TMP/out" "approvals                  not evaluated here (server only): " "item 5: approvals is not evaluated here"
expect_grep "$E2E_TMP/out" "segregation-of-duties      not evaluated here (server only): " "item 5: nor segregation-of-duties"
expect_grep "$E2E_TMP/out" "blueprint-parses           pass" "item 5: client rules still pass"
if grep -qE '^(approvals|signed-push|change-window|segregation-of-duties) +pass' "$E2E_TMP/out"; then
  fail "item 5: a server rule is reported as pass"; else ok "item 5: no server rule is reported as pass"; fi
expect_exit 0 "item 5: check --explain --format json" -- bpgate check --explain --format json origin/main..origin/stage
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); o={r["id"]:r["outcome"] for r in d["rules"]}; sys.exit(0 if o["approvals"]=="server-only" and o["blueprint-parses"]=="pass" else 1)' "$E2E_TMP/out" &&
  ok "item 5: JSON outcome server-only" || fail "item 5: JSON outcomes: $(cat "$E2E_TMP/out" | head -5)"
bpgate install >/dev/null
git checkout -q --detach origin/stage
push erin 1 "item 5: erin promotes stage to prod (the server refuses: carol's own approval does not count)" origin HEAD:refs/heads/main
expect_grep "$E2E_TMP/err" "bpgate pre-push: PREVIEW of the server's rules for prod (refs/heads/main), not a decision: the server judges them when it receives the push" \
  "item 5: pre-push shows a preview, labelled as one"
expect_grep "$E2E_TMP/err" "server rules on: protected-branch server-refs promotion" "item 5: names the server rules on"
expect_grep "$E2E_TMP/err" "promotion: prod promotes from stage; refs/remotes/origin/stage has tree ${T2:0:12}" "item 5: previews promotion"
expect_grep "$E2E_TMP/err" "approvals of tree ${T2:0:12} for prod in this clone (\`bpgate status\` fetches them): none that can count" \
  "item 5: previews approvals (carol's own does not count)"

finish
