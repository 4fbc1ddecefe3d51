# End-to-end: bpgate-receive as the pre-receive (and post-receive) hook of a
# bare repository, driven by real `git push`: an accepted and a refused case
# for every server rule, and the client rules checked again on the server.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, 12:30 in Europe/Berlin
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"
mkdir -p "$keys"

# --- people, keys and the server ----------------------------------------------
for p in alice bob carol dave erin frank grace mallory; do
  ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"
done
: > "$keys/allowed_signers"
for p in carol dave erin frank grace; do
  echo "$p namespaces=\"git,bpgate-approval@v1,bpgate-uat@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done
: > "$keys/users"
for p in alice bob carol dave erin frank grace; do echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"; done
bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null

git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice   # who may create the policy branch
git -C "$srv" config receive.advertisePushOptions true
git -C "$srv" config receive.certNonceSeed e2e-seed

# the gate maps neither libgit2.so nor its SSH, OpenSSL or Kerberos libraries: libgit2 comes
# from its archive without its network side (hooks/git2_nonet.c), as in the bpgate command;
# BPG_LIBGIT2_STATIC comes from the build (tests/meson.build)
if [ "${BPG_LIBGIT2_STATIC:-0}" = 1 ]; then
  LD_DEBUG=libs GIT_DIR="$srv" "$receive" </dev/null >/dev/null 2>"$E2E_TMP/rlibs" || true
  grep -q "calling init: .*libc\.so" "$E2E_TMP/rlibs" || fail "LD_DEBUG=libs shows nothing for bpgate-receive"
  if grep -E "calling init: .*(libgit2|libssh2|libcrypto\.so|libgssapi|libkrb5|libmbed)" "$E2E_TMP/rlibs" | head -3 | grep .; then
    fail "bpgate-receive loads libgit2.so or its SSH/Kerberos libraries"
  else ok "bpgate-receive loads neither libgit2.so nor libssh2, libcrypto, GSSAPI, Kerberos or mbedTLS"; fi
else
  ok "built with the shared libgit2 (-Dlibgit2_static=disabled): the gate's library check is skipped"
fi
git -C "$srv" config gpg.ssh.allowedSignersFile "$keys/allowed_signers"
if [ -f "$keys/audit.skey" ]; then
  git -C "$srv" config bpgate.auditDir "$E2E_TMP/audit"
  git -C "$srv" config bpgate.auditKey "$keys/audit.skey"
fi
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

# --- the governed repository ---------------------------------------------------
git init -q "$work"; cd "$work"
git config bpgate.repository acme/make-scenarios
mkdir -p .bpgate scenarios/weekly-digest scenarios/invoice-export uat/crm-contact-sync health
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
cp "$keys/allowed_signers" .bpgate/allowed_signers
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
# a small blueprint (v0; v1 is released later and rolled back with bpgate rollback)
cat > "$E2E_TMP/bp-v0.json" <<'J'
{"name": "Weekly KPI digest", "flow": [
 {"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "subject", "scope": "roundtrip", "value": "Weekly digest"}, "metadata": {"designer": {"x": 0, "y": 0}}},
 {"id": 2, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "period", "scope": "roundtrip", "value": "7 days"}, "metadata": {"designer": {"x": 300, "y": 0}}}],
 "metadata": {"instant": false, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true, "sequential": false, "confidential": false, "dataloss": false, "dlq": false}, "designer": {"orphans": []}, "zone": "eu1.make.com"}}
J
sed -e 's/"7 days"/"14 days"/' -e 's|"metadata": {"designer": {"x": 300, "y": 0}}}\],|"metadata": {"designer": {"x": 300, "y": 0}}},\n {"id": 3, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "footer", "scope": "roundtrip", "value": "See you next week"}, "metadata": {"designer": {"x": 600, "y": 0}}}],|' "$E2E_TMP/bp-v0.json" > "$E2E_TMP/bp-v1.json"
cp "$E2E_TMP/bp-v0.json" scenarios/weekly-digest/main.blueprint.json
echo "Paid invoices to the ledger" > scenarios/invoice-export/README.md
echo "UAT run 2025-06-01: pass" > uat/crm-contact-sync/2025-06-01.md
cat > health/stage.json <<'J'
{"measured_at": "2025-06-03T00:00:00Z", "scenarios": {
 "weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800},
 "invoice-export": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 900}}}
