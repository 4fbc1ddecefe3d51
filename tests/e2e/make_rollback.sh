# End-to-end: `bpgate rollback SCENARIO --deploy` on a plain git server (bare
# repository, bpgate-receive as pre- and post-receive, real pushes): a protected
# stage that deploys itself (make.deploy "auto") released v1 then v2; the releaser's
# rollback is prepared, pushed, accepted by the gate as a rollback, and deployed
# to Make by the server, which the command confirms from the deployment record.
source "$(dirname "$0")/lib.sh"
src=$BPG_SOURCE_ROOT
export BPGATE_TEST_MAKE_CLOCK=fake
TOKEN=6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"; keys="$E2E_TMP/keys"; mkdir -p "$keys"

source "$(dirname "$0")/make_lib.sh"
make_server_two_teams
ctl() { python3 "$src/tests/make/ctl.py" --port-file "$E2E_TMP/port" --token "$TOKEN" "$@"; }

# --- the repository: dev (the source) and a protected stage that deploys itself ------
git init -q "$work"; cd "$work"
mkdir -p .bpgate/environments scenarios/digest
python3 - "$port" <<'P'
import json, sys
url = "http://127.0.0.1:%s/api/v2" % sys.argv[1]
off = {"mode": "off"}
json.dump({"version": 1,
  "environments": {
    "dev": {"branch": "refs/heads/dev", "promotes_from": None, "make": {"api_url": url, "team_id": 10}},
    "stage": {"branch": "refs/heads/stage", "promotes_from": "dev", "protected": True,
              "make": {"api_url": url, "team_id": 20, "deploy": "auto"}}},
  "roles": {"builders": ["alice"], "reviewers": ["carol"], "releasers": ["erin"], "emergency": ["erin"]},
  "risk_tiers": ["low", "medium", "high"],
  "paths": {"blueprints": ["scenarios/**/*.json"]},
  "catalog": [{"id": "digest", "paths": ["scenarios/digest/**"], "owner": "alice", "risk": "low",
               "blueprint": "scenarios/digest/blueprint.json", "make": {"dev": 101, "stage": 201}}],
  "rules": {"change-template": off, "writeback-dlq": off, "approvals": off, "policy-change": off,
            "segregation-of-duties": off, "signed-push": off, "change-window": off, "uat-evidence": off,
            "stage-health": off, "protected-branch": {"mode": "enforce", "push_roles": {"stage": ["releasers"]}}}},
  open(".bpgate/policy.json", "w"), indent=2)
P
bp() {
cat > scenarios/digest/blueprint.json <<J
{"name": "Digest", "flow": [{"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {},
  "mapper": {"name": "subject", "scope": "roundtrip", "value": "$1"}}],
 "metadata": {"instant": false, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true,
  "sequential": false, "confidential": false, "dataloss": false, "dlq": true}, "designer": {"orphans": []}}}
J
}
bp "digest v1"
git add -A; git commit -qm "digest v1"
git remote add origin "$srv"
expect_exit 0 "bootstrap: the policy branch" -- env BPGATE_USER=alice git push -q origin HEAD:dev
git -C "$srv" config --unset bpgate.bootstrap
expect_exit 0 "v1 released to stage by the releaser, deployed by the server" -- env BPGATE_USER=erin git push -q origin HEAD:stage
bp "digest v2"; git commit -qam "digest v2"
expect_exit 0 "v2 to dev" -- env BPGATE_USER=alice git push -q origin HEAD:dev
expect_exit 0 "v2 released to stage" -- env BPGATE_USER=erin git push -q origin HEAD:stage
ctl call GET scenarios/201/blueprint > "$E2E_TMP/live.json"
expect_grep "$E2E_TMP/live.json" "digest v2" "Make's stage team runs v2"

out="$E2E_TMP/rb.out"
rc=0; BPGATE_USER=erin bpgate rollback digest --env stage --deploy > "$out" 2>&1 || rc=$?
[ "$rc" = 0 ] && ok "rollback --deploy: prepared, pushed, accepted and deployed" || { fail "rollback exit $rc"; cat "$out"; }
expect_grep "$out" "deployed to Make by the server (record refs/bpgate/deploys/stage/" "confirmed from the server's record"
ctl call GET scenarios/201/blueprint > "$E2E_TMP/live.json"
expect_grep "$E2E_TMP/live.json" "digest v1" "Make's stage team runs v1 again"
git -C "$srv" for-each-ref refs/bpgate/releases/stage/ --format='%(refname)' > "$E2E_TMP/rels"
[ "$(wc -l < "$E2E_TMP/rels")" -ge 3 ] && ok "the rollback is a release record of its own" || fail "no rollback record"

# a rollback the gate refuses is not deployed
rc=0; BPGATE_USER=alice bpgate rollback digest --env stage --deploy > "$out" 2>&1 || rc=$?
[ "$rc" = 1 ] && ok "a builder's rollback --deploy is refused by the gate (exit 1)" || { fail "exit $rc"; cat "$out"; }
expect_grep "$out" "the push was not accepted (see above): nothing is deployed" "and says nothing was deployed"
ctl call GET scenarios/201/blueprint > "$E2E_TMP/live.json"
expect_grep "$E2E_TMP/live.json" "digest v1" "Make still runs what the gate accepted last"
if grep -qF "$TOKEN" "$out" "$E2E_TMP/audit"/* 2>/dev/null; then fail "token printed"; else ok "the token appears nowhere"; fi
finish
