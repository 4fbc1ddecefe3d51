#!/usr/bin/env bash
# End-to-end: bpgate policy check / test / rules and bpgate explain --facts
# against the shipped regulated pack and deliberately broken copies of it.
set -euo pipefail
bpgate="$BPG_BUILD_ROOT/hooks/bpgate"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect EXIT CMD...: run, capture stdout+stderr into $out, check the exit code
expect() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [ "$rc" = "$want" ] || fail "exit $rc (wanted $want) from $*: $out"
}

# 1. the pack is valid and its own tests pass (every test file counted)
ntests=$(ls "$pack"/tests/*.json | wc -l)
expect 0 "$bpgate" policy check "$pack"
[ "$out" = "policy OK: 26 rules, $ntests policy tests" ] || fail "check: $out"
expect 0 "$bpgate" policy test "$pack"
[ "$(tail -n1 <<<"$out")" = "$ntests passed, 0 failed" ] || fail "test: $out"

# 2. a governed repository: DIR is the repository, policy in .bpgate/
mkdir -p "$work/repo/.bpgate"
cp -r "$pack/policy.json" "$pack/contracts" "$pack/environments" "$pack/tests" "$pack/allowed_signers" "$work/repo/.bpgate/"
( cd "$work/repo" && expect 0 "$bpgate" policy test ) || exit 1

# 3. a typo is an error with file:line:column and the rule
bad="$work/bad"
cp -r "$work/repo/.bpgate" "$bad"
sed -i 's/"allow_synthetic": true/"allow_synthetics": true/' "$bad/policy.json"
sed -i 's/"mode": "warn" }/"mode": "warn" }/; s/"writeback-dlq": { "mode": "enforce" }/"writeback-dlq": { "mode": "enforced" }/' "$bad/policy.json"
expect 1 "$bpgate" policy check "$bad"
want="$bad/policy.json:98:43: unknown key 'allow_synthetics' at '/rules/scan-findings/allow_synthetics'; expected one of: allow_synthetic, ignore_fingerprints, paths (rule scan-findings)
$bad/policy.json:99:32: expected one of enforce, warn, off at '/rules/writeback-dlq/mode', found \"enforced\" (rule writeback-dlq)
2 problems; the policy is not usable until they are fixed (see bpgate-policy(5))"
[ "$out" = "$want" ] || fail "bad check: got
$out
wanted
$want"
# the tests refuse to run on a broken policy (exit 2), saying how to find out why
expect 2 "$bpgate" policy test "$bad"
grep -q "fix the policy first ('bpgate policy check $bad')" <<<"$out" || fail "test on bad: $out"

# 4. an unknown rule and a broken contract
cp -r "$work/repo/.bpgate" "$work/bad2"
sed -i 's/"high-risk": { "mode": "enforce" }/"high-risk": { "mode": "enforce" }, "high-risks": { "mode": "warn" }/' "$work/bad2/policy.json"
sed -i 's/"key_fields": \["email"\]/"key_fields": "email"/' "$work/bad2/contracts/hubspot-contact.json"
expect 1 "$bpgate" policy check "$work/bad2"
want="$work/bad2/contracts/hubspot-contact.json:7:17: expected an array of non-empty strings at '/key_fields', found a string
$work/bad2/policy.json:40:21: no data contract with id \"hubspot-contact\" in contracts/
$work/bad2/policy.json:105:41: unknown rule 'high-risks'; expected one of: blueprint-parses, catalogued, change-template, scan-findings, writeback-dlq, writeback-error-handling, confidential, connections, data-contract, bundle-signed, high-risk, schema-drift, protected-branch, server-refs, promotion, rollback, first-parent-history, break-glass, break-glass-overdue, approvals, policy-change, segregation-of-duties, change-window, signed-push, uat-evidence, stage-health
3 problems; the policy is not usable until they are fixed (see bpgate-policy(5))"
[ "$out" = "$want" ] || fail "bad2 check: got
$out
wanted
$want"

# 5. a failing policy test names what differs and exits 1
sed -i 's/"decision": "refuse"/"decision": "accept"/' "$work/repo/.bpgate/tests/11-uncatalogued-blueprint.json"
expect 1 "$bpgate" policy test "$work/repo"
grep -qx "FAIL tests/11-uncatalogued-blueprint.json: every blueprint is in the catalog" <<<"$out" || fail "ptest: $out"
grep -qx "  expected decision accept, got refuse" <<<"$out" || fail "ptest why: $out"
[ "$(tail -n1 <<<"$out")" = "$((ntests - 1)) passed, 1 failed" ] || fail "ptest count: $out"

# 6. explain: facts of a test, rule by rule; JSON and SARIF forms
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["facts"]))' \
  "$pack/tests/05-bad-blueprint.json" > "$work/facts.json"
expect 1 "$bpgate" explain --facts "$work/facts.json" --policy "$pack"
grep -q "^connections                fail " <<<"$out" || fail "explain: $out"
grep -q "^bundle-signed              pass " <<<"$out" || fail "explain pass: $out"
[ "$(tail -n1 <<<"$out")" = "refused: 10 errors, 0 warnings, 2 info" ] || fail "explain summary: $out"
expect 1 "$bpgate" explain --facts "$work/facts.json" --policy "$pack" --format sarif
python3 - "$out" <<'PY' || fail "sarif"
import json, sys
log = json.loads(sys.argv[1])
assert log["version"] == "2.1.0"
run = log["runs"][0]
assert run["tool"]["driver"]["name"] == "bpgate"
assert len(run["results"]) == 12, len(run["results"])
assert sum(r["level"] == "error" for r in run["results"]) == 10
PY
expect 1 "$bpgate" explain --facts "$work/facts.json" --policy "$pack" --format json
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["decision"]=="refuse" and d["errors"]==10' "$out" || fail "json"

# malformed facts fail closed (exit 2) with the pointer
echo '{"time": "2025-06-01T00:00:00Z", "context": "check", "file": []}' > "$work/f2.json"
expect 2 "$bpgate" explain --facts "$work/f2.json" --policy "$pack"
grep -q "unknown key 'file' at '/file'" <<<"$out" || fail "facts: $out"

# 7. the rule list
expect 0 "$bpgate" policy rules
[ "$(wc -l <<<"$out")" = 26 ] || fail "rules: $out"
echo "e2e policy: ok"
