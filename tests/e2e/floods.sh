#!/usr/bin/env bash
# End-to-end: bpgated under a flood of idle unauthenticated TCP connections,
# and its `approve` command under privilege, with the stock OpenSSH and git
# clients on loopback (started as tests/e2e/daemon.sh does).
#  * 64 idle sockets from 127.0.0.1 with the default limits: the ones past
#    per_source_max_startups (8) are closed at once, and a real ssh/git
#    login from another source (127.0.0.2) still succeeds (before: all 64
#    held the 64 connection slots and every real login was closed);
#  * max_startups start:rate:full with rate 100: past `start`, new
#    unauthenticated connections from any source are dropped;
#  * the auth deadline (auth_timeout, here 2 s) closes idle ones;
#  * `approve` over ssh by a principal with no approving role is refused
#    before anything is signed (before: recorded).
# Every daemon and helper is killed by PID on exit; clients are bounded by `timeout`.
set -euo pipefail

BIN=${BPG_BUILD_ROOT:?}/server/bpgated
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v git >/dev/null &&
  command -v python3 >/dev/null || { echo "SKIP: needs ssh, ssh-keygen, git and python3"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bpgated-floods.XXXXXX")
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

cd "$T"
mkdir repos state
for k in alice bob carol; do ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/$k"; done
{
  echo "alice admin $(cut -d' ' -f1,2 alice.pub)"
  echo "bob $(cut -d' ' -f1,2 bob.pub)"
  echo "carol $(cut -d' ' -f1,2 carol.pub)"
} > keys
printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' > gate; chmod +x gate

write_config() { # file port limits
  cat > "$1" <<JSON
{
  "listen": { "address": "127.0.0.1", "port": $2 },
  "repo_root": "repos",
  "state_dir": "state",
  "keys_file": "keys",
  "pre_receive_hook": "gate",
  "limits": { $3 }
}
JSON
}
start_daemon() { # config log -> sets DPID
  "$BIN" --config "$1" > "$2" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 200); do
    grep -q 'event=listen' "$2" && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.05
  done
  echo "daemon did not start:"; cat "$2"; exit 1
}
SSHOPTS="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=30"

# The flood: open N idle sockets from a source address, then tell for each
# whether the server answered with its SSH banner (accepted: a session child
# runs) or closed it without a byte (dropped at accept). With --until-eof it
# then waits (at most 120 s) for the accepted ones to be closed too. It
# prints one result line and keeps the sockets open until killed.
cat > flood.py <<'PY'
import socket, select, sys, time
port, n, srcs, until_eof = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(","), len(sys.argv) > 4
socks = []
for src in srcs:
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(60)
        s.connect(("127.0.0.1", port))
        socks.append(s)
state = {s: b"" for s in socks}     # bytes read so far
done = {}                           # socket -> "accepted" | "dropped"
deadline = time.monotonic() + 120
while len(done) < len(socks) and time.monotonic() < deadline:
    r, _, _ = select.select([s for s in socks if s not in done], [], [], 1)
    for s in r:
        try:
            b = s.recv(256)
        except OSError:
            b = b""
        if not b:
            done[s] = "accepted" if state[s].startswith(b"SSH-2.0-") else "dropped"
        else:
            state[s] += b
            if state[s].startswith(b"SSH-2.0-") and b"\n" in state[s]:
                done[s] = "accepted"
accepted = [s for s in socks if done.get(s) == "accepted"]
dropped = sum(1 for s in socks if done.get(s) == "dropped")
line = "accepted=%d dropped=%d undecided=%d" % (len(accepted), dropped, len(socks) - len(done))
if until_eof:   # the auth deadline: each accepted socket must be closed by the server
    closed, end = 0, time.monotonic() + 120
    open_ = list(accepted)
    while open_ and time.monotonic() < end:
        r, _, _ = select.select(open_, [], [], 1)
        for s in r:
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            if not b:
                closed += 1
                open_.remove(s)
    line += " closed_by_server=%d" % closed
print(line, flush=True)
while True:
    time.sleep(60)
PY
flood() { # port n sources [until-eof] -> result in flood.out, helper pid in FPID
  : > flood.out
  python3 flood.py "$@" > flood.out 2>flood.err &
  FPID=$!
  PIDS+=("$FPID")
  for _ in $(seq 2400); do [ -s flood.out ] && return 0; kill -0 "$FPID" 2>/dev/null || break; sleep 0.1; done
  echo "flood helper gave no result:"; cat flood.err
}