J
git add -A && git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage; git branch dev
GIT_AUTHOR_NAME=Alice
# push <user> <expected exit> <what> [git push args...]
push() {
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git push "$@"
}
# push signed with a key: spush <user> <key> <want> <what> args...
spush() {
  local user=$1 key=$2 want=$3 what=$4; shift 4
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git -c gpg.format=ssh -c user.signingkey="$keys/$key.pub" push --signed "$@"
}
as() { # as <person> git ...: commit as that person
  local p=$1; shift
  GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"
}
change() { # change <person> <file> <text> <message>: a commit on the current branch
  echo "$3" >> "$2"; git add -A; as "$1" git commit -qm "$4"
}
approve() { # approve <person> <rev> <env>
  expect_exit 0 "$1 approves $2 for $3" -- env BPGATE_USER="$1" bpgate approve "$2" --for "$3" -f "$keys/$1"
}
promote() { # promote <from> <to>: fast-forward a local branch
  git branch -f "$2" "$1"
}

push alice 0 "bootstrap: the first push that creates the policy branch is let through" origin main stage dev
expect_grep "$E2E_TMP/err" "accepted WITHOUT judgement because bpgate.bootstrap is set" "bootstrap is loud"
git -C "$srv" config --unset bpgate.bootstrap
last_audit() { tail -n1 "$E2E_TMP/audit/entries"; }
if [ -f "$keys/audit.skey" ]; then
  tail -n2 "$E2E_TMP/audit/entries" | head -n1 > "$E2E_TMP/entry"   # the last is post-receive's bpgate-applied
  expect_grep "$E2E_TMP/entry" '"decision":"accept-unjudged"' "the unjudged bootstrap push is in the audit log"
  last_audit > "$E2E_TMP/entry"
  expect_grep "$E2E_TMP/entry" '"type":"bpgate-applied"' "post-receive confirms what git applied"
fi

# --- who pushes ------------------------------------------------------------------
git checkout -q dev
change alice scenarios/weekly-digest/README.md "Sent on Mondays" "digest: wording"
push mallory 1 "unknown pusher refused" origin dev
expect_grep "$E2E_TMP/err" "remote: error: bpgate: who is pushing: unknown pusher 'mallory'" "names the unknown pusher"
if [ -f "$keys/audit.skey" ]; then
  last_audit > "$E2E_TMP/entry"
  expect_grep "$E2E_TMP/entry" '"decision":"refuse","findings":[{"message":"unknown pusher '"'"'mallory'"'"' (from BPGATE_USER)' \
    "the refused unknown pusher is in the audit log"
  expect_grep "$E2E_TMP/entry" '"rule":"unknown-pusher"}],"pusher":null,"refs":[{"name":"refs/heads/dev"' "with the rule and the ref"
  expect_grep "$E2E_TMP/entry" '"stage":"before-judgement"' "marked as refused before judgement"
fi
expect_exit 1 "no pusher at all refused" -- env -u BPGATE_USER git push origin dev
# malformed hook input (git never sends it; a broken server or a test might): refused and recorded
printf 'garbage\n' > "$E2E_TMP/stdin"
rc=0; (cd "$srv" && GIT_DIR=. BPGATE_USER=alice "$receive" <"$E2E_TMP/stdin" >/dev/null 2>"$E2E_TMP/err") || rc=$?
[ "$rc" -eq 1 ] && ok "malformed hook input refused" || fail "malformed hook input: exit $rc"
expect_grep "$E2E_TMP/err" "input line 1 is not '<old> <new> <ref>'" "names the line"
if [ -f "$keys/audit.skey" ]; then
  last_audit > "$E2E_TMP/entry"
  expect_grep "$E2E_TMP/entry" '"rule":"input"}],"pusher":null,"refs":[],"repository":"acme/make-scenarios","stage":"before-judgement"' \
    "the malformed input is in the audit log"
  expect_grep "$E2E_TMP/entry" '"user":"alice"' "with who sent it"
