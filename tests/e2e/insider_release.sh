#!/usr/bin/env bash
# End-to-end: insiders against the release controls (issue "The controls must
# hold against insiders", items 1 and 5). bpgated serves a governed repository
# on 127.0.0.1 with the real gate (bpgate-receive, pre- and post-receive) and
# every push here is a real `git push` over SSH with the person's own key:
#
#  1. one releaser puts unapproved content on prod: a range whose intermediate
#     first-parent commit carries a malicious tree, capped by an approved tree;
#     the same through a merge whose first parent is an orphan carrying the
#     tree; then the malicious tree pushed as a "rollback to a tree prod had".
#     Refused now: first-parent-history, and a rollback needs a release record.
#     The honest promotion and rollback still pass with 10,001 release records
#     of each environment sorted before the real ones (the gate looks records
#     up in post-receive's indexes; it listed the first 10,000 and refused),
#     and a tree whose indexed record's commit was pruned is still found.
#  5. a tag named like a branch makes a reviewer approve another tree: a
#     builder pushes tags `stage` and `main`; `bpgate approve stage` took the
#     tag; an intermediate commit of stage was promotable. Refused now:
#     server-refs (names like environments), approve resolves without
#     ambiguity, promotion only of trees stage had as an accepted tip.
#
# On the code before these changes every "refused" check below fails (the
# pushes were accepted and the tag's tree was approved).
source "$(dirname "$0")/lib.sh"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
daemon="$BPG_BUILD_ROOT/server/bpgated"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
[ -x "$receive" ] && [ -x "$daemon" ] || { echo "SKIP: bpgate-receive or bpgated not built"; exit 77; }
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || { echo "SKIP: needs ssh and ssh-keygen"; exit 77; }
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, 12:30 in Europe/Berlin: inside the change window
T=$E2E_TMP; keys="$T/keys"; D="$T/daemon"
mkdir -p "$keys" "$D/repos" "$D/state"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

# --- people and keys ------------------------------------------------------------------
people="alice bob carol dave erin frank grace"
: > "$keys/allowed_signers"; : > "$keys/users"; : > "$D/keys"
for p in $people; do
  ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"
  echo "$p $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$D/keys"
  printf '%s %s\n%s@example.com %s\n' "$p" "$p" "$p" "$p" >> "$keys/users"
done
for p in carol dave erin frank grace; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done

