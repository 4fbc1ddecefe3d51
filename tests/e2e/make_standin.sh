#!/usr/bin/env bash
# End-to-end test of the Make API stand-in (tests/make/standin.py) driven only
# by tests/make/ctl.py and python3: each behaviour of the spec's list "What a
# faithful stand-in must reproduce" (1-10) with exact statuses and bodies, TLS,
# the per-minute 429 budget on the stand-in's controllable clock, and each
# fault kind. Servers are started with --frozen-clock: nothing here depends on
# the machine's speed. Every server is killed by PID on exit.
. "$(dirname "$0")/lib.sh"
SRC=${BPG_SOURCE_ROOT:?}
command -v openssl >/dev/null || { echo "SKIP: needs openssl"; exit 77; }
# The interpreter itself, not a version-manager shim (which costs ~1 s a call).
PY=$(python3 -c 'import sys; print(sys.executable)')
STANDIN="$SRC/tests/make/standin.py"
CTLPY="$SRC/tests/make/ctl.py"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$E2E_TMP"
}
trap cleanup EXIT

RW=11111111-2222-4333-8444-555555555555    # user 5, every scope
RO=22222222-3333-4444-8555-666666666666    # user 6, scenarios:read only
ED=33333333-4444-4555-8666-777777777777    # user 6, scenarios read+write ("the editor")
SM=44444444-5555-4666-8777-888888888888    # user 5, org 2 (apiLimit 3) only
BEARER=oauth-access-token-not-a-uuid       # user 6, scenarios:read (OAuth form)

