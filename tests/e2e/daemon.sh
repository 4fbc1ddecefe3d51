#!/usr/bin/env bash
# End-to-end test of bpgated with the stock OpenSSH and git clients on
# 127.0.0.1: clone, push accepted, push refused by the (test) gate with its
# remote: lines, whoami, admin commands, hostile input, 50 concurrent
# pushes, limits, and a SIGTERM that lets a running push finish.
#
# The real gate (bpgate-receive) is not needed here: a tiny hook script
# stands in for it, records what it was told (BPGATE_USER, BPGATE_REPO,
# LD_PRELOAD) and refuses refs whose name contains "refuse". That is exactly
# the plumbing under test. Every daemon started here is killed by PID on
# exit; every client call is bounded by `timeout`.
set -euo pipefail

BIN=${BPG_BUILD_ROOT:?}/server/bpgated
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v git >/dev/null ||
  { echo "SKIP: needs ssh, ssh-keygen and git"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bpgated-e2e.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
bad() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
contains() { grep -qF -- "$2" "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- fixtures: keys, principals, gate, config -------------------------------
cd "$T"
mkdir repos state
for k in alice bob mallory carol; do ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/$k"; done
{
  echo "# test principals"
  echo "alice admin $(cut -d' ' -f1,2 alice.pub) alice@laptop"
  echo "bob $(cut -d' ' -f1,2 bob.pub)"
  echo "carol $(cut -d' ' -f1,2 carol.pub)"
} > keys
cat > gate <<'EOF'
#!/bin/sh
# Test stand-in for bpgate-receive: records its inputs, refuses *refuse* refs.
log="${BPGATE_TEST_LOG:-/dev/null}"
while read -r old new ref; do
  echo "user=$BPGATE_USER repo=$BPGATE_REPO ref=$ref ld=${LD_PRELOAD:-} proto=${GIT_PROTOCOL:-}" >> "$(dirname "$(readlink -f "$0")")/gate.log"
  case "$ref" in
    *refuse*) echo "policy: $ref is refused for $BPGATE_USER"; echo "policy: push rejected"; exit 1;;
    *slow*) while [ ! -e "$(dirname "$(readlink -f "$0")")/release-slow" ]; do sleep 0.05; done;;
  esac
done
exit 0
EOF
chmod +x gate

PORT=$(free_port)
write_config() { # file port limits
  cat > "$1" <<EOF
{
  "listen": { "address": "127.0.0.1", "port": $2 },
  "repo_root": "repos",
  "state_dir": "state",
  "keys_file": "keys",
  "pre_receive_hook": "gate",
  "limits": { $3 }
}
EOF
}
# 50 concurrent pushes from one address are all unauthenticated at once: lift the startup limits
write_config cfg.json "$PORT" '"max_connections": 64, "max_per_principal": 60, "auth_timeout": 10, "idle_timeout": 60, "max_startups": "64:30:64", "per_source_max_startups": 64'

start_daemon() { # config log -> sets DPID
  "$BIN" --config "$1" > "$2" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  while :; do  # until it listens or exits (never a fixed delay)
    grep -q 'event=listen' "$2" && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "daemon did not start:"; cat "$2"; exit 1
}

SSHOPTS="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
sshas() { local who=$1; shift; timeout 30 ssh $SSHOPTS -p "$PORT" -i "$T/$who" "$@"; }
gitas() { local who=$1; shift; GIT_SSH_COMMAND="ssh $SSHOPTS -i $T/$who" timeout 60 git "$@"; }
URL="ssh://git@127.0.0.1:$PORT"

# ---- configuration ------------------------------------------------------------
"$BIN" --config cfg.json --check-config > out 2>&1 && rc=0 || rc=$?
check "check-config accepts a valid config" test "$rc" = 0
printf '{\n  "repo_root": "repos",\n  "keys_file": "keys" \n  "port": 1\n}\n' > broken.json
"$BIN" --config broken.json --check-config > out 2>&1 && rc=0 || rc=$?
check "check-config: syntax error exits 2" test "$rc" = 2
check "check-config: syntax error located file:line:column" contains out "broken.json:4:"
printf '{"repo_root": "repos", "keys_file": "keys", "limits": {"max_conections": 5}}\n' > typo.json
"$BIN" --config typo.json --check-config > out 2>&1 || true
check "check-config: unknown member named by JSON pointer" contains out "typo.json: /limits/max_conections: unknown member"
printf '{"repo_root": "repos", "keys_file": "keys", "listen": {"port": 70000}}\n' > range.json
"$BIN" --config range.json --check-config > out 2>&1 || true
check "check-config: out-of-range port" contains out "/listen/port: expected an integer in 1..65535"
echo "dave ssh-ed25519 AAAAnotbase64!!" > badkeys
printf '{"repo_root": "repos", "keys_file": "badkeys", "pre_receive_hook": "gate"}\n' > bk.json
"$BIN" --config bk.json --check-config > out 2>&1 || true
check "check-config: bad key located file:line" contains out "badkeys:1: the key is not valid base64"
printf '{"repo_root": "repos", "keys_file": "keys", "pre_receive_hook": "nonexistent"}\n' > nogate.json
"$BIN" --config nogate.json --check-config > out 2>&1 || true
check "check-config: refuses to run without its gate" contains out "/pre_receive_hook:"

