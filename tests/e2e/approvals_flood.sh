# End-to-end: approvals under volume and under privilege, with bpgate-receive
# as the pre-receive hook of a bare repository and real `git push`:
#  * 20,001 approval refs of OTHER trees (written straight into the bare
#    repository: packed-refs, then 20,001 more loose ones) leave every push judgeable: the
#    prod push is refused for its missing approval, then accepted once a
#    reviewer approves (before: "more than 20000 approval refs" refused
#    every environment push until an admin cleaned up);
#  * an approval whose approver holds no approving role is refused
#    (server-refs asks the engine: bpg_policy_approval_admit);
#  * one approver records at most max_approvals_per_tree (default 3)
#    approvals of one tree and environment, also within one push.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, inside the change window
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"
mkdir -p "$keys"

for p in alice bob carol dave erin grace; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
: > "$keys/allowed_signers"
# bob (a builder) has a trusted key too: what stops his approvals is his role, not his signature
for p in bob carol dave erin grace; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done
: > "$keys/users"
for p in alice bob carol dave erin grace; do echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"; done

git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
git -C "$srv" config receive.advertisePushOptions true
git -C "$srv" config receive.certNonceSeed e2e-seed
git -C "$srv" config gpg.ssh.allowedSignersFile "$keys/allowed_signers"
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

git init -q "$work"; cd "$work"
git config bpgate.repository acme/make-scenarios
mkdir -p .bpgate scenarios/weekly-digest uat health
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
cp "$keys/allowed_signers" .bpgate/allowed_signers
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
echo '{"measured_at": "2025-06-03T00:00:00Z", "scenarios": {"weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800}}}' > health/stage.json
git add -A && git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage; git branch dev

push() { local user=$1 want=$2 what=$3; shift 3; expect_exit "$want" "$what" -- env BPGATE_USER="$user" git push "$@"; }
spush() {
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git -c gpg.format=ssh -c user.signingkey="$keys/$user.pub" push --signed "$@"
}
approve() { # approve <person> <want> <what> <rev> <env> [more bpgate approve args]
  local p=$1 want=$2 what=$3 rev=$4 env=$5; shift 5
  expect_exit "$want" "$what" -- env BPGATE_USER="$p" bpgate approve "$rev" --for "$env" -f "$keys/$p" "$@"
}

push alice 0 "bootstrap push" origin main stage dev
git -C "$srv" config --unset bpgate.bootstrap
git checkout -q dev
echo "Sent on Mondays" >> scenarios/weekly-digest/README.md; git add -A
GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=alice@example.com \
  git commit -qm "digest: wording"
push alice 0 "a builder pushes to dev" origin dev
git branch -f stage dev
push bob 0 "a builder promotes dev to stage" origin stage
git branch -f main stage; git checkout -q main
tree=$(git rev-parse 'main^{tree}')

# --- the flood: 20,001 approval refs of other trees, straight into the bare repository -----
# They point at a real approval commit (carol's, of another tree); the names follow the
# approval layout refs/bpgate/approvals/prod/<tree>/<approver>/<stamp>.
git checkout -q -b other dev~1
approve carol 0 "carol approves another tree (the flood's target object)" HEAD prod --no-push
other_ref=$(git for-each-ref --format='%(refname)' refs/bpgate/approvals/prod/ | head -n1)
other_obj=$(git rev-parse "$other_ref")
git -C "$srv" fetch -q "$work" "$other_ref" # the object only (FETCH_HEAD): fetch runs no hook
git checkout -q main
# packed: written straight into packed-refs (git's own format, sorted)
[ ! -e "$srv/packed-refs" ] || { fail "the server already has packed-refs"; }
python3 - "$other_obj" packed > "$srv/packed-refs" <<'PY'
import hashlib, sys
names = sorted("refs/bpgate/approvals/prod/%s/carol/20250604T103000Z" % hashlib.sha1(b"%s-%d" % (sys.argv[2].encode(), i)).hexdigest()
               for i in range(20001))
print("# pack-refs with: peeled fully-peeled sorted ")
for n in names:
    print("%s %s" % (sys.argv[1], n))