cat > seed.json <<'EOF'
{ "organizations": [ {"id": 1, "name": "Acme", "apiLimit": 1000},
                     {"id": 2, "name": "Small", "apiLimit": 3} ],
  "teams": [ {"id": 10, "organizationId": 1, "name": "dev"},
             {"id": 30, "organizationId": 1, "name": "prod"},
             {"id": 50, "organizationId": 2, "name": "small"} ],
  "users": [ {"id": 5, "name": "bpgate deployer", "email": "deploy@example.test"},
             {"id": 6, "name": "Builder", "email": "builder@example.test"} ],
  "knownApps": ["builtin", "gateway", "json", "util", "http", "slack"],
  "tokens": {
    "11111111-2222-4333-8444-555555555555": {"user": 5, "teams": [10, 30], "scopes": ["scenarios:read",
      "scenarios:write", "scenarios:run", "connections:read", "hooks:read", "datastores:read",
      "keys:read", "teams:read", "organizations:read", "user:read"]},
    "22222222-3333-4444-8555-666666666666": {"user": 6, "teams": [10, 30], "scopes": ["scenarios:read"]},
    "33333333-4444-4555-8666-777777777777": {"user": 6, "teams": [10, 30], "scopes": ["scenarios:read", "scenarios:write"]},
    "44444444-5555-4666-8777-888888888888": {"user": 5, "teams": [50], "scopes": ["scenarios:read", "scenarios:write", "scenarios:run"]},
    "oauth-access-token-not-a-uuid": {"user": 6, "teams": [10], "scopes": ["scenarios:read"]} },
  "folders": [ {"id": 7, "teamId": 10, "name": "CRM"} ],
  "scenarios": [
    {"id": 101, "teamId": 10, "folderId": null, "name": "CRM sync", "isActive": false,
     "created": "2026-11-01T08:00:00.000Z", "lastEdit": "2026-11-02T08:00:00.000Z", "createdByUser": 6,
     "blueprint": {"name": "CRM sync", "flow": [
        {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": 1101}},
        {"id": 2, "module": "builtin:BasicRouter", "version": 1, "routes": [
          {"flow": [{"id": 3, "module": "json:ParseJSON", "version": 1,
                     "filter": {"name": "only new", "conditions": []}}]}]}],
       "metadata": {"version": 1}},
     "scheduling": {"type": "indefinitely", "interval": 900}},
    {"id": 102, "teamId": 10, "folderId": 7, "name": "Invoices", "isActive": true,
     "blueprint": {"name": "Invoices", "flow": [{"id": 1, "module": "http:ActionSendData", "version": 3}],
                   "metadata": {"version": 1}},
     "scheduling": {"type": "on-demand"}},
    {"id": 104, "teamId": 10, "name": "Scratch", "scheduling": {"type": "on-demand"}},
    {"id": 301, "teamId": 30, "name": "CRM sync (prod)", "isActive": true,
     "blueprint": {"name": "CRM sync", "flow": [], "metadata": {"version": 1}},
     "scheduling": {"type": "indefinitely", "interval": 900}},
    {"id": 501, "teamId": 50, "name": "Small one", "isActive": true, "scheduling": {"type": "on-demand"}} ],
  "logs": { "101": [
    {"id": "a1", "status": 1, "duration": 1000, "timestamp": "2026-12-01T10:00:00.000Z", "type": "auto", "operations": 3},
    {"id": "a2", "status": 3, "duration": 2000, "timestamp": "2026-12-01T11:00:00.000Z", "type": "auto", "operations": 1},
    {"id": "a3", "status": 1, "duration": 0, "timestamp": "2026-12-01T11:30:00.000Z", "type": "auto", "operations": 1, "checkRun": true},
    {"id": "a4", "status": 2, "duration": 3000, "timestamp": "2026-12-01T12:00:00.000Z", "type": "manual", "operations": 5, "authorId": 6} ] },
  "connections": [ {"id": 1001, "name": "Google (dev)", "accountName": "google", "accountType": "oauth", "teamId": 10},
                   {"id": 1002, "name": "Slack (dev)", "accountName": "slack", "accountType": "oauth", "teamId": 10} ],
  "hooks": [ {"id": 1101, "name": "CRM in", "teamId": 10, "typeName": "gateway-webhook", "scenarioId": 101} ],
  "dataStores": [ {"id": 1201, "name": "Contacts", "teamId": 10, "datastructureId": 1301, "records": 2, "size": "512", "maxSize": "1048576"} ],
  "keys": [ {"id": 1401, "name": "Signing", "typeName": "aes-key", "teamId": 10} ]
}
EOF

# start NAME ARGS...: a stand-in in the background; waits for its port file.
start() {
  local name=$1; shift
  "$PY" "$STANDIN" --seed seed.json --port-file "$name.port" --frozen-clock \
    --clock-start 2026-12-06T00:00:00.000Z "$@" 2>"$name.err" &
  PIDS+=($!)
  local i=0
  while [ ! -s "$name.port" ]; do
    i=$((i + 1))
    if [ $i -gt 1000 ] || ! kill -0 "${PIDS[-1]}" 2>/dev/null; then
      echo "stand-in $name did not start"; cat "$name.err"; exit 1
    fi
    sleep 0.01
  done
}


# One python process (a coprocess) makes the API requests through ctl.py's
# Client and evaluates the checks, so the test does not pay an interpreter
# start per request. Protocol: one field per line, one reply line.
cat > driver.py <<'PYEOF'
import argparse, contextlib, json, re, sys
sys.path.insert(0, sys.argv[1])
import ctl
prog = sys.argv[0]
clients, last = {}, {"body": b""}
def client(port_file, cafile, token):
    a = argparse.Namespace(port_file=port_file, cafile=cafile or None, token=token or None,
                           scheme=None, timeout=60, wait=30)
    return ctl.Client(a)
for op in sys.stdin:
    op = op.rstrip("\n")
    try:
        if op == "call":
            tok, method, path, body, pf, ca = (sys.stdin.readline().rstrip("\n") for _ in range(6))
            st, data, hdrs = client(pf, ca, tok).request(method, path, None if body == "-" else body.encode())
            last["body"] = data
            with open("body.json", "wb") as fh:
                fh.write(data)
            h = {k.lower(): v for k, v in hdrs.items()}
            print("%d\t%s\t%s\t%d" % (st, h.get("content-type", "-"), h.get("retry-after", "-"), len(data)),
                  flush=True)
        elif op == "ctl":  # ctl.py's command line, run in this process
            argv = [sys.stdin.readline().rstrip("\n") for _ in range(int(sys.stdin.readline()))]
            sys.argv = [prog, "--port-file", "main.port"] + argv
            with open("ctl.out", "w") as out, contextlib.redirect_stdout(out):
                try:
                    rc = ctl.main()
                except SystemExit as e:
                    rc = e.code if isinstance(e.code, int) else 1
            print(rc, flush=True)
        elif op == "check":
            expr = sys.stdin.readline().rstrip("\n")
            d = json.loads(last["body"])
            print("yes" if eval(expr) else "no", flush=True)
        elif op == "state":
            expr = sys.stdin.readline().rstrip("\n")
            st, data, _ = client("main.port", "", "").request("GET", "/_standin/state", auth=False)
            s = json.loads(data)
            r = eval(expr)
            print((r if isinstance(r, str) else repr(r)).replace("\n", " "), flush=True)
    except Exception as e:  # a failed check, not a crash of the driver
        print("error %s: %s" % (type(e).__name__, str(e).replace("\n", " ")[:300]), flush=True)
PYEOF
coproc DRV { "$PY" driver.py "$SRC/tests/make"; }
PIDS+=("$DRV_PID")
drv() {  # drv FIELD...: send the fields, read one reply line into $REPLY
  local f
  for f in "$@"; do
    case "$f" in *$'\n'*) echo "a driver field holds a newline"; exit 1;; esac
    printf '%s\n' "$f" >&"${DRV[1]}"
  done
  IFS= read -r REPLY <&"${DRV[0]}"
}
# call STATUS TOKEN METHOD PATH [BODY]: a request; body in $B (and body.json).
call() {
  local want=$1 tok=$2 method=$3 path=$4 body=${5--}
  drv call "$tok" "$method" "$path" "$body" "${PORTFILE:-main.port}" "${CAFILE:-}"
  IFS=$'\t' read -r GOT_STATUS GOT_CTYPE GOT_RETRY GOT_SIZE <<<"$REPLY"
  B=
  [ "$GOT_SIZE" -gt 100000 ] || IFS= read -r -d '' B < body.json || true
  if [ "$GOT_STATUS" != "$want" ]; then
    echo "    ($method $path -> $REPLY, wanted $want: $(head -c 300 body.json))"
    return 1
  fi
}
# is DESC EXPECTED: the last body is exactly EXPECTED.
is() { if [ "$B" = "$2" ]; then ok "$1"; else fail "$1"; echo "    got:  ${B:0:600}"; echo "    want: $2"; fi; }
# jq_ DESC PYTHON-EXPR: the expression over d (the last body, parsed) is true.
jq_() { drv check "$2"; if [ "$REPLY" = yes ]; then ok "$1"; else fail "$1 ($REPLY)"; echo "    ${B:0:600}"; fi; }
# ctl ARGS...: ctl.py's command line against the main server (in the driver);
# prints what ctl.py printed, returns its exit status.
ctl() { drv ctl "$#" "$@"; cat ctl.out; return "$REPLY"; }
# st PYTHON-EXPR: the expression over s (the main server's /_standin/state): str, else repr.
st() { drv state "$1"; echo "$REPLY"; }

