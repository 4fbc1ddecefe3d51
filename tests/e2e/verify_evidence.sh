#!/usr/bin/env bash
# The auditor's stock-tools check (issue #18, docs): tools/verify-evidence.py verifies a
# release evidence package built by `bpgate evidence` from what the real server gate
# recorded, using only python3's standard library, openssl, ssh-keygen, sha256sum and
# minisign, never bpgate. A bare repository with bpgate-receive as its pre- and
# post-receive hook (as in evidence.sh), one release dev -> stage -> prod with an approval
# and a signed push; then the package is checked, and tampered packages are refused.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
tool="$BPG_SOURCE_ROOT/tools/verify-evidence.py"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
[ -x "$receive" ] || { echo "bpgate-receive not built: skipped"; exit 77; }
for t in openssl ssh-keygen sha256sum minisign python3; do
  command -v "$t" >/dev/null || { echo "$t missing: skipped"; exit 77; }
done
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"; audit="$E2E_TMP/audit"
mkdir -p "$keys"

for p in alice bob carol erin; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
: > "$keys/allowed_signers"
for p in carol erin; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done
: > "$keys/users"
for p in alice bob carol erin; do echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"; done
bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null
bpgate evidence keygen --out "$keys/ev" >/dev/null
minisign -G -W -p "$keys/rel.pub" -s "$keys/rel.key" >/dev/null

git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
git -C "$srv" config bpgate.auditDir "$audit"
git -C "$srv" config bpgate.auditKey "$keys/audit.skey"
git -C "$srv" config receive.advertisePushOptions true
git -C "$srv" config receive.certNonceSeed e2e-seed
git -C "$srv" config gpg.ssh.allowedSignersFile "$keys/allowed_signers"
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