# ---- start ------------------------------------------------------------------------
start_daemon cfg.json daemon.log
check "host key generated with mode 0600" test "$(stat -c %a state/ssh_host_ed25519_key)" = 600
check "pre-receive is the gate itself (a link: no shell in between without an audit log)" test "$(readlink state/hooks/pre-receive)" = "$T/gate"
check "post-receive hook execs the gate in post-receive mode" grep -q "^exec '$T/gate' --post-receive" state/hooks/post-receive

# ---- whoami and admin commands ----------------------------------------------------
sshas alice git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
fp=$(ssh-keygen -lf alice.pub | cut -d' ' -f2)
printf 'principal: alice\nadmin: yes\nkey: %s\n' "$fp" > want
check "whoami names the principal from the key" cmp -s out want
sshas bob git@127.0.0.1 whoami > out 2>&1
check "whoami for a non-admin" contains out "admin: no"
sshas alice git@127.0.0.1 repo create team/app > out 2>&1 && rc=0 || rc=$?
check "repo create by an admin" test "$rc" = 0 -a -f repos/team/app.git/HEAD
sshas alice git@127.0.0.1 repo create team/app > out 2>&1 && rc=0 || rc=$?
check "repo create twice is refused" sh -c "test $rc = 1 && grep -q 'already exists' out"
sshas bob git@127.0.0.1 repo create bobs > out 2>&1 && rc=0 || rc=$?
check "repo create refused for a non-admin" sh -c "test $rc = 1 && grep -q 'only admins' out && test ! -e repos/bobs.git"
sshas alice git@127.0.0.1 approve team/app HEAD --for prod > out 2>&1 && rc=0 || rc=$?
check "approve resolves rev in the repository (no commit there yet: refused)" sh -c "test $rc != 0 && grep -q 'is not a commit' out"
sshas alice git@127.0.0.1 approve team/app --oops --for prod > out 2>&1 && rc=0 || rc=$?
check "approve refuses option-looking words" sh -c "test $rc = 2 && grep -q 'usage: approve' out"
sshas alice git@127.0.0.1 audit verify team/app > out 2>&1 && rc=0 || rc=$?
check "audit verify without an audit log says so" sh -c "test $rc = 2 && grep -q 'keeps no audit log' out"

# ---- git: push, refused push, clone, protocol v2 ---------------------------------
git init -q -b main work
git -C work config user.email t@example.com; git -C work config user.name T
echo '{"name":"demo"}' > work/blueprint.json
git -C work add . && git -C work commit -qm "first"
gitas alice -C work push -q "$URL/team/app.git" HEAD:refs/heads/main > out 2>&1 && rc=0 || rc=$?
check "push accepted (exit 0)" test "$rc" = 0
check "push reached the server" test "$(git --git-dir=repos/team/app.git rev-parse main)" = "$(git -C work rev-parse HEAD)"
check "gate saw BPGATE_USER and BPGATE_REPO" contains gate.log "user=alice repo=team/app ref=refs/heads/main"
gitas bob -C work push "$URL/team/app" HEAD:refs/heads/refuse-this > out 2>&1 && rc=0 || rc=$?
check "push refused by the gate exits 1" test "$rc" = 1
check "gate's reason reaches the client as remote: lines" contains out "remote: policy: refs/heads/refuse-this is refused for bob"
check "client shows the pre-receive verdict" contains out "! [remote rejected] HEAD -> refuse-this (pre-receive hook declined)"
check "refused ref not created" sh -c "! git --git-dir=repos/team/app.git rev-parse -q --verify refs/heads/refuse-this"
gitas carol clone -q "$URL/team/app.git" clone1 > out 2>&1 && rc=0 || rc=$?
check "clone" sh -c "test $rc = 0 && cmp -s clone1/blueprint.json work/blueprint.json"
GIT_TRACE_PACKET=1 gitas carol ls-remote "$URL/team/app.git" > out 2>&1 || true
check "fetch negotiates protocol v2 (GIT_PROTOCOL env request honoured)" contains out "version 2"
echo more >> work/blueprint.json; git -C work commit -qam second
gitas alice -C work push -q --receive-pack='git receive-pack' "$URL/team/app.git" HEAD:main > out 2>&1 && rc=0 || rc=$?
check "push with the 'git receive-pack' spelling" test "$rc" = 0
n=$(wc -l < gate.log)
echo more >> work/blueprint.json; git -C work commit -qam third
gitas alice -C work push -q "$URL/team/app.git" HEAD:main > out 2>&1
check "the gate runs as pre- and as post-receive (default)" test "$(( $(wc -l < gate.log) - n ))" = 2