start main --log main.log
for c in tls other; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $c.key -out $c.crt -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
done
start tls --tls-cert tls.crt --tls-key tls.key --missing-scope-status 401 --limit-per-minute 3 \
  --retry-after --lenient-write

SC=/api/v2/scenarios
NOTFOUND='{"message":"Not Found","code":"SC404","detail":"Route not found."}'

# ---- 1. routing ----------------------------------------------------------------
call 200 "$RW" GET "$SC/101" && ok "1 routing: GET /api/v2/scenarios/101" || fail "1 GET scenario"
call 404 "$RW" GET /api/v2/Scenarios/101 && is "1 routing: wrong case is 404 with the error body" "$NOTFOUND" || fail "1 wrong case"
call 404 "$RW" GET /api/v1/scenarios/101 && is "1 routing: no /api/v2 prefix is 404" "$NOTFOUND" || fail "1 prefix"
call 404 "$RW" GET "$SC/101/" && ok "1 routing: trailing slash is 404" || fail "1 trailing slash"
call 200 "$RW" GET "$SC?teamId=10&pg[limit]=1" && jq_ "1 pg[limit] plain" 'd["pg"]["limit"]==1 and [s["id"] for s in d["scenarios"]]==[104]' || fail "1 pg plain"
call 200 "$RW" GET "$SC?teamId=10&pg%5Blimit%5D=1&pg%5Boffset%5D=1" &&
  jq_ "1 pg%5Blimit%5D percent-encoded" 'd["pg"]=={"sortBy":"proprietal","sortDir":"desc","offset":1,"limit":1} and [s["id"] for s in d["scenarios"]]==[102]' || fail "1 pg encoded"
call 200 "$RW" GET "$SC?teamId=10&id[]=101&id%5B%5D=104&cols[]=id&cols[]=name" &&
  is "1 repeated id[] and cols[] (projection)" '{"scenarios":[{"id":104,"name":"Scratch"},{"id":101,"name":"CRM sync"}],"pg":{"sortBy":"proprietal","sortDir":"desc","offset":0,"limit":10}}' || fail "1 arrays"
call 200 "$RW" GET "$SC/101?cols[0]=id&cols[1]=isActive" && is "1 cols[N]= indexed form" '{"scenario":{"id":101,"isActive":false}}' || fail "1 cols[N]"

# ---- 2. auth -------------------------------------------------------------------
UNAUTH='{"message":"Unauthorized","code":"SC401","detail":"Invalid or missing API token."}'
call 401 "" GET "$SC/101" && is "2 no Authorization: 401" "$UNAUTH" || fail "2 no auth"
call 401 "99999999-9999-4999-8999-999999999999" GET "$SC/101" && is "2 unknown token: 401" "$UNAUTH" || fail "2 unknown token"
call 200 "$BEARER" GET "$SC/101" && ok "2 Bearer <token> accepted (non-UUID token)" || fail "2 bearer"
call 200 "$RO" GET "$SC/101/blueprint" && ok "2 scenarios:read reads the blueprint" || fail "2 read scope"
call 403 "$RO" PATCH "$SC/101" '{"name":"x"}' &&
  is "2 missing scenarios:write: 403 SC403 (default)" '{"message":"Permission denied","code":"SC403","detail":"Access denied.","suberrors":[{"message":"Missing scope '"'"'scenarios:write'"'"'.","name":"Error"}]}' || fail "2 403"
call 403 "$ED" POST "$SC/102/run" '{}' &&
  jq_ "2 /run needs scenarios:run as well" 'd["suberrors"]==[{"message":"Missing scope '"'"'scenarios:run'"'"'.","name":"Error"}]' || fail "2 run scope"
