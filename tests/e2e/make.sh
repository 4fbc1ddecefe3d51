# End-to-end: bpgate and Make (against the stand-in, tests/make/standin.py).
# pull (byte-stable), deploy to stage and prod with each environment's own
# ids, idempotence, drift found after an edit "in Make's editor", the next
# deploy refused with the semantic diff, --adopt-drift recorded, 429 and 5xx
# storms, malformed responses (HTML, truncated JSON, a 50 MB body) refused
# with nothing recorded, --create, dry runs, status/inventory/pending, and
# the token absent from every output.
source "$(dirname "$0")/lib.sh"
src=$BPG_SOURCE_ROOT
export BPGATE_TEST_MAKE_CLOCK=fake   # backoffs and budget waits are counted, never slept
TOKEN=5b0e2a4c-1f7d-4c1e-9a51-0e7a6d3c9f11
EDITOR=0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6
READONLY=7e2b9c41-3a55-4f1a-9b0e-2d4c6e8f0a13
export BPGATE_MAKE_TOKEN=$TOKEN
outs="$E2E_TMP/outs"; mkdir -p "$outs"
n=0
run() { # run NAME CODE -- cmd...: keep every output for the token check
  local name=$1 want=$2; shift 3; n=$((n + 1))
  local got=0
  "$@" >"$outs/$n.out" 2>"$outs/$n.err" || got=$?
  cp "$outs/$n.out" "$E2E_TMP/last.out"; cat "$outs/$n.err" >> "$E2E_TMP/last.out"
  if [ "$got" -eq "$want" ]; then ok "$name"; else
    fail "$name: exit $got, wanted $want"; sed 's/^/    /' "$outs/$n.out" "$outs/$n.err" | head -30; fi
}

# ---- the stand-in: dev, stage and prod teams of one organization ------------------------
bp() { # bp CONN HOOK FILTER-VALUE: the weekly digest as Make holds it in one environment
python3 - "$@" <<'P'
import json, sys
conn, hook, val = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(json.dumps({"name": "Weekly KPI digest", "flow": [
  {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": hook, "maxResults": 1},
   "mapper": {}, "metadata": {"parameters": [{"name": "hook", "type": "hook:gateway-webhook"}]}},
  {"id": 2, "module": "google-sheets:addRow", "version": 2, "parameters": {"__IMTCONN__": conn},
   "filter": {"name": "only KPIs", "conditions": [[{"a": "{{1.kind}}", "b": val, "o": "text:equal"}]]},
   "mapper": {"values": {"0": "{{1.value}}"}},
   "metadata": {"parameters": [{"name": "__IMTCONN__", "type": "account:google"}]}}],
  "metadata": {"instant": True, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": True,
   "sequential": False, "confidential": False, "dataloss": False, "dlq": True}, "designer": {"orphans": []},
   "zone": "eu1.make.com"}}))
P
}
cat > seed.json <<J
{ "organizations": [{"id": 1, "name": "Acme", "apiLimit": 1000, "installedApps": ["gateway", "google-sheets", "builtin"]}],
  "teams": [{"id": 10, "organizationId": 1, "name": "dev"}, {"id": 20, "organizationId": 1, "name": "stage"},
            {"id": 30, "organizationId": 1, "name": "prod"}],
  "users": [{"id": 5, "name": "bpgate deployer", "email": "deploy@example.test"},
            {"id": 6, "name": "Ed Itor", "email": "editor@example.test"}],
  "tokens": {"$TOKEN": {"user": 5, "scopes": ["scenarios:read", "scenarios:write"]},
             "$EDITOR": {"user": 6, "scopes": ["scenarios:read", "scenarios:write"]},
             "$READONLY": {"user": 5, "scopes": ["scenarios:read"]}},
  "scenarios": [
    {"id": 101, "teamId": 10, "name": "Weekly KPI digest", "isActive": true, "blueprint": $(bp 1004 1104 kpi),
     "scheduling": {"type": "indefinitely", "interval": 900}},
    {"id": 201, "teamId": 20, "name": "Weekly KPI digest", "isActive": true, "blueprint": $(bp 2004 2104 old),
     "scheduling": {"type": "indefinitely", "interval": 900}},
    {"id": 301, "teamId": 30, "name": "Weekly KPI digest", "isActive": true, "blueprint": $(bp 3004 3104 old),
     "scheduling": {"type": "indefinitely", "interval": 900}}]}
