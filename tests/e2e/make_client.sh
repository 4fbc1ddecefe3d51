#!/usr/bin/env bash
# The Make API client (bpgate/make.h, policy/make) against the stand-in
# (tests/make/standin.py), through the tests/make/make_call driver:
# pagination, string on write, 429/5xx storms with exact (fake-clock) waits,
# malformed answers (HTML, truncated JSON, 50 MB), scopes, TLS with a private
# CA, http refused off loopback, and the token absent from every output.
. "$(dirname "$0")/lib.sh"

SRC=$BPG_SOURCE_ROOT
MC_BIN="$BPG_BUILD_ROOT/tests/make/make_call"
[ -x "$MC_BIN" ] || { echo "FAIL - make_call not built: $MC_BIN"; exit 1; }
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
# no proxy from the environment: the stand-in is on loopback
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
export BPGATE_TEST_MAKE_CLOCK=fake

TOKEN=0b7c2f4e-5a6d-4e8f-9a1b-2c3d4e5f6a7b      # scenarios:read + scenarios:write
RO_TOKEN=1c8d3a5f-6b7e-4f9a-8b2c-3d4e5f6a7b8c   # scenarios:read only
ALL_OUT="$E2E_TMP/all-output"
: >"$ALL_OUT"

# ---- the stand-in --------------------------------------------------------------
python3 - "$E2E_TMP/seed.json" "$TOKEN" "$RO_TOKEN" <<'EOF'
import json, sys
path, tok, ro = sys.argv[1:4]
bp = {"name": "CRM contact sync \u00e9\u00e8 \u2713", "flow": [
    {"id": 1, "module": "gateway:CustomWebHook", "version": 1, "parameters": {"hook": 1101, "maxResults": 1},
     "mapper": {}, "metadata": {"designer": {"x": 0, "y": 0}}},
    {"id": 2, "module": "json:ParseJSON", "version": 1, "parameters": {},
     "mapper": {"json": "{{1.body}}", "ratio": 0.1}, "filter": {"name": "only new", "conditions": []}}],
    "metadata": {"version": 1, "scenario": {"dlq": True, "confidential": False}, "zone": "eu1.make.com"}}
scen = [{"id": 1000 + i, "teamId": 10, "name": "bulk %03d" % i} for i in range(250)]
scen.append({"id": 101, "teamId": 20, "name": "CRM contact sync", "blueprint": bp,
             "scheduling": {"type": "indefinitely", "interval": 900}})
base = 1796119200000  # 2026-12-01T10:00:00Z
logs = [{"status": 1 + i % 3, "duration": 100 + i, "timestamp": base + i * 60000, "operations": 2}
        for i in range(230)]
logs += [{"status": 1, "timestamp": base + 5 * 60000 + 1, "checkRun": True}]
json.dump({"organizations": [{"id": 1, "name": "Acme", "apiLimit": 1000}],
           "teams": [{"id": 10, "organizationId": 1, "name": "bulk"}, {"id": 20, "organizationId": 1, "name": "prod"}],
           "users": [{"id": 5, "name": "bpgate deployer", "email": "deploy@example.test"}],
           "tokens": {tok: {"user": 5, "scopes": ["scenarios:read", "scenarios:write"]},
                      ro: {"user": 5, "scopes": ["scenarios:read"]}},
           "scenarios": scen, "logs": {"101": logs}}, open(path, "w"))
json.dump(bp, open(path + ".bp101", "w"))
EOF

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$E2E_TMP"; }
trap cleanup EXIT

start_standin() { # PORTFILE [extra args]
  local pf=$1; shift
  python3 "$SRC/tests/make/standin.py" --seed "$E2E_TMP/seed.json" --port-file "$pf" "$@" \
    >>"$E2E_TMP/standin.log" 2>&1 &
  PIDS+=($!)
  # no time budget: wait while it runs, fail the moment it exits without a port
  while [ ! -s "$pf" ]; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "the stand-in did not start"; cat "$E2E_TMP/standin.log"; exit 1; }
    sleep 0.02
  done
}
start_standin "$E2E_TMP/port"
PORT=$(cat "$E2E_TMP/port")
BASE="http://127.0.0.1:$PORT/api/v2"
export BPGATE_MAKE_TOKEN=$TOKEN