call 403 "$RO" GET /api/v2/connections?teamId=10 && ok "2 connections need connections:read" || fail "2 conn scope"
call 404 "$BEARER" GET "$SC/301" && ok "2 a scenario of a team the token cannot see is 404" || fail "2 hidden"
PORTFILE=tls.port CAFILE=tls.crt
call 401 "$RO" PATCH "$SC/101" '{"name":"x"}' &&
  is "2 --missing-scope-status 401 (over TLS)" '{"message":"Unauthorized","code":"SC401","detail":"Access denied.","suberrors":[{"message":"Missing scope '"'"'scenarios:write'"'"'.","name":"Error"}]}' || fail "2 401 scope"
PORTFILE= CAFILE=

# ---- 3. envelopes ----------------------------------------------------------------
call 200 "$RW" GET "$SC/101" && jq_ "3 scenario envelope: the documented fields, no blueprint" \
  'list(d)==["scenario"] and sorted(d["scenario"])==sorted(["id","name","teamId","folderId","description","hookId","deviceId","deviceScope","concept","isActive","islinked","isinvalid","islocked","isPaused","iswaiting","dlqCount","usedPackages","scheduling","lastEdit","created","nextExec","createdByUser","updatedByUser"]) and d["scenario"]["lastEdit"]=="2026-11-02T08:00:00.000Z" and d["scenario"]["createdByUser"]=={"id":6,"name":"Builder","email":"builder@example.test"} and d["scenario"]["usedPackages"]==["gateway","builtin","json"]' || fail "3 scenario"
call 200 "$RW" GET "$SC/101/blueprint" && jq_ "3 blueprint envelope {code,response{blueprint,scheduling,idSequence,created,last_edit,metadata}}" \
  'd["code"]=="OK" and list(d["response"])==["blueprint","scheduling","idSequence","created","last_edit","metadata"] and d["response"]["scheduling"]=={"type":"indefinitely","interval":900} and d["response"]["idSequence"]==4 and d["response"]["last_edit"]=="2026-11-02T08:00:00.000Z" and d["response"]["metadata"]=={"input_spec":[],"output_spec":[]} and d["response"]["blueprint"]["flow"][1]["routes"][0]["flow"][0]["filter"]["name"]=="only new"' || fail "3 blueprint"
call 200 "$RW" GET "$SC/101/blueprints" && is "3 scenariosBlueprints" '{"scenariosBlueprints":[{"version":1,"created":"2026-11-02T08:00:00.000Z","scenarioId":101,"draft":false}]}' || fail "3 versions"
call 200 "$RW" POST "$SC/104/start" && is "3 start: {scenario:{id,isActive,islinked}}" '{"scenario":{"id":104,"isActive":true,"islinked":true}}' || fail "3 start"
call 200 "$RW" POST "$SC/104/stop" && is "3 stop" '{"scenario":{"id":104,"isActive":false,"islinked":false}}' || fail "3 stop"
call 200 "$RW" DELETE "$SC/104" && is "3 delete: {scenario: id}" '{"scenario":104}' || fail "3 delete"
call 404 "$RW" GET "$SC/104" && is "3 deleted scenario is gone" '{"message":"Not Found","code":"SC404","detail":"Scenario with id 104 not found."}' || fail "3 deleted"
call 200 "$RW" GET "/api/v2/connections?teamId=10&type[]=google" && jq_ "3 connections" 'd=={"connections":[{"id":1001,"name":"Google (dev)","accountName":"google","accountType":"oauth","teamId":10}]}' || fail "3 connections"
call 200 "$RW" GET /api/v2/connections/1002 && jq_ "3 connection" 'd["connection"]["accountName"]=="slack"' || fail "3 connection"
call 200 "$RW" GET "/api/v2/hooks?teamId=10" && jq_ "3 hooks" '[h["id"] for h in d["hooks"]]==[1101]' || fail "3 hooks"
call 200 "$RW" GET /api/v2/hooks/1101 && jq_ "3 hook" 'd["hook"]["scenarioId"]==101' || fail "3 hook"
call 200 "$RW" GET "/api/v2/data-stores?teamId=10" && jq_ "3 dataStores + pg (size/maxSize strings)" 'd["dataStores"][0]["size"]=="512" and d["pg"]["limit"]==10' || fail "3 data stores"
call 200 "$RW" GET /api/v2/data-stores/1201 && jq_ "3 dataStore" 'd["dataStore"]["datastructureId"]==1301' || fail "3 data store"
call 200 "$RW" GET "/api/v2/keys?teamId=10" && jq_ "3 keys" 'd=={"keys":[{"id":1401,"name":"Signing","typeName":"aes-key","teamId":10}]}' || fail "3 keys"
call 200 "$RW" GET /api/v2/keys/1401 && jq_ "3 key" 'd["key"]["id"]==1401' || fail "3 key"
call 200 "$RW" GET /api/v2/keys/types && jq_ "3 keysTypes" '"aes-key" in [t["name"] for t in d["keysTypes"]]' || fail "3 key types"
call 200 "$RW" GET "/api/v2/teams?organizationId=1" && jq_ "3 teams + pg" '[t["id"] for t in d["teams"]]==[10,30] and "pg" in d' || fail "3 teams"
call 200 "$RW" GET /api/v2/organizations && jq_ "3 organizations" '[o["id"] for o in d["organizations"]]==[1]' || fail "3 orgs"
call 200 "$RW" GET /api/v2/organizations/1 && jq_ "3 organization.license.apiLimit" 'd["organization"]["license"]=={"apiLimit":1000}' || fail "3 org"
call 200 "$RW" GET "/api/v2/scenarios-folders?teamId=10" && is "3 scenariosFolders" '{"scenariosFolders":[{"id":7,"name":"CRM","scenariosTotal":1}]}' || fail "3 folders"
call 200 "$RW" GET /api/v2/users/me && is "3 users/me" '{"authUser":{"id":5,"name":"bpgate deployer","email":"deploy@example.test"}}' || fail "3 me"