J
source "$(dirname "$0")/make_lib.sh"
standin_start --seed seed.json --frozen-clock --retry-after --log standin.log
ctl() { python3 "$src/tests/make/ctl.py" --port-file "$E2E_TMP/port" --token "$TOKEN" "$@"; }
live_conn() { ctl call GET "scenarios/$1/blueprint" | python3 -c '
import json,sys; d=json.load(sys.stdin)["response"]["blueprint"]; print(d["flow"][1]["parameters"]["__IMTCONN__"], d["flow"][0]["parameters"]["hook"], d["flow"][1]["filter"]["conditions"][0][0]["b"])'; }

# ---- a governed repository with the Make link ---------------------------------------------
git init -q repo && cd repo
mkdir -p .bpgate/environments scenarios/weekly-digest
python3 - "$port" <<'P'
import json, sys
url = "http://127.0.0.1:%s/api/v2" % sys.argv[1]
env = lambda b, f, t: {"branch": b, "promotes_from": f, "protected": f is not None,
                       "make": {"zone": "eu1.make.com", "api_url": url, "team_id": t}}
json.dump({"version": 1,
  "environments": {"dev": env("refs/heads/dev", None, 10), "stage": env("refs/heads/stage", "dev", 20),
                   "prod": env("refs/heads/main", "stage", 30)},
  "roles": {"builders": ["alice"], "reviewers": ["carol"], "releasers": ["erin"], "emergency": ["erin"]},
  "risk_tiers": ["low", "medium", "high"],
  "paths": {"blueprints": ["scenarios/**/*.json"]},
  "catalog": [{"id": "weekly-digest", "paths": ["scenarios/weekly-digest/**"], "owner": "alice", "risk": "low",
               "blueprint": "scenarios/weekly-digest/blueprint.json",
               "make": {"dev": 101, "stage": 201, "prod": 301}},
              {"id": "new-scenario", "paths": ["scenarios/new-scenario/**"], "owner": "alice", "risk": "low",
               "blueprint": "scenarios/new-scenario/blueprint.json", "make": {"dev": 102}}],
  "rules": {}}, open(".bpgate/policy.json", "w"), indent=2)
for e, m in (("dev", 1), ("stage", 2), ("prod", 3)):
    json.dump({"version": 1, "references": {"account": {"1004": m * 1000 + 4}, "hook": {"1104": m * 1000 + 104}}},
              open(".bpgate/environments/%s.json" % e, "w"), indent=2)
P
run "the policy with environments, catalog ids and reference maps checks" 0 -- bpgate policy check .bpgate

# ---- pull --------------------------------------------------------------------------------
run "make pull writes the dev blueprint at its catalog path" 0 -- bpgate make pull weekly-digest
expect_grep "$E2E_TMP/last.out" "wrote     scenarios/weekly-digest/blueprint.json" "pull says what it wrote"
cp scenarios/weekly-digest/blueprint.json "$E2E_TMP/pull1"
run "a second pull changes nothing" 0 -- bpgate make pull weekly-digest
expect_grep "$E2E_TMP/last.out" "unchanged scenarios/weekly-digest/blueprint.json" "pull twice: unchanged"
if cmp -s scenarios/weekly-digest/blueprint.json "$E2E_TMP/pull1"; then ok "byte-stable"; else fail "pull not byte-stable"; fi
expect_grep scenarios/weekly-digest/blueprint.json '"scheduling"' "the scheduling is pulled with the blueprint"
expect_grep scenarios/weekly-digest/blueprint.json '"__IMTCONN__": 1004' "git holds dev's ids"
git add -A && git commit -qm "weekly digest from Make's dev team"
git branch dev; git branch stage
c1=$(git rev-parse HEAD)

# ---- deploy --------------------------------------------------------------------------------
run "deploy refuses without an audit log" 2 -- bpgate make deploy --env stage
expect_grep "$E2E_TMP/last.out" "every deployment is an audit entry" "says why"
bpgate audit keygen test.example/audit --out "$E2E_TMP/audit" >/dev/null
git config bpgate.auditDir "$E2E_TMP/auditlog"; git config bpgate.auditKey "$E2E_TMP/audit.skey"
run "dry run reads and writes nothing" 0 -- bpgate make deploy --env stage --dry-run
expect_grep "$E2E_TMP/last.out" "would deploy (Make scenario 201)" "dry run says what it would do"
[ "$(live_conn 201)" = "2004 2104 old" ] && ok "dry run: Make unchanged" || fail "dry run changed Make"
git rev-parse -q --verify refs/bpgate/deploys/stage/latest >/dev/null && fail "dry run recorded" || ok "dry run recorded nothing"
run "deploy to stage" 0 -- bpgate make deploy --env stage
expect_grep "$E2E_TMP/last.out" "deployed (Make scenario 201)" "stage deployed"
[ "$(live_conn 201)" = "2004 2104 kpi" ] && ok "stage runs stage's connection and hook ids" || fail "stage ids: $(live_conn 201)"
run "deploy to prod" 0 -- bpgate make deploy --env prod
[ "$(live_conn 301)" = "3004 3104 kpi" ] && ok "prod runs prod's ids" || fail "prod ids: $(live_conn 301)"
git rev-parse -q --verify "refs/bpgate/deploys/prod/$c1" >/dev/null && ok "record ref per deployed commit" || fail "no record ref"
git show refs/bpgate/deploys/prod/latest:deploy.json > "$E2E_TMP/rec.json"
expect_grep "$E2E_TMP/rec.json" '"sha256"' "the record has the sha256 of what was written"
expect_grep "$E2E_TMP/rec.json" '"lastEdit"' "and Make's lastEdit after the write"
ctl requests --reset >/dev/null
run "a second deploy deploys nothing" 0 -- bpgate make deploy --env prod
expect_grep "$E2E_TMP/last.out" "0 deployed, 1 unchanged, 0 refused, 0 failed; 0 requests" "idempotent, without a request"

# ---- drift -----------------------------------------------------------------------------------
run "drift: clean" 0 -- bpgate make drift --env prod
expect_grep "$E2E_TMP/last.out" "clean: Make runs what git holds; 1 requests" "clean costs one list request"
ctl edit 301 --token "$EDITOR" --set-filter-name "quick fix in prod" >/dev/null
ctl call GET scenarios/301/blueprint | python3 -c '
import json,sys; print(json.dumps(json.load(sys.stdin)["response"]["blueprint"]))' > "$E2E_TMP/edited.json"
python3 - "$E2E_TMP/edited.json" <<'P'
import json, sys
bp = json.load(open(sys.argv[1])); bp["flow"][1]["filter"]["conditions"][0][0]["b"] = "kpi-or-anything"
print(json.dumps({"blueprint": json.dumps(bp)}), file=open(sys.argv[1] + ".patch", "w"))
P
python3 "$src/tests/make/ctl.py" --port-file "$E2E_TMP/port" --token "$EDITOR" call PATCH "scenarios/301?confirmed=true" \
  "$(cat "$E2E_TMP/edited.json.patch")" >/dev/null
run "drift finds the edit made in Make's editor" 1 -- bpgate make drift --env prod
expect_grep "$E2E_TMP/last.out" "edited in Make since the last deployment" "drift names it"
expect_grep "$E2E_TMP/last.out" "kpi-or-anything" "and shows the semantic diff"
expect_grep "$E2E_TMP/last.out" "2 requests" "one list and one blueprint read"
run "drift --format json" 1 -- bpgate make drift --env prod --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["drift"] is True and d["scenarios"][0]["state"]=="drift"' "$outs/$n.out" \
  && ok "json: drift true, state drift" || fail "json drift output"
run "drift --format sarif" 1 -- bpgate make drift --env prod --format sarif
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["runs"][0]["results"][0]; assert r["ruleId"]=="make-drift"; assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]=="scenarios/weekly-digest/blueprint.json"' "$outs/$n.out" \
  && ok "sarif: a located make-drift result" || fail "sarif drift output"