fi
push alice 0 "a builder pushes to dev" origin dev
expect_grep "$E2E_TMP/err" "remote: bpgate: accepted 1 ref update(s) from alice" "one-line summary on accept"

# --- ref names ----------------------------------------------------------------------
push alice 1 "a ref outside refs/heads, refs/tags and refs/bpgate is refused" origin dev:refs/notes/x
expect_grep "$E2E_TMP/err" "only valid names under refs/heads/, refs/tags/ and refs/bpgate/ may be pushed" "says which names"
push alice 1 "server-owned records cannot be pushed" origin dev:refs/bpgate/releases/prod/x
expect_grep "$E2E_TMP/err" "[server-refs] refs/bpgate/releases/prod/x is in the server's own namespace" "names server-refs"

# --- the client rules, again ----------------------------------------------------------
mkdir -p scenarios/weekly-digest/fixtures
echo '{"email": "jane.roe@gmail.com", "card": "4111 1111 1111 1111", "iban": "DE89370400440532013000"}' > scenarios/weekly-digest/fixtures/leads.json
echo '{"flow": [' > scenarios/weekly-digest/main.blueprint.json
git add -A; as alice git commit -qm "digest: fixtures" --no-verify
push alice 1 "a builder who skipped the hooks gains nothing: blueprint and scanner rules run on the server" origin dev
expect_grep "$E2E_TMP/err" "[blueprint-parses]" "blueprint rule on the server"
expect_grep "$E2E_TMP/err" "[scan-findings]" "scanner on the server"
git reset -q --hard HEAD~1

# --- a commit without the change template, buried in a long push -------------------
# The gate works out which files a commit changes only for a commit the
# change-template rule could fault (bpgate/query.h); past 64 commits on a thread
# of their own. The builder hides one such commit among 120 that carry the
# template: it changes the blueprint (refused, by its id) or only a README
# (accepted: it touches no blueprint, which the gate could only know from its
# paths; counted as touching blueprints, it would be refused).
long_push() { # long_push <branch> <file the bare commit changes>
  git checkout -q -b "$1" dev
  for i in $(seq 1 120); do
    if [ "$i" = 61 ]; then
      echo "edit $i" >> "$2"; git add -A; as alice git commit -qm "digest: quick fix" --no-verify
    else
      sed -i "s/\"Weekly digest[^\"]*\"/\"Weekly digest $i\"/" scenarios/weekly-digest/main.blueprint.json
      git add -A
      as alice git commit -q --no-verify -m "digest: subject $i" -m "Purpose: wording $i
Risk: low
Test-Plan: dev run
Rollback: revert"
    fi
  done
  bare=$(git rev-parse HEAD~59)
}
long_push long-bad scenarios/weekly-digest/main.blueprint.json
push alice 1 "a blueprint commit without the template, 61st of 120, is refused" origin long-bad
expect_grep "$E2E_TMP/err" "commit changes blueprints but its message has no 'Purpose:' trailer" "the template finding"
expect_grep "$E2E_TMP/err" "${bare:0:12}" "names the bare commit"
[ "$(grep -c "has no 'Purpose:' trailer" "$E2E_TMP/err")" = 1 ] && ok "only that commit is faulted" || fail "other commits faulted: $(grep -c "has no 'Purpose:' trailer" "$E2E_TMP/err")"
git checkout -q dev
long_push long-good scenarios/weekly-digest/README.md
push alice 0 "the same push whose bare commit changes only a README is accepted" origin long-good
git checkout -q dev; git branch -q -D long-bad long-good