# ---- 4. string on write, object on read --------------------------------------------
# The clock is frozen at 2026-12-06T00:00:00.000Z; the seeded scenarios without
# timestamps took the stamps .000 to .007 (created, lastEdit each), so the next
# write is .008 and the one after .009: lastEdit comes from a counter.
NEWBP='{"name":"CRM sync","flow":[{"id":1,"module":"gateway:CustomWebHook","version":1,"parameters":{"hook":1101}},{"id":5,"module":"util:SetVariable2","version":1}],"metadata":{"version":1}}'
BODY=$("$PY" -c 'import json,sys; print(json.dumps({"blueprint": sys.argv[1], "scheduling": json.dumps({"type":"indefinitely","interval":600}), "metadata": {"input_spec": []}, "unknownKey": 1}))' "$NEWBP")
call 200 "$RW" PATCH "$SC/101" "$BODY" && jq_ "4 PATCH with JSON strings (unknown keys ignored): lastEdit bumped, updatedByUser, usedPackages recomputed" \
  'd["scenario"]["lastEdit"]=="2026-12-06T00:00:00.008Z" and d["scenario"]["updatedByUser"]["id"]==5 and d["scenario"]["usedPackages"]==["gateway","util"] and d["scenario"]["scheduling"]=={"type":"indefinitely","interval":600}' || fail "4 patch"
call 200 "$RW" GET "$SC/101/blueprint" && jq_ "4 GET returns the blueprint and scheduling as objects, as written" \
  'd["response"]["blueprint"]=='"$NEWBP"' and d["response"]["scheduling"]=={"type":"indefinitely","interval":600} and d["response"]["idSequence"]==6' || fail "4 read back"
call 200 "$RW" PATCH "$SC/101" '{"name":"CRM sync 2"}' && jq_ "4 a second write in the same clock ms: lastEdit still strictly later (counter)" \
  'd["scenario"]["lastEdit"]=="2026-12-06T00:00:00.009Z" and d["scenario"]["name"]=="CRM sync 2"' || fail "4 monotonic"
call 200 "$RW" GET "$SC/101/blueprints" && jq_ "4 every write appends a version" '[v["version"] for v in d["scenariosBlueprints"]]==[3,2,1]' || fail "4 versions"
call 200 "$RW" GET "$SC/101/blueprint?blueprintId=1" && jq_ "4 blueprintId=1 gives the original" 'd["response"]["blueprint"]["flow"][1]["module"]=="builtin:BasicRouter"' || fail "4 blueprintId"
SC400_BP='{"message":"Bad Request","code":"SC400","detail":"Validation failed for 1 parameter(s).","suberrors":[{"message":"Invalid value of parameter '"'"'blueprint'"'"': a JSON-encoded string is expected.","name":"Error"}]}'
call 400 "$RW" PATCH "$SC/101" "{\"blueprint\":$NEWBP}" && is "4 blueprint as an object: 400 SC400 (strict)" "$SC400_BP" || fail "4 object"
PORTFILE=tls.port CAFILE=tls.crt
call 200 "$RW" PATCH "$SC/102" '{"blueprint":{"name":"Inv","flow":[]}}' && ok "4 --lenient-write accepts an object" || fail "4 lenient"
PORTFILE= CAFILE=
[ "$(st 'len(s["scenarios"][0]["versions"])')" = 3 ] && ok "4 nothing saved by the refused write" || fail "4 refused write saved"

# ---- 5. validation ----------------------------------------------------------------
LE=$(st '[x["lastEdit"] for x in s["scenarios"] if x["id"]==101][0]')
call 400 "$RW" PATCH "$SC/101" '{"blueprint":"{\"name\":\"x\",\"flow\":[","name":"zzz"}' &&
  is "5 unparsable blueprint: 400 IM007" '{"message":"Invalid blueprint","code":"IM007","detail":"Blueprint is not valid JSON."}' || fail "5 unparsable"
call 400 "$RW" PATCH "$SC/101" '{"blueprint":"{\"name\":\"x\",\"flow\":[{\"id\":1,\"module\":\"dropbox:makeAPICall\",\"version\":5}]}"}' &&
  is "5 unknown module: the IM007 body" '{"message":"Invalid blueprint","code":"IM007","detail":"Module not found '"'"'dropbox:makeAPICall'"'"' version '"'"'5'"'"'."}' || fail "5 unknown module"