# mc NAME [make_call args...]: run the driver, keep its outputs in $E2E_TMP/NAME.{out,err,rc}
mc() {
  local name=$1; shift
  local rc=0
  "$MC_BIN" --base "$BASE" "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" || rc=$?
  echo "$rc" >"$E2E_TMP/$name.rc"
  cat "$E2E_TMP/$name.out" "$E2E_TMP/$name.err" >>"$ALL_OUT"
}
# expect_line FILE EXACT-LINE DESCRIPTION
expect_line() {
  if grep -qxF -- "$2" "$1"; then ok "$3"; else fail "$3: line not found: $2"; sed 's/^/    /' "$1" | head -10; fi
}
expect_rc() { # NAME RC DESCRIPTION
  local got; got=$(cat "$E2E_TMP/$1.rc")
  if [ "$got" = "$2" ]; then ok "$3"; else fail "$3: exit $got, wanted $2"; sed 's/^/    /' "$E2E_TMP/$1.err" | head -10; fi
}
# the stand-in's control API (/_standin/), spoken to through the driver itself (python starts slowly)
ctl() { "$MC_BIN" --base "http://127.0.0.1:$PORT" call "$@" 2>/dev/null; }
fault() { ctl POST /_standin/faults - "{\"faults\": [$1]}" >/dev/null; }   # fault '{"status": 503, ...}'
reset_requests() { ctl POST /_standin/requests/reset >/dev/null; }
served() { ctl GET /_standin/requests | sed -n 's/^{"count":\([0-9]*\).*/\1/p'; }

