#!/usr/bin/env bash
# End-to-end: stage health from real executions (issue #17, section 3).
# `bpgate make health` reads the stand-in's execution logs, writes a signed
# record at refs/bpgate/health/stage/<time> in the gate's bare repository,
# and the stage-health rule of bpgate-receive (pre-receive of a bare repo,
# real `git push`) judges stage -> prod promotions by the newest valid
# record: exact figures (998/1000 successes, p95 950 ms), too few executions
# refused, a stale record refused, forged records (signed by a non-observer,
# bytes changed after signing, or pushed over git) skipped or refused, and an
# approval made before a health refresh still valid after it.
source "$(dirname "$0")/lib.sh"
src=$BPG_SOURCE_ROOT
pack="$src/policy/packs/regulated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
export BPGATE_TEST_MAKE_CLOCK=fake   # backoffs and budget waits are counted, never slept
TOKEN=3c9e1f0a-6b2d-4e8f-a1c3-5d7e9f0b2c4d
export BPGATE_MAKE_TOKEN=$TOKEN
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, 12:30 in Europe/Berlin
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"; outs="$E2E_TMP/outs"
mkdir -p "$keys" "$outs"
n=0
run() { # run NAME CODE -- cmd...: every output is kept for the token check
  local name=$1 want=$2; shift 3; n=$((n + 1))
  local got=0
  "$@" >"$outs/$n.out" 2>"$outs/$n.err" || got=$?
  cp "$outs/$n.out" "$E2E_TMP/out"; cp "$outs/$n.err" "$E2E_TMP/err"
  if [ "$got" -eq "$want" ]; then ok "$name"; else
    fail "$name: exit $got, wanted $want"; sed 's/^/    /' "$outs/$n.out" "$outs/$n.err" | head -30; fi
}

# ---- the end of the migration: tree_reports "refuse" (the pack's own test 96, with the policy switched) -----
cp -r "$pack" "$E2E_TMP/refuse"; rm -f "$E2E_TMP/refuse/tests/"*.json
python3 - "$E2E_TMP/refuse" "$pack/tests/96-server-stage-health-tree-report-warns.json" <<'P'
import json, sys
d = sys.argv[1]
p = json.load(open(d + "/policy.json")); p["rules"]["stage-health"]["tree_reports"] = "refuse"
json.dump(p, open(d + "/policy.json", "w"), indent=2)
t = json.load(open(sys.argv[2])); t["name"] = "tree report refused"
t["expect"] = {"decision": "refuse", "findings": [{"rule": "stage-health", "severity": "error",
  "message_contains": "no signed stage health record, and in-tree health reports (health/stage.json) are no longer accepted"}]}
json.dump(t, open(d + "/tests/tree-refused.json", "w"), indent=2)
P
run "with tree_reports \"refuse\" an in-tree report is refused" 0 -- bpgate policy test "$E2E_TMP/refuse"
expect_grep "$E2E_TMP/out" "1 passed, 0 failed" "the policy test passes"

# ---- the stand-in: stage team 20, the four catalogued scenarios' stage ids ------------------
cat > "$E2E_TMP/seed.json" <<J
{ "organizations": [{"id": 1, "name": "Acme", "apiLimit": 1000}],
  "teams": [{"id": 10, "organizationId": 1, "name": "dev"}, {"id": 20, "organizationId": 1, "name": "stage"},
            {"id": 30, "organizationId": 1, "name": "prod"}],
  "users": [{"id": 5, "name": "bpgate observer", "email": "observer@example.test"}],
  "tokens": {"$TOKEN": {"user": 5, "scopes": ["scenarios:read"]}},
  "scenarios": [{"id": 201, "teamId": 20, "name": "crm"}, {"id": 202, "teamId": 20, "name": "invoices"},
                {"id": 203, "teamId": 20, "name": "reminders"}, {"id": 204, "teamId": 20, "name": "digest"}]}
J
python3 "$src/tests/make/standin.py" --seed "$E2E_TMP/seed.json" --port-file "$E2E_TMP/port" \
  --log "$E2E_TMP/standin.log" 2> "$E2E_TMP/standin.err" &