[ "$(st '[(x["lastEdit"],len(x["versions"]),x["name"]) for x in s["scenarios"] if x["id"]==101][0]')" = "('$LE', 3, 'CRM sync 2')" ] &&
  ok "5 nothing changed by refused writes (lastEdit, versions, name)" || fail "5 refused writes changed state"
call 400 "$RW" GET "$SC?teamId=10&organizationId=1" && is "5 teamId and organizationId together" '{"message":"Bad Request","code":"SC400","detail":"teamId and organizationId cannot be used together"}' || fail "5 both"
call 400 "$RW" GET "$SC" && is "5 neither teamId nor organizationId" '{"message":"Bad Request","code":"SC400","detail":"Missing required parameter teamId or organizationId"}' || fail "5 neither"
call 200 "$RW" GET "$SC?organizationId=1&cols[]=id" && is "5 organizationId lists every visible team" '{"scenarios":[{"id":301},{"id":102},{"id":101}],"pg":{"sortBy":"proprietal","sortDir":"desc","offset":0,"limit":10}}' || fail "5 org list"
SLACK=$("$PY" -c 'import json; print(json.dumps({"teamId":10,"blueprint":json.dumps({"name":"Notify","flow":[{"id":1,"module":"slack:CreateMessage","version":1}]}),"scheduling":json.dumps({"type":"on-demand"})}))')
call 406 "$RW" POST "$SC" "$SLACK" && is "5 an app new to the organization without confirmed=true: 406 IM004" \
  '{"message":"Confirmation Required","code":"IM004","detail":"The scenario uses apps not installed in the organization: slack. Repeat the request with confirmed=true to install them."}' || fail "5 confirm"
[ "$(st 'len(s["scenarios"])')" = 4 ] && ok "5 nothing created" || fail "5 created anyway"
call 200 "$ED" POST "$SC?confirmed=true" "$SLACK" && jq_ "5 with confirmed=true: created (id, createdByUser, lastEdit)" \
  'd["scenario"]["id"]==502 and d["scenario"]["createdByUser"]["id"]==6 and d["scenario"]["updatedByUser"]["id"]==6 and d["scenario"]["name"]=="Notify" and "blueprint" not in d["scenario"]' || fail "5 create"
call 200 "$RW" POST "$SC" "$SLACK" && jq_ "5 the app is installed now: no confirmation needed" 'd["scenario"]["id"]==503' || fail "5 installed"
call 400 "$RW" POST "$SC" '{"teamId":10}' && is "5 create without blueprint/scheduling" \
  '{"message":"Bad Request","code":"SC400","detail":"Validation failed for 2 parameter(s).","suberrors":[{"message":"Missing value of required parameter '"'"'blueprint'"'"'.","name":"Error"},{"message":"Missing value of required parameter '"'"'scheduling'"'"'.","name":"Error"}]}' || fail "5 create missing"

# ---- 6. error body -----------------------------------------------------------------
call 404 "$RW" GET "$SC/999" && [ "$GOT_CTYPE" = "application/json; charset=utf-8" ] &&
  is "6 errors: {message,code,detail} as application/json" '{"message":"Not Found","code":"SC404","detail":"Scenario with id 999 not found."}' || fail "6 error body"

# ---- 7. pagination ---------------------------------------------------------------------
ctl logs 102 "$("$PY" -c 'import json; print(json.dumps([{"id":"p%02d"%i,"status":1,"timestamp":1796000000000+i*1000} for i in range(55)]))')" >/dev/null
call 200 "$RW" GET "$SC/102/logs" && jq_ "7 logs: default limit 50, newest first" 'len(d["scenarioLogs"])==50 and d["pg"]["limit"]==50 and d["scenarioLogs"][0]["id"]=="p54"' || fail "7 default 50"
call 200 "$RW" GET "$SC/102/logs?pg[limit]=3&pg[last]=1796000052000_scenario.102.auto.p52" && jq_ "7 keyset pg[last] (desc by imtId); pg.last = the page's last key" \
  '[x["id"] for x in d["scenarioLogs"]]==["p51","p50","p49"] and d["pg"]=={"sortBy":"imtId","sortDir":"desc","last":"1796000049000_scenario.102.auto.p49","showLast":False,"limit":3}' || fail "7 keyset"
call 200 "$RW" GET "$SC/102/logs?pg%5Blimit%5D=2&pg%5Blast%5D=1796000052000_scenario.102.auto.p52&pg%5BshowLast%5D=true" && jq_ "7 pg[showLast]=true includes the key" \
  '[x["id"] for x in d["scenarioLogs"]]==["p52","p51"] and d["pg"]["showLast"] is True' || fail "7 showLast"