PY
n=$(git -C "$srv" for-each-ref refs/bpgate/approvals/ | wc -l)
[ "$n" -ge 20001 ] && ok "the bare repository holds $n approval refs (packed)" || fail "flood: only $n refs"

spush erin 1 "with 20,001 packed approval refs of other trees, prod without an approval is judged (and refused)" origin main
expect_grep "$E2E_TMP/err" "[approvals] prod requires 1 approval(s) from reviewers for a low-risk change of tree ${tree:0:12} (have 0)" \
  "judged by the approvals rule, not refused at a count limit"
if grep -q "approval refs" "$E2E_TMP/err"; then fail "a count limit answered instead of the policy"; sed 's/^/    /' "$E2E_TMP/err" | head; else ok "no count limit named"; fi

# loose: 20,001 more through git update-ref
python3 - "$other_obj" loose > "$E2E_TMP/flood" <<'PY'
import hashlib, sys
for i in range(20001):
    t = hashlib.sha1(b"%s-%d" % (sys.argv[2].encode(), i)).hexdigest()
    print("create refs/bpgate/approvals/prod/%s/carol/20250604T103000Z %s" % (t, sys.argv[1]))
PY
git -C "$srv" update-ref --stdin < "$E2E_TMP/flood"
n=$(find "$srv/refs/bpgate/approvals/prod" -type f | wc -l)
[ "$n" -ge 20001 ] && ok "and $n loose approval refs" || fail "flood: only $n loose refs"
approve carol 0 "a reviewer approves main for prod (pushed and judged by server-refs)" main prod
spush erin 0 "with 40,002 approval refs of other trees (packed and loose), the approved tree is released to prod" origin main
expect_grep "$E2E_TMP/err" "remote: bpgate: accepted 1 ref update(s) from erin" "accepted"

# --- privilege: only approving roles approve ------------------------------------------------------
approve bob 1 "a builder's approval (valid signature, no approving role) is refused" main prod
expect_grep "$E2E_TMP/err" "[server-refs] the approval refs/bpgate/approvals/prod/$tree/bob/20250604T103000Z is refused: bob may not approve for prod: only the roles reviewers, cab, admins do, and bob holds none of them" \
  "server-refs names the roles"
git -C "$srv" for-each-ref "refs/bpgate/approvals/prod/$tree/bob/" | grep -q . && fail "bob's approval landed" || ok "bob's approval did not land"
approve erin 1 "a releaser's approval for dev (no role approves for dev) is refused" main dev
expect_grep "$E2E_TMP/err" "erin may not approve for dev: no role approves for that environment in the policy" "says no role approves there"
approve grace 0 "an admin approves for stage (policy-change: admins approve on protected environments)" main stage

# --- volume: at most 3 approvals per approver, tree and environment -----------------------------
for t in 2025-06-04T10:31:00Z 2025-06-04T10:32:00Z; do
  BPGATE_TIME=$t approve carol 0 "carol approves the same tree again at $t" main prod
done
BPGATE_TIME=2025-06-04T10:33:00Z approve carol 1 "carol's 4th approval of the same tree for prod is refused" main prod
expect_grep "$E2E_TMP/err" "carol already has 3 approval(s) of this tree for prod: the limit is 3 (server-refs max_approvals_per_tree)" \
  "names the limit"
for t in 10:40 10:41 10:42 10:43; do
  BPGATE_TIME=2025-06-04T$t:00Z approve dave 0 "dave records an approval locally at $t" main prod --no-push
done
push dave 1 "4 approvals of one tree by one approver in a single push are refused" origin "refs/bpgate/approvals/prod/$tree/dave/*:refs/bpgate/approvals/prod/$tree/dave/*"
expect_grep "$E2E_TMP/err" "refs/bpgate/approvals/prod/$tree/dave/20250604T104300Z is refused: dave already has 3 approval(s)" \
  "the 4th of the push is named"
n=$(git -C "$srv" for-each-ref "refs/bpgate/approvals/prod/$tree/dave/" | wc -l)
[ "$n" -eq 0 ] && ok "none of that push landed (pre-receive refuses it whole)" || fail "$n of dave's approvals landed"
finish
