#!/usr/bin/env bash
# End-to-end: an approval cannot be replayed between two repositories of the
# same name (issue "the controls must hold against insiders", item 6). Over
# SSH to bpgated with bpgate-receive as its hook and the regulated pack.
#
# teamA/scenarios and teamB/scenarios are created with `repo create`; their
# bpgate.repository is unset, so the gate names both "scenarios" (what a plain
# git server does: the directory name without .git). Both are governed by the
# same policy. A reviewer approves tree T for prod in teamA; the attacker
# fetches that approval ref and pushes it to teamB, where T is on stage, and
# the releaser promotes T to prod there. Before repository ids, the approval
# named only "scenarios": the ref push was accepted and counted for teamB's
# prod. Now each repository has its own id (bpgate.repositoryId, set by
# `repo create`, and "repository_id" in its policy, from `bpgate init`), the
# approval signs it, and the replay is refused.
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
push() {
  local who=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$who" timeout 120 git push "$@"
}
as() { local who=$1; shift; env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/$who" timeout 120 git "$@"; }

# govern <team>: `repo create <team>/scenarios` (its id printed), then the name
# binding dropped (the attack's precondition: both are "scenarios" to the gate).
govern() {
  local team=$1 srv="$D/repos/$1/scenarios.git"
  expect_exit 0 "repo create $team/scenarios" -- sshas grace repo create "$team/scenarios"
  id=$(sed -n 's/^created .* (repository id \([0-9a-f]*\): bpgate init --repository-id \1)$/\1/p' "$E2E_TMP/out")
  [ "${#id}" = 32 ] && ok "$team: repo create prints the repository id" || fail "$team: no id in: $(cat "$E2E_TMP/out")"
  [ "$(git --git-dir="$srv" config bpgate.repositoryId)" = "$id" ] && ok "$team: and sets bpgate.repositoryId" ||
    fail "$team: bpgate.repositoryId is not the id printed"
  git --git-dir="$srv" config --unset bpgate.repository
  git --git-dir="$srv" config bpgate.users "$K/users"
}
govern teamA; idA=$id
govern teamB; idB=$id
[ "$idA" != "$idB" ] && ok "each repository gets its own id" || fail "teamA and teamB have the same id"

# bpgate init writes an id: the one given, else a new random one
git init -q "$E2E_TMP/scratch"; cd "$E2E_TMP/scratch"
expect_exit 0 "bpgate init --repository-id (what repo create printed)" -- bpgate init --repository-id "$idA"
expect_grep "$E2E_TMP/out" "(repository id $idA)" "init says which id it wrote"
pid() { python3 -c 'import json; print(json.load(open(".bpgate/policy.json")).get("repository_id"))'; }
[ "$(pid)" = "$idA" ] && ok "policy.json names the id given" || fail "policy.json names '$(pid)'"
expect_exit 2 "bpgate init refuses an id that is not 32 lower-case hex" -- bpgate init --force --repository-id ABC
expect_exit 0 "bpgate init without an id" -- bpgate init --force
rid=$(pid)
[ "${#rid}" = 32 ] && [ "$rid" != "$idA" ] && [ "$rid" != "$idB" ] && ok "writes a new random id" || fail "init wrote '$rid'"

# --- the admin governs both with the same policy and the same first commit --------------------
git init -q -b main "$E2E_TMP/admin"; cd "$E2E_TMP/admin"
bpgate init >/dev/null
python3 - .bpgate/policy.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for r in ("change-window", "stage-health", "signed-push"):
    p["rules"][r] = {"mode": "off"}
json.dump(p, open(sys.argv[1], "w"), indent=2)
PY
cp "$K/allowed_signers" .bpgate/allowed_signers
rm -f .git/hooks/pre-commit .git/hooks/commit-msg .git/hooks/pre-push  # client hooks are not under test
mkdir -p scenarios/weekly-digest; echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A; git -c user.name=grace -c user.email=grace@example.com commit -qm "Govern this repository"
push grace 1 "a bootstrap whose policy names another repository id is refused" "$URL/teamA/scenarios.git" main
expect_grep "$E2E_TMP/err" "this policy is for repository $(pid), this repository is $idA" "the refusal names both ids"
# the same policy for both, without an id of its own (as before ids): the servers' ids bind
python3 - <<'PY'
import json
p = json.load(open(".bpgate/policy.json")); del p["repository_id"]
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
PY
git add -A; git -c user.name=grace -c user.email=grace@example.com commit -q --amend -m "Govern this repository"
git branch stage; git branch dev
for team in teamA teamB; do
  push grace 0 "$team: the admin's bootstrap push" "$URL/$team/scenarios.git" main stage dev
  git --git-dir="$D/repos/$team/scenarios.git" config --unset bpgate.bootstrap
done

# --- alice's change, tree T: the same commit reaches stage in both -----------------------------
git checkout -q dev
echo "Sent on Mondays" >> scenarios/weekly-digest/README.md; git add -A
git -c user.name=Alice -c user.email=alice@example.com commit -qm "digest: mondays"
T=$(git rev-parse 'HEAD^{tree}'); C=$(git rev-parse HEAD)
for team in teamA teamB; do
  push alice 0 "$team: alice pushes her change to dev" "$URL/$team/scenarios.git" "$C:refs/heads/dev"
  push bob 0 "$team: bob promotes dev to stage" "$URL/$team/scenarios.git" "$C:refs/heads/stage"
done

# --- carol, a reviewer of teamA, approves T for prod in teamA ---------------------------------
as carol clone -q "$URL/teamA/scenarios.git" "$E2E_TMP/carol" 2>/dev/null
cd "$E2E_TMP/carol"
git config bpgate.repositoryId "$idA"   # what `repo create` printed; the approval signs it
# the name the gate uses now; set, so approve does not ask libgit2's git_remote_lookup, which
# leaks pcre2 match data under LeakSanitizer (libgit2 1.5; main's bpgate approve does it too)
git config bpgate.repository scenarios
expect_exit 0 "teamA: carol approves stage's tree for prod" -- env GIT_SSH_COMMAND="ssh $SSHOPTS -i $K/carol" \
  timeout 120 bpgate approve origin/stage --for prod -f "$K/carol"
aref=$(git --git-dir="$D/repos/teamA/scenarios.git" for-each-ref --format='%(refname)' "refs/bpgate/approvals/prod/$T/")
[ -n "$aref" ] && ok "teamA: the approval is stored" || fail "teamA: no approval ref"
git --git-dir="$D/repos/teamA/scenarios.git" cat-file -p "$aref:approval.json" > "$E2E_TMP/stmt"
expect_grep "$E2E_TMP/stmt" "\"repository\":\"scenarios\",\"repository_id\":\"$idA\"," "the statement names teamA's id"

# --- the attack: replay teamA's approval into teamB ------------------------------------------
cd "$E2E_TMP/admin"
as alice fetch -q "$URL/teamA/scenarios.git" "+refs/bpgate/approvals/*:refs/bpgate/approvals/*"
push alice 1 "attack: teamA's approval pushed to teamB is refused" "$URL/teamB/scenarios.git" "$aref:$aref"
expect_grep "$E2E_TMP/err" "[server-refs] the approval $aref is for another repository (repository id $idA; this repository is $idB)" \
  "the refusal names both ids"
expect_grep "$E2E_TMP/err" "set bpgate.repositoryId in your clone or repository_id in .bpgate/policy.json to $idB" "and the fix"
[ -z "$(git --git-dir="$D/repos/teamB/scenarios.git" for-each-ref refs/bpgate/approvals/)" ] &&
  ok "teamB holds no approval" || fail "the replayed approval is in teamB"

# the approval copied in by other means (say, before the upgrade) does not count for teamB's prod
git --git-dir="$D/repos/teamB/scenarios.git" fetch -q "$D/repos/teamA/scenarios.git" "$aref:$aref"
push erin 1 "attack: teamB's prod push of T does not count teamA's approval" "$URL/teamB/scenarios.git" "$C:refs/heads/main"
expect_grep "$E2E_TMP/err" "for another repository" "the approval is named as for another repository"

# bpgated's own approve: the monitor signs the repository's id
expect_exit 0 "dave approves T for prod in teamB over ssh (bpgated approve)" -- sshas dave approve teamB/scenarios "$C" --for prod
bref=$(git --git-dir="$D/repos/teamB/scenarios.git" for-each-ref --format='%(refname)' "refs/bpgate/approvals/prod/$T/dave/")
git --git-dir="$D/repos/teamB/scenarios.git" cat-file -p "$bref:approval.json" > "$E2E_TMP/stmt" 2>&1
expect_grep "$E2E_TMP/stmt" "\"repository\":\"teamB/scenarios\",\"repository_id\":\"$idB\"," "bpgated's statement names teamB's id"

# a repository id that is not 32 lower-case hex is a configuration error: every push is refused
git --git-dir="$D/repos/teamB/scenarios.git" config bpgate.repositoryId "${idB}0"   # 33 digits
push alice 1 "teamB: with a malformed bpgate.repositoryId every push is refused" "$URL/teamB/scenarios.git" "$C:refs/heads/other"
expect_grep "$E2E_TMP/err" "bpgate.repositoryId must be 32 lower-case hex digits" "the refusal names the setting"
git --git-dir="$D/repos/teamB/scenarios.git" config bpgate.repositoryId "$idB"

# --- the honest path: in teamA the approval counts ------------------------------------------
push erin 0 "teamA: erin promotes T to prod with carol's approval" "$URL/teamA/scenarios.git" "$C:refs/heads/main"
finish
