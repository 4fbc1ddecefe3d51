# End-to-end: `bpgate init`, the installed hooks under real `git commit` and
# `git push`, `bpgate check` and `bpgate inventory`.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
repo="$E2E_TMP/repo"
git init -q "$repo"
cd "$repo"

# an existing hook is kept and chained (commit-msg: `bpgate init` installs commit-msg and
# pre-push; pre-commit only with --early-check, tests/e2e/hooks_one.sh)
printf '#!/bin/sh\necho chained >> "%s/chained.log"\n' "$E2E_TMP" > .git/hooks/commit-msg
chmod +x .git/hooks/commit-msg
expect_exit 0 "bpgate init" -- bpgate init
expect_grep "$E2E_TMP/out" "kept the existing commit-msg hook as commit-msg.pre-bpgate" "existing hook kept"
[ -f .bpgate/policy.json ] && [ -x .git/hooks/commit-msg ] && [ -x .git/hooks/pre-push ] \
  && ok "policy and hooks written" || fail "policy and hooks written"
expect_exit 0 "policy tests pass right after init" -- bpgate policy test
expect_exit 2 "init refuses to overwrite" -- bpgate init
git add .bpgate && git commit -qm "Govern this repository" && ok "committing the policy" || fail "committing the policy"
git checkout -q -b dev
[ "$(cat "$E2E_TMP/chained.log")" = "chained" ] && ok "the previous commit-msg ran first" || fail "chained hook did not run"

mkdir -p scenarios/crm-contact-sync
cp "$pack/blueprints/crm-contact-sync.bad.blueprint.json" scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
expect_exit 1 "the hooks refuse a blueprint that breaks the rules" -- git commit -qm "x"
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

# personal data in a fixture is stopped (by commit-msg, which judges the staged content), masked; synthetic data passes
mkdir -p tests/fixtures
printf '{"customer": {"email": "jane.doe@gmail.com"}}\n' > tests/fixtures/customer.json
git add tests
expect_exit 1 "the hooks refuse personal data in a fixture" -- git commit -qm "fixture"
expect_grep "$E2E_TMP/err" "tests/fixtures/customer.json:1:25 #/customer/email: error [scan-findings]: EMAIL found (ja********om)" "finding located and masked"
if grep -q "jane.doe@gmail.com" "$E2E_TMP/err"; then fail "the whole value was printed"; else ok "the whole value is never printed"; fi
printf '{"customer": {"email": "jane.doe@example.com"}}\n' > tests/fixtures/customer.json
git add tests
expect_exit 0 "synthetic data (example.com) passes" -- git commit -qm "synthetic fixture"

# release bundles: signed by a releaser and matching, or refused
mkdir -p .bpgate/keys
bpgate keygen -W -p .bpgate/keys/erin.pub -s "$E2E_TMP/erin.key" >/dev/null
bpgate keygen -W -p "$E2E_TMP/mallory.pub" -s "$E2E_TMP/mallory.key" >/dev/null
bpgate bundle create --env prod --pattern 'scenarios/**/*.blueprint.json' --out prod.bundle.json \
  scenarios/crm-contact-sync/main.blueprint.json >/dev/null
bpgate bundle sign -s "$E2E_TMP/mallory.key" prod.bundle.json >/dev/null
git add .bpgate/keys prod.bundle.json prod.bundle.json.minisig
expect_exit 1 "a bundle signed by a key that is no releaser's is refused" -- git commit -qm "release"
expect_grep "$E2E_TMP/err" "prod.bundle.json: error [bundle-signed]" "names the bundle"
bpgate bundle sign -s "$E2E_TMP/erin.key" prod.bundle.json >/dev/null
git add prod.bundle.json.minisig
expect_exit 0 "a bundle signed by the releaser is accepted" -- git commit -qm "release"
printf '\n' >> scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
expect_exit 1 "changing a file a bundle lists refuses the commit" -- git commit -q -F "$E2E_TMP/msg"
expect_grep "$E2E_TMP/err" "the file changed after the bundle was made" "says the file changed"
git checkout -q HEAD -- scenarios

# check: the same judgement for CI, in every format
expect_exit 0 "check the branch" -- bpgate check main..HEAD
expect_exit 0 "check --format sarif" -- bpgate check --format sarif main..HEAD
python3 - "$E2E_TMP/out" <<'PY' && ok "SARIF 2.1.0" || fail "SARIF shape"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["version"] == "2.1.0" and s["runs"][0]["tool"]["driver"]["name"] == "bpgate"
PY
expect_exit 0 "check --facts" -- bpgate check --facts main..HEAD
python3 - "$E2E_TMP/out" <<'PY' && ok "facts: commit with trailers and the blueprint model" || fail "facts shape"
import json, sys
f = json.load(open(sys.argv[1]))
assert f["context"] == "check"
c = [c for c in f["commits"] if c["trailers"].get("Purpose")][0]
assert c["trailers"]["Risk"] == "high" and c["trailers"]["Purpose"] == "onboard web leads", c["trailers"]
b = f["bundles"][0]
assert b["path"] == "prod.bundle.json" and b["ok"] and b["signer"] == "erin", b
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
grep -q chained .git/hooks/commit-msg && ! grep -q bpgate-hook .git/hooks/commit-msg \
  && ok "previous hook restored" || fail "previous hook restored"
finish