# --- protected branches ------------------------------------------------------------------
promote dev stage
push bob 0 "a builder promotes dev to stage (fast-forward)" origin stage
push bob 1 "deleting stage is refused" origin :stage
expect_grep "$E2E_TMP/err" "[protected-branch] refs/heads/stage is the protected branch of environment stage and cannot be deleted" "deletion named"
git checkout -q -b tmp stage~1; change alice scenarios/weekly-digest/README.md "other" "digest: other"
push bob 1 "force-pushing stage is refused" --force origin tmp:stage
expect_grep "$E2E_TMP/err" "non-fast-forward update of protected branch refs/heads/stage" "non-fast-forward named"
push bob 1 "stage only takes trees dev had" origin tmp:stage
git checkout -q dev; git branch -D -q tmp

# --- promotion, approvals, signed pushes -----------------------------------------------------
promote stage main; git checkout -q main
spush erin erin 1 "prod without an approval is refused" origin main
expect_grep "$E2E_TMP/err" "[approvals] prod requires 1 approval(s) from reviewers for a low-risk change" "approvals named"
expect_grep "$E2E_TMP/err" "fix: ask reviewers who did not author or commit the change to run \`bpgate approve" "approval fix"
approve carol main prod
expect_grep "$E2E_TMP/out" "approved tree" "approve prints what it signed"
git ls-remote "$srv" 'refs/bpgate/approvals/*' | grep -q "refs/bpgate/approvals/prod/$(git rev-parse main^{tree})/carol/" \
  && ok "the approval was pushed under refs/bpgate/approvals" || fail "approval ref not on the server"
push erin 1 "an unsigned push to prod is refused" origin main
expect_grep "$E2E_TMP/err" "[signed-push] a push to prod must be signed" "signed-push named"
spush erin carol 1 "a push certificate of someone else is refused" origin main
expect_grep "$E2E_TMP/err" "the push certificate is signed by carol but erin is pushing" "wrong signer named"
spush bob bob 1 "a builder cannot push to prod" origin main
expect_grep "$E2E_TMP/err" "may only be pushed by the roles releasers; bob has none of them" "role named"
spush erin erin 0 "an approved stage tree is released to prod by the releaser, signed" origin main
git -C "$srv" for-each-ref 'refs/bpgate/releases/prod/*' --format='%(refname)' | grep -q "$(git rev-parse main)" \
  && ok "post-receive wrote the release record" || fail "no release record"
git -C "$srv" cat-file blob "refs/bpgate/releases/prod/$(git rev-parse main)" > "$E2E_TMP/rec"
expect_grep "$E2E_TMP/rec" '"kind":"release"' "release record kind"
expect_grep "$E2E_TMP/rec" '"push_cert_text":"certificate version 0.1' "the push certificate is kept with the release record"
git checkout -q main; change alice scenarios/weekly-digest/README.md "hotfix" "hotfix straight on prod"
spush erin erin 1 "a direct commit on prod is refused" origin main
expect_grep "$E2E_TMP/err" "[promotion] refs/heads/main (environment prod) may only move to content that stage had" "promotion named"
git reset -q --hard origin/main

# --- stale approvals, identical-tree rebase ----------------------------------------------------
git checkout -q dev
change alice scenarios/weekly-digest/README.md "Also on Thursdays" "digest: thursdays"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage
approve dave stage prod
change alice scenarios/weekly-digest/README.md "typo" "digest: typo"
push alice 0 "dev again" origin dev; promote dev stage; push bob 0 "stage again" origin stage
promote stage main
spush erin erin 1 "a new tree makes the approval stale" origin main
expect_grep "$E2E_TMP/err" "dave's approval is stale: it approved tree" "stale approval named"
approve dave main prod
git checkout -q dev; as alice git commit -q --amend -m "digest: typo (reworded)"
push alice 0 "a reworded commit with the same tree" --force origin dev 2>/dev/null || true
promote dev stage; push bob 1 "stage refuses the rewrite (non-fast-forward)" --force origin stage
git checkout -q -b rebased origin/stage; as alice git commit -q --allow-empty -m "merge marker"
git branch -f dev rebased; git checkout -q dev; git branch -D -q rebased
push alice 0 "dev may be rewritten (not protected)" --force origin dev; promote dev stage; push bob 0 "stage: a new commit with the identical tree" origin stage
promote stage main
spush erin erin 0 "an approval survives a rebase that leaves the tree identical" origin main