call 400 "$RW" GET "$SC?teamId=10&pg[limit]=0" && is "7 pg[limit]=0 refused" '{"message":"Bad Request","code":"SC400","detail":"Validation failed for 1 parameter(s).","suberrors":[{"message":"Invalid value of parameter '"'"'pg[limit]'"'"'.","name":"Error"}]}' || fail "7 limit 0"
call 200 "$RW" GET "$SC?teamId=10&pg[sortBy]=name&pg[sortDir]=asc&cols[]=name" && is "7 pg[sortBy]/pg[sortDir]" \
  '{"scenarios":[{"name":"CRM sync 2"},{"name":"Invoices"},{"name":"Notify"},{"name":"Notify"}],"pg":{"sortBy":"name","sortDir":"asc","offset":0,"limit":10}}' || fail "7 sort"

# ---- 8. logs -------------------------------------------------------------------------
call 200 "$RW" GET "$SC/101/logs" && jq_ "8 check runs hidden by default; imtId = <ms>_scenario.<sid>.<type>.<id>" \
  '[x["id"] for x in d["scenarioLogs"]]==["a4","a2","a1"] and d["scenarioLogs"][0]["imtId"]=="1796126400000_scenario.101.manual.a4" and d["scenarioLogs"][0]["authorId"]==6 and d["scenarioLogs"][2]["centicredits"]==300' || fail "8 default"
call 200 "$RW" GET "$SC/101/logs?showCheckRuns=true" && jq_ "8 showCheckRuns=true shows them" '[x["id"] for x in d["scenarioLogs"]]==["a4","a3","a2","a1"]' || fail "8 check runs"
call 200 "$RW" GET "$SC/101/logs?from=1796122800000&to=1796126400000" && jq_ "8 from/to in ms, inclusive" '[x["id"] for x in d["scenarioLogs"]]==["a4","a2"]' || fail "8 from/to"
call 200 "$RW" GET "$SC/101/logs?status=3" && jq_ "8 status filter" '[x["id"] for x in d["scenarioLogs"]]==["a2"]' || fail "8 status"
call 200 "$RW" GET "$SC/101/logs/a2" && jq_ "8 logs/{executionId}: scenarioLog" 'd["scenarioLog"]["status"]==3 and d["scenarioLog"]["timestamp"]=="2026-12-01T11:00:00.000Z"' || fail "8 one log"
call 404 "$RW" GET "$SC/101/logs/nope" && ok "8 unknown execution: 404" || fail "8 unknown execution"

# ---- 9. 429 budget (org 2: apiLimit 3 in the seed; no Retry-After by default) -----------------
RL='{"message":"Requests limit for organization exceeded, please try again later.","code":"SC429"}'
for i in 1 2 3; do call 200 "$SM" GET "$SC/501" || fail "9 request $i within budget"; done
call 429 "$SM" GET "$SC/501" && [ "$GOT_RETRY" = "-" ] && is "9 4th request in the minute: 429, exact body, no Retry-After" "$RL" || fail "9 429"
call 200 "$RW" GET "$SC/101" && ok "9 the budget is per organization (org 1 unaffected)" || fail "9 per org"
call 200 "$SM" POST "$SC/501/run" '{"responsive":true}' && jq_ "9 /run is exempt from the budget" 'd["status"]==1 and d["outputs"]=={}' || fail "9 run exempt"
ctl clock --advance-ms 59999 >/dev/null
call 429 "$SM" GET "$SC/501" && ok "9 still limited 1 ms before the minute ends" || fail "9 window end"
ctl clock --advance-ms 1 >/dev/null
call 200 "$SM" GET "$SC/501" && ok "9 the next minute (clock advanced): admitted again" || fail "9 reset"
PORTFILE=tls.port CAFILE=tls.crt
for i in 1 2 3; do call 200 "$SM" GET "$SC/501" || fail "9 tls $i"; done
call 429 "$SM" GET "$SC/501" && [ "$GOT_RETRY" = 60 ] && is "9 --limit-per-minute 3 (over the seed's apiLimit) --retry-after: Retry-After: 60" "$RL" || fail "9 retry-after"
PORTFILE= CAFILE=

# ---- TLS --------------------------------------------------------------------------------
expect_exit 2 "TLS: plain HTTP to the TLS port gets no answer" -- \
  "$PY" "$CTLPY" --port-file tls.port --token "$RW" call GET "$SC/101"
expect_exit 2 "TLS: a client trusting another certificate refuses the connection" -- \
  "$PY" "$CTLPY" --port-file tls.port --cafile other.crt --token "$RW" call GET "$SC/101"
expect_exit 0 "TLS: https with the throw-away certificate as CA" -- \
  "$PY" "$CTLPY" --port-file tls.port --cafile tls.crt --token "$RW" call GET "$SC/101"

