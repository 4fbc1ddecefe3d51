# End-to-end: segregation of duties against insiders, over SSH to bpgated with
# bpgate-receive as its pre-receive and post-receive hook. Every push is a
# real `git push` through the stock ssh client; the pusher is the principal
# of the SSH key, nothing the client claims.
#
#   1. a reviewer commits under a builder's e-mail, then approves her own change;
#   2. a reviewer writes a change, a builder squashes it into one commit of his
#      own with the same tree, the reviewer approves it;
#   3. on a repository as `repo create` leaves it (no user map), the author
#      approves, and the releaser releases her own change.
#
# Each was accepted before the server recorded who pushed what first; each is
# refused now. Also: an honest release is accepted, a refused push records
# nothing, content no record names fails closed.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
daemon="$BPG_BUILD_ROOT/server/bpgated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || { echo "SKIP: needs ssh and ssh-keygen"; exit 77; }
[ -x "$daemon" ] || { echo "SKIP: bpgated not built"; exit 77; }

D="$E2E_TMP/d"; K="$E2E_TMP/keys"
mkdir -p "$D/repos" "$D/state" "$K"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$E2E_TMP"' EXIT

# --- people: SSH keys (who pushes) and signing keys (who approves) ---------------------
people="alice bob carol dave erin frank grace"
for p in $people; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$K/$p"; done
: > "$D/keys"; : > "$K/allowed_signers"; : > "$K/users"
for p in $people; do
  if [ "$p" = grace ]; then echo "grace admin $(cut -d' ' -f1,2 "$K/grace.pub")" >> "$D/keys"
  else echo "$p $(cut -d' ' -f1,2 "$K/$p.pub")" >> "$D/keys"; fi
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$K/$p.pub")" >> "$K/allowed_signers"
  echo "$p $p" >> "$K/users"; echo "$p@example.com $p" >> "$K/users"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/cfg.json" <<END
{ "listen": { "address": "127.0.0.1", "port": $port }, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$receive", "limits": { "idle_timeout": 60 } }
END
(cd "$D" && exec "$daemon" --config "$D/cfg.json" > "$D/log" 2>&1) & PIDS+=("$!")
for _ in $(seq 200); do grep -q 'event=listen' "$D/log" && break; sleep 0.05; done
grep -q 'event=listen' "$D/log" || { fail "bpgated did not start"; cat "$D/log"; finish; exit 1; }

SSHOPTS="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
URL="ssh://git@127.0.0.1:$port"
sshas() { local who=$1; shift; timeout 60 ssh $SSHOPTS -p "$port" -i "$K/$who" git@127.0.0.1 "$@"; }
# push <who> <want> <what> [git push args]: a real push over SSH with <who>'s key
push() {
  local who=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$who" timeout 120 git push "$@"
}
# approve <who> <rev>: a signed approval for prod, pushed with <who>'s SSH key
approve() {
  expect_exit 0 "$1 approves $2 for prod" -- env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$1" \
    timeout 120 bpgate approve "$2" --for prod -f "$K/$1"
}
# commit <name> <email> <file> <text> <message>: a commit claiming that identity
commit() {
  echo "$4" >> "$3"; git add -A
  GIT_AUTHOR_NAME=$1 GIT_AUTHOR_EMAIL=$2 GIT_COMMITTER_NAME=$1 GIT_COMMITTER_EMAIL=$2 git commit -qm "$5"
}
blob() { git rev-parse "$1:$2"; }

# new_repo <name> <map|nomap>: `repo create`, the governed content pushed by the
# admin while bootstrap is on, then bootstrap off (the server admin's steps).
# Leaves the working copy in $E2E_TMP/<name>, on dev.
new_repo() {
  local name=$1 srv="$D/repos/team/$1.git"
  expect_exit 0 "repo create team/$name" -- sshas grace repo create "team/$name"
  if [ "$2" = map ]; then git --git-dir="$srv" config bpgate.users "$K/users"; fi
  git init -q "$E2E_TMP/$name"; cd "$E2E_TMP/$name"
  git config bpgate.repository "team/$name"
  git config bpgate.repositoryId "$(git --git-dir="$srv" config bpgate.repositoryId)"  # approvals sign it
  mkdir -p .bpgate scenarios/weekly-digest
  # Change windows, stage health and signed pushes are not under test here
  # (receive.sh covers them): off, so the test does not depend on the clock.
  python3 - "$pack/policy.json" > .bpgate/policy.json <<'PY'
import json, os, sys
p = json.load(open(sys.argv[1]))
for r in ("change-window", "stage-health", "signed-push"):
    p["rules"][r] = {"mode": "off"}
if os.environ.get("SOD_ENVS"):
    p["rules"]["segregation-of-duties"]["environments"] = json.loads(os.environ["SOD_ENVS"])
if os.environ.get("SOD_CLAIMS"):
    p["rules"]["segregation-of-duties"]["unknown_provenance"] = "claims"
print(json.dumps(p, indent=2))
PY
  cp -r "$pack/contracts" .bpgate/contracts
  cp "$K/allowed_signers" .bpgate/allowed_signers
  echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
  git add -A; git commit -qm "Govern this repository"
  git remote add origin "$URL/team/$name.git"
  git branch stage; git branch dev
  push grace 0 "team/$name: the admin's bootstrap push" origin main stage dev
  git --git-dir="$srv" config --unset bpgate.bootstrap
  git checkout -q dev
}
record() { cat "$D/repos/team/$1.git/bpgate/provenance" 2>/dev/null || true; }

# ===================== 1. a reviewer commits under someone else's e-mail ==================
new_repo a1 map
# the honest path first: alice writes, dave approves, erin releases
commit Alice alice@example.com scenarios/weekly-digest/README.md "Sent on Mondays" "digest: mondays"
push alice 0 "a1: alice pushes her change to dev" origin dev
record a1 | grep -qx "$(git rev-parse HEAD) c alice" && ok "a1: the record names alice for her commit" ||
  { fail "a1: no record of alice's commit"; record a1 | head -5; }
record a1 | grep -qx "$(blob HEAD scenarios/weekly-digest/README.md) b alice" && ok "a1: and for the content she pushed" ||
  fail "a1: no record of alice's blob"
push bob 0 "a1: bob promotes dev to stage" origin dev:stage
git branch -f main dev
approve dave main
# a record that does not name the content: who wrote it is unknown, the gate fails closed
mv "$D/repos/team/a1.git/bpgate/provenance" "$E2E_TMP/prov.saved" || fail "a1: no provenance record to move aside"
push erin 1 "a1: content no provenance record names is refused" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: who wrote 1 changed file(s) promoted to prod is unknown (first: scenarios/weekly-digest/README.md)" "a1: unknown authorship named"
expect_grep "$E2E_TMP/err" 'set segregation-of-duties.unknown_provenance to "claims"' "a1: with the way out"
if [ -f "$E2E_TMP/prov.saved" ]; then mv "$E2E_TMP/prov.saved" "$D/repos/team/a1.git/bpgate/provenance"; fi
# a damaged record: refused too (it is the server's own file; only an intruder or a disk error damages it)
if [ -f "$D/repos/team/a1.git/bpgate/provenance" ]; then
  cp "$D/repos/team/a1.git/bpgate/provenance" "$E2E_TMP/prov.saved"
  sed -i '1i not a record line' "$D/repos/team/a1.git/bpgate/provenance"
fi
push erin 1 "a1: a damaged provenance record is refused" origin main
expect_grep "$E2E_TMP/err" "cannot tell who wrote the change promoted to prod: the provenance record is damaged at line 1" "a1: the damage is named"
if [ -f "$E2E_TMP/prov.saved" ]; then mv "$E2E_TMP/prov.saved" "$D/repos/team/a1.git/bpgate/provenance"; fi
push erin 0 "a1: an honest change (alice wrote, dave approved, erin releases) is accepted" origin main
# a push the gate refuses records nothing
echo '{"flow": [' > scenarios/weekly-digest/broken.blueprint.json
commit Alice alice@example.com scenarios/weekly-digest/README.md "broken" "digest: broken"
bad=$(blob HEAD scenarios/weekly-digest/broken.blueprint.json); badc=$(git rev-parse HEAD)
push alice 1 "a1: a broken blueprint is refused" origin dev
record a1 | grep -q "^$bad \|^$badc " && fail "a1: a refused push was recorded" || ok "a1: a refused push records nothing"
git reset -q --hard HEAD~1
# the attack: carol writes under alice's e-mail and approves it herself
commit Alice alice@example.com scenarios/weekly-digest/README.md "carol's idea" "digest: carol's idea"
c1=$(blob HEAD scenarios/weekly-digest/README.md)
push carol 0 "a1: carol pushes a commit claiming alice as author and committer" origin dev
push bob 0 "a1: stage" origin dev:stage
git branch -f main dev
approve carol main
push erin 1 "a1: the reviewer who wrote the change under alice's e-mail cannot approve it" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: approver carol pushed the content of scenarios/weekly-digest/README.md (blob ${c1:0:12}) to the server first" "a1: named by who pushed the content"
git -C "$D/repos/team/a1.git" rev-parse main > "$E2E_TMP/prod"
[ "$(cat "$E2E_TMP/prod")" != "$(git rev-parse main)" ] && ok "a1: prod did not move" || fail "a1: prod moved"

# ===================== 2. the approver's change squashed by someone else ====================
new_repo a2 map
base=$(git rev-parse dev)
commit Carol carol@example.com scenarios/weekly-digest/README.md "carol, part 1" "digest: carol 1"
commit Carol carol@example.com scenarios/weekly-digest/README.md "carol, part 2" "digest: carol 2"
c2=$(blob HEAD scenarios/weekly-digest/README.md)
push carol 0 "a2: carol pushes her change to dev" origin dev
git reset -q --soft "$base"
GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com \
  git commit -qm "digest: squashed"
[ "$(blob HEAD scenarios/weekly-digest/README.md)" = "$c2" ] && ok "a2: the squash has carol's content" || fail "a2: squash differs"
push alice 0 "a2: alice force-pushes the squash (one commit of hers, same tree) to dev" --force origin dev
record a2 | grep -qx "$(git rev-parse HEAD) c alice" && ok "a2: the squash commit is recorded as alice's" || fail "a2: squash commit not recorded"
record a2 | grep -qx "$c2 b carol" && ok "a2: the content stays carol's" || fail "a2: content not carol's"
push bob 0 "a2: stage" origin dev:stage
git branch -f main dev
approve carol main
push erin 1 "a2: the approver's own content, squashed under another author, is refused" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: approver carol pushed the content of scenarios/weekly-digest/README.md (blob ${c2:0:12}) to the server first" "a2: named by who pushed the content"

# ===================== 3. no user map (as `repo create` leaves it) ===========================
new_repo a3 nomap
commit Carol carol@example.com scenarios/weekly-digest/README.md "carol without a map" "digest: carol"
c3=$(blob HEAD scenarios/weekly-digest/README.md)
push carol 0 "a3: carol pushes her change to dev" origin dev
push bob 0 "a3: stage" origin dev:stage
git branch -f main dev
approve carol main
push erin 1 "a3: without a user map the author still cannot approve her change" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: approver carol pushed the content of scenarios/weekly-digest/README.md (blob ${c3:0:12}) to the server first" "a3: approver named"
commit Erin erin@example.com scenarios/weekly-digest/README.md "erin without a map" "digest: erin"
e3=$(blob HEAD scenarios/weekly-digest/README.md)
push erin 0 "a3: erin pushes her change to dev" origin dev
push bob 0 "a3: stage" origin dev:stage
git branch -f main dev
approve dave main
push erin 1 "a3: without a user map the releaser still cannot release her own change" origin main
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: the releaser erin pushed the content of scenarios/weekly-digest/README.md (blob ${e3:0:12}) to the server first" "a3: releaser named"

# ===================== 4. content of the push being judged is the pusher's ===================
# (not yet in the record, which post-receive writes only after acceptance, but
# in git's quarantine): with segregation of duties on dev too, the pusher of
# new content is its writer, not "unknown"
SOD_ENVS='["dev", "prod"]' new_repo a4 map
commit Bob bob@example.com scenarios/weekly-digest/README.md "alice pushes, bob claims" "digest: claimed"
c4=$(blob HEAD scenarios/weekly-digest/README.md)
push alice 1 "a4: content new in the push judged is the pusher's" origin dev
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: the releaser alice pushed the content of scenarios/weekly-digest/README.md (blob ${c4:0:12}) to the server first, part of the change promoted to dev" "a4: named as alice's"
record a4 | grep -q "^$c4 " && fail "a4: the refused content was recorded" || ok "a4: the refused content is not recorded"

# ===================== 5. git's quarantine cannot be opened ==================================
# With "unknown_provenance": "claims" (the migration mode), content of unknown authorship is
# judged by the identities the commits claim. The push's own content must not become "unknown"
# because the quarantine that holds it could not be opened: alice, claiming bob wrote it, would
# pass as the releaser of bob's change (accepted before). The hook is wrapped to point git's
# GIT_QUARANTINE_PATH at a directory that does not exist (the objects stay readable: git names
# them in GIT_OBJECT_DIRECTORY).
SOD_ENVS='["dev", "prod"]' SOD_CLAIMS=1 new_repo a5 map
commit Bob bob@example.com scenarios/weekly-digest/README.md "alice pushes, bob claims, no quarantine" "digest: claimed"
hook="$D/state/hooks/pre-receive"
mv "$hook" "$E2E_TMP/pre-receive.saved"
printf '#!/bin/sh\nGIT_QUARANTINE_PATH="$GIT_QUARANTINE_PATH.gone" exec "%s" "$@"\n' "$receive" > "$hook"; chmod +x "$hook"
push alice 1 "a5: with git's quarantine unopenable, the push is refused, not judged by its claims" origin dev
expect_grep "$E2E_TMP/err" "[segregation-of-duties] segregation of duties: cannot tell who wrote the change promoted to dev: cannot open git's quarantine of this push" "a5: the quarantine named"
rm -f "$hook"; mv "$E2E_TMP/pre-receive.saved" "$hook"
push alice 1 "a5: with the quarantine readable, alice is the writer (claims do not lift it)" origin dev
expect_grep "$E2E_TMP/err" "segregation of duties: the releaser alice pushed the content of scenarios/weekly-digest/README.md" "a5: named as alice's"

finish
