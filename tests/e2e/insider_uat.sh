#!/usr/bin/env bash
# End-to-end: UAT evidence and stage health cannot be self-asserted
# (issue "the controls must hold against insiders", item 7). Real pushes
# over SSH to bpgated with the real gate and the regulated pack. A builder
# tries to reach prod with a one-line UAT file, with a sign-off of her own,
# with a sign-off of an earlier version, and with a stage health report
# dated 2099; each is refused. A reviewer who did not build the change signs
# off the version on stage, and the release goes through.
source "$(dirname "$0")/lib.sh"
command -v ssh >/dev/null && command -v sshd >/dev/null || { echo "SKIP: needs OpenSSH"; exit 77; }

keys="$E2E_TMP/keys"; srv="$E2E_TMP/server"; mkdir -p "$keys" "$srv/repos" "$srv/state"
people="alice carol dave erin grace"
for p in $people; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
for p in $people; do opt=; [ "$p" = grace ] && opt=admin; echo "$p $opt $(cut -d' ' -f1,2 "$keys/$p.pub")"; done > "$srv/principals"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$srv/bpgated.json" <<J
{ "listen": {"address": "127.0.0.1", "port": $port}, "repo_root": "repos", "state_dir": "state",
  "keys_file": "principals",
  "pre_receive_hook": "$BPG_BUILD_ROOT/server/bpgate-receive", "bpgate": "$BPG_BUILD_ROOT/hooks/bpgate",
  "path": "$BPG_BUILD_ROOT/hooks:$BPG_BUILD_ROOT/server:/usr/local/bin:/usr/bin:/bin" }
J
bpgated --config "$srv/bpgated.json" 2> "$srv/bpgated.log" &
dpid=$!
trap 'kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; rm -rf "$E2E_TMP"' EXIT
for _ in $(seq 1 200); do grep -q 'event=listen' "$srv/bpgated.log" && break; sleep 0.05; done

sshcmd() { echo "ssh -p $port -i $keys/$1 -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"; }
on() { local p=$1; shift; timeout 60 $(sshcmd "$p") git@127.0.0.1 "$@"; }
as() { local p=$1; shift; GIT_SSH_COMMAND=$(sshcmd "$p") GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com \
  GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com timeout 120 git "$@"; }

on grace repo create acme/scenarios >/dev/null
repo="$srv/repos/acme/scenarios.git"
for p in $people; do echo "$p $p"; echo "$p@example.com $p"; done > "$srv/users"
git --git-dir="$repo" config bpgate.users "$srv/users"
url="ssh://git@127.0.0.1:$port/acme/scenarios.git"

# --- the admin governs the repository --------------------------------------------
as grace clone -q "$url" "$E2E_TMP/admin" 2>/dev/null
cd "$E2E_TMP/admin"
bpgate init --repository-id "$(git --git-dir="$repo" config bpgate.repositoryId)" >/dev/null
for p in alice carol dave erin; do echo "$p namespaces=\"git,bpgate-approval@v1,bpgate-uat@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")"; done > .bpgate/allowed_signers
python3 - <<'P'
import json
p = json.load(open(".bpgate/policy.json"))
p["roles"].update({"builders": ["alice"], "reviewers": ["carol", "dave"], "releasers": ["erin"], "admins": ["grace"], "emergency": ["grace"]})
p["rules"]["change-window"]["mode"] = "warn"   # any hour
p["rules"]["signed-push"]["environments"] = []  # signed pushes are tested elsewhere
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
mkdir -p scenarios/invoice-export health
echo "invoice export v1" > scenarios/invoice-export/notes.md
health() { printf '{"measured_at": "%s", "scenarios": {"invoice-export": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 700}}}\n' "$1" > health/stage.json; }
health "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
as grace add -A && as grace commit -qm "govern" --no-verify
as grace branch dev; as grace branch stage
as grace push -q origin main dev stage 2>"$E2E_TMP/boot.out" || cat "$E2E_TMP/boot.out"
git --git-dir="$repo" config --unset bpgate.bootstrap || true

as alice clone -q -b dev "$url" "$E2E_TMP/alice" 2>/dev/null
as dave clone -q -b dev "$url" "$E2E_TMP/dave" 2>/dev/null
as erin clone -q "$url" "$E2E_TMP/erin" 2>/dev/null
as carol clone -q "$url" "$E2E_TMP/carol" 2>/dev/null

# alice: commit what is staged and take it through dev and stage.
to_stage() {
  cd "$E2E_TMP/alice"
  as alice commit -qm "$1" --no-verify
  as alice push -q origin dev 2>"$E2E_TMP/dev.out" && as alice push -q origin dev:stage 2>"$E2E_TMP/stage.out" ||
    { cat "$E2E_TMP/dev.out" "$E2E_TMP/stage.out"; return 1; }
}
# carol approves stage's tree for prod; erin promotes stage to prod.
promote() {
  cd "$E2E_TMP/carol"; as carol fetch -q origin
  git config bpgate.repository acme/scenarios
  GIT_SSH_COMMAND=$(sshcmd carol) bpgate approve origin/stage --for prod -f "$keys/carol" --as carol \
    >/dev/null 2>"$E2E_TMP/approve.err" ||
    { cat "$E2E_TMP/approve.err"; return 1; }
  cd "$E2E_TMP/erin"; as erin fetch -q origin
  as erin push origin origin/stage:refs/heads/main
}