# a new change; its deploy must not overwrite the edit silently
python3 - <<'P'
import json
p = "scenarios/weekly-digest/blueprint.json"; bp = json.load(open(p))
bp["flow"][1]["mapper"]["values"]["1"] = "{{1.unit}}"; json.dump(bp, open(p, "w"), indent=4)
P
git commit -qam "add the unit column"; git branch -f stage; c2=$(git rev-parse HEAD)
run "deploy over an edit made in Make is refused" 1 -- bpgate make deploy --env prod
expect_grep "$E2E_TMP/last.out" "REFUSED: Make scenario 301 was edited in Make since the last deployment" "refused, with the reason"
expect_grep "$E2E_TMP/last.out" "kpi-or-anything" "and the semantic diff"
expect_grep "$E2E_TMP/last.out" "prod is accepted but not deployed" "says: accepted, not deployed"
[ "$(live_conn 301)" = "3004 3104 kpi-or-anything" ] && ok "the edit is still in Make" || fail "the edit was overwritten"
# a damaged deployment record is never read as "no deployment yet", whose first deployment
# replaces Make's live version without the drift check: the deploy stops and says so
good=$(git rev-parse refs/bpgate/deploys/prod/latest)
git update-ref refs/bpgate/deploys/prod/latest "$(git commit-tree -m "a record without deploy.json" "$(git mktree </dev/null)")"
run "deploy with a damaged deployment record is refused" 2 -- bpgate make deploy --env prod
expect_grep "$E2E_TMP/last.out" "refs/bpgate/deploys/prod/latest is damaged (deploy.json unreadable): a deployment record is never guessed" "names the damaged record"
[ "$(live_conn 301)" = "3004 3104 kpi-or-anything" ] && ok "the edit is still in Make after it" || fail "the edit was overwritten as a first deployment"
git update-ref refs/bpgate/deploys/prod/latest "$good"
run "status shows prod accepted, not deployed" 0 -- bpgate status HEAD
expect_grep "$E2E_TMP/last.out" "prod   ACCEPTED, NOT DEPLOYED" "status: accepted, not deployed"
run "pending lists it" 1 -- bpgate pending
expect_grep "$E2E_TMP/last.out" "accepted, not deployed to Make:" "pending: not deployed"
run "--adopt-drift needs a ticket" 2 -- bpgate make deploy --env prod --adopt-drift "because"
run "--adopt-drift overwrites it, recorded" 0 -- bpgate make deploy --env prod --adopt-drift "CHG-77: the prod fix is superseded by the unit column"
[ "$(live_conn 301)" = "3004 3104 kpi" ] && ok "prod runs git's content again" || fail "not deployed: $(live_conn 301)"
bpgate audit export --log "$E2E_TMP/auditlog" > "$E2E_TMP/audit.jsonl" 2>/dev/null || cat "$E2E_TMP/auditlog"/* > "$E2E_TMP/audit.jsonl" 2>/dev/null || true
grep -rh "CHG-77" "$E2E_TMP/auditlog" >/dev/null 2>&1 && ok "the adoption is in the audit log" || fail "adoption not audited"
git show refs/bpgate/deploys/prod/latest:deploy.json | grep -q '"adopted": "CHG-77' && ok "and in the deployment record" || fail "adoption not recorded"
run "status: prod deployed" 0 -- bpgate status HEAD
expect_grep "$E2E_TMP/last.out" "prod   branch tip deployed" "status: deployed"
run "inventory shows the deployed commit" 0 -- bpgate inventory
expect_grep "$E2E_TMP/last.out" "prod ${c2:0:12} (Make 301" "inventory: prod's deployed commit"

# ---- storms and malformed responses ---------------------------------------------------------
python3 - <<'P'
import json
p = "scenarios/weekly-digest/blueprint.json"; bp = json.load(open(p))
bp["flow"][1]["mapper"]["values"]["2"] = "{{1.when}}"; json.dump(bp, open(p, "w"), indent=4)
P
git commit -qam "add the date column"; git branch -f stage
ctl fault 429 3 --path-prefix /api/v2/scenarios >/dev/null
run "a 429 storm: retried, then deployed" 0 -- bpgate make deploy --env stage
ctl fault 503 20 --path-prefix /api/v2/scenarios/301 >/dev/null
latest=$(git rev-parse refs/bpgate/deploys/prod/latest)
run "a 5xx storm: a clear error, exit 2" 2 -- bpgate make deploy --env prod
expect_grep "$E2E_TMP/last.out" "503" "names the status"
[ "$(git rev-parse refs/bpgate/deploys/prod/latest)" = "$latest" ] && ok "5xx: nothing recorded as deployed" || fail "5xx recorded"
ctl call POST /_standin/faults/reset '{}' >/dev/null
ctl requests --reset >/dev/null
for kind in html truncated huge; do
  ctl fault 200 5 --path-prefix /api/v2/scenarios/301 --body "$kind" >/dev/null
  run "a $kind response is refused cleanly" 2 -- bpgate make deploy --env prod
  [ "$(git rev-parse refs/bpgate/deploys/prod/latest)" = "$latest" ] && ok "$kind: nothing recorded" || fail "$kind recorded"
  ctl call POST /_standin/faults/reset '{}' >/dev/null
done
run "after the storms, deploy succeeds (resumable)" 0 -- bpgate make deploy --env prod
run "and drift is clean" 0 -- bpgate make drift --env prod

# ---- a scenario the catalog has but Make has not ----------------------------------------------
mkdir -p scenarios/new-scenario; bp 1004 1104 new > scenarios/new-scenario/blueprint.json
git add -A; git commit -qm "a new scenario"; git branch -f stage
run "--create without a scheduling: refused, says what to add" 2 -- bpgate make deploy --env stage --create
expect_grep "$E2E_TMP/last.out" 'add a top-level "scheduling"' "says the fix"
python3 - <<'P'
import json
p = "scenarios/new-scenario/blueprint.json"; bp = json.load(open(p))
bp["scheduling"] = {"type": "on-demand"}; json.dump(bp, open(p, "w"), indent=4)
P
git commit -qam "the new scenario runs on demand"; git branch -f stage
run "not in Make: refused without --create" 1 -- bpgate make deploy --env stage
expect_grep "$E2E_TMP/last.out" "--create creates it" "says how"
run "--create creates it" 0 -- bpgate make deploy --env stage --create
expect_grep "$E2E_TMP/last.out" "created (Make scenario" "created"
run "the next deploy finds it through the record" 0 -- bpgate make deploy --env stage
expect_grep "$E2E_TMP/last.out" "0 deployed, 2 unchanged" "idempotent after create"

# ---- scopes and the token ----------------------------------------------------------------------
BPGATE_MAKE_TOKEN=$READONLY run "a read-only token: drift works" 0 -- bpgate make drift --env stage
echo "$TOKEN" > "$E2E_TMP/token"; chmod 644 "$E2E_TMP/token"
BPGATE_MAKE_TOKEN= run "a token file readable by others is refused" 2 -- bpgate make drift --env stage --token-file "$E2E_TMP/token"
expect_grep "$E2E_TMP/last.out" "chmod 600" "says the fix"
chmod 600 "$E2E_TMP/token"
BPGATE_MAKE_TOKEN= run "a 0600 token file works" 0 -- bpgate make drift --env stage --token-file "$E2E_TMP/token"
BPGATE_MAKE_TOKEN= run "no token: a clear error" 2 -- bpgate make drift --env stage
expect_grep "$E2E_TMP/last.out" "no Make API token" "says what is missing"

if grep -rlF -e "$TOKEN" -e "$EDITOR" -e "$READONLY" "$outs" "$E2E_TMP/auditlog" .git/refs 2>/dev/null; then
  fail "a token appears in an output, the audit log or a record"
else ok "no token in any output, audit entry or record ($n commands)"; fi
if git log --all -p 2>/dev/null | grep -qF "$TOKEN"; then fail "token in git"; else ok "no token in git"; fi
finish