# ---- hostile input ------------------------------------------------------------------
sshas mallory git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "unknown key refused" sh -c "test $rc = 255 && grep -q 'Permission denied (publickey)' out"
sshas bob git@127.0.0.1 ls -la > out 2>&1 && rc=0 || rc=$?
check "unknown command refused" sh -c "test $rc = 1 && grep -q 'unknown command' out"
sshas bob git@127.0.0.1 "git-upload-pack '../../etc'" > out 2>&1 && rc=0 || rc=$?
check "path traversal refused" sh -c "test $rc = 1 && grep -q 'invalid repository name' out"
sshas bob git@127.0.0.1 "git-upload-pack 'team/../../x'" > out 2>&1 || true
check "path traversal in the middle refused" contains out "invalid repository name"
sshas bob git@127.0.0.1 "git-upload-pack '/etc/passwd'" > out 2>&1 || true
check "an absolute path is taken relative to the root" contains out "repository 'etc/passwd' does not exist"
sshas bob git@127.0.0.1 "git-upload-pack 'a;touch $T/pwned'" > out 2>&1 || true
check "shell metacharacters refused, nothing executed" sh -c "grep -q 'invalid repository name' out && test ! -e $T/pwned"
sshas bob git@127.0.0.1 "git-upload-pack 'x' ; touch $T/pwned2" > out 2>&1 || true
check "text after the quoted argument refused" sh -c "grep -q 'after a closing quote' out && test ! -e $T/pwned2"
sshas bob git@127.0.0.1 "git-upload-pack \$(touch $T/pwned3)" > out 2>&1 || true
check "unquoted argument refused" sh -c "grep -q 'must be single-quoted' out && test ! -e $T/pwned3"
gitas bob ls-remote "$URL/we'ird!name.git" > out 2>&1 || true
check "quote and ! in a name dequoted, then refused by the name rules" contains out "invalid repository name"
git init -q --bare outside.git
ln -s "$T/outside.git" repos/evil.git
gitas bob ls-remote "$URL/evil.git" > out 2>&1 && rc=0 || rc=$?
check "symlink escape refused" sh -c "test $rc = 128 && grep -q \"repository 'evil' does not exist\" out"
sshas bob git@127.0.0.1 </dev/null > out 2>&1 && rc=0 || rc=$?
check "shell request refused" sh -c "test $rc = 255 && grep -q 'shell request failed' out"
sshas bob -tt git@127.0.0.1 whoami </dev/null > out 2>&1 || true
check "pty request refused" contains out "PTY allocation request failed"
sshas bob -s git@127.0.0.1 sftp </dev/null > out 2>&1 && rc=0 || rc=$?
check "subsystem request refused" sh -c "test $rc = 255 && grep -q 'subsystem request failed' out"
sshas bob -W 127.0.0.1:22 git@127.0.0.1 </dev/null > out 2>&1 && rc=0 || rc=$?
check "port forwarding (direct-tcpip) refused" test "$rc" = 255
sshas bob -o ExitOnForwardFailure=yes -R 0:127.0.0.1:1 git@127.0.0.1 whoami </dev/null > out 2>&1 && rc=0 || rc=$?
check "remote forwarding refused" test "$rc" = 255
: > gate.log
GIT_SSH_COMMAND="ssh $SSHOPTS -i $T/bob -o SetEnv=GIT_DIR=/tmp -o SetEnv=LD_PRELOAD=/tmp/evil.so -o SetEnv=BPGATE_USER=alice" \
  timeout 60 git -C work push -q "$URL/team/app.git" HEAD:refs/heads/bob-env > out 2>&1 && rc=0 || rc=$?