# A repository with the regulated policy pack on its main branch (made directly, no daemon needed).
git init -q --bare repos/team/app.git
git -C repos/team/app.git symbolic-ref HEAD refs/heads/main
git init -q work
mkdir -p work/.bpgate
cp "${BPG_SOURCE_ROOT:?}/policy/packs/regulated/policy.json" work/.bpgate/policy.json
cp -r "$BPG_SOURCE_ROOT/policy/packs/regulated/contracts" work/.bpgate/contracts
echo hello > work/README.md
git -C work add -A
git -C work -c user.email=t@e -c user.name=T commit -qm "governed"
git -C work push -q "$T/repos/team/app.git" HEAD:refs/heads/main

# ---- 1. approve over ssh: only approving roles ------------------------------------------
PORT=$(free_port)
write_config approve.json "$PORT" '"auth_timeout": 30'
start_daemon approve.json approve.log
timeout 60 ssh $SSHOPTS -p "$PORT" -i "$T/bob" git@127.0.0.1 approve team/app main --for prod > out 2>&1 && rc=0 || rc=$?
check "approve by a principal with no approving role (bob, a builder) is refused (exit 1)" test "$rc" = 1
check "and says why" contains out "'bob' has no role whose approvals count for prod (roles: reviewers, cab, admins)"
check "nothing was recorded for bob" sh -c "! git -C repos/team/app.git for-each-ref refs/bpgate/approvals/ | grep -q /bob/"
timeout 60 ssh $SSHOPTS -p "$PORT" -i "$T/carol" git@127.0.0.1 approve team/app main --for prod > out 2>&1 && rc=0 || rc=$?
check "approve by a reviewer (carol) is recorded" sh -c "test $rc = 0 && grep -q 'for prod as carol' out"
check "carol's approval ref exists" sh -c "git -C repos/team/app.git for-each-ref refs/bpgate/approvals/prod/ | grep -q /carol/"

# ---- 2. 64 idle sockets from one source, default limits ---------------------------
PORT=$(free_port)
write_config flood.json "$PORT" '"auth_timeout": 120'
start_daemon flood.json flood.log
flood "$PORT" 64 127.0.0.1
cat flood.out
check "64 idle sockets from 127.0.0.1: 8 get a session, 56 past per_source_max_startups are closed at once" \
  grep -qx "accepted=8 dropped=56 undecided=0" flood.out
check "each closed one is logged with its reason" \
  test "$(grep -c 'event=limit.startups remote=127.0.0.1:[0-9]* reason=per_source unauthenticated=8 from_source=8' flood.log)" = 56
timeout 60 ssh $SSHOPTS -b 127.0.0.2 -p "$PORT" -i "$T/carol" git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "a real ssh login from 127.0.0.2 succeeds during the flood" sh -c "test $rc = 0 && grep -q carol out"
GIT_SSH_COMMAND="ssh $SSHOPTS -b 127.0.0.2 -i $T/carol" timeout 60 git ls-remote "ssh://git@127.0.0.1:$PORT/team/app.git" \
  > out 2>&1 && rc=0 || rc=$?
check "a real git login from 127.0.0.2 succeeds during the flood" sh -c "test $rc = 0 && grep -q refs/heads/main out"
check "its session was authenticated" grep -q 'event=auth.ok remote=127.0.0.2:[0-9]* principal=carol' flood.log

kill "$FPID" 2>/dev/null || true

# ---- 3. max_startups start:rate:full (rate 100) and the auth deadline ----------------------
PORT=$(free_port)
write_config startups.json "$PORT" '"max_startups": "4:100:8", "per_source_max_startups": 2, "auth_timeout": 2'
start_daemon startups.json startups.log
flood "$PORT" 3 127.0.0.3,127.0.0.4,127.0.0.5 until-eof
cat flood.out
check "per source 2, start 4 at rate 100%: 4 sessions; 2 closed per source, 3 (all of 127.0.0.5) past start" \
  grep -q "^accepted=4 dropped=5 undecided=0" flood.out
check "past start they are dropped early" \
  test "$(grep -c 'event=limit.startups remote=127.0.0.5:[0-9]* reason=early_drop unauthenticated=4' startups.log)" = 3
check "the auth deadline (auth_timeout 2 s) closes every idle session" grep -q " closed_by_server=4$" flood.out
timeout 60 ssh $SSHOPTS -b 127.0.0.2 -p "$PORT" -i "$T/carol" git@127.0.0.1 whoami > out 2>&1 && rc=0 || rc=$?
check "once they are gone a real login succeeds" test "$rc" = 0
"$BIN" --config /dev/null --check-config > /dev/null 2>&1 || true
printf '{"repo_root": "repos", "keys_file": "keys", "pre_receive_hook": "gate", "limits": {"max_startups": "10:30"}}\n' > bad.json
"$BIN" --config bad.json --check-config > out 2>&1 && rc=0 || rc=$?
check "a malformed max_startups is a located config error" sh -c "test $rc = 2 && grep -q 'bad.json: /limits/max_startups: expected \"start:rate:full\"' out"

echo "floods: $pass passed, $fail failed"
[ "$fail" = 0 ]