# ---- pagination -------------------------------------------------------------------
reset_requests
mc list list 10
expect_rc list 0 "list: 250 scenarios of a team"
n=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); ids=[s["id"] for s in a]; print(len(ids), len(set(ids)), min(ids), max(ids))' "$E2E_TMP/list.out")
[ "$n" = "250 250 1000 1249" ] && ok "list: every scenario once (250 250 1000 1249)" || fail "list: got $n"
expect_line "$E2E_TMP/list.err" "make_call: requests=3 waited_ms=0" "list: 3 pages of 100, no wait"
offsets=$(ctl GET /_standin/requests | python3 -c '
import json,sys,urllib.parse as u
for r in json.load(sys.stdin)["requests"]:
    q=dict(u.parse_qsl(r["query"])); print(r["method"], r["path"], q.get("teamId"), q.get("pg[offset]"), q.get("pg[limit]"))')
[ "$offsets" = "GET /api/v2/scenarios 10 0 100
GET /api/v2/scenarios 10 100 100
GET /api/v2/scenarios 10 200 100" ] && ok "list: pages at offsets 0, 100, 200" || fail "list: requests were: $offsets"

# the per-minute budget: 3 requests at 2 per minute wait exactly one minute
mc budget --budget 2 list 10
expect_rc budget 0 "budget: the list still completes"
expect_line "$E2E_TMP/budget.err" "make_call: requests=3 waited_ms=60000" "budget: the third request waits exactly 60 s"
mc ceiling --max-requests 2 list 10
expect_rc ceiling 1 "ceiling: max_requests stops a run"
expect_line "$E2E_TMP/ceiling.err" "make_call: error ETOOBIG: Make API: GET /scenarios: the ceiling of 2 requests for one run is reached (max_requests); refused" "ceiling: the message names the limit"
[ ! -s "$E2E_TMP/ceiling.out" ] && ok "ceiling: nothing printed as a result" || fail "ceiling: a partial list was printed"

# ---- scenario, blueprint, string on write -----------------------------------------------
mc get get 101
expect_rc get 0 "get: scenario 101"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["id"]==101 and s["teamId"]==20, s' "$E2E_TMP/get.out" \
  && ok "get: the scenario object" || fail "get: wrong object"
mc bp1 blueprint 101
expect_rc bp1 0 "blueprint: read"
python3 -c '
import json,sys
got=json.load(open(sys.argv[1])); want=json.load(open(sys.argv[2]))
assert got["blueprint"]==want, "blueprint differs"
assert got["scheduling"]=={"type":"indefinitely","interval":900}, got["scheduling"]
assert isinstance(got["last_edit"], str)' "$E2E_TMP/bp1.out" "$E2E_TMP/seed.json.bp101" \
  && ok "blueprint: the live blueprint, scheduling and last_edit" || fail "blueprint: wrong answer"
ctl GET /_standin/requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; assert any(x["path"]=="/api/v2/scenarios/101/blueprint" and x["query"]=="draft=false" for x in r), r' && ok "blueprint: asks for the live version (draft=false)" || fail "blueprint: draft=false not sent"

# write a changed blueprint and read it back
python3 - "$E2E_TMP/bp1.out" "$E2E_TMP/new-bp.json" "$E2E_TMP/new-sched.json" <<'EOF'
import json, sys
bp = json.load(open(sys.argv[1]))["blueprint"]
bp["flow"][1]["filter"]["name"] = "only new \u00fc \"quoted\" \\ back"
bp["flow"][1]["mapper"]["big"] = 12345678901234
bp["flow"][1]["mapper"]["ratio"] = 0.30000000000000004
json.dump(bp, open(sys.argv[2], "w"), ensure_ascii=False)
json.dump({"type": "indefinitely", "interval": 1800}, open(sys.argv[3], "w"))
EOF
reset_requests
mc upd update 101 "$E2E_TMP/new-bp.json" "$E2E_TMP/new-sched.json"
expect_rc upd 0 "update: PATCH accepted"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["id"]==101 and s["updatedByUser"]["id"]==5, s' "$E2E_TMP/upd.out" \
  && ok "update: the answer is the scenario, updated by the token's user" || fail "update: wrong answer"
ctl GET /_standin/requests | python3 -c '
import json,sys
r=json.load(sys.stdin)["requests"]
assert len(r)==1 and r[0]["method"]=="PATCH" and r[0]["query"]=="confirmed=true" and r[0]["status"]==200, r' \
  && ok "update: one PATCH ?confirmed=true (the stand-in in strict mode takes strings only)" || fail "update: wrong requests"
mc bp2 blueprint 101
python3 -c '
import json,sys
got=json.load(open(sys.argv[1])); want=json.load(open(sys.argv[2]))
assert got["blueprint"]==want and got["scheduling"]["interval"]==1800' "$E2E_TMP/bp2.out" "$E2E_TMP/new-bp.json" \
  && ok "update: string on write, object on read: the same blueprint comes back" || fail "update: round trip differs"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["blueprint"], open(sys.argv[2],"w"))' "$E2E_TMP/bp2.out" "$E2E_TMP/pulled.json"
"$MC_BIN" format "$E2E_TMP/pulled.json" >"$E2E_TMP/pull1"
"$MC_BIN" format "$E2E_TMP/pull1" >"$E2E_TMP/pull2"
"$MC_BIN" format "$E2E_TMP/new-bp.json" >"$E2E_TMP/pull0"
cmp -s "$E2E_TMP/pull1" "$E2E_TMP/pull2" && cmp -s "$E2E_TMP/pull0" "$E2E_TMP/pull1" \
  && ok "format: the pulled blueprint is byte-stable and equals what was written" || fail "format: bytes differ"
grep -q '"ratio": 0.30000000000000004,' "$E2E_TMP/pull1" && grep -q 'only new ü \\"quoted\\" \\\\ back' "$E2E_TMP/pull1" \
  && ok "format: reals in shortest exact form, UTF-8 kept, quotes escaped" || fail "format: $(grep -n 'ratio\|only new' "$E2E_TMP/pull1")"

# create, start, stop
mc create create 20 0 "$E2E_TMP/new-bp.json" "$E2E_TMP/new-sched.json"
expect_rc create 0 "create: POST /scenarios?confirmed=true"
NEW_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$E2E_TMP/create.out")
mc start start "$NEW_ID"
expect_rc start 0 "start: the scenario is active"
mc stop stop "$NEW_ID"
expect_rc stop 0 "stop: the scenario is inactive"

# logs: keyset paging, [from, to), check runs hidden
FROM=$((1796119200000 + 10 * 60000)); TO=$((1796119200000 + 200 * 60000))
mc logs logs 101 "$FROM" "$TO"
expect_rc logs 0 "logs: read"
n=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(len(a), len({x["imtId"] for x in a}))' "$E2E_TMP/logs.out")
[ "$n" = "190 190" ] && ok "logs: 190 executions in [from, to), no check run, none twice" || fail "logs: got $n"
expect_line "$E2E_TMP/logs.err" "make_call: requests=2 waited_ms=0" "logs: two pages via pg[last]"
mc logsmax logs 101 "$FROM" "$TO" 50
expect_rc logsmax 1 "logs: more than max_items refused"
expect_line "$E2E_TMP/logsmax.err" "make_call: error ETOOBIG: Make API: GET /scenarios/101/logs: more than 50 executions in the window; refused (ask for a narrower window)" "logs: never cut, refused"

# ---- retries -------------------------------------------------------------------------
reset_requests
fault '{"status": 429, "count": 6, "path_prefix": "/api/v2/scenarios/101", "method": "GET"}'
BPGATE_TEST_MAKE_REPORT=1 mc storm429 get 101
expect_rc storm429 1 "429 storm: fails after the retries"
expect_line "$E2E_TMP/storm429.err" "make_call: error ERROR: Make API: GET /scenarios/101: still HTTP 429 after 5 retries; try again later" "429 storm: the message"
expect_line "$E2E_TMP/storm429.err" "make_call: requests=6 waited_ms=31000" "429 storm: 6 requests, waited exactly 1+2+4+8+16 s"
expect_line "$E2E_TMP/storm429.err" "bpgate-test: make client: 6 requests, waited 31000 ms" "429 storm: the test-build report line (BPGATE_TEST_MAKE_REPORT)"
[ "$(served)" = 6 ] && ok "429 storm: the stand-in saw 6 requests" || fail "429 storm: the stand-in saw $(served)"

fault '{"status": 429, "count": 3, "path_prefix": "/api/v2/scenarios/101", "method": "GET", "retry_after": 7}'
mc ra get 101
expect_rc ra 0 "Retry-After: succeeds after 3 429s"
expect_line "$E2E_TMP/ra.err" "make_call: requests=4 waited_ms=21000" "Retry-After: honoured (3 x 7 s)"
fault '{"status": 429, "count": 1, "path_prefix": "/api/v2/scenarios/101", "method": "GET", "retry_after": 3600}'
mc racap get 101
expect_line "$E2E_TMP/racap.err" "make_call: requests=2 waited_ms=30000" "Retry-After: capped at backoff_max_ms"

fault '{"status": 503, "count": 4, "path_prefix": "/api/v2/scenarios/101", "method": "GET", "body": "html"}'
mc storm5xx get 101
expect_rc storm5xx 0 "5xx storm then success: the call succeeds"
expect_line "$E2E_TMP/storm5xx.err" "make_call: requests=5 waited_ms=15000" "5xx storm: 5 requests, waited exactly 1+2+4+8 s"

# writes: 503 retried (nothing was done), 500 and 502 not (the outcome is unknown)
reset_requests
fault '{"status": 503, "count": 2, "path_prefix": "/api/v2/scenarios/101", "method": "PATCH"}'
mc w503 update 101 "$E2E_TMP/new-bp.json"
expect_rc w503 0 "write: PATCH retried after 503"
expect_line "$E2E_TMP/w503.err" "make_call: requests=3 waited_ms=3000" "write: 503 retried with backoff"
fault '{"status": 500, "count": 1, "path_prefix": "/api/v2/scenarios/101", "method": "PATCH"}'
mc w500 update 101 "$E2E_TMP/new-bp.json"
expect_rc w500 1 "write: PATCH 500 is an error"
expect_line "$E2E_TMP/w500.err" "make_call: error ERROR: Make API: PATCH /scenarios/101: HTTP 500 SC500 Internal Server Error: Injected fault.; the write may or may not have been applied: read the scenario before trying again" "write: 500 not retried, the message says so"
expect_line "$E2E_TMP/w500.err" "make_call: requests=1 waited_ms=0" "write: PATCH 500 sent once"

# ---- malformed answers --------------------------------------------------------------------
fault '{"status": 502, "count": 1, "path_prefix": "/api/v2/scenarios/101", "method": "PATCH", "body": "html"}'
mc html update 101 "$E2E_TMP/new-bp.json"
expect_rc html 1 "HTML error page: refused"
expect_line "$E2E_TMP/html.err" 'make_call: error EINVALID: Make API: PATCH /scenarios/101: HTTP 502 with a non-JSON body (text/html; charset=utf-8), first bytes: <!DOCTYPE html>\x0a<html><head><title>502</title></head><body><...; the write may or may not have been applied: read the scenario before trying again' "HTML error page: status, content type and a sanitised excerpt"
fault '{"status": 200, "count": 1, "path_prefix": "/api/v2/scenarios/101", "method": "GET", "body": "html"}'
mc html200 get 101
expect_line "$E2E_TMP/html200.err" 'make_call: error EINVALID: Make API: GET /scenarios/101: HTTP 200 with a non-JSON body (text/html; charset=utf-8), first bytes: <!DOCTYPE html>\x0a<html><head><title>200</title></head><body><...' "HTML with 200: refused too"
[ ! -s "$E2E_TMP/html200.out" ] && ok "HTML with 200: nothing printed as a result" || fail "HTML with 200: output"

fault '{"status": 200, "count": 1, "path_prefix": "/api/v2/scenarios/101", "method": "GET", "body": "truncated"}'
mc trunc get 101
expect_rc trunc 1 "truncated JSON: refused"
grep -q '^make_call: error EINVALID: Make API: GET /scenarios/101: HTTP 200 with malformed JSON (line 1, column [0-9]*: ' "$E2E_TMP/trunc.err" \
  && ok "truncated JSON: malformed JSON at line 1" || fail "truncated JSON: $(cat "$E2E_TMP/trunc.err")"
expect_line "$E2E_TMP/trunc.err" "make_call: requests=1 waited_ms=0" "truncated JSON: not retried"

for kind in length chunked; do
  chunked=false; [ "$kind" = chunked ] && chunked=true
  fault '{"status": 200, "count": 1, "path_prefix": "/api/v2/scenarios", "method": "GET", "body": "huge", "chunked": '"$chunked"'}'
  mc "huge-$kind" list 10
  expect_rc "huge-$kind" 1 "50 MB body ($kind): refused"
  expect_line "$E2E_TMP/huge-$kind.err" "make_call: error ETOOBIG: Make API: GET /scenarios: response larger than 33554432 bytes (max_response); refused" "50 MB body ($kind): refused at max_response"
  [ ! -s "$E2E_TMP/huge-$kind.out" ] && ok "50 MB body ($kind): nothing else printed" || fail "50 MB body ($kind): output"
  expect_line "$E2E_TMP/huge-$kind.err" "make_call: requests=1 waited_ms=0" "50 MB body ($kind): not retried"
done

# ---- scopes and tokens -----------------------------------------------------------------------
BPGATE_MAKE_TOKEN=$RO_TOKEN mc scope update 101 "$E2E_TMP/seed.json.bp101"
expect_rc scope 1 "read-only token: PATCH refused"
expect_line "$E2E_TMP/scope.err" "make_call: error EVERIFY: Make API: PATCH /scenarios/101: HTTP 403 SC403 Permission denied: Access denied. (Missing scope 'scenarios:write'.); check the token, its scopes and its rights on the team (this call needs scenarios:write)" "read-only token: 403 names the missing scope"
BPGATE_MAKE_TOKEN=$RO_TOKEN mc scoperead blueprint 101
expect_rc scoperead 0 "read-only token: reading is enough for pull and drift"
BPGATE_MAKE_TOKEN=9f9f9f9f-0000-4000-8000-000000000000 mc badtok get 101
expect_line "$E2E_TMP/badtok.err" "make_call: error EVERIFY: Make API: GET /scenarios/101: HTTP 401 SC401 Unauthorized: Invalid or missing API token.; check the token, its scopes and its rights on the team (this call needs scenarios:read)" "unknown token: 401"
mc missing get 999999
expect_rc missing 1 "404: an error"
grep -q '^make_call: error ENOTFOUND: Make API: GET /scenarios/999999: HTTP 404 SC404 ' "$E2E_TMP/missing.err" \
  && ok "404: ENOTFOUND with Make's code" || fail "404: $(cat "$E2E_TMP/missing.err")"

# the token file: 0644 refused, 0600 accepted
printf '%s\n' "$TOKEN" >"$E2E_TMP/token"; chmod 644 "$E2E_TMP/token"
BPGATE_MAKE_TOKEN= mc tokfile --token-file "$E2E_TMP/token" get 101
expect_line "$E2E_TMP/tokfile.err" "make_call: error EVERIFY: $E2E_TMP/token: the token file has mode 0644, readable by others; refused (fix: chmod 600 $E2E_TMP/token)" "token file 0644: refused with the fix"
chmod 600 "$E2E_TMP/token"
BPGATE_MAKE_TOKEN= mc tokfile2 --token-file "$E2E_TMP/token" get 101
expect_rc tokfile2 0 "token file 0600: accepted"

# ---- TLS ----------------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$E2E_TMP/tls.key" -out "$E2E_TMP/tls.pem" 2>/dev/null
start_standin "$E2E_TMP/tport" --tls-cert "$E2E_TMP/tls.pem" --tls-key "$E2E_TMP/tls.key"
TBASE="https://127.0.0.1:$(cat "$E2E_TMP/tport")/api/v2"
mc tls --base "$TBASE" --ca "$E2E_TMP/tls.pem" get 101
expect_rc tls 0 "TLS: a self-signed certificate given as ca_file is trusted"
mc notls --base "$TBASE" get 101
expect_rc notls 1 "TLS: without ca_file the same server is refused"
grep -q "^make_call: error EIO: Make API: GET /scenarios/101: TLS: .*(the server's certificate is not trusted: for a private CA give its bundle, BPGATE_MAKE_CA_FILE or git config bpgate.makeCaFile)$" "$E2E_TMP/notls.err" \
  && ok "TLS: the refusal says the certificate is not trusted" || fail "TLS: $(cat "$E2E_TMP/notls.err")"
expect_line "$E2E_TMP/notls.err" "make_call: requests=1 waited_ms=0" "TLS: a verification failure is not retried"
mc tlsplain --base "http://127.0.0.1:$(cat "$E2E_TMP/tport")/api/v2" --retries 1 get 101
expect_rc tlsplain 1 "TLS port spoken to in http: fails"

# ---- http off loopback: refused before any connection -------------------------------------------
reset_requests
# a proxy that would carry the request to the stand-in if the client ever sent it
http_proxy="http://127.0.0.1:$PORT" HTTP_PROXY="http://127.0.0.1:$PORT" mc offloop --base "http://make.example.test/api/v2" get 101
expect_rc offloop 1 "http to a non-loopback host: refused"
expect_line "$E2E_TMP/offloop.err" "make_call: error EINVALID: Make API: base URL 'http://make.example.test/api/v2' uses plain http to make.example.test: refused, the token would travel unencrypted; use https (http is allowed only to 127.0.0.1, ::1 and localhost)" "http off loopback: the message"
[ "$(served)" = 0 ] && ok "http off loopback: nothing reached the network (not even through a proxy)" || fail "http off loopback: $(served) requests"
# and a loopback http base never goes through a proxy (the token would travel in clear to it)
http_proxy="http://127.0.0.1:9" HTTP_PROXY="http://127.0.0.1:9" mc noproxy get 101
expect_rc noproxy 0 "loopback http ignores proxy variables"

# ---- the token never appears -----------------------------------------------------------------------
cat "$E2E_TMP/standin.log" >>"$ALL_OUT" 2>/dev/null || true
if grep -qF -e "$TOKEN" -e "$RO_TOKEN" -e "9f9f9f9f-0000-4000-8000-000000000000" "$ALL_OUT"; then
  fail "a token appears in the output: $(grep -nF -e "$TOKEN" -e "$RO_TOKEN" "$ALL_OUT" | head -3)"
else
  ok "no token in any output ($(wc -l <"$ALL_OUT") lines checked)"
fi

finish
