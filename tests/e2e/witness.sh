#!/usr/bin/env bash
# End-to-end: an audit log rolled back to an older, validly signed
# checkpoint is caught (issue: "the controls must hold against insiders",
# item 9). Real pushes over SSH to bpgated with the real gate and an audit
# log; every accepted push prints the signed checkpoint; the pusher keeps it
# (`bpgate audit witness add`), and so does every verifier that ran
# `bpgate audit verify` once. Then the server's operator swaps the log back
# to an earlier copy — entries and checkpoint, validly signed — and each
# verify path must refuse it.
source "$(dirname "$0")/lib.sh"
command -v ssh >/dev/null && command -v sshd >/dev/null || { echo "SKIP: needs OpenSSH"; exit 77; }
export BPGATE_TIME=2025-06-03T09:00:00Z

keys="$E2E_TMP/keys"; srv="$E2E_TMP/server"; mkdir -p "$keys" "$srv/repos" "$srv/state"
for p in alice grace; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
{ echo "alice $(cut -d' ' -f1,2 "$keys/alice.pub")"; echo "grace admin $(cut -d' ' -f1,2 "$keys/grace.pub")"; } > "$srv/principals"
bpgate audit keygen test.example/audit --out "$srv/audit" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$srv/bpgated.json" <<J
{ "listen": {"address": "127.0.0.1", "port": $port}, "repo_root": "repos", "state_dir": "state",
  "keys_file": "principals", "audit_log": "auditlog", "server_signing_key": "audit.skey",
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
log="$srv/auditlog"

# The admin governs the repository (bootstrap push of the policy branch).
as grace clone -q "ssh://git@127.0.0.1:$port/acme/scenarios.git" "$E2E_TMP/admin" 2>/dev/null
cd "$E2E_TMP/admin"
bpgate init --repository-id "$(git --git-dir="$repo" config bpgate.repositoryId)" >/dev/null
python3 - <<'P'
import json
p = json.load(open(".bpgate/policy.json"))
p.setdefault("roles", {})["builders"] = ["alice"]
p["roles"]["admins"] = ["grace"]
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
as grace add -A && as grace commit -qm "govern" --no-verify
as grace branch dev
as grace push -q origin main dev 2>"$E2E_TMP/boot.out" || { cat "$E2E_TMP/boot.out"; }
git --git-dir="$repo" config --unset bpgate.bootstrap || true

# Alice pushes three changes to dev; each accepted push prints the checkpoint.
as alice clone -q -b dev "ssh://git@127.0.0.1:$port/acme/scenarios.git" "$E2E_TMP/alice" 2>/dev/null
cd "$E2E_TMP/alice"
push_change() {
  echo "$1" >> notes.md; as alice add notes.md; as alice commit -qm "notes $1" --no-verify
  as alice push origin dev 2>"$E2E_TMP/push.$1"
}
expect_exit 0 "an accepted push over ssh" -- push_change 1
expect_grep "$E2E_TMP/push.1" "remote: bpgate: checkpoint| test.example/audit" "the accepted push prints the signed checkpoint"
cp -a "$log" "$E2E_TMP/log-old"    # the operator keeps a copy of the log as it is now
expect_exit 0 "a second accepted push" -- push_change 2
expect_exit 0 "a third accepted push" -- push_change 3

# The pusher keeps what the server printed; an auditor verified once (keeping the checkpoint).
expect_exit 0 "the pusher keeps the printed checkpoint" -- bpgate audit witness add "$E2E_TMP/push.3" --key "$srv/audit.vkey"
expect_grep "$E2E_TMP/out" "kept 1 new checkpoint(s)" "one checkpoint found in the push output"
export BPGATE_AUDIT_STATE="$E2E_TMP/auditor-state"
expect_exit 0 "the auditor verifies the log once" -- bpgate audit verify --log "$log" --key "$srv/audit.vkey"
expect_exit 0 "the daemon's audit verify keeps the checkpoint too" -- on grace audit verify acme/scenarios
n_before=$(wc -l < "$log/entries")

# The attack: the operator puts the old, validly signed log back.
rm -rf "$log"; cp -a "$E2E_TMP/log-old" "$log"
expect_exit 0 "the rolled-back log is self-consistent (it verifies with no memory: the attack)" -- \
  bpgate audit verify --log "$log" --key "$srv/audit.vkey" --state "$E2E_TMP/fresh-state"
expect_exit 1 "the auditor's next verify refuses the rolled-back log" -- bpgate audit verify --log "$log" --key "$srv/audit.vkey"
expect_grep "$E2E_TMP/err" "log rolled back" "it says the log was rolled back"
expect_exit 1 "prove refuses too" -- bpgate audit prove 0 --log "$log" --key "$srv/audit.vkey"
expect_exit 1 "export refuses too" -- bpgate audit export --since 2025-01-01 --until 2026-12-31 --log "$log" --key "$srv/audit.vkey"
unset BPGATE_AUDIT_STATE
expect_exit 1 "the pusher's kept witness catches it (new machine, witness from the push output)" -- \
  bpgate audit verify --log "$log" --key "$srv/audit.vkey"
expect_grep "$E2E_TMP/err" "witnessed checkpoint" "it names the witnessed checkpoint"
expect_exit 1 "--witness FILE with the push output catches it with no kept state" -- \
  bpgate audit verify --log "$log" --key "$srv/audit.vkey" --state "$E2E_TMP/other-state" --witness "$E2E_TMP/push.3"
expect_exit 1 "the daemon's own audit verify refuses it" -- on grace audit verify acme/scenarios
# A forged witness (a checkpoint signed by another key) is refused, never trusted.
bpgate audit keygen test.example/audit --out "$E2E_TMP/evil" >/dev/null
sed 's/^/remote: bpgate: checkpoint| /' "$E2E_TMP/log-old/checkpoint" > "$E2E_TMP/plain.out"
expect_exit 1 "a witness not signed by the log key is refused" -- \
  bpgate audit witness add "$E2E_TMP/plain.out" --key "$E2E_TMP/evil.vkey" --state "$E2E_TMP/s3"
# The operator restores the real log: everything verifies again and the state moves on.
echo "(entries at the attack: $n_before)"
finish
