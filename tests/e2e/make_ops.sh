# End-to-end: Make operations on a plain git server (bare repository, bpgate-receive
# as pre- and post-receive, real pushes): an accepted push to an environment with
# make.deploy "auto" deploys itself; a 5xx storm during that deploy leaves the
# push accepted and the environment "accepted, not deployed" (said to the pusher,
# in status, pending and the audit log) until a retry clears it; disable refused
# to a reviewer and done by a releaser, visible in status, pending and drift; the
# token never printed.
source "$(dirname "$0")/lib.sh"
src=$BPG_SOURCE_ROOT
export BPGATE_TEST_MAKE_CLOCK=fake
TOKEN=6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"; keys="$E2E_TMP/keys"; mkdir -p "$keys"

source "$(dirname "$0")/make_lib.sh"
make_server_two_teams
ctl() { python3 "$src/tests/make/ctl.py" --port-file "$E2E_TMP/port" --token "$TOKEN" "$@"; }

# --- the repository: dev (the source) and stage, which deploys itself -------------
git init -q "$work"; cd "$work"
mkdir -p .bpgate/environments scenarios/digest
python3 - "$port" <<'P'
import json, sys
url = "http://127.0.0.1:%s/api/v2" % sys.argv[1]
json.dump({"version": 1,
  "environments": {
    "dev": {"branch": "refs/heads/dev", "promotes_from": None, "make": {"api_url": url, "team_id": 10}},
    "stage": {"branch": "refs/heads/stage", "promotes_from": "dev",
              "make": {"api_url": url, "team_id": 20, "deploy": "auto"}}},
  "roles": {"builders": ["alice"], "reviewers": ["carol"], "releasers": ["erin"], "emergency": ["erin"]},
  "risk_tiers": ["low", "medium", "high"],
  "paths": {"blueprints": ["scenarios/**/*.json"]},
  "catalog": [{"id": "digest", "paths": ["scenarios/digest/**"], "owner": "alice", "risk": "low",
               "blueprint": "scenarios/digest/blueprint.json", "make": {"dev": 101, "stage": 201}}],
  "rules": {"change-template": {"mode": "off"}, "writeback-dlq": {"mode": "off"}}},
  open(".bpgate/policy.json", "w"), indent=2)
P
cat > scenarios/digest/blueprint.json <<'J'
{"name": "Digest", "flow": [{"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {},
  "mapper": {"name": "subject", "scope": "roundtrip", "value": "Weekly digest"}}],
 "metadata": {"instant": false, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true,
  "sequential": false, "confidential": false, "dataloss": false, "dlq": true}, "designer": {"orphans": []}}}
J
git add -A; git commit -qm "digest"
git remote add origin "$srv"
out="$E2E_TMP/push.out"
expect_exit 0 "bootstrap: the policy branch" -- env BPGATE_USER=alice git push -q origin HEAD:dev
git -C "$srv" config --unset bpgate.bootstrap

# --- promotion on merge: a 5xx storm during the deploy --------------------------------
ctl fault 503 100 --path-prefix /api/v2/scenarios/201 >/dev/null
rc=0; BPGATE_USER=alice git push origin HEAD:stage > "$out" 2>&1 || rc=$?
[ "$rc" = 0 ] && ok "the push to stage is accepted although the deploy fails" || { fail "push exit $rc"; cat "$out"; }
expect_grep "$out" "the push is ACCEPTED but NOT DEPLOYED to Make (stage)" "said to the pusher"
expect_grep "$out" "retry: ssh git@<server> deploy <repo> --env stage" "with the retry command"
expect_grep "$out" "503" "and the reason"
[ "$(git -C "$srv" rev-parse stage)" = "$(git rev-parse HEAD)" ] && ok "the branch moved (accepted)" || fail "stage did not move"
git fetch -q origin '+refs/bpgate/*:refs/bpgate/*' 'refs/heads/*:refs/remotes/origin/*'
expect_exit 0 "status runs" -- bpgate status HEAD
expect_grep "$E2E_TMP/out" "stage  ACCEPTED, NOT DEPLOYED" "status: stage accepted, not deployed"
expect_exit 1 "pending: exit 1 while not deployed" -- bpgate pending
expect_grep "$E2E_TMP/out" "accepted, not deployed to Make:" "pending lists it"
grep -rqh "bpgate-deploy-incomplete\|bpgate-auto-deploy-failed" "$E2E_TMP/audit" && ok "the failed deploy is in the audit log" \
  || fail "failed deploy not audited"