git init -q "$work"; cd "$work"
git config bpgate.repository acme/make-scenarios
mkdir -p .bpgate scenarios/weekly-digest health uat/weekly-digest
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
cp "$keys/allowed_signers" .bpgate/allowed_signers
mkdir -p .bpgate/keys; cp "$keys/rel.pub" .bpgate/keys/erin.pub   # erin's minisign key signs release bundles
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
cat > health/stage.json <<'J'
{"measured_at": "2025-06-02T00:00:00Z", "scenarios": {
 "weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800}}}
J
GIT_AUTHOR_DATE=2025-06-01T08:00:00Z GIT_COMMITTER_DATE=2025-06-01T08:00:00Z git add -A
GIT_AUTHOR_DATE=2025-06-01T08:00:00Z GIT_COMMITTER_DATE=2025-06-01T08:00:00Z git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage; git branch dev
push() { local user=$1 want=$2 what=$3; shift 3; expect_exit "$want" "$what" -- env BPGATE_USER="$user" git push "$@"; }
commit_as() {
  GIT_AUTHOR_NAME=$1 GIT_AUTHOR_EMAIL=$1@example.com GIT_COMMITTER_NAME=$1 GIT_COMMITTER_EMAIL=$1@example.com \
    GIT_AUTHOR_DATE=$2 GIT_COMMITTER_DATE=$2 git commit -q --no-verify -F "$3"
}
push alice 0 "bootstrap push" origin main stage dev
git -C "$srv" config --unset bpgate.bootstrap

# one release: a blueprint, its UAT note and a signed release bundle, dev -> stage -> prod
git checkout -q dev
printf '{"name": "Weekly KPI digest e-mail", "flow": [{"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "subject", "value": "KPI digest"}, "metadata": {}}], "metadata": {"scenario": {"dlq": false, "confidential": false}}}\n' \
  > scenarios/weekly-digest/main.blueprint.json
echo "UAT 2025-06-02: pass" > uat/weekly-digest/2025-06-02.md
mkdir -p release/1
echo '{"environment": "prod", "scenarios": ["weekly-digest"]}' > release/1/config.json
bpgate bundle create --env prod --out release/1/release.bundle.json release/1/config.json >/dev/null
minisign -S -s "$keys/rel.key" -m release/1/release.bundle.json >/dev/null   # stock minisign signs it
printf 'digest: first version\n\nPurpose: first version\nRisk: low\nTest-Plan: ran in dev\nRollback: revert this commit\n' > "$E2E_TMP/msg"
git add -A; commit_as alice 2025-06-02T08:00:00Z "$E2E_TMP/msg"
BPGATE_TIME=2025-06-03T09:00:00Z push alice 0 "dev" origin dev
git branch -f stage dev; BPGATE_TIME=2025-06-03T09:00:00Z push bob 0 "stage" origin stage
git branch -f main stage
BPGATE_TIME=2025-06-03T09:30:00Z expect_exit 0 "carol approves for prod" -- env BPGATE_USER=carol bpgate approve main --for prod -f "$keys/carol"
BPGATE_TIME=2025-06-03T10:00:00Z expect_exit 0 "erin releases to prod (signed push)" -- env BPGATE_USER=erin \
  git -c gpg.format=ssh -c user.signingkey="$keys/erin.pub" push --signed origin main
rel=$(git rev-parse main)

ev="$E2E_TMP/ev"; mkdir -p "$ev"
BPGATE_TIME=2025-06-06T12:00:00Z expect_exit 0 "bpgate evidence builds the package" -- bpgate evidence "$rel" \
  --repo "$srv" --audit-dir "$audit" --log-key "$keys/audit.vkey" --key "$keys/ev.pem" --out "$ev/pkg.json"
expect_exit 0 "bpgate evidence verify accepts it (the reference)" -- \
  bpgate evidence verify "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
[ -n "${KEEP_EVIDENCE:-}" ] && cp -r "$ev" "$keys" "$KEEP_EVIDENCE/"
python3 -c 'import json,base64,sys; p=json.loads(base64.b64decode(json.load(open(sys.argv[1]))["payload"]))["predicate"]; assert p["bundles"] and p["approvals"] and p["audit"]["proofs"]' "$ev/pkg.json" \
  && ok "the package has a bundle, an approval and audit proofs to check" || fail "the package lacks a part to check"

# --- the stock-tools check: no bpgate on the PATH --------------------------------------------
stock=/usr/local/bin:/usr/bin:/bin
git archive "$rel" | { mkdir -p "$E2E_TMP/released"; tar -x -C "$E2E_TMP/released"; }
vcheck() { env PATH="$stock" python3 "$tool" "$@"; }
expect_exit 0 "verify-evidence.py verifies the package with stock tools only" -- \
  vcheck "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --tree "$E2E_TMP/released" \
  --minisign-key "$keys/rel.pub"
expect_grep "$E2E_TMP/out" "DSSE signature verified with openssl" "the envelope's signature (openssl)"
expect_grep "$E2E_TMP/out" "release: release acme/make-scenarios of $rel to prod by erin at 2025-06-03T10:00:00Z" "names the release"
expect_grep "$E2E_TMP/out" "the release decision (entry" "the release decision is proven in the signed log"
expect_grep "$E2E_TMP/out" "approvals: 1 signature(s) verified with ssh-keygen" "the approval (ssh-keygen -Y verify)"
expect_grep "$E2E_TMP/out" "recomputed with sha256sum" "the released files (sha256sum)"
expect_grep "$E2E_TMP/out" "bundles: 1 manifest(s) verified with minisign" "the release bundle (minisign -V)"
expect_grep "$E2E_TMP/out" "verified" "says verified"
expect_exit 0 "with the allowed_signers the auditor holds" -- \
  vcheck "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --allowed-signers "$keys/allowed_signers"
expect_exit 2 "audit proofs need the log key" -- vcheck "$ev/pkg.json" --key "$keys/ev.pub"
expect_exit 0 "--help" -- vcheck --help
expect_exit 2 "a usage error exits 2" -- vcheck "$ev/pkg.json"

# --- tampered packages are refused ---------------------------------------------------------
refused() { # refused WHAT PATTERN -- args...: exit 1 and the failure named
  local what=$1 pat=$2; shift 3
  expect_exit 1 "refused: $what" -- vcheck "$@"
  expect_grep "$E2E_TMP/err" "$pat" "... $what: the failure is named"
}
# a byte of the payload changed
python3 - "$ev/pkg.json" "$ev/t1.json" <<'PY'
import json, base64, sys
e = json.load(open(sys.argv[1])); b = bytearray(base64.b64decode(e["payload"]))
i = b.index(b'"pusher"') + 10; b[i] ^= 1; e["payload"] = base64.b64encode(bytes(b)).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
refused "a changed payload" "envelope 1: signed by 0 of the given keys" -- "$ev/t1.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
# signed by another key
bpgate evidence keygen --out "$keys/mallory" >/dev/null
python3 -c 'import json,base64,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["payload"]).decode())' "$ev/pkg.json" > "$ev/stmt.json"
bpgate evidence sign "$ev/stmt.json" --key "$keys/mallory.pem" --out "$ev/t2.json" >/dev/null
refused "a package signed by another key" "signed by 0 of the given keys" -- "$ev/t2.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
# an insider with the evidence key rewrites parts; each is caught by what it cannot re-sign
edit() { # edit OUT PYTHON-EXPRESSION-ON-p: change the statement, sign it with the real evidence key
  python3 - "$ev/stmt.json" "$ev/$1.stmt" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); p = s["predicate"]
exec(sys.argv[3])
json.dump(s, open(sys.argv[2], "w"))
PY
  bpgate evidence sign "$ev/$1.stmt" --key "$keys/ev.pem" --out "$ev/$1.json" >/dev/null
}
edit t3 'p["release"]["pusher"] = "alice"'
refused "a release attributed to someone else" "/predicate/audit/release_entry: no proven audit entry" -- \
  "$ev/t3.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
edit t4 'pr = [x for x in p["audit"]["proofs"] if x["index"] == p["audit"]["release_entry"]][0]
pr["entry"] = pr["entry"].replace("erin", "erix"); pr.pop("leaf_hash")'
refused "an audit entry changed" "is not in the log of the signed checkpoint" -- \
  "$ev/t4.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
edit t5 'p["audit"]["checkpoint"] = p["audit"]["checkpoint"].replace("\n", "\n1", 1).replace("\n1", "\n", 1).replace("example.com/audit\n", "example.com/audit\n9", 1)
for pr in p["audit"]["proofs"]: pr["checkpoint"] = p["audit"]["checkpoint"]'
refused "a checkpoint changed" "/predicate/audit/checkpoint: the signature of example.com/audit does not verify" -- \
  "$ev/t5.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
bpgate audit keygen example.com/audit --out "$keys/other" >/dev/null 2>&1
refused "the audit proofs against another log key" "/predicate/audit/checkpoint: not signed by" -- \
  "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/other.vkey"
edit t6 'a = p["approvals"][0]; a["statement"] = a["statement"].replace("09:30:00Z", "09:31:00Z"); a["time"] = "2025-06-03T09:31:00Z"'
refused "an approval statement changed" "/predicate/approvals/0: carol's signature does not verify" -- \
  "$ev/t6.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
edit t7 's["subject"][0]["digest"]["sha256"] = "0" * 64'
refused "a subject's digest changed" "the subject's sha256 differs from the change's" -- "$ev/t7.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
cp -r "$E2E_TMP/released" "$E2E_TMP/released2"; echo " " >> "$E2E_TMP/released2/uat/weekly-digest/2025-06-02.md"
refused "a released file that differs" "uat/weekly-digest/2025-06-02.md: sha256 in" -- \
  "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --tree "$E2E_TMP/released2"
minisign -G -W -p "$keys/m.pub" -s "$keys/m.key" >/dev/null
refused "a bundle checked against another releaser key" "/predicate/bundles/0: minisign -V" -- \
  "$ev/pkg.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --minisign-key "$keys/m.pub"
finish