# --- change windows and break-glass -------------------------------------------------------------------
git checkout -q dev; git reset -q --hard origin/main
change alice scenarios/weekly-digest/README.md "weekend" "digest: weekend"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
approve carol main prod
BPGATE_TIME=2025-06-07T10:30:00Z spush erin erin 1 "Saturday is outside the change window" origin main
expect_grep "$E2E_TMP/err" "[change-window] push to prod refused: sat 2025-06-07 12:30 (Europe/Berlin) is outside the change windows" "window named"
spush erin erin 0 "the same push inside the window" origin main
git checkout -q main
change grace scenarios/weekly-digest/README.md "fix" "digest: emergency fix"
BPGATE_TIME=2025-06-07T10:30:00Z spush bob bob 1 "break-glass by someone without the emergency role" -o "bpgate.break-glass=INC-42: digest spams customers" origin main
expect_grep "$E2E_TMP/err" "break-glass refused: bob does not have the emergency role" "emergency role named"
printf -v evil 'bpgate.break-glass=\033[31mred'
BPGATE_TIME=2025-06-07T10:30:00Z spush grace grace 1 "a malformed break-glass option is refused" -o "$evil" origin main
expect_grep "$E2E_TMP/err" '\x1b[31mred' "control characters from the push are escaped"
grep -q $'\033' "$E2E_TMP/err" && fail "raw ESC reached the client" || ok "no raw control characters in the output"
BPGATE_TIME=2025-06-07T10:30:00Z spush grace grace 0 "break-glass by the emergency role: accepted out of hours, straight on prod" -o "bpgate.break-glass=INC-42: digest spams customers" origin main
expect_grep "$E2E_TMP/err" "break-glass INC-42: digest spams customers by grace accepted and recorded" "break-glass noted"
git -C "$srv" cat-file blob "refs/bpgate/releases/prod/$(git rev-parse main)" > "$E2E_TMP/rec"
expect_grep "$E2E_TMP/rec" '"kind":"break-glass"' "break-glass recorded"
expect_grep "$E2E_TMP/rec" '"incident":"INC-42: digest spams customers"' "incident recorded"
bg=$(git rev-parse main)
BPGATE_TIME=2025-06-07T12:30:00Z expect_exit 1 "bpgate pending on the server lists the break-glass change (exit 1)" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "prod  commit ${bg:0:12}  tree $(git rev-parse "main^{tree}" | cut -c1-12)  INC-42: digest spams customers" "pending names commit, tree and incident"
expect_grep "$E2E_TMP/out" "by grace at 2025-06-07T10:30:00Z, 0 day(s) ago; scenarios: weekly-digest" "pending names who, when, the age and the scenario"
expect_grep "$E2E_TMP/out" "retroactive approvals: 0 of 1" "pending counts the approvals"
expect_grep "$E2E_TMP/out" "due within the 3-day limit of break-glass-overdue" "pending: not overdue yet"
git fetch -q origin '+refs/bpgate/releases/*:refs/bpgate/releases/*'
BPGATE_TIME=2025-06-07T12:30:00Z expect_exit 1 "bpgate pending in a clone that fetched the release records" -- bpgate pending
expect_grep "$E2E_TMP/out" "fix: a reviewer runs \`bpgate approve ${bg:0:12} --for prod\`" "pending says how to approve"
git checkout -q dev; git merge -q --ff-only main
sed -i 's/2025-06-03T00:00:00Z/2025-06-10T00:00:00Z/' health/stage.json
change alice scenarios/weekly-digest/README.md "more" "digest: more"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
BPGATE_TIME=2025-06-11T10:30:00Z approve carol main prod
BPGATE_TIME=2025-06-11T10:30:00Z spush erin erin 1 "a break-glass change unapproved after 3 days freezes its scenario" origin main
expect_grep "$E2E_TMP/err" "[break-glass-overdue] scenario weekly-digest was changed on prod by break-glass INC-42" "overdue named"
BPGATE_TIME=2025-06-11T10:30:00Z expect_exit 1 "bpgate pending --format json marks the overdue change" -- bpgate pending --repo "$srv" --format json
expect_grep "$E2E_TMP/out" '"overdue": true' "overdue after 3 days"
expect_grep "$E2E_TMP/out" '"age_days": 4' "age in days"
expect_grep "$E2E_TMP/out" '"limit_days": 3' "the policy's limit"
BPGATE_TIME=2025-06-11T10:30:00Z approve dave "$bg" prod
BPGATE_TIME=2025-06-11T10:30:00Z expect_exit 0 "nothing pending once the retroactive approval exists" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "no break-glass change is waiting for retroactive approval" "pending says so"
BPGATE_TIME=2025-06-11T10:30:00Z spush erin erin 0 "after the retroactive approval the scenario moves again" origin main