ctl call POST /_standin/faults/reset '{}' >/dev/null
expect_exit 0 "the retry on the server deploys" -- env GIT_DIR="$srv" bpgate make deploy --env stage
git fetch -q origin '+refs/bpgate/*:refs/bpgate/*'
git update-ref -d refs/bpgate/deploys/stage/failed 2>/dev/null || true
git fetch -q --prune origin '+refs/bpgate/*:refs/bpgate/*'
expect_exit 0 "status after the retry" -- bpgate status HEAD
expect_grep "$E2E_TMP/out" "stage  branch tip deployed" "status: deployed"
expect_exit 0 "pending: nothing left" -- bpgate pending

# the next accepted push deploys itself
sed -i 's/Weekly digest/Weekly KPI digest/' scenarios/digest/blueprint.json
git commit -qam "subject"
expect_exit 0 "push to dev" -- env BPGATE_USER=alice git push -q origin HEAD:dev
rc=0; BPGATE_USER=alice git push origin HEAD:stage > "$out" 2>&1 || rc=$?
[ "$rc" = 0 ] && ok "promotion to stage accepted" || { fail "push exit $rc"; cat "$out"; }
expect_grep "$out" "deployed (Make scenario 201)" "and deployed on merge, in the push output"
ctl call GET scenarios/201/blueprint > "$E2E_TMP/live.json"
expect_grep "$E2E_TMP/live.json" "Weekly KPI digest" "Make's stage team runs it"
git -C "$srv" show refs/bpgate/deploys/stage/latest:deploy.json > "$E2E_TMP/rec.json"
expect_grep "$E2E_TMP/rec.json" "bpgate-receive (accepted push of refs/heads/stage by alice)" "the record says why and for whom"

# --- disable / enable ---------------------------------------------------------------
export GIT_DIR="$srv"
expect_exit 1 "disable by a reviewer (as the server authenticated her) is refused" -- \
  env BPGATE_USER=carol bpgate make disable digest --env stage --reason "INC-9: duplicate mails"
cat "$E2E_TMP/out" "$E2E_TMP/err" > "$E2E_TMP/both"; expect_grep "$E2E_TMP/both" "refused: carol holds none of the roles" "with the reason"
expect_exit 1 "deploy for a builder (as the server authenticated her) is refused" -- env BPGATE_USER=alice bpgate make deploy --env stage
expect_grep "$E2E_TMP/err" "refused: alice holds none of the roles that may deploy to stage" "deploy names the missing role"
expect_exit 2 "a reason without a ticket is refused" -- env BPGATE_USER=erin bpgate make disable digest --env stage --reason "oops"
expect_exit 0 "disable by a releaser" -- env BPGATE_USER=erin bpgate make disable digest --env stage --reason "INC-9: duplicate mails"
ctl call GET scenarios/201 > "$E2E_TMP/s.json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["scenario"]["isActive"] is False' "$E2E_TMP/s.json" \
  && ok "Make stopped it" || fail "still active in Make"