# --- attack 1: a UAT file anyone can write ---------------------------------------
cd "$E2E_TMP/alice"
echo "invoice export v2" > scenarios/invoice-export/notes.md
mkdir -p uat/invoice-export; echo "UAT 2025-06-10: pass" > uat/invoice-export/run.md
as alice add -A
expect_exit 0 "the builder's change reaches stage" -- to_stage "invoice export v2, UAT: pass"
expect_exit 1 "attack: a one-line UAT file is not UAT evidence (prod refused)" -- promote
expect_grep "$E2E_TMP/err" "no signed UAT sign-off for scenario invoice-export before prod" "the refusal names the missing sign-off"
# a folder named signoff.json is not "no sign-off" (it read as absent): it is said for what it is
cd "$E2E_TMP/alice"
mkdir -p uat/invoice-export/signoff.json; echo "not a sign-off" > uat/invoice-export/signoff.json/README
as alice add -A
expect_exit 0 "a folder named signoff.json reaches stage" -- to_stage "UAT: a folder"
expect_exit 1 "a folder named signoff.json is no sign-off (prod refused)" -- promote
expect_grep "$E2E_TMP/err" "the UAT sign-off of scenario invoice-export does not verify: signoff.json is not a file" "says it is not a file"
cd "$E2E_TMP/alice"; as alice rm -rq uat/invoice-export/signoff.json

# --- attack 2: the builder signs off her own change -------------------------------
cd "$E2E_TMP/alice"
expect_exit 0 "the builder can write and sign a sign-off with her key" -- \
  bpgate uat signoff invoice-export -f "$keys/alice" --as alice
as alice add -A
expect_exit 0 "and take it to stage" -- to_stage "UAT sign-off"
expect_exit 1 "attack: a sign-off by the builder is refused at prod" -- promote
expect_grep "$E2E_TMP/err" "is by alice, who holds none of the roles allowed to sign off (reviewers)" "says who may sign off"

# --- attack 3: a real reviewer's sign-off, of an earlier version -------------------
cd "$E2E_TMP/dave"; as dave fetch -q origin; as dave reset -q --hard; as dave checkout -q -B stage origin/stage
expect_exit 0 "a reviewer signs off the version on stage" -- bpgate uat signoff invoice-export -f "$keys/dave"
expect_grep "$E2E_TMP/out" "as dave: pass" "the signer is found from the key"
# a version whose tree cannot be read whole (a subtree missing from the object store) is
# reported as that, with what to run, not as "out of memory"
ghost=$( (git ls-tree HEAD; printf '040000 tree 1111111111111111111111111111111111111111\tghost\n') | git mktree --missing)
broken=$(git commit-tree -p HEAD -m "a tree with a missing subtree" "$ghost")
expect_exit 2 "a sign-off of a version whose tree cannot be read is refused" -- \
  bpgate uat signoff invoice-export -f "$keys/dave" --rev "$broken"
expect_grep "$E2E_TMP/err" "cannot read the tree of $broken" "and says the tree cannot be read"
expect_grep "$E2E_TMP/err" "(run git fsck)" "and what to run"
cp uat/invoice-export/signoff.json uat/invoice-export/signoff.json.sig "$E2E_TMP/"
cd "$E2E_TMP/alice"
as alice pull -q origin dev
cp "$E2E_TMP/signoff.json" "$E2E_TMP/signoff.json.sig" uat/invoice-export/
echo "invoice export v3: changed after UAT" > scenarios/invoice-export/notes.md
as alice add -A
expect_exit 0 "the builder changes the scenario after the sign-off and reaches stage" -- to_stage "v3 after UAT"
expect_exit 1 "attack: a sign-off of an earlier version is refused at prod" -- promote
expect_grep "$E2E_TMP/err" "is for another version: scenarios/invoice-export/notes.md differs from the tree pushed" "names the file that changed"

# --- attack 4: a stage health report from the future --------------------------------
cd "$E2E_TMP/dave"; as dave fetch -q origin; as dave reset -q --hard; as dave checkout -q -B stage origin/stage
bpgate uat signoff invoice-export -f "$keys/dave" >/dev/null
cp uat/invoice-export/signoff.json uat/invoice-export/signoff.json.sig "$E2E_TMP/"
cd "$E2E_TMP/alice"; as alice pull -q origin dev
cp "$E2E_TMP/signoff.json" "$E2E_TMP/signoff.json.sig" uat/invoice-export/
health 2099-01-01T00:00:00Z
as alice add -A
expect_exit 0 "a signed-off version with a health report dated 2099 reaches stage" -- to_stage "UAT by dave; health"
expect_exit 1 "attack: a stage health report from the future is refused at prod" -- promote
expect_grep "$E2E_TMP/err" "the stage health report is dated in the future (measured_at 2099-01-01T00:00:00Z" "says the report is from the future"

# --- the honest path ------------------------------------------------------------------
cd "$E2E_TMP/alice"
health "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
as alice add -A
expect_exit 0 "a fresh health report reaches stage" -- to_stage "health measured now"
expect_exit 0 "with the reviewer's sign-off of exactly this version, prod accepts the release" -- promote
finish