# --- rollback ----------------------------------------------------------------------------------------
git checkout -q main
old_tree=$(git rev-parse "$bg~1^{tree}")
git read-tree -u --reset "$old_tree"; as erin git commit -qm "Roll back weekly-digest" --no-verify
BPGATE_TIME=2025-06-11T10:30:00Z spush bob bob 1 "a rollback by a builder is an unapproved direct push" origin main
BPGATE_TIME=2025-06-11T10:30:00Z spush erin erin 0 "the releaser alone rolls prod back to a tree it had" origin main
expect_grep "$E2E_TMP/err" "[rollback] rollback of refs/heads/main (environment prod) by erin" "rollback noted"
git -C "$srv" cat-file blob "refs/bpgate/releases/prod/$(git rev-parse main)" > "$E2E_TMP/rec"
expect_grep "$E2E_TMP/rec" '"kind":"rollback"' "recorded as a rollback"

# --- UAT evidence, stage health, policy changes --------------------------------------------------------
export BPGATE_TIME=2025-06-11T10:30:00Z
git checkout -q dev; git merge -q --ff-only origin/main
change alice scenarios/invoice-export/README.md "ledger v2" "invoices: ledger v2"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
approve carol main prod
spush erin erin 1 "a medium-risk scenario without UAT evidence is refused" origin main
expect_grep "$E2E_TMP/err" "[uat-evidence] no signed UAT sign-off for scenario invoice-export before prod" "uat named"
expect_exit 0 "a reviewer signs off the scenario's UAT" -- bpgate uat signoff invoice-export -f "$keys/dave"
sed -i 's/2025-06-03T00:00:00Z/2025-06-10T00:00:00Z/; s/"p95_ms": 900/"p95_ms": 9000/' health/stage.json
git add -A; as alice git commit -qm "invoices: UAT evidence and stage health"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
approve carol main prod
spush erin erin 1 "a scenario missing its stage SLOs is refused" origin main
expect_grep "$E2E_TMP/err" "scenario invoice-export misses its stage SLOs" "SLO miss named"
sed -i 's/"p95_ms": 9000/"p95_ms": 900/' health/stage.json
git add -A; as alice git commit -qm "invoices: stage health after the fix"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
approve carol main prod
spush erin erin 0 "evidence and healthy stage figures: released" origin main
# --- commit signatures verified on the server -----------------------------------------------------------
git checkout -q dev
echo "signed note" >> scenarios/weekly-digest/README.md; git add -A
as frank git -c gpg.format=ssh -c user.signingkey="$keys/frank.pub" commit -q -S -m "digest: signed note"
if grep -q "bpgate: time:" "$E2E_TMP/err"; then fail "phase times are printed only when asked for"; else ok "no phase times unless asked for"; fi
BPGATE_RECEIVE_DUMP_FACTS=1 BPGATE_RECEIVE_TIMES=1 push alice 0 "dev takes a commit signed by frank" origin dev
expect_grep "$E2E_TMP/err" '"reason": "good signature"' "the gate verifies commit signatures against the policy's allowed_signers"
expect_grep "$E2E_TMP/err" '"principal": "frank"' "the signing principal is in the facts"
cp "$E2E_TMP/err" "$E2E_TMP/times.err"
for phase in "policy loaded" "gathered" "server facts" "judged" "decided" "recorded"; do
  expect_grep "$E2E_TMP/times.err" "bpgate: time: $phase " "with BPGATE_RECEIVE_TIMES the gate says when '$phase' ended"