check "env injection: push still works" test "$rc" = 0
check "env injection: GIT_DIR/LD_PRELOAD/BPGATE_USER ignored" contains gate.log "user=bob repo=team/app ref=refs/heads/bob-env ld= proto="
long=$(head -c 5000 /dev/zero | tr '\0' a)
sshas bob git@127.0.0.1 "git-upload-pack '$long'" > out 2>&1 && rc=0 || rc=$?
check "oversized command refused" sh -c "test $rc = 1 && grep -q 'command longer than 1024 bytes' out"

# ---- user add / remove ----------------------------------------------------------------
sshas bob git@127.0.0.1 user add mallory $(cut -d' ' -f1,2 mallory.pub) > out 2>&1 && rc=0 || rc=$?
check "user add refused for a non-admin" test "$rc" = 1
sshas alice git@127.0.0.1 user add mallory $(cut -d' ' -f1,2 mallory.pub) > out 2>&1 && rc=0 || rc=$?
check "user add by an admin" sh -c "test $rc = 0 && grep -q '^mallory ssh-ed25519 ' keys"
sshas mallory git@127.0.0.1 whoami > out 2>&1 || true
check "added key works at once" contains out "principal: mallory"
sshas alice git@127.0.0.1 user add eve $(cut -d' ' -f1,2 mallory.pub) > out 2>&1 && rc=0 || rc=$?
check "a key cannot belong to two principals" sh -c "test $rc = 1 && grep -q 'already belongs' out"
sshas alice git@127.0.0.1 user remove mallory > out 2>&1 && rc=0 || rc=$?
check "user remove by an admin" sh -c "test $rc = 0 && ! grep -q '^mallory' keys && grep -q '^# test principals' keys"
sshas mallory git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "removed key refused at once" test "$rc" = 255

# ---- 50 concurrent pushes ----------------------------------------------------------------
sshas alice git@127.0.0.1 repo create busy > /dev/null 2>&1
gitas alice -C work push -q "$URL/busy.git" HEAD:refs/heads/main > /dev/null 2>&1
pushers=()
for i in $(seq 1 50); do
  git clone -q work "c$i" 2>/dev/null
  ( cd "c$i" && echo "$i" > "file$i" && git add . && git -c user.email=t@e -c user.name=T commit -qm "c$i" &&
    GIT_SSH_COMMAND="ssh $SSHOPTS -i $T/carol" timeout 120 git push -q "$URL/busy.git" "HEAD:refs/heads/b$i" \
      > "$T/push$i.out" 2>&1; echo $? > "$T/push$i.rc" ) &
  pushers+=($!)
done
for p in "${pushers[@]}"; do wait "$p" || true; done
failed=0
for i in $(seq 1 50); do [ "$(cat "push$i.rc" 2>/dev/null)" = 0 ] || { failed=$((failed + 1)); cat "push$i.out"; }; done
check "50 concurrent pushes, no failure ($failed failed)" test "$failed" = 0
check "50 branches arrived" test "$(git --git-dir=repos/busy.git for-each-ref --format='%(refname)' refs/heads/ | grep -c '^refs/heads/b[0-9]')" = 50
check "git fsck clean after the burst" git --git-dir=repos/busy.git fsck --strict --no-progress
check "the parent reaped every session" sh -c "test \$(pgrep -c -P $DPID || true) -le 1"

# ---- SIGTERM lets a running push finish ------------------------------------------------
echo slow >> work/blueprint.json; git -C work commit -qam slow
( gitas alice -C work push -q "$URL/team/app.git" HEAD:refs/heads/slow-one > slow.out 2>&1; echo $? > slow.rc ) &
slowjob=$!
# The stand-in gate holds the push until release-slow exists: the daemon is
# stopped while the push is certainly running (no delay decides it).
while ! grep -qs 'ref=refs/heads/slow-one' gate.log; do kill -0 "$slowjob" 2>/dev/null || break; sleep 0.05; done
kill -TERM "$DPID"
while ! grep -q 'event=shutdown' daemon.log; do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
( rc=0; sshas bob git@127.0.0.1 whoami > late.out 2>&1 || rc=$?; echo "$rc" > late.rc ) & late=$!
touch release-slow
wait "$slowjob" || true
wait "$late" || true
check "no new connections once stopping" test "$(cat late.rc)" = 255
check "...the late client was never served" sh -c "! grep -q 'principal=bob' late.out"
check "the running push finished after SIGTERM" test "$(cat slow.rc)" = 0
check "...and its ref landed" sh -c "git --git-dir=repos/team/app.git rev-parse -q --verify refs/heads/slow-one >/dev/null"
# Wait for the process itself (our child): its log line comes before its exit,
# so polling the log and then kill -0 raced with the last instructions.
wait "$DPID" 2>/dev/null || true
check "daemon exited after the push" sh -c "! kill -0 $DPID 2>/dev/null"
check "...and said it stopped" grep -q 'event=stopped' daemon.log
wait "$DPID" 2>/dev/null && rc=0 || rc=$?
check "daemon exit status 0" test "$rc" = 0
check "logs are one line per event" sh -c "! grep -v 'event=' daemon.log | grep -q ."

