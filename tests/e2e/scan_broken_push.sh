#!/usr/bin/env bash
# Issue #19, as an attacker would try it: a builder pushes a blueprint with ONE
# syntax error (a missing colon) that carries a bearer token in an HTTP header.
# Before the tolerant reader the file fell back to text mode on the server and
# the token's finding lost its key context; now the gate refuses the broken
# push with exactly the scanner findings of the repaired file (same rule, JSON
# pointer and masked excerpt), besides [blueprint-parses].
source "$(dirname "$0")/lib.sh"
export BPGATE_TIME=2025-06-04T10:30:00Z
srv="$E2E_TMP/server.git"
gate_init "$srv" "$E2E_TMP/work"
mkdir -p scenarios/lead-sync; echo "Lead sync" > scenarios/lead-sync/README.md
gate_bootstrap "$srv"
token="AbCdEf0123456789GhIjKlMnOpQrStUvWxYz0123456789aBcDeF"
blueprint() { # blueprint SEP: SEP is ":" (valid) or "" (the missing colon)
  cat <<J
{"name": "Lead sync", "flow": [
 {"id": 1, "module": "http:ActionSendData", "version": 3, "parameters": {},
  "mapper": {"url": "https://api.example.com/leads", "method": "post",
   "headers": [{"name": "Authorization", "value": "Bearer $token"}]},
  "metadata": {"designer" $1 {"x": 0, "y": 0}}}],
 "metadata": {"instant": false, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": true,
  "sequential": false, "confidential": false, "dataloss": false, "dlq": false}, "designer": {"orphans": []}, "zone": "eu1.make.com"}}
J
}
msg='lead-sync: push leads

Purpose: p
Risk: low
Test-Plan: t
Rollback: r
UAT-Evidence: u'
try() { # try NAME SEP: commit the blueprint on a fresh branch from dev, push it, keep the scan lines
  git checkout -q -B "$1" dev
  blueprint "$2" > scenarios/lead-sync/lead-sync.blueprint.json
  git add -A && git commit -q --no-verify -m "$msg"
  expect_exit 1 "$1: the gate refuses the push" -- env BPGATE_USER=alice git push origin "$1:dev"
  grep -F -A1 "[scan-findings]" "$E2E_TMP/err" | grep -v '^--$' | sed -e 's/^remote: //' -e 's/ *$//' > "$E2E_TMP/$1.scan"
  cp "$E2E_TMP/err" "$E2E_TMP/$1.err"
}
try repaired ":"
try broken ""
expect_grep "$E2E_TMP/broken.err" "[blueprint-parses]" "the broken file is also refused as unparsable"
[ -s "$E2E_TMP/repaired.scan" ] && grep -q "/flow/0/mapper/headers/0/value" "$E2E_TMP/repaired.scan" &&
  ok "the repaired file's token is found at its JSON pointer" || { cat "$E2E_TMP/repaired.err"; fail "no finding with a pointer"; }
cmp -s "$E2E_TMP/repaired.scan" "$E2E_TMP/broken.scan" &&
  ok "the broken push gets exactly the repaired file's scanner findings" ||
  { diff "$E2E_TMP/repaired.scan" "$E2E_TMP/broken.scan"; fail "findings differ"; }
if grep -q "$token" "$E2E_TMP/broken.err" "$E2E_TMP/repaired.err"; then fail "the whole token was printed"; else ok "the token is never printed whole"; fi
finish
