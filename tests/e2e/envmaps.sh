# End-to-end: the environment model (#16 section 1). `bpgate init` ships the
# reference maps (.bpgate/environments/<env>.json); `bpgate policy check`
# locates their errors; the connections rule judges with them on the laptop
# (pre-commit, no environment known: every mapped environment) and on the
# server (bpgate-receive reads the maps from the policy tree in git): a
# blueprint holds dev's ids and every environment a change reaches maps them.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
export BPGATE_TIME=2025-06-04T10:30:00Z
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
srv="$E2E_TMP/server.git"; repo="$E2E_TMP/repo"

# --- init copies the maps ---------------------------------------------------------
git init -q "$repo"; cd "$repo"
expect_exit 0 "bpgate init" -- bpgate init
for e in dev stage prod; do
  cmp -s "$pack/environments/$e.json" ".bpgate/environments/$e.json" && ok "init wrote environments/$e.json" \
    || fail "init did not write environments/$e.json"
done
expect_exit 0 "the pack's policy tests pass in the new repository" -- bpgate policy test

# --- check locates errors in the maps ------------------------------------------------
cp -r .bpgate "$E2E_TMP/bad"
echo '{"version": 1, "references": {}}' > "$E2E_TMP/bad/environments/qa.json"
printf '{"version": 1,\n "references": {"account": {"1001": 0}, "accounts": {}}}\n' > "$E2E_TMP/bad/environments/prod.json"
expect_exit 1 "policy check refuses broken maps" -- bpgate policy check "$E2E_TMP/bad"
want="$E2E_TMP/bad/environments/prod.json:2:37: expected the environment's id: an integer > 0 or a non-empty string at '/references/account/1001'
$E2E_TMP/bad/environments/prod.json:2:41: unknown key 'accounts' at '/references/accounts'; expected one of: account, hook, keychain, datastore, udt, device
$E2E_TMP/bad/environments/qa.json: 'qa' is not an environment of this policy; a reference map is named environments/<environment>.json
3 problems; the policy is not usable until they are fixed (see bpgate-policy(5))"
[ "$(cat "$E2E_TMP/out" "$E2E_TMP/err")" = "$want" ] && ok "each problem with file, line and column" \
  || { fail "check output"; cat "$E2E_TMP/out" "$E2E_TMP/err"; }

# --- the server ----------------------------------------------------------------------
git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
printf 'alice alice\nalice@example.com alice\ngrace grace\n' > "$E2E_TMP/users"
git -C "$srv" config bpgate.users "$E2E_TMP/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.repositoryId "$(python3 -c 'import json; print(json.load(open(".bpgate/policy.json"))["repository_id"])')"
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
ln -s "$receive" "$srv/hooks/pre-receive"

git add .bpgate && git commit -qm "Govern this repository" --no-verify
git branch dev; git branch stage
git remote add origin "$srv"
expect_exit 0 "bootstrap push of the policy" -- env BPGATE_USER=alice git push origin main stage dev
git -C "$srv" config --unset bpgate.bootstrap
git checkout -q dev

# blueprint REFS...: the weekly digest reading a sheet through connection CONN (and key KEY)
blueprint() {
  python3 - "$@" <<'P' > scenarios/weekly-digest/main.blueprint.json
import json, sys
conn, key = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
params, meta = {"__IMTCONN__": int(conn)}, [{"name": "__IMTCONN__", "type": "account:google"}]
if key:
    params["apiKeyKeychain"] = int(key)
    meta.append({"name": "apiKeyKeychain", "type": "keychain:apikeyauth"})
bp = {"name": "Weekly KPI digest", "flow": [
  {"id": 1, "module": "google-sheets:getRange", "version": 2, "parameters": params,
   "mapper": {"range": "A1:B9"}, "metadata": {"designer": {"x": 0, "y": 0}, "parameters": meta}}],
  "metadata": {"instant": False, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": True,
   "sequential": False, "confidential": False, "dataloss": False, "dlq": False}, "designer": {"orphans": []},
   "zone": "eu1.make.com"}}
print(json.dumps(bp, indent=4))
P
}
msg="Weekly digest reads the KPI sheet

Purpose: the digest reads the KPI sheet
Risk: low
Test-Plan: ran in dev
Rollback: revert this commit"
mkdir -p scenarios/weekly-digest

# on the laptop, no environment is known: every environment with a map is checked
blueprint 1004 1201
git add scenarios
expect_exit 1 "pre-commit refuses a key prod's map does not have" -- git commit -qm "$msg"
expect_grep "$E2E_TMP/err" "keychain 1201 is not catalogued in the reference map of prod (references.keychain)" \
  "names the key, the environment and the map"

# on the server, the maps come from the policy tree in git
blueprint 3004
git add scenarios && git commit -qm "$msg" --no-verify
expect_exit 1 "the server refuses prod's id in a dev blueprint" -- env BPGATE_USER=alice git push --no-verify origin dev
expect_grep "$E2E_TMP/err" "connection 3004 belongs to environment 'prod': it is prod's id for connection 1004" \
  "says whose id it is and which id git holds"
blueprint 1004 1201
git add scenarios && git commit -q --amend -m "$msg" --no-verify
expect_exit 1 "the server refuses a key that cannot reach prod" -- env BPGATE_USER=alice git push --no-verify origin dev
expect_grep "$E2E_TMP/err" "keychain 1201 is not catalogued in the reference map of prod" "names prod's map"
blueprint 1004
git add scenarios && git commit -q --amend -m "$msg" --no-verify
expect_exit 0 "the blueprint holding dev's ids goes to dev" -- env BPGATE_USER=alice git push origin dev
git branch -f stage dev
expect_exit 0 "and the identical tree to stage (stage's map gives 2004)" -- env BPGATE_USER=alice git push origin stage

finish
