# End-to-end: the front ends agree with the engine's rules, because they ask
# the engine (bpgate/query.h) instead of keeping copies of rule logic:
#  - a policy that does not name break-glass-overdue: `bpgate pending` reports
#    the overdue change as blocking exactly when the server refuses the promotion;
#  - a policy that renames the change-template trailers (and leaves
#    high_risk_tiers to its default): `bpgate rollback` writes the names the
#    server checks, and the server accepts the rollback it prepared;
#  - a policy with 70 fixture globs: the 65th is scanned by the pre-commit hook
#    and by the server;
#  - `bpgate inventory` flags only the data classes the confidential rule covers.
# Everything is driven by real `git commit` and `git push` to a bare repository
# whose pre-receive and post-receive hooks are bpgate-receive.
source "$(dirname "$0")/lib.sh"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
export BPGATE_TIME=2025-06-04T10:30:00Z
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"
mkdir -p "$keys"

for p in alice carol dave erin grace; do
  ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"
done
: > "$keys/allowed_signers"; : > "$keys/users"
for p in alice carol dave erin grace; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
  echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"
done

git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/frontends
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
git -C "$srv" config receive.advertisePushOptions true
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

# --- a policy that leaves break-glass-overdue and high_risk_tiers to their defaults,
#     renames every change-template trailer and lists 70 fixture globs --------------
git init -q "$work"; cd "$work"
git config bpgate.repository acme/frontends
mkdir -p .bpgate scenarios/digest scenarios/pay
globs=""
for i in $(seq -w 1 70); do globs="$globs${globs:+, }\"fx$i/**\""; done
cat > .bpgate/policy.json <<J
{
  "version": 1,
  "environments": {
    "stage": {"branch": "stage", "protected": true},
    "prod": {"branch": "main", "promotes_from": "stage", "protected": true}
  },
  "roles": {"builders": ["alice"], "reviewers": ["carol", "dave"], "releasers": ["erin"],
            "admins": ["carol"], "emergency": ["grace"]},
  "risk_tiers": ["low", "high"],
  "paths": {"fixtures": [$globs]},
  "catalog": [
    {"id": "digest", "paths": ["scenarios/digest/**"], "owner": "alice", "risk": "low", "data_classes": ["PII"]},
    {"id": "pay", "paths": ["scenarios/pay/**"], "owner": "alice", "risk": "high"}
  ],
  "rules": {
    "change-template": {"trailers": ["Why", "Level", "Checks", "Undo"], "risk_trailer": "Level",
                        "uat_trailer": "Proof"},
    "approvals": {"required": {"prod": {"default": {"reviewers": 1}}}},
    "confidential": {"data_classes": ["PHI"]},
    "uat-evidence": {"mode": "off"},
    "stage-health": {"mode": "off"}
  }
}
J
cp "$keys/allowed_signers" .bpgate/allowed_signers
bp() { # bp <value>: a small blueprint whose one variable has that value
  printf '{"name": "Pay", "flow": [{"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "v", "scope": "roundtrip", "value": "%s"}, "metadata": {"designer": {"x": 0, "y": 0}}}], "metadata": {"instant": false, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true, "sequential": false, "confidential": false, "dataloss": false, "dlq": false}, "designer": {"orphans": []}, "zone": "eu1.make.com"}}\n' "$1"
}
bp v0 > scenarios/pay/main.blueprint.json
bp v0 > scenarios/digest/main.blueprint.json
echo "Weekly digest" > scenarios/digest/README.md
git add -A && git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage

push() { # push <user> <expected exit> <what> [git push args...]
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git push "$@"
}
as() { # as <person> cmd...: commit (or run) as that person
  local p=$1; shift
  GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"
}
approve() { # approve <person> <rev> <env>
  expect_exit 0 "$1 approves $2 for $3" -- env BPGATE_USER="$1" bpgate approve "$2" --for "$3" -f "$keys/$1"
}
trailers="Why: e2e
Level: high
Checks: ran on stage
Undo: bpgate rollback pay
Proof: stage run"
release_pay() { # release_pay <value>: the pay blueprint through stage to prod
  git checkout -q stage; git merge -q --ff-only main
  bp "$1" > scenarios/pay/main.blueprint.json; git add -A
  as alice git commit -q --no-verify -m "pay: $1" -m "$trailers"
  push alice 0 "pay $1 reaches stage" origin stage
  git checkout -q main; git merge -q --ff-only stage
  approve carol main prod
  push erin 0 "pay $1 is released to prod" origin main
}

push alice 0 "bootstrap: the policy branch is created" origin main stage
git -C "$srv" config --unset bpgate.bootstrap
release_pay v1
release_pay v2

# --- break-glass-overdue, not named by the policy: on by default (prod, 3 days, 1 approval) --
git checkout -q main
echo "hotfix" >> scenarios/digest/README.md; git add -A; as grace git commit -qm "digest: emergency fix"
BPGATE_TIME=2025-06-05T10:30:00Z push grace 0 "break-glass by the emergency role" \
  -o "bpgate.break-glass=INC-7: digest spams customers" origin main