# ---- limits: connections, per principal, auth timeout --------------------------------------
# The slot checks run under a long auth timeout (no slot frees itself during them);
# the auth timeout is checked on its own below, by the event, not by a stopwatch.
PORT=$(free_port)
write_config lim.json "$PORT" '"max_connections": 3, "max_per_principal": 1, "auth_timeout": 300'
start_daemon lim.json lim.log
# accepted N: wait until the daemon has taken N connections (started or refused)
accepted() { while [ "$(grep -cE 'event=(conn.start|limit.connections)' lim.log)" -lt "$1" ]; do kill -0 "$DPID" 2>/dev/null || return 1; sleep 0.05; done; }
# An authenticated client that never asks for a command holds its slot.
timeout 300 ssh $SSHOPTS -p "$PORT" -i "$T/bob" -N git@127.0.0.1 2>/dev/null & held=$!
PIDS+=("$held")
while ! grep -q 'auth.ok.*principal=bob' lim.log; do kill -0 "$held" 2>/dev/null || break; sleep 0.05; done
sshas bob git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "per-principal limit refuses with a reason" sh -c "test $rc = 1 && grep -q \"too many connections for 'bob' (limit 1)\" out"
sshas carol git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "other principals are not blocked" test "$rc" = 0
# both whoami sessions reaped (gone from the process table): only the held one is left
while [ "$(ps -o pid= --ppid "$DPID" | wc -l)" -gt 1 ]; do sleep 0.05; done
n=$(grep -cE 'event=(conn.start|limit.connections)' lim.log)
# The held one and two silent connections fill the limit of 3; a third is refused at once.
exec 6<>/dev/tcp/127.0.0.1/"$PORT"
exec 7<>/dev/tcp/127.0.0.1/"$PORT"
accepted $((n + 2))
exec 8<>/dev/tcp/127.0.0.1/"$PORT"
accepted $((n + 3))
check "the third silent connection is refused (limit 3)" test "$(grep -c 'event=limit.connections' lim.log)" = 1
sshas carol git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "total connection limit refuses the next client" test "$rc" = 255
exec 6<&- 7<&- 8<&-
kill "$held" 2>/dev/null || true
kill -KILL "$DPID" 2>/dev/null || true
# The auth timeout: a client that never authenticates is dropped and the event logged.
PORT=$(free_port)
write_config aut.json "$PORT" '"auth_timeout": 1'
start_daemon aut.json aut.log
exec 7<>/dev/tcp/127.0.0.1/"$PORT"
timeout 300 cat <&7 > /dev/null && rc=0 || rc=$?
check "a silent client is dropped at the auth timeout (the server closes it)" test "$rc" = 0
check "...and the timeout is logged" contains aut.log 'event=timeout.auth'
exec 7<&-

# "post_receive": false: one run of the gate per push; a post-receive left by an earlier start goes.
PORT=$(free_port)
write_config nopost.json "$PORT" '"max_connections": 8'
sed -i 's/"pre_receive_hook": "gate",/"pre_receive_hook": "gate", "post_receive": false,/' nopost.json
start_daemon nopost.json nopost.log
check "post_receive false: no post-receive hook" test ! -e state/hooks/post-receive
n=$(wc -l < gate.log)
echo nopost >> work/blueprint.json; git -C work commit -qam fourth
gitas alice -C work push -q "ssh://git@127.0.0.1:$PORT/team/app.git" HEAD:main > out 2>&1 && rc=0 || rc=$?
check "post_receive false: the push is judged once" sh -c "test $rc = 0 && test $(( $(wc -l < gate.log) - n )) = 1"
kill "$DPID" 2>/dev/null || true
printf '{"repo_root": "repos", "keys_file": "keys", "pre_receive_hook": "gate", "post_receive": "no"}\n' > pr.json
"$BIN" --config pr.json --check-config > out 2>&1 || true
check "check-config: post_receive must be a boolean" contains out "pr.json: /post_receive: expected true or false"

echo "daemon: $pass passed, $fail failed"
[ "$fail" = 0 ]