done
if grep -Eq 'bpgate: time: recorded +[0-9.]+ ms +[1-9][0-9]* faults +[0-9.]+ ms user +[0-9.]+ ms sys' "$E2E_TMP/times.err"; then
  ok "each phase time comes with the page faults and the CPU time so far"
else fail "no page-fault count on the phase times"; grep "bpgate: time:" "$E2E_TMP/times.err" >&2; fi

# --- bpgate rollback SCENARIO ---------------------------------------------------------------------------
cp "$E2E_TMP/bp-v1.json" scenarios/weekly-digest/main.blueprint.json; git add -A
as alice git commit -qm "digest: two-week period and a footer" -m "Purpose: digest covers two weeks
Risk: low
Test-Plan: ran on stage
Rollback: revert"
push alice 0 "dev" origin dev; promote dev stage; push bob 0 "stage" origin stage; promote stage main
approve carol main prod
spush erin erin 0 "a blueprint change is released to prod" origin main
released=$(git rev-parse main)
expect_exit 1 "rolling back invoice-export would also change weekly-digest back: stops" -- bpgate rollback invoice-export --dry-run
expect_grep "$E2E_TMP/err" "also changes back 1 other scenario(s)" "names the other scenarios"
expect_grep "$E2E_TMP/out" "scenario weekly-digest (risk low, owner bob)  <- another scenario" "marks the other scenario"
expect_exit 1 "--to the current tree is not a rollback" -- bpgate rollback weekly-digest --to main --no-fetch
expect_grep "$E2E_TMP/err" "is the current one" "says why"
git checkout -q main
expect_exit 0 "bpgate rollback weekly-digest prepares the rollback" -- as erin bpgate rollback weekly-digest
prev=$(git rev-parse "$released~2")
expect_grep "$E2E_TMP/out" "back to: tree $(git rev-parse "$prev^{tree}" | cut -c1-12), on prod as commit ${prev:0:12} (release 2025-06-11T10:30:00Z by erin)" "the last earlier release of the scenario"
expect_grep "$E2E_TMP/out" "    M scenarios/weekly-digest/main.blueprint.json" "the blueprint changes back"
expect_grep "$E2E_TMP/out" "      module 2 util:SetVariable2: mapper" "a changed module"
expect_grep "$E2E_TMP/out" "      module 3 util:SetVariable2: goes away" "a module that goes away"
expect_grep "$E2E_TMP/out" "systems written to by the scenarios changing back: none" "systems"
expect_grep "$E2E_TMP/out" "created commit" "the commit is created"
expect_grep "$E2E_TMP/out" "  git push --signed origin rollback/weekly-digest:main" "prints the push the releaser runs"
[ "$(git rev-parse rollback/weekly-digest^)" = "$released" ] && [ "$(git rev-parse "rollback/weekly-digest^{tree}")" = "$(git rev-parse "$prev^{tree}")" ] \
  && ok "rollback/weekly-digest: parent is prod's tip, tree the earlier release" || fail "rollback commit has the wrong parent or tree"
git log -1 --format=%B rollback/weekly-digest > "$E2E_TMP/msg"
expect_grep "$E2E_TMP/msg" "Purpose: rollback weekly-digest on prod to tree" "Purpose trailer"
expect_grep "$E2E_TMP/msg" "Risk: low" "Risk trailer"
spush erin erin 0 "the prepared rollback pushed by the releaser is accepted" origin rollback/weekly-digest:main
expect_grep "$E2E_TMP/err" "[rollback] rollback of refs/heads/main (environment prod) by erin" "the gate records it as a rollback"
git -C "$srv" cat-file blob "refs/bpgate/releases/prod/$(git rev-parse rollback/weekly-digest)" > "$E2E_TMP/rec"
expect_grep "$E2E_TMP/rec" '"kind":"rollback"' "rollback release record"
git checkout -q dev; git merge -q --ff-only origin/main
push alice 0 "dev follows the rollback" origin dev; promote dev stage; push bob 0 "stage follows the rollback" origin stage