bg=$(git rev-parse main)
BPGATE_TIME=2025-06-07T10:30:00Z expect_exit 1 "pending: the change waits for its retroactive approval" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "due within the 3-day limit of break-glass-overdue" "pending applies the rule's default limit"
BPGATE_TIME=2025-06-09T10:30:00Z expect_exit 1 "pending after 4 days" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "OVERDUE: past the 3-day limit of break-glass-overdue: the server refuses further prod promotions" \
  "pending reports the overdue change as blocking (the rule is on by default)"
BPGATE_TIME=2025-06-09T10:30:00Z expect_exit 1 "pending --format json" -- bpgate pending --repo "$srv" --format json
expect_grep "$E2E_TMP/out" '"blocking": true' "json: blocking"
expect_grep "$E2E_TMP/out" '"limit_days": 3' "json: the default limit"
git checkout -q stage; git merge -q --ff-only main
echo "more" >> scenarios/digest/README.md; git add -A; as alice git commit -qm "digest: more"
push alice 0 "the digest change reaches stage" origin stage
git checkout -q main; git merge -q --ff-only stage
BPGATE_TIME=2025-06-09T10:30:00Z approve carol main prod
BPGATE_TIME=2025-06-09T10:30:00Z push erin 1 "the server refuses the promotion, as pending said" origin main
expect_grep "$E2E_TMP/err" "[break-glass-overdue] scenario digest was changed on prod by break-glass INC-7" "the server names the rule"
BPGATE_TIME=2025-06-09T10:30:00Z approve dave "$bg" prod
BPGATE_TIME=2025-06-09T10:30:00Z expect_exit 0 "pending: nothing once approved retroactively" -- bpgate pending --repo "$srv"
BPGATE_TIME=2025-06-09T10:30:00Z push erin 0 "and the server accepts the promotion" origin main

# --- bpgate rollback under renamed trailers and the default high-risk tier ---------------
git fetch -q origin '+refs/bpgate/releases/*:refs/bpgate/releases/*'
BPGATE_TIME=2025-06-09T10:30:00Z expect_exit 0 "bpgate rollback pay prepares the rollback" -- \
  as erin bpgate rollback pay --with-others --no-fetch
git log -1 --format=%B rollback/pay > "$E2E_TMP/msg"
expect_grep "$E2E_TMP/msg" "Why: rollback pay on prod to tree" "the policy's name for the purpose"
expect_grep "$E2E_TMP/msg" "Level: high" "the policy's risk trailer, with the scenario's tier"
expect_grep "$E2E_TMP/msg" "Checks: rollback pay on prod to tree" "every trailer the policy asks for has a value"
expect_grep "$E2E_TMP/msg" "Undo: " "the policy's name for the rollback plan"
expect_grep "$E2E_TMP/msg" "Proof: released on prod before" "high-risk (default tier 'high'): the policy's UAT trailer"
grep -Eq '^(Purpose|Risk|Test-Plan|Rollback|UAT-Evidence):' "$E2E_TMP/msg" \
  && fail "hard-coded trailer names in the rollback message" || ok "no hard-coded trailer names"
BPGATE_TIME=2025-06-09T10:30:00Z push erin 0 "the server accepts the rollback bpgate rollback prepared" origin rollback/pay:main
expect_grep "$E2E_TMP/err" "[rollback] rollback of refs/heads/main (environment prod) by erin" "recorded as a rollback"

# --- a 65th fixture glob is scanned, on the laptop and on the server ----------------------
git checkout -q stage; git reset -q --hard origin/stage
expect_exit 0 "bpgate install" -- bpgate install
mkdir -p fx65
echo '{"email": "jane.roe@gmail.com"}' > fx65/people.json
git add -A
expect_exit 1 "pre-commit scans the 65th fixture glob" -- git commit -qm "fixtures"
expect_grep "$E2E_TMP/err" "[scan-findings]" "pre-commit names the scanner rule"
expect_grep "$E2E_TMP/err" "fx65/people.json" "pre-commit names the file"
git diff --cached --quiet || as alice git commit -q --no-verify -m "fixtures"
push alice 1 "the server scans the 65th fixture glob too" origin stage
expect_grep "$E2E_TMP/err" "[scan-findings]" "the server names the scanner rule"
expect_grep "$E2E_TMP/err" "fx65/people.json" "the server names the file"
mkdir -p fx70; git mv fx65/people.json fx70/people.json; as alice git commit -q --no-verify -m "fixtures, moved"
push alice 1 "and the 70th" origin stage
expect_grep "$E2E_TMP/err" "fx70/people.json" "the server names the file under the 70th glob"

# --- bpgate inventory applies the confidential rule's data_classes (PHI only here) -------
git reset -q --hard origin/stage
expect_exit 0 "bpgate inventory" -- bpgate inventory
expect_grep "$E2E_TMP/out" "scenarios/digest/main.blueprint.json" "inventory lists the PII scenario"
grep -q "not marked confidential" "$E2E_TMP/out" \
  && fail "inventory flags PII although the confidential rule covers PHI only" || ok "inventory agrees with the confidential rule"
finish