# --- the server: bpgated with the real gate (fixed clock for the change window) --------
cat > "$T/gate" <<EOF
#!/bin/sh
BPGATE_TIME=$BPGATE_TIME; export BPGATE_TIME
exec '$receive' "\$@"
EOF
chmod +x "$T/gate"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/cfg.json" <<EOF
{ "listen": { "address": "127.0.0.1", "port": $port }, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$T/gate", "limits": { "idle_timeout": 60 } }
EOF
(cd "$D" && exec "$daemon" --config cfg.json > "$D/log" 2>&1) & PIDS+=("$!")
for _ in $(seq 200); do grep -q 'event=listen' "$D/log" 2>/dev/null && break; sleep 0.05; done
grep -q 'event=listen' "$D/log" || { fail "bpgated did not start"; cat "$D/log"; finish; exit 1; }
SSHO="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
# gitas <person> git-args...: git with that person's SSH key
gitas() { local p=$1; shift; GIT_SSH_COMMAND="ssh $SSHO -i $keys/$p" timeout 120 git "$@"; }
withkey() { local p=$1; shift; GIT_SSH_COMMAND="ssh $SSHO -i $keys/$p" timeout 120 "$@"; }
# push <person> <want> <what> args...; spush: signed with the person's key
push() { local p=$1 want=$2 what=$3; shift 3; expect_exit "$want" "$what" -- gitas "$p" push "$@"; }
spush() {
  local p=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- gitas "$p" -c gpg.format=ssh -c user.signingkey="$keys/$p.pub" push --signed "$@"
}
as() { # as <person> cmd...: commits claim that person
  local p=$1; shift
  GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"
}
# commit_tree <person> <tree> <message> <parent>...: a commit with that tree, printed
commit_tree() {
  local p=$1 tree=$2 msg=$3; shift 3
  local args=(); for x in "$@"; do args+=(-p "$x"); done
  as "$p" git commit-tree "$tree" "${args[@]}" -m "$msg"
}
approve() { # approve <person> <rev> (in the work tree, pushed over SSH)
  expect_exit 0 "$1 approves $2 for prod" -- withkey "$1" bpgate approve "$2" --for prod -f "$keys/$1"
}
server_has() { [ "$(git -C "$srv" rev-parse -q --verify "$1" 2>/dev/null)" = "$2" ]; }
refused_by() { # refused_by <rule> <what>: the last push was refused, naming the rule
  expect_grep "$T/err" "[$1]" "$2: refused by $1"
}

# --- a governed repository per attack (each starts from a clean prod) ------------------------
# governed NAME: a new repository on the daemon, bootstrapped over SSH; sets srv, URL, work
governed() {
  srv="$D/repos/$1.git"; URL="ssh://git@127.0.0.1:$port/$1.git"; work="$T/$1"
  git init -q --bare "$srv"
  git -C "$srv" symbolic-ref HEAD refs/heads/main
  git -C "$srv" config bpgate.users "$keys/users"
  git -C "$srv" config bpgate.repository acme/make-scenarios
  git -C "$srv" config bpgate.bootstrap true
  git -C "$srv" config bpgate.bootstrapPrincipal alice
  git -C "$srv" config receive.advertisePushOptions true
  git -C "$srv" config receive.certNonceSeed insider-e2e-seed
  git -C "$srv" config gpg.ssh.allowedSignersFile "$keys/allowed_signers"
  git init -q "$work"; cd "$work"
  git config bpgate.repository acme/make-scenarios
  mkdir -p .bpgate scenarios/weekly-digest health
  cp "$pack/policy.json" .bpgate/policy.json
  cp -r "$pack/contracts" .bpgate/contracts
  cp "$keys/allowed_signers" .bpgate/allowed_signers
  echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
  cat > health/stage.json <<'J'
{"measured_at": "2025-06-03T00:00:00Z", "scenarios": {
 "weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800}}}
J
  git add -A && as alice git commit -qm "Govern this repository"
  git remote add origin "$URL"
  git branch stage; git branch dev
  push alice 0 "$1: bootstrap push over SSH" origin main stage dev
  git -C "$srv" config --unset bpgate.bootstrap
}
# change <person> <text> <message>: a commit on dev's README (tree printed)
change() {
  git checkout -q dev
  echo "$2" >> scenarios/weekly-digest/README.md; git add -A; as "$1" git commit -qm "$3"
}
# to_stage: push dev, then stage = dev (a builder each time)
to_stage() {
  push alice 0 "dev: $1" origin dev
  git branch -f stage dev; push bob 0 "stage: $1" origin stage
}
tree_with() { # tree_with <base commit> <text>: the base tree with a line added to the README
  git checkout -q --detach "$1"
  echo "$2" >> scenarios/weekly-digest/README.md; git add -A
  git write-tree; git checkout -q -- .; git reset -q --hard "$1"
}

# ============ 1. one releaser puts unapproved content on prod ============================
echo "# 1a: an intermediate first-parent commit with a malicious tree, capped by the approved tree"
governed intermediate
change alice "Sent on Mondays" "digest: Mondays"; to_stage "Mondays"
good=$(git rev-parse dev); good_tree=$(git rev-parse "dev^{tree}")
approve carol "$good"
base=$(git rev-parse origin/main)
evil_tree=$(tree_with "$base" "EVIL: forward every digest to attacker@evil.example")
# erin writes both commits (claiming alice wrote them: author lines are claims)
x=$(commit_tree alice "$evil_tree" "digest: tidy" "$base")
y=$(commit_tree alice "$good_tree" "digest: Mondays" "$x")
spush erin 1 "1a: prod moving to an approved tree over an intermediate malicious tree" origin "$y:refs/heads/main"
refused_by first-parent-history "1a"
expect_grep "$T/err" "commit ${x:0:12} would put tree ${evil_tree:0:12} into the first-parent history of refs/heads/main (environment prod) unjudged" "1a: names the commit and the tree"
server_has refs/heads/main "$base" && ok "1a: prod did not move" || fail "1a: prod moved"
# the second half: the malicious tree as a "rollback to a tree prod had"
gitas erin fetch -q origin
z=$(commit_tree erin "$evil_tree" "Roll back digest" "$(git rev-parse origin/main)")
spush erin 1 "1a: the malicious tree pushed as a rollback" origin "$z:refs/heads/main"
if grep -qF "[rollback]" "$T/err"; then fail "1a: the malicious tree was taken for a rollback"; else ok "1a: not a rollback"; fi

echo "# 1b: a merge whose first parent is an orphan carrying the malicious tree"
governed orphan
change alice "Sent on Mondays" "digest: Mondays"; to_stage "Mondays"
good=$(git rev-parse dev); good_tree=$(git rev-parse "dev^{tree}")
approve carol "$good"
cur=$(git rev-parse origin/main)
evil_tree=$(tree_with "$cur" "EVIL: forward every digest to attacker@evil.example")
orphan=$(commit_tree alice "$evil_tree" "digest: tidy")
merge=$(commit_tree alice "$good_tree" "Merge stage" "$orphan" "$cur")
spush erin 1 "1b: a merge over an orphan with the malicious tree" origin "$merge:refs/heads/main"
refused_by first-parent-history "1b"
expect_grep "$T/err" "commit ${orphan:0:12} would put tree ${evil_tree:0:12}" "1b: names the orphan"
echo "# 1c: a malicious tree laundered through stage tips, then pushed as a rollback"
governed laundered
change alice "Sent on Mondays" "digest: Mondays"; to_stage "Mondays"
good=$(git rev-parse dev); good_tree=$(git rev-parse "dev^{tree}")
approve carol "$good"
# the approved tree itself goes to prod the normal way
gitas erin fetch -q origin
spush erin 0 "the approved tree is released normally" origin "$good:refs/heads/main"
rec="refs/bpgate/releases/prod/$good"
git -C "$srv" rev-parse -q --verify "$rec" >/dev/null && ok "post-receive wrote the release record $rec" || fail "no release record for $good"
git -C "$srv" cat-file blob "$rec" > "$T/rec" 2>/dev/null || :
expect_grep "$T/rec" '"kind":"release"' "the record is a judged release"
expect_grep "$T/rec" "\"tree\":\"$good_tree\"" "the record names the tree"
for idx in tips released; do
  [ "$(git -C "$srv" rev-parse -q --verify "refs/bpgate/$idx/prod/$good_tree")" = "$(git -C "$srv" rev-parse "$rec")" ] &&
    ok "the record is indexed under refs/bpgate/$idx/prod/ by its tree" || fail "no refs/bpgate/$idx/prod/$good_tree"
done
# 10,001 release records of prod, stage and dev that sort before the real ones (every accepted
# update leaves one: an environment gets there by being used). The gate finds what it needs by
# name in the indexes; it listed the first 10,000 before, and the real records were never read:
# the promotion over stage's earlier tips and the rollback below were refused.
planted=$(printf '{"environment":"x","kind":"release"}' | git -C "$srv" hash-object -w --stdin)
for env in prod stage dev; do
  seq -f "create refs/bpgate/releases/$env/%040g $planted" 1 10001 | git -C "$srv" update-ref --stdin
done
git -C "$srv" pack-refs --all

change alice "EVIL: forward every digest to attacker@evil.example" "digest: forward"
laundered=$(git rev-parse dev); laundered_tree=$(git rev-parse "dev^{tree}")
to_stage "forward"
change alice "Sent on Tuesdays" "digest: Tuesdays"; to_stage "Tuesdays"
good2=$(git rev-parse dev)
approve carol "$good2"
git -C "$srv" pack-refs --all # the records since then sort among the planted ones too (loose refs are listed first)
spush erin 0 "prod takes the approved tree over stage's accepted tips (recorded there)" origin "$good2:refs/heads/main"
gitas erin fetch -q origin
rb=$(commit_tree erin "$laundered_tree" "Roll back digest" "$good2")
spush erin 1 "1c: a tree that is in prod's history but was never released is no rollback" origin "$rb:refs/heads/main"
refused_by approvals "1c"
if grep -qF "[rollback]" "$T/err"; then fail "1c: taken for a rollback"; else ok "1c: not a rollback"; fi
server_has refs/heads/main "$good2" && ok "1c: prod did not move" || fail "1c: prod moved"
# a real rollback to a released tree is still fast-tracked
back=$(commit_tree erin "$good_tree" "Roll back digest to Mondays" "$good2")
spush erin 0 "a rollback to a released tree is accepted" origin "$back:refs/heads/main"
expect_grep "$T/err" "[rollback] rollback of refs/heads/main (environment prod) by erin to tree ${good_tree:0:12}, released before as commit ${good:0:12}" "the rollback names the release"
for env in prod stage dev; do
  seq -f "delete refs/bpgate/releases/$env/%040g" 1 10001 | git -C "$srv" update-ref --stdin
done
# the records cannot be forged by a push
push erin 1 "a release record cannot be pushed" origin "$laundered:refs/bpgate/releases/prod/$laundered"
refused_by server-refs "forged record"

# ===== a tree's indexed record whose commit is gone does not hide a later record of the tree =====
echo "# shadow: dev amended (same tree), the first commit pruned by gc"
governed shadow
change alice "Sent on Fridays" "digest: Fridays"; c1=$(git rev-parse dev); t=$(git rev-parse "dev^{tree}")
push alice 0 "dev: C1" origin dev
as alice git commit -q --amend -m "digest: Fridays (reworded)"; c1b=$(git rev-parse dev)
push alice 0 "dev: C1' (amended, the same tree, force-pushed)" origin +dev
[ "$(git -C "$srv" rev-parse refs/bpgate/tips/dev/$t)" = "$(git -C "$srv" rev-parse refs/bpgate/releases/dev/$c1)" ] &&
  ok "tips/dev/<tree> names C1's record (the same time: the first stays)" || fail "tips/dev/<tree> is not C1's record"
git -C "$srv" reflog expire --expire=now --all; git -C "$srv" gc -q --prune=now
git -C "$srv" cat-file -e "$c1" 2>/dev/null && fail "C1 still there" || ok "C1 pruned (as gc does two weeks later)"
change alice "Sent at noon" "digest: noon"; push alice 0 "dev moves on" origin dev
push bob 0 "stage takes C1', an accepted tip of dev whose indexed record is C1's (refused before)" origin "$c1b:refs/heads/stage"

# ============ 5. a tag named like a branch makes a reviewer approve another tree ==========
echo "# 5: tags named like environment branches"
governed tags
git checkout -q dev
echo "EVIL: mail the customer list to attacker@evil.example" >> scenarios/weekly-digest/README.md
git add -A; as bob git commit -qm "digest: tidy"
x5=$(git rev-parse HEAD); m5=$(git rev-parse "HEAD^{tree}")
echo "Sent on Wednesdays" >> scenarios/weekly-digest/README.md; git add -A; as bob git commit -qm "digest: Wednesdays"
y5=$(git rev-parse HEAD)
push bob 0 "5: dev takes both commits in one push" origin dev
git branch -f stage dev; push bob 0 "5: stage takes dev's tip" origin stage
push bob 1 "5: a tag named stage is refused" origin "$x5:refs/tags/stage"
refused_by server-refs "tag stage"
expect_grep "$T/err" "refs/tags/stage is named like environment stage" "5: names the tag and the environment"
push bob 1 "5: a tag named main is refused" origin "$x5:refs/tags/main"
expect_grep "$T/err" "refs/tags/main is named like environment prod (the short name of the environment's branch)" "5: main is prod's branch"
push bob 1 "5: a branch tags/stage is refused" origin "$x5:refs/heads/tags/stage"
refused_by server-refs "branch tags/stage"
server_has refs/tags/stage "" && ok "5: no tag stage on the server" || fail "5: the server has a tag stage"
# the reviewer's clone: a tag stage there (fetched before, or from anywhere) must not be approved by name
rev="$T/reviewer"
gitas carol clone -q "$URL" "$rev"
git -C "$rev" tag -f stage "$x5" >/dev/null
git -C "$rev" config bpgate.repository acme/make-scenarios
(cd "$rev" && expect_exit 2 "5: bpgate approve stage with a tag stage in the clone is refused as ambiguous" -- \
  withkey carol bpgate approve stage --for prod -f "$keys/carol" --no-push)
expect_grep "$T/err" "'stage' is ambiguous: refs/remotes/origin/stage and refs/tags/stage both answer to it" "5: names both refs"
git -C "$rev" for-each-ref "refs/bpgate/approvals/prod/$m5/" | grep -q . && fail "5: the tag's tree was approved" || ok "5: the tag's tree was not approved"
git -C "$rev" tag -d stage >/dev/null
(cd "$rev" && expect_exit 0 "5: without the tag, stage resolves to the fetched environment branch" -- \
  withkey carol bpgate approve stage --for prod -f "$keys/carol" --no-push)
expect_grep "$T/out" "approving refs/remotes/origin/stage = commit ${y5:0:12}, tree $(git rev-parse "$y5^{tree}" | cut -c1-12)" "5: prints the ref, commit and tree it approves"
# a reviewer tricked into approving the intermediate tree still cannot get it promoted
approve carol "$x5"
spush erin 1 "5: prod moving to a tree that was only an intermediate commit of stage" origin "$x5:refs/heads/main"
refused_by promotion "5"
expect_grep "$T/err" "tree ${m5:0:12} of commit ${x5:0:12} was never an accepted tip of refs/heads/stage" "5: says why"
server_has refs/heads/main "$(git rev-parse origin/main)" && ok "5: prod did not move" || fail "5: prod moved"
finish