expect_exit 0 "status" -- bpgate status stage
expect_grep "$E2E_TMP/out" "DISABLED digest (Make 201)" "status shows it disabled"
expect_exit 1 "pending lists the disabled scenario" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "stage  digest" "pending: the scenario"
bpgate evidence keygen --out "$keys/evidence" >/dev/null 2>&1
expect_exit 0 "release evidence of stage's tip" -- bpgate evidence "$(git -C "$srv" rev-parse stage)" --key "$keys/evidence.pem" \
  --repo "$srv" --audit-dir "$E2E_TMP/audit" --log-key "$keys/audit.vkey" --env stage --out "$E2E_TMP/ev.jsonl" \
  --markdown "$E2E_TMP/ev.md"
expect_grep "$E2E_TMP/ev.md" "Deployed to Make" "the evidence says where it was deployed"
expect_grep "$E2E_TMP/ev.md" "INC-9: duplicate mails" "and shows the scenario disabled, with the reason"
expect_exit 0 "drift: disabled through bpgate is not drift" -- bpgate make drift --env stage
expect_grep "$E2E_TMP/out" "disabled through bpgate" "drift says disabled"
ctl call POST scenarios/201/start '{}' >/dev/null
expect_exit 1 "switched on in Make behind bpgate's back: drift" -- bpgate make drift --env stage
expect_grep "$E2E_TMP/out" "activated in Make, not through bpgate" "drift names it"
# a damaged switch record is said, not read as "no switch" (drift judged by the deployment's
# isActive, pending and status listing nothing disabled)
sw=$(git -C "$srv" rev-parse refs/bpgate/switches/stage/digest)
git -C "$srv" update-ref refs/bpgate/switches/stage/digest "$(git -C "$srv" commit-tree -m damaged "$(git -C "$srv" mktree </dev/null)")"
expect_exit 2 "drift with a damaged switch record: an error" -- bpgate make drift --env stage
expect_grep "$E2E_TMP/err" "refs/bpgate/switches/stage/digest is damaged (switch.json unreadable)" "drift names the record"
expect_exit 1 "pending counts the unreadable switch records" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "stage  switch records unreadable: refs/bpgate/switches/stage/digest is damaged" "pending names the record"
expect_exit 0 "status with a damaged switch record" -- bpgate status stage
expect_grep "$E2E_TMP/out" "stage  switch records unreadable: refs/bpgate/switches/stage/digest is damaged" "status names the record"
git -C "$srv" update-ref refs/bpgate/switches/stage/digest "$sw"
# a damaged failed-deployment record: pending says so and counts it (it listed nothing)
had_failed=$(git -C "$srv" rev-parse -q --verify refs/bpgate/deploys/stage/failed || true)
git -C "$srv" update-ref refs/bpgate/deploys/stage/failed "$(git -C "$srv" commit-tree -m damaged "$(git -C "$srv" mktree </dev/null)")"
expect_exit 1 "pending with a damaged failed-deployment record" -- bpgate pending --repo "$srv"
expect_grep "$E2E_TMP/out" "stage  records unreadable: refs/bpgate/deploys/stage/failed is damaged (failed.json unreadable)" "pending names it"
if [ -n "$had_failed" ]; then git -C "$srv" update-ref refs/bpgate/deploys/stage/failed "$had_failed"
else git -C "$srv" update-ref -d refs/bpgate/deploys/stage/failed; fi
expect_exit 0 "enable by a releaser" -- env BPGATE_USER=erin bpgate make enable digest --env stage --reason "INC-9: fixed"
expect_exit 0 "pending: nothing left" -- bpgate pending --repo "$srv"
grep -rqh '"bpgate-disable"' "$E2E_TMP/audit" && grep -rqh "bpgate-disable-refused" "$E2E_TMP/audit" \
  && ok "disable, and the refused attempt, are audit entries" || fail "disable not audited"
unset GIT_DIR

if grep -rqF "$TOKEN" "$E2E_TMP/audit" "$out" "$E2E_TMP/out" "$E2E_TMP/err" "$srv/refs" 2>/dev/null \
   || git -C "$srv" log --all -p 2>/dev/null | grep -qF "$TOKEN"; then
  fail "the token appears in an output, the audit log or a record"
else ok "the token appears nowhere"; fi
finish