# --- segregation of duties ------------------------------------------------------------------------
git checkout -q dev
change carol scenarios/weekly-digest/README.md "carol's idea" "digest: carol"
push carol 0 "dev" origin dev; promote dev stage; push carol 0 "stage" origin stage; promote stage main
approve carol main prod
spush erin erin 1 "an approver who authored a commit of the range is refused" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: approver carol pushed the content of scenarios/weekly-digest/README.md" "SoD named (who pushed the content first)"
approve dave main prod
spush erin erin 1 "still refused while the author's approval stands next to a valid one" origin main
git checkout -q dev
change erin scenarios/weekly-digest/README.md "erin's idea" "digest: erin"
push erin 0 "dev" origin dev; promote dev stage; push erin 0 "stage" origin stage; promote stage main
approve frank main prod; approve dave main prod
spush erin erin 1 "the releaser authored part of the range" origin main
expect_grep "$E2E_TMP/err" "the releaser erin pushed the content of scenarios/weekly-digest/README.md" "releaser SoD named (who pushed the content first)"

# --- policy changes need the admins
sed -i 's/"max_days": 3 }/"max_days": 2 }/' .bpgate/policy.json
git add -A; as alice git commit -qm "policy: two days for break-glass approval"
push alice 0 "dev takes a policy change" origin dev; promote dev stage
push bob 1 "a policy change on stage needs an admin's approval" origin stage
expect_grep "$E2E_TMP/err" "[policy-change] a change to the policy (.bpgate/policy.json) on stage needs 1 admin approval(s)" "policy-change named"
approve grace stage stage
push bob 0 "with the admin's approval the policy change reaches stage" origin stage

# --- approvals as refs -----------------------------------------------------------------------------------
expect_exit 0 "mallory forges an approval in carol's name (locally)" -- bpgate approve main --for prod -f "$keys/mallory" --as carol --no-push
forged=$(git for-each-ref --format='%(refname)' "refs/bpgate/approvals/prod/$(git rev-parse 'main^{tree}')/carol/*" | tail -n1)
git update-ref -d "$forged" 2>/dev/null; bpgate approve main --for prod -f "$keys/mallory" --as carol --no-push >/dev/null
BPGATE_TIME=2025-06-11T10:31:00Z expect_exit 0 "forged, later" -- bpgate approve main --for prod -f "$keys/mallory" --as carol --no-push
forged=$(git for-each-ref --sort=refname --format='%(refname)' "refs/bpgate/approvals/prod/$(git rev-parse 'main^{tree}')/carol/*" | tail -n1)
push carol 1 "an approval that does not verify is refused" origin "$forged:$forged"
expect_grep "$E2E_TMP/err" "does not verify" "forged approval named"
push carol 1 "approvals cannot be deleted" origin ":$(git ls-remote "$srv" 'refs/bpgate/approvals/*' | head -n1 | cut -f2)"
expect_grep "$E2E_TMP/err" "approvals cannot be deleted" "deletion of approvals named"

# --- the audit log ------------------------------------------------------------------------------------------
if [ -f "$keys/audit.skey" ]; then
  grep -q '"decision":"refuse"' "$E2E_TMP/audit/entries" && grep -q '"decision":"accept"' "$E2E_TMP/audit/entries" \
    && ok "every decision is in the audit log" || fail "audit log incomplete"
  expect_exit 0 "the audit log with early refusals verifies" -- bpgate audit verify --log "$E2E_TMP/audit" --key "$keys/audit.vkey"
else
  ok "audit log not configured (no audit key tool) - skipped"
fi
finish