# ---- 10. faults ---------------------------------------------------------------------------
ctl fault 503 2 --path-prefix "$SC/101" --method GET --retry-after 2 >/dev/null
call 503 "$RW" GET "$SC/101" && [ "$GOT_RETRY" = 2 ] && is "10 json fault: 503 with the error body and Retry-After" '{"message":"Service Unavailable","code":"SC503","detail":"Injected fault."}' || fail "10 json"
call 200 "$RW" GET "$SC/102" && ok "10 faults match their path prefix only" || fail "10 prefix"
call 503 "$RW" GET "$SC/101" && call 200 "$RW" GET "$SC/101" && ok "10 count: exactly 2 faulted answers" || fail "10 count"
ctl fault 409 1 --method PATCH >/dev/null
call 409 "$RW" PATCH "$SC/101" '{"name":"stale"}' && is "10 stale-write 409 SC409" '{"message":"Conflict","code":"SC409","detail":"Injected fault."}' || fail "10 409"
[ "$(st '[x["name"] for x in s["scenarios"] if x["id"]==101][0]')" = "CRM sync 2" ] && ok "10 a json/html fault changes nothing" || fail "10 fault applied"
ctl fault 502 1 --body html >/dev/null
call 502 "$RW" GET "$SC/101" && [ "$GOT_CTYPE" = "text/html; charset=utf-8" ] && grep -q '^<!DOCTYPE html>' body.json && ok "10 html error page" || fail "10 html"
ctl fault 200 1 --body truncated >/dev/null
call 200 "$RW" GET "$SC/101" && ! "$PY" -c 'import json; json.load(open("body.json"))' 2>/dev/null && [ "${B:0:13}" = '{"scenario":{' ] && ok "10 truncated JSON (200, half the body)" || fail "10 truncated"
ctl fault 200 1 --body huge >/dev/null
call 200 "$RW" GET "$SC/101" && [ "$GOT_SIZE" = 52428800 ] && ok "10 huge: a 50 MB body (Content-Length)" || fail "10 huge: $GOT_SIZE bytes"
ctl fault 200 1 --body huge --chunked --size 1000000 >/dev/null
call 200 "$RW" GET "$SC/101" && [ "$GOT_SIZE" = 1000000 ] && jq_ "10 huge, chunked, --size: valid JSON of that size" 'len(d["scenarios"][0]["name"])>999000' || fail "10 huge chunked"
ctl fault 200 1 --body slow --delay-ms 200 >/dev/null
call 200 "$RW" GET "$SC/101" && jq_ "10 slow: the real answer, late" 'd["scenario"]["id"]==101' || fail "10 slow"
ctl requests > reqs.json
"$PY" -c 'import json; r=json.load(open("reqs.json")); f=[x["fault"] for x in r["requests"] if x["fault"]]; assert f==["json","json","json","html","truncated","huge","huge","slow"], f; assert r["count"]==len(r["requests"])' &&
  ok "10 the request log records each faulted answer" || fail "10 request log"

# ---- control: requests log, edit, draft, state ---------------------------------------------
ctl requests --reset >/dev/null
call 200 "$RW" GET "$SC?teamId=10&pg%5Blimit%5D=1" >/dev/null
ctl requests > reqs.json
"$PY" -c 'import json; r=json.load(open("reqs.json")); assert r["count"]==1 and {k:r["requests"][0][k] for k in ("method","path","query","status","user")}=={"method":"GET","path":"/api/v2/scenarios","query":"teamId=10&pg%5Blimit%5D=1","status":200,"user":5}, r' &&
  ok "control: requests log {method,path,query,status,user} after reset" || fail "control requests"
ctl edit 101 --token "$ED" --set-filter-name "prod hotfix" > edit.json
[ "$(st '[(x["updatedByUser"]["id"], x["blueprint"]["flow"][0].get("filter",{}).get("name"), len(x["versions"])) for x in s["scenarios"] if x["id"]==101][0]')" = "(6, 'prod hotfix', 4)" ] &&
  ok "control: ctl edit = GET blueprint + PATCH as the editor (user 6, new version)" || fail "control edit"
ctl draft 102 '{"name":"Invoices","flow":[{"id":1,"module":"http:ActionSendData","version":3},{"id":2,"module":"json:ParseJSON","version":1}]}' >/dev/null
call 200 "$RW" GET "$SC/102/blueprint?draft=true" && jq_ "control: draft=true gives the unpublished draft" 'len(d["response"]["blueprint"]["flow"])==2' || fail "draft true"
call 200 "$RW" GET "$SC/102/blueprint" && jq_ "draft=false (default) gives the live blueprint" 'len(d["response"]["blueprint"]["flow"])==1' || fail "draft false"
call 200 "$RW" GET "$SC/102/blueprints" && jq_ "the draft is listed with draft:true" '[v["draft"] for v in d["scenariosBlueprints"]]==[True,False]' || fail "draft listed"
ctl clock --advance-ms $((61 * 24 * 3600 * 1000)) >/dev/null
call 200 "$RW" GET "$SC/101/blueprints" && is "versions older than 60 days are not listed" '{"scenariosBlueprints":[]}' || fail "60 days"
call 200 "$RW" GET "$SC/101/blueprint?blueprintId=1" && ok "an unlisted version is still readable by blueprintId" || fail "old version"

[ "$(grep -c '"path": "/api/v2/' main.log)" -gt 50 ] && grep -q '"fault": "huge"' main.log &&
  ok "--log: one JSON line per request" || fail "--log"
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null || fail "a stand-in died"; done
finish