standin=$!
trap 'kill $standin 2>/dev/null; wait $standin 2>/dev/null || true; rm -rf "$E2E_TMP"' EXIT
for _ in $(seq 1 600); do [ -s "$E2E_TMP/port" ] && break; sleep 0.05; done
port=$(cat "$E2E_TMP/port")
ctl() { python3 "$src/tests/make/ctl.py" --port-file "$E2E_TMP/port" "$@"; }
# logs SCENARIO FIRST COUNT STATUS-SPEC: COUNT executions, one a second from 2025-06-04T00:00Z + FIRST
# seconds; status 1, except "w:I" / "e:I" make execution number I a warning / an error; duration
# (I * 7919) % 1000 + 1 ms over I = FIRST.., a permutation of 1..1000 for 1000 executions
logs() {
  python3 - "$@" > "$E2E_TMP/logs.json" <<'P'
import json, sys, datetime
sid, first, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
special = {}
for s in sys.argv[4:]:
    k, i = s.split(":"); special[int(i)] = 2 if k == "w" else 3
t0 = datetime.datetime(2025, 6, 4, 0, 0, tzinfo=datetime.timezone.utc)
out = []
for i in range(first, first + count):
    ts = t0 + datetime.timedelta(seconds=i)
    out.append({"status": special.get(i, 1), "duration": (i * 7919) % 1000 + 1, "type": "auto",
                "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "operations": 2})
# a check run (hidden by the client) and a running execution (status 0: not an execution)
if first == 0:
    out.append({"status": 1, "duration": 999999, "timestamp": t0.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "checkRun": True})
print(json.dumps({"scenarioId": sid, "logs": out}))
P
  ctl call POST /_standin/logs "$(cat "$E2E_TMP/logs.json")" > /dev/null
}
# the window of a health run at 10:00 is [2025-06-03T10:00Z, 2025-06-04T10:00Z): all of them
for s in 201 202 203; do logs $s 0 30; done
logs 204 0 5        # the digest ran 5 times: not enough

# ---- people, keys and the gate --------------------------------------------------------------
for p in alice bob carol erin grace health-bot mallory; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
{
  for p in carol erin grace; do echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")"; done
  # the observer's key may sign health records only; mallory's too, but she is no observer
  echo "health-bot namespaces=\"bpgate-health@v1\" $(cut -d' ' -f1,2 "$keys/health-bot.pub")"
  echo "mallory namespaces=\"bpgate-health@v1\" $(cut -d' ' -f1,2 "$keys/mallory.pub")"
} > "$keys/allowed_signers"
for p in alice bob carol erin grace health-bot mallory; do echo "$p $p"; done > "$keys/users"
bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null
git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
git -C "$srv" config bpgate.auditDir "$E2E_TMP/audit"
git -C "$srv" config bpgate.auditKey "$keys/audit.skey"
git -C "$srv" config bpgate.healthKey "$keys/health-bot"
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

git init -q "$work"; cd "$work"
git config bpgate.repository acme/make-scenarios
mkdir -p .bpgate scenarios/weekly-digest
cp -r "$pack/contracts" .bpgate/contracts
cp -r "$pack/environments" .bpgate/environments
cp "$keys/allowed_signers" .bpgate/allowed_signers
python3 - "$pack/policy.json" "$port" <<'P'
import json, sys
p = json.load(open(sys.argv[1]))
p["environments"]["stage"]["make"]["api_url"] = "http://127.0.0.1:%s/api/v2" % sys.argv[2]
p["roles"].update({"builders": ["alice", "bob"], "reviewers": ["carol"], "releasers": ["erin"],
                   "admins": ["grace"], "emergency": ["grace"], "observers": ["health-bot"]})
p["rules"]["signed-push"]["environments"] = []   # signed pushes are tested in receive.sh
p["rules"]["change-window"]["mode"] = "warn"     # any day
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A && git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage; git branch dev
push() { local user=$1 want=$2 what=$3; shift 3; run "$what" "$want" -- env BPGATE_USER="$user" git push "$@"; }
as() { local p=$1; shift
  GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"; }
push alice 0 "bootstrap" origin main stage dev
git -C "$srv" config --unset bpgate.bootstrap
# health on the server, as the timer runs it: bpgate make health in the gate's repository
in_srv() { (cd "$srv" && "$@"); }
health() { # health TIME CODE WHAT [args]
  local t=$1 want=$2 what=$3; shift 3
  run "$what" "$want" -- in_srv env BPGATE_TIME="$t" bpgate make health --env stage "$@"
}
figure() { # figure REF SCENARIO KEY: one figure of a record on the server
  git -C "$srv" cat-file blob "$1:health.json" | python3 -c "import json,sys; print(json.load(sys.stdin)['scenarios']['$2']['$3'])" 2>/dev/null || true
}

# ---- the bounds ------------------------------------------------------------------------------
health 2025-06-04T10:00:00Z 2 "a window over 31 days is refused" --window 32d
expect_grep "$E2E_TMP/err" "from 1h to 31d (744h): a wider window is refused" "says the bound"
health 2025-06-04T10:00:00Z 2 "a signer who is not an observer is refused before anything is written" --key "$keys/mallory"
expect_grep "$E2E_TMP/err" "mallory does not hold the role \"observers\"" "names the role"
[ -z "$(git -C "$srv" for-each-ref refs/bpgate/health/)" ] && ok "nothing recorded" || fail "a record was written"

# ---- a change reaches stage and is approved for prod, before any health refresh ----------------
git checkout -q dev
echo "Sent on Mondays" >> scenarios/weekly-digest/README.md; git add -A; as alice git commit -qm "digest: wording"
push alice 0 "dev" origin dev
git branch -f stage dev; push bob 0 "stage" origin stage
git branch -f main stage
run "carol approves stage's tree for prod" 0 -- env BPGATE_USER=carol bpgate approve main --for prod -f "$keys/carol"
push erin 1 "no health record and no report: prod refused" origin main
expect_grep "$E2E_TMP/err" "no usable stage health report before prod: health/stage.json is not in the tree pushed (and no valid signed health record)" "says what is missing"

# ---- too few executions ------------------------------------------------------------------------
health 2025-06-04T10:00:00Z 0 "health measured from 5 executions of the digest"
rec1=refs/bpgate/health/stage/20250604T100000Z
git -C "$srv" rev-parse -q --verify "$rec1" >/dev/null && ok "the record is at $rec1" || fail "no record at $rec1"
[ "$(figure $rec1 weekly-digest executions)" = 5 ] && ok "5 executions counted" || fail "executions: $(figure $rec1 weekly-digest executions)"
push erin 1 "too few executions: prod refused" origin main
expect_grep "$E2E_TMP/err" "scenario weekly-digest ran 5 time(s) on stage in the window measured, fewer than the 20 required before prod: one lucky run is not a green light" "one lucky run is not a green light"

# ---- 1000 executions, 998 successes, a known p95: exact, and the approval is still valid ------------
logs 204 5 995 w:500 e:700
health 2025-06-04T10:15:00Z 0 "health measured again (refreshed)"
rec2=refs/bpgate/health/stage/20250604T101500Z
git -C "$srv" cat-file blob "$rec2:health.json" > "$E2E_TMP/h.json" || true
git -C "$srv" cat-file blob "$rec2:health.json.sig" > "$E2E_TMP/h.json.sig" || true
python3 - "$E2E_TMP/h.json" > "$E2E_TMP/fig" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
w = d["scenarios"]["weekly-digest"]
print(d["type"], d["environment"], d["measured_at"], d["window_hours"], d["from"], d["to"], d["signer"])
print(w["make_id"], w["executions"], w["successes"], w["warnings"], w["errors"], repr(w["success_rate"]),
      repr(w["warning_rate"]), repr(w["error_rate"]), w["p50_ms"], w["p95_ms"])
P
expect_grep "$E2E_TMP/fig" "bpgate-health/v1 stage 2025-06-04T10:15:00Z 24 2025-06-03T10:15:00Z 2025-06-04T10:15:00Z health-bot" "the record names what, when, the window and the signer"
expect_grep "$E2E_TMP/fig" "204 1000 998 1 1 0.998 0.001 0.001 500 950" "1000 executions: success 0.998, p50 500 ms, p95 950 ms exactly"
grep -q "\"commit\": \"$(git rev-parse stage)\"" "$E2E_TMP/h.json" && ok "the record names stage's tip" || fail "commit not stage's tip"
ssh-keygen -Y verify -f "$keys/allowed_signers" -I health-bot -n bpgate-health@v1 -s "$E2E_TMP/h.json.sig" \
  < "$E2E_TMP/h.json" > "$E2E_TMP/v.out" 2>&1 && ok "ssh-keygen verifies the record's signature" || { fail "ssh-keygen -Y verify"; cat "$E2E_TMP/v.out"; }
tail -n1 "$E2E_TMP/audit/entries" > "$E2E_TMP/entry"
expect_grep "$E2E_TMP/entry" '"type":"bpgate-health"' "the measurement is an audit entry"
git -C "$srv" for-each-ref refs/bpgate/approvals/prod/ --format='%(refname)' > "$E2E_TMP/appr"
[ "$(wc -l < "$E2E_TMP/appr")" = 1 ] && ok "still the one approval made before the refresh" || fail "approvals: $(cat "$E2E_TMP/appr")"
# records that cannot be listed are not "no records" (the pushed tree's report would stand in)
run "health records that cannot be listed refuse prod" 1 -- \
  env BPGATE_USER=erin BPGATE_TEST_FLAGS=health-records-unlistable git push origin main
expect_grep "$E2E_TMP/err" "the health records under refs/bpgate/health/stage/ cannot be listed: listing refused by the test flag health-records-unlistable" "says they cannot be listed"
push erin 0 "stage -> prod accepted after the health refresh, with the approval made before it" origin main
grep -q "stale" "$E2E_TMP/err" && fail "an approval was reported stale" || ok "no approval went stale"

# ---- a stale record ----------------------------------------------------------------------------
git checkout -q dev
echo "Also on Thursdays" >> scenarios/weekly-digest/README.md; git add -A; as alice git commit -qm "digest: thursdays"
push alice 0 "dev" origin dev
git branch -f stage dev; push bob 0 "stage" origin stage
git branch -f main stage
run "carol approves" 0 -- env BPGATE_USER=carol BPGATE_TIME=2025-06-12T09:00:00Z bpgate approve main --for prod -f "$keys/carol"
BPGATE_TIME=2025-06-12T09:30:00Z push erin 1 "a record 8 days old is stale: prod refused" origin main
expect_grep "$E2E_TMP/err" "the stage health report is older than 168 hours (measured_at 2025-06-04T10:15:00Z)" "says it is stale"

# ---- forged records --------------------------------------------------------------------------------
# The server measures again: nothing ran in the last 24 hours, so the valid record counts 0 executions.
health 2025-06-12T09:00:00Z 0 "health measured on the 12th (no executions in the window)"
[ "$(figure refs/bpgate/health/stage/20250612T090000Z weekly-digest executions)" = 0 ] && ok "0 executions" || fail "executions not 0"
# (1) mallory signs a glowing record with her own key (allowed the namespace, but no observer)
sed -e 's/2025-06-04T10:15:00Z/2025-06-12T09:10:00Z/g' -e 's/"signer": "health-bot"/"signer": "mallory"/' "$E2E_TMP/h.json" > "$E2E_TMP/m.json"
ssh-keygen -q -Y sign -n bpgate-health@v1 -f "$keys/mallory" "$E2E_TMP/m.json"
plant() { # plant JSON SIG REF: a record written straight into the gate's repository (storage access)
  local b1 b2 t c
  b1=$(git -C "$srv" hash-object -w "$1"); b2=$(git -C "$srv" hash-object -w "$2")
  t=$(printf '100644 blob %s\thealth.json\n100644 blob %s\thealth.json.sig\n' "$b1" "$b2" | git -C "$srv" mktree)
  c=$(git -C "$srv" commit-tree -m forged "$t"); git -C "$srv" update-ref "$3" "$c"; echo "$c"
}
mc=$(plant "$E2E_TMP/m.json" "$E2E_TMP/m.json.sig" refs/bpgate/health/stage/20250612T091000Z)
# (2) health-bot's real record of the 4th, re-dated after signing
sed -e 's/2025-06-04T10:15:00Z/2025-06-12T09:20:00Z/g' "$E2E_TMP/h.json" > "$E2E_TMP/t.json"
plant "$E2E_TMP/t.json" "$E2E_TMP/h.json.sig" refs/bpgate/health/stage/20250612T092000Z >/dev/null
BPGATE_TIME=2025-06-12T09:30:00Z push erin 1 "forged newer records are skipped: the valid record (0 executions) refuses prod" origin main
expect_grep "$E2E_TMP/err" "ran 0 time(s) on stage in the window measured" "judged by the valid record"
expect_grep "$E2E_TMP/err" "2 stage health record(s) did not verify and were skipped (newest: refs/bpgate/health/stage/20250612T092000Z: the signature does not verify as health-bot" "the re-dated record is named as not verifying"
git -C "$srv" update-ref -d refs/bpgate/health/stage/20250612T092000Z
BPGATE_TIME=2025-06-12T09:30:00Z push erin 1 "a record signed by a non-observer is skipped" origin main
expect_grep "$E2E_TMP/err" "1 stage health record(s) did not verify and were skipped (newest: refs/bpgate/health/stage/20250612T091000Z: signed by mallory, who does not hold the role \"observers\")" "names the signer without the role"
# (3) the forged record pushed over git: the server's namespace is refused
git fetch -q origin refs/bpgate/health/stage/20250612T091000Z
BPGATE_TIME=2025-06-12T09:30:00Z push alice 1 "a health record pushed over git is refused" origin "$mc:refs/bpgate/health/stage/20250612T092500Z"
expect_grep "$E2E_TMP/err" "refs/bpgate/health/stage/20250612T092500Z is in the server's own namespace refs/bpgate/" "server-refs names the ref"
git -C "$srv" update-ref -d refs/bpgate/health/stage/20250612T091000Z
# (4) a signer's name of 121 bytes (each é is two): the problem, cut at 100 bytes, splits a
# character, which refused the push as "out of memory gathering the server facts"
long="a$(for _ in $(seq 60); do printf '\303\251'; done)"
sed -e 's/2025-06-04T10:15:00Z/2025-06-12T09:15:00Z/g' -e "s/\"signer\": \"health-bot\"/\"signer\": \"$long\"/" "$E2E_TMP/h.json" > "$E2E_TMP/u.json"
ssh-keygen -q -Y sign -n bpgate-health@v1 -f "$keys/mallory" "$E2E_TMP/u.json"
plant "$E2E_TMP/u.json" "$E2E_TMP/u.json.sig" refs/bpgate/health/stage/20250612T091500Z >/dev/null
BPGATE_TIME=2025-06-12T09:30:00Z push erin 1 "a record whose signer's name is cut mid-character is skipped" origin main
expect_grep "$E2E_TMP/err" "1 stage health record(s) did not verify and were skipped (newest: refs/bpgate/health/stage/20250612T091500Z: the signature does not verify as a" "named as not verifying"
grep -q "out of memory" "$E2E_TMP/err" && fail "refused as out of memory" || ok "not refused as out of memory"
git -C "$srv" update-ref -d refs/bpgate/health/stage/20250612T091500Z

# ---- observers sign, they do not push ------------------------------------------------------------
git checkout -q dev; echo "note" >> scenarios/weekly-digest/README.md; git add -A; as alice git commit -qm "digest: note"
push health-bot 1 "the observer cannot push (a role that only signs health records)" origin dev
expect_grep "$E2E_TMP/err" "unknown pusher 'health-bot'" "refused as a pusher without a role"

# ---- pruning and the token -------------------------------------------------------------------------
health 2025-06-12T10:00:00Z 0 "--keep 2 prunes older records" --keep 2
[ "$(git -C "$srv" for-each-ref refs/bpgate/health/stage/ | wc -l)" = 2 ] && ok "two records kept" || fail "records: $(git -C "$srv" for-each-ref refs/bpgate/health/stage/)"
expect_grep "$E2E_TMP/out" "(2 older records pruned)" "says what was pruned"
grep -rl -- "$TOKEN" "$outs" "$E2E_TMP/audit" "$E2E_TMP/h.json" > "$E2E_TMP/leaks" 2>/dev/null || true
[ -s "$E2E_TMP/leaks" ] && { fail "the token appears in: $(cat "$E2E_TMP/leaks")"; } || ok "the token is in no output, record or audit entry"
finish
