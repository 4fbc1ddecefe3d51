#!/usr/bin/env bash
# End-to-end hardening (issue 9, items 2 and 3) against bpgate-receive as the
# pre-receive hook of bare repositories, driven by real `git push`, and
# against bpgated for the daemon cases.
#
# Faults: a full disk under the audit log and under the repository, an
# unreadable policy ref (corrupt object, dangling ref), a corrupt object in
# the quarantine, the gate SIGKILLed mid-run, bpgated SIGKILLed mid-push.
# The kills land at named points, never after a delay: a test build stops
# the gate or the daemon there (BPGATE_TEST_PAUSE_AT, bpgate/testhook.h),
# the test waits for its marker file and kills it.
# After each: the push is refused or complete (never half-applied), `git
# fsck` is clean, no lock or quarantine is left, `bpgate audit verify` passes.
#
# Abuse: a blueprint and a commit over the 64 MiB limit (the 1 GB case is measured by hand,
# docs/readme/hardening.md), 20,001 commits in one push, 10,000 refs in one
# push, JSON nested a million deep, terminal escapes in commit messages, ref
# names, push options and daemon commands. Each refusal is checked for its
# words; the gate's peak memory is measured with /usr/bin/time -v and held
# under ceilings generous enough for an ASan build. Its time is printed as a
# figure only: no outcome here depends on the machine's speed.
#
# The full-disk cases mount a small tmpfs and need root; without it they are
# skipped with a reason (the rest still runs).
source "$(dirname "$0")/lib.sh"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
daemon="$BPG_BUILD_ROOT/server/bpgated"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
[ -x "$receive" ] || { echo "SKIP: $receive not built"; exit 77; }
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (install/deps.sh installs package time)"; exit 77; }
export BPGATE_TIME=2025-06-04T10:30:00Z
keys="$E2E_TMP/keys"; work="$E2E_TMP/work"; T="$E2E_TMP"
mkdir -p "$keys"
MOUNTS=() PIDS=()
cleanup() {
  local p m
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  rm -rf "$E2E_TMP"
}
trap cleanup EXIT

# --- keys, the gated server, the governed repository --------------------------------
printf 'alice alice\nalice@example.com alice\ntester@example.com alice\n' > "$keys/users"
bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null 2>&1
# The gate as the hook, measured: /usr/bin/time -v writes to $T/time.<n> (n counts runs).
cat > "$T/gate-timed" <<EOF
#!/bin/bash
n=\$(ls "$T"/time.* 2>/dev/null | wc -l)
# ASan holds up to 256 MB of freed memory in its quarantine: keep it small so the
# peak measures the gate, not the sanitizer.
export ASAN_OPTIONS="\${ASAN_OPTIONS:-}\${ASAN_OPTIONS:+:}quarantine_size_mb=4"
exec /usr/bin/time -v -o "$T/time.\$n" "$receive" "\$@"
EOF
chmod +x "$T/gate-timed"
new_server() { # new_server DIR AUDITDIR [HOOK]
  git init -q --bare "$1"
  git -C "$1" symbolic-ref HEAD refs/heads/main
  git -C "$1" config bpgate.users "$keys/users"
  git -C "$1" config bpgate.repository acme/hardening
  git -C "$1" config bpgate.auditDir "$2"
  git -C "$1" config bpgate.auditKey "$keys/audit.skey"
  ln -s "${3:-$receive}" "$1/hooks/pre-receive"
}
git init -q "$work"; cd "$work"
mkdir -p .bpgate scenarios/weekly-digest
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A && git commit -qm "Govern this repository"
git branch dev
# bootstrap SRV: the first push (policy branch, and dev at its commit) is let through once
bootstrap() {
  git -C "$1" config bpgate.bootstrap true
  git -C "$1" config bpgate.bootstrapPrincipal alice
  env BPGATE_USER=alice git push -q "$1" main main:refs/heads/dev 2>/dev/null
  git -C "$1" config --unset bpgate.bootstrap
}
# push_as USER WANT WHAT git-push-args...
push_as() { local u=$1 want=$2 what=$3; shift 3; expect_exit "$want" "$what" -- env BPGATE_USER="$u" git push "$@"; }
refs_of() { git -C "$1" for-each-ref --format='%(refname) %(objectname)'; }
# intact SRV AUDITDIR WHAT: the repository and the audit log survived
intact() {
  local srv=$1 audit=$2 what=$3 left
  if git -C "$srv" fsck --no-dangling --no-progress >"$T/fsck" 2>&1 && ! grep -qE 'error|missing|corrupt' "$T/fsck"; then
    ok "$what: git fsck clean"; else fail "$what: git fsck"; sed 's/^/    /' "$T/fsck" | head; fi
  left=$(find "$srv" \( -name '*.lock' -o -name 'incoming-*' -o -name 'tmp_objdir*' \) | head -3)
  if [ -z "$left" ]; then ok "$what: no lock file or quarantine left"; else fail "$what: left behind: $left"; fi
  # one verifier memory per log: these are different logs under one key (docs/readme/audit.md, witnesses)
  if bpgate audit verify --log "$audit" --key "$keys/audit.vkey" --state "$T/witness-$(printf %s "$audit" | md5sum | cut -c1-12)" \
      >"$T/verify" 2>&1; then
    ok "$what: the audit log verifies"; else fail "$what: audit verify"; sed 's/^/    /' "$T/verify" | head; fi
}
# same_refs SRV BEFORE WHAT: nothing moved
same_refs() {
  if [ "$(refs_of "$1")" = "$2" ]; then ok "$3: no ref moved"; else fail "$3: refs changed"; fi
}
TRAILERS=$'Purpose: test\nRisk: low\nTest-Plan: e2e\nRollback: revert'
section() { echo "# ${SECONDS}s: $*"; }
change() { echo "$2" >> "$1"; git add -A; git commit -qm "${3:-change $1}"; }
# peak KB and seconds of the last timed gate run
last_time() { ls -t "$T"/time.* | head -1; }
rss_kb() { awk -F': ' '/Maximum resident set size/ {print $2}' "$(last_time)"; }
secs() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; printf "%.1f", s}' "$(last_time)"; }
# bounded WHAT MAX_MB: the last timed gate run stayed under the memory ceiling;
# its time is reported, never judged (it depends on the machine)
bounded() {
  local kb s; kb=$(rss_kb); s=$(secs)
  echo "    measured: $1: $((kb / 1024)) MB peak, ${s} s (time: a figure, not a test)"
  if [ "$kb" -le $(($2 * 1024)) ]; then ok "$1: peak memory under $2 MB"; else fail "$1: $((kb / 1024)) MB > $2 MB"; fi
}
# Test-only pause points: paused_pid MARKER PID waits until the process that
# writes MARKER has stopped at its point (prints its pid, returns 0) or until
# PID (the client) has exited without it getting there (returns 1). No delay
# decides anything: it waits for one event or the other.
paused_pid() {
  while [ ! -s "$1" ]; do kill -0 "$2" 2>/dev/null || { [ -s "$1" ] && break; return 1; }; sleep 0.05; done
  cat "$1"
}

srv="$T/srv.git"; audit="$T/audit"
new_server "$srv" "$audit"
bootstrap "$srv"
git remote add origin "$srv"
git checkout -q dev
change scenarios/weekly-digest/README.md "Sent on Mondays"
push_as alice 0 "a clean push to dev is accepted (baseline)" origin dev
intact "$srv" "$audit" "baseline"

# ================================ faults ==========================================
# --- a full disk ---------------------------------------------------------------------
section "a full disk"
small="$T/small"; mkdir -p "$small"
if [ "$(id -u)" -ne 0 ]; then
  ok "full disk: SKIPPED (needs root to mount a small tmpfs)"
elif ! mount -t tmpfs -o size=512k,mode=0755 tmpfs "$small" 2>"$T/mount"; then
  ok "full disk: SKIPPED (cannot mount a tmpfs: $(head -c 100 "$T/mount"))"
else
  MOUNTS+=("$small")
  # (a) the audit log's disk is full: the decision cannot be recorded, so nothing is updated
  git -C "$srv" config bpgate.auditDir "$small/audit"
  change scenarios/weekly-digest/README.md "full disk 1"
  push_as alice 0 "the audit log on the small disk works while there is room" origin dev
  dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null || true
  before=$(refs_of "$srv")
  change scenarios/weekly-digest/README.md "full disk 2"
  push_as alice 1 "audit log disk full: the push is refused" origin dev
  expect_grep "$T/err" "remote: error: bpgate: audit log:" "the refusal names the audit log"
  expect_grep "$T/err" "the server cannot record the decision, so it refuses the push" "and says why"
  same_refs "$srv" "$before" "audit log disk full"
  intact "$srv" "$small/audit" "audit log disk full"
  rm -f "$small/fill"
  push_as alice 0 "with room again the same push is accepted" origin dev
  intact "$srv" "$small/audit" "after the disk was freed"
  git -C "$srv" config bpgate.auditDir "$audit"
  # (b) the repository's own disk is full: git cannot store the pack, the gate never runs
  fsrv="$small/full.git"; new_server "$fsrv" "$audit"; bootstrap "$fsrv"
  dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null || true
  head -c 300000 /dev/urandom | base64 > scenarios/weekly-digest/noise.txt
  git add -A; git commit -qm "incompressible"
  before=$(refs_of "$fsrv")
  push_as alice 1 "repository disk full: the push fails" "$fsrv" dev
  same_refs "$fsrv" "$before" "repository disk full"
  rm -f "$small/fill"
  intact "$fsrv" "$audit" "repository disk full"
  git rm -q scenarios/weekly-digest/noise.txt; git commit -qm "no noise"
fi

# --- an unreadable policy ref ----------------------------------------------------------
section "an unreadable policy ref"
pol_blob=$(git -C "$srv" rev-parse main:.bpgate/policy.json)
obj="$srv/objects/${pol_blob:0:2}/${pol_blob:2}"
if [ -f "$obj" ]; then
  cp -p "$obj" "$T/policy-object"; chmod u+w "$obj"
  printf 'not a zlib stream' > "$obj"
  before=$(refs_of "$srv")
  change scenarios/weekly-digest/README.md "policy unreadable"
  push_as alice 1 "the policy object is corrupt: the push is refused" origin dev
  expect_grep "$T/err" "remote: error: bpgate: the policy cannot be loaded: cannot read .bpgate/policy.json from the policy ref" "names the unreadable policy file"
  same_refs "$srv" "$before" "corrupt policy object"
  cp -p "$T/policy-object" "$obj"
else
  fail "the policy blob is not a loose object (unpackLimit?)"
fi
main_commit=$(git -C "$srv" rev-parse main)
git -C "$srv" update-ref refs/heads/main "$main_commit"   # a loose ref we can break
echo 0123456789abcdef0123456789abcdef01234567 > "$srv/refs/heads/main"
before=$(refs_of "$srv" 2>/dev/null || true)
push_as alice 1 "the policy ref points at a missing commit: refused" origin dev
expect_grep "$T/err" "remote: error: bpgate: the policy cannot be loaded" "names the policy"
echo "$main_commit" > "$srv/refs/heads/main"
git -C "$srv" symbolic-ref HEAD refs/heads/nonexistent
push_as alice 1 "the policy ref does not exist (and no bootstrap): refused" origin dev
expect_grep "$T/err" "the policy ref refs/heads/nonexistent does not exist" "names the missing ref"
git -C "$srv" symbolic-ref HEAD refs/heads/main
intact "$srv" "$audit" "unreadable policy ref"
push_as alice 0 "the policy restored: accepted" origin dev

# --- a corrupt object in the quarantine -------------------------------------------------
section "a corrupt object in the quarantine"
# A wrapper corrupts one object that index-pack already checked (the disk going bad
# between receive and hook); loose objects so that one object can be hit.
cat > "$T/gate-corrupt" <<EOF
#!/bin/bash
o=\$(cat "$T/corrupt-oid"); f="\$GIT_QUARANTINE_PATH/\${o:0:2}/\${o:2}"
[ -f "\$f" ] || { echo "test: \$o not in the quarantine" >&2; exit 3; }
chmod u+w "\$f"
case \$(cat "$T/corrupt-how") in
garbage) printf 'garbage' > "\$f" ;;
swap) printf 'blob 7\0swapped' | python3 -c 'import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))' > "\$f" ;;
esac
exec "$receive" "\$@"
EOF
chmod +x "$T/gate-corrupt"
git -C "$srv" config receive.unpackLimit 100000
ln -sf "$T/gate-corrupt" "$srv/hooks/pre-receive"
echo '{"name": "Digest", "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1, "mapper": {}}], "metadata": {"version": 1}}' \
  > scenarios/weekly-digest/main.blueprint.json
git add -A; git commit -qm "digest: blueprint" -m "$TRAILERS"
for what in "commit garbage" "commit swap" "blob garbage" "blob swap"; do
  set -- $what
  if [ "$1" = commit ]; then git rev-parse HEAD > "$T/corrupt-oid"; else git rev-parse HEAD:scenarios/weekly-digest/main.blueprint.json > "$T/corrupt-oid"; fi
  echo "$2" > "$T/corrupt-how"
  before=$(refs_of "$srv")
  push_as alice 1 "quarantine: a corrupt $1 object ($2) is refused" origin dev
  if [ "$2" = garbage ]; then
    expect_grep "$T/err" "remote: error: bpgate: cannot judge refs/heads/dev:" "quarantine ($what): the gate says it cannot judge"
  else # bpgate-receive does not re-hash what index-pack checked: it judges the swapped bytes (not JSON)
    expect_grep "$T/err" "(pre-receive hook declined)" "quarantine ($what): refused"
  fi
  same_refs "$srv" "$before" "quarantine ($what)"
done
ln -sf "$receive" "$srv/hooks/pre-receive"
git -C "$srv" config --unset receive.unpackLimit
intact "$srv" "$audit" "corrupt quarantine"
push_as alice 0 "the same push without the corruption is accepted" origin dev

# commits N REF PARENT: N empty commits on REF, written as one pack (git fast-import
# is far slower at this on a busy machine)
commits() {
  local tip
  tip=$(python3 - "$1" "$2" "$(git rev-parse "$3")" "$(git rev-parse "$3^{tree}")" 2>&1 >"$T/commits.pack" <<'PY'
import hashlib, sys, zlib
n, ref, parent, tree = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
out = bytearray()
for i in range(n):
    body = ("tree %s\nparent %s\nauthor tester <tester@example.com> %d +0000\n"
            "committer tester <tester@example.com> %d +0000\n\n%s: commit %d\n"
            % (tree, parent, 1717400000 + i, 1717400000 + i, ref, i)).encode()
    parent = hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()
    size = len(body); hdr = bytearray([(1 << 4) | (size & 15)]); size >>= 4
    while size:
        hdr[-1] |= 0x80; hdr.append(size & 0x7f); size >>= 7
    out += hdr + zlib.compress(body, 1)
pack = b"PACK" + (2).to_bytes(4, "big") + n.to_bytes(4, "big") + out
sys.stdout.buffer.write(pack + hashlib.sha1(pack).digest())
sys.stderr.write(parent + "\n")
PY
)
  git index-pack --stdin <"$T/commits.pack" >/dev/null
  git update-ref "$2" "$tip"
}

# --- the gate SIGKILLed mid-run ----------------------------------------------------------
section "the gate SIGKILLed mid-run"
# The gate stops itself at a named point (a test build honours BPGATE_TEST_PAUSE_AT:
# it writes its pid to the marker file and raises SIGSTOP); the test then kills it
# there with SIGKILL. Each point is hit on every run, so every kill lands mid-run.
cat > "$T/gate-paused" <<END
#!/bin/bash
export BPGATE_TEST_PAUSE_AT="\$(cat "$T/pause-at" 2>/dev/null)" BPGATE_TEST_PAUSE_MARKER="$T/paused"
echo "\$PPID" > "$T/gate-parent"   # git-receive-pack, for the daemon cases
exec "$receive" "\$@"
END
chmod +x "$T/gate-paused"
ln -sf "$T/gate-paused" "$srv/hooks/pre-receive"
commits 200 refs/heads/bulk dev
# gathered, judged, before the audit append, between the audit record and its
# checkpoint, after the decision was recorded (not yet told to git)
for point in gate-gathered gate-evaluated gate-before-audit audit-record-written gate-decided; do
  echo "$point" > "$T/pause-at"; rm -f "$T/paused"
  before=$(refs_of "$srv")
  env BPGATE_USER=alice git push origin "bulk:refs/heads/kill-$point" >"$T/out" 2>"$T/err" & gp=$!
  if gpid=$(paused_pid "$T/paused" "$gp"); then
    ok "gate stopped at $point"
    kill -KILL "$gpid"
  else
    fail "the gate never reached $point"; sed 's/^/    /' "$T/err" | head -5
  fi
  rc=0; wait "$gp" || rc=$?
  [ "$rc" -ne 0 ] && ok "gate killed at $point: the push fails (exit $rc)" || fail "gate killed at $point: git push exit 0"
  expect_grep "$T/err" "pre-receive hook declined" "gate killed at $point: git says the hook declined"
  same_refs "$srv" "$before" "gate killed at $point"
  intact "$srv" "$audit" "gate killed at $point"
done
: > "$T/pause-at"
ln -sf "$receive" "$srv/hooks/pre-receive"
push_as alice 0 "the next push after the kills is accepted" origin bulk:refs/heads/after-kill
intact "$srv" "$audit" "after the kills"

# --- bpgated SIGKILLed mid-push ------------------------------------------------------------
section "bpgated SIGKILLed mid-push"
if [ -x "$daemon" ] && command -v ssh >/dev/null; then
  D="$T/daemon"; mkdir -p "$D/repos" "$D/state"
  ssh-keygen -q -t ed25519 -N '' -C alice -f "$D/alice"
  echo "alice $(cut -d' ' -f1,2 "$D/alice.pub")" > "$D/keys"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$D/cfg.json" <<END
{ "listen": { "address": "127.0.0.1", "port": $port }, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$T/gate-paused", "limits": { "idle_timeout": 60 } }
END
  dsrv="$D/repos/app.git"; new_server "$dsrv" "$audit"; bootstrap "$dsrv"
  start_daemon() {
    rm -f "$D/log"   # never read the last daemon's "listen" line
    "$daemon" --config "$D/cfg.json" >"$D/log" 2>&1 & DPID=$!; PIDS+=("$DPID")
    while ! grep -qs 'event=listen' "$D/log"; do kill -0 "$DPID" 2>/dev/null || { fail "bpgated did not start"; cat "$D/log"; return 1; }; sleep 0.05; done
  }
  # kill the daemon and every process it started for connections (by pid, never by name)
  kill_daemon() {
    local kids; kids=$(ps -o pid= --ppid "$DPID" || true)
    kill -KILL "$DPID" $kids 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
  }
  # settled: the git-receive-pack that ran the gate (not killed: it outlives its
  # session) has exited; the meson timeout bounds a hang
  settled() {
    local gp; gp=$(cat "$T/gate-parent" 2>/dev/null || true); rm -f "$T/gate-parent"
    [ -z "$gp" ] || while kill -0 "$gp" 2>/dev/null; do sleep 0.1; done
  }
  SSHC="ssh -F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -i $D/alice"
  url="ssh://git@127.0.0.1:$port/app.git"
  # stopped_daemon POINT REF: start bpgated, push REF over SSH, wait until the
  # process named by POINT stopped there, kill the daemon and its sessions (and
  # a stopped gate), and leave the client's exit code in $rc.
  stopped_daemon() {
    local point=$1 ref=$2 dpoint= spid
    case $point in daemon-*) dpoint=$point; : > "$T/pause-at" ;; *) echo "$point" > "$T/pause-at" ;; esac
    rm -f "$T/paused"
    BPGATE_TEST_PAUSE_AT="$dpoint" BPGATE_TEST_PAUSE_MARKER="$T/paused" start_daemon
    GIT_SSH_COMMAND="$SSHC" git push "$url" "bulk:$ref" >"$T/out" 2>"$T/err" & gp=$!
    if spid=$(paused_pid "$T/paused" "$gp"); then ok "stopped at $point"; else fail "never stopped at $point"; sed "s/^/    /" "$T/err" | head -5; spid=; fi
    kill_daemon
    [ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null || true
    rc=0; wait "$gp" || rc=$?
    settled
  }
  # (a) after the exec request, before git starts; (b) while the gate judges (the
  # gate stopped under git-receive-pack): the push does not happen
  for point in daemon-exec gate-evaluated; do
    stopped_daemon "$point" "refs/heads/d-$point"
    [ "$rc" -ne 0 ] && ok "bpgated killed at $point: the client sees the failure (exit $rc)" || fail "bpgated killed at $point: client exit 0"
    got=$(git -C "$dsrv" rev-parse -q --verify "refs/heads/d-$point" || true)
    [ -z "$got" ] && ok "bpgated killed at $point: the push did not happen" || fail "bpgated killed at $point: the ref is at $got"
    # Known, git's own: git-receive-pack 2.39, its client gone, writes "hook declined"
    # to a broken stderr and re-raises SIGPIPE with the default action, which skips
    # its quarantine clean-up. The directory holds only the unreferenced pushed
    # objects; it is reported and removed here (docs/readme/hardening.md).
    left=$(find "$dsrv/objects" -maxdepth 1 -name 'tmp_objdir-incoming-*')
    if [ -n "$left" ]; then
      [ "$point" = gate-evaluated ] && [ "$(echo "$left" | wc -l)" -eq 1 ] \
        && ok "bpgated killed at $point: git left its quarantine (git's SIGPIPE exit, known): removed" \
        || fail "bpgated killed at $point: left behind: $left"
      rm -rf $left
    fi
  done
  # (c) after git-receive-pack finished (the ref updated), before the exit status
  # was sent: the push completed whole
  stopped_daemon daemon-git-exited refs/heads/d-exited
  got=$(git -C "$dsrv" rev-parse -q --verify refs/heads/d-exited || true)
  [ "$got" = "$(git rev-parse bulk)" ] && ok "bpgated killed after git finished: the push completed whole (client exit $rc)" \
    || fail "bpgated killed after git finished: the ref is at '$got'"
  : > "$T/pause-at"
  intact "$dsrv" "$audit" "bpgated killed mid-push"
  start_daemon
  GIT_SSH_COMMAND="$SSHC" timeout 120 git push "$url" "bulk:refs/heads/d-after" >"$T/out" 2>"$T/err" && rc=0 || rc=$?
  [ "$rc" -eq 0 ] && ok "bpgated restarted: the push goes through" || { fail "push after restart: exit $rc"; cat "$T/err"; }
  # a command with terminal escapes is refused without echoing them
  timeout 30 $SSHC -p "$port" git@127.0.0.1 $'whoami\033]0;owned\007\033[2J' >"$T/out" 2>"$T/err" || true
  expect_grep "$T/err" "control characters in the command" "bpgated refuses a command with escape sequences"
  if grep -q $'[\033\007]' "$T/err" "$T/out"; then fail "bpgated echoed raw ESC/BEL"; else ok "bpgated echoes no raw ESC/BEL"; fi
  kill_daemon
  intact "$dsrv" "$audit" "bpgated restarted"
else
  ok "bpgated killed mid-push: SKIPPED (bpgated not built or no ssh client)"
fi

# ================================ abuse ===========================================
ln -sf "$T/gate-timed" "$srv/hooks/pre-receive"
git checkout -q dev; git reset -q --hard origin/dev
# --- a blueprint over the 64 MiB limit (the 1 GB run is in docs/readme/hardening.md) ------
section "a blueprint over the 64 MiB limit (the 1 GB run is in docs/readme/hardening.md)"
python3 - scenarios/weekly-digest/big.blueprint.json <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"name": "big", "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1, "mapper": {"x": "')
    for _ in range(70):
        f.write("A" * (1 << 20))
    f.write('"}}], "metadata": {"version": 1}}\n')
PY
git add -A; git commit -qm "digest: a 70 MB blueprint" -m "$TRAILERS"
before=$(refs_of "$srv")
push_as alice 1 "a 70 MB blueprint is refused" origin dev
expect_grep "$T/err" "larger than the 64 MiB limit of a blueprint or contract" "the refusal names the size limit"
same_refs "$srv" "$before" "70 MB blueprint"
# 96 MB: the gate never inflates the blob (libgit2 may not allocate more than 64 MiB while it reads one)
# (it once held all 70 MB in memory, and would hold 1 GB for a 1 GB blueprint).
bounded "70 MB blueprint" 96
git reset -q --hard HEAD~1

# --- a commit over the 64 MiB limit: libgit2's own walk of the pushed commits reads it ----------
section "a commit over the 64 MiB limit (a 70 MiB message)"
head -c $((70 << 20)) /dev/zero | tr '\0' x > "$T/big.msg"
bigc=$(git commit-tree "$(git rev-parse 'HEAD^{tree}')" -p HEAD -F "$T/big.msg"); rm -f "$T/big.msg"
before=$(refs_of "$srv")
push_as alice 1 "a 70 MiB commit is refused" origin "$bigc:refs/heads/dev"
expect_grep "$T/err" "a commit of the change: reading it needed a block of 70.0 MiB, over the 64 MiB limit of any object the gate reads" \
  "the refusal says what was too large and names the limit"
same_refs "$srv" "$before" "70 MiB commit"
# never held whole: libgit2 may not allocate over 64 MiB while it walks
bounded "70 MiB commit" 96

# --- 20,000 commits (the limit) accepted, 20,001 refused ------------------------------------
section "20,000 and 20,001 commits in one push"
# The accepted case's time is printed (the gather once took minutes at this
# size: a linear search per commit); the unit tests guard the algorithm.
commits 20000 refs/heads/limit dev
push_as alice 0 "20,000 commits in one push are judged and accepted" origin limit:refs/heads/limit
bounded "20,000 commits judged" 256
commits 20001 refs/heads/huge dev
before=$(refs_of "$srv")
push_as alice 1 "20,001 commits in one push are refused" origin huge:refs/heads/huge
expect_grep "$T/err" "the change has more than 20000 commits; the gate judges at most that many at once: push it in parts" "the refusal says how many and what to do"
same_refs "$srv" "$before" "20,001 commits"
bounded "20,001 commits refused" 256

# --- 10,000 refs in one push ------------------------------------------------------------------
section "10,000 refs in one push"
head=$(git rev-parse dev)
for i in $(seq 10000); do echo "create refs/heads/many/b$i $head"; done | git update-ref --stdin
before=$(refs_of "$srv")
push_as alice 1 "10,000 refs in one push are refused" origin 'refs/heads/many/*:refs/heads/many/*'
expect_grep "$T/err" "more than 1000 ref updates in one push; push them in parts" "the refusal names the limit"
same_refs "$srv" "$before" "10,000 refs"
bounded "10,000 refs" 256
git for-each-ref --format='delete %(refname)' refs/heads/many | git update-ref --stdin

# --- JSON nested a million deep ---------------------------------------------------------------
section "JSON nested a million deep"
python3 -c 'import sys; sys.stdout.write("[" * 1000000 + "]" * 1000000)' > scenarios/weekly-digest/deep.blueprint.json
mkdir -p .bpgate/contracts
python3 -c 'import sys; sys.stdout.write("{\"a\":" * 1000000 + "1" + "}" * 1000000)' > .bpgate/contracts/deep.json
git add -A; git commit -qm "digest: deep" -m "$TRAILERS"
before=$(refs_of "$srv")
push_as alice 1 "JSON nested a million deep is refused" origin dev
expect_grep "$T/err" "[blueprint-parses]" "the blueprint rule names it"
same_refs "$srv" "$before" "deep JSON"
bounded "JSON nested 10^6 deep (blueprint + contract)" 256
git reset -q --hard HEAD~1

# --- terminal escapes -----------------------------------------------------------------------------
section "terminal escapes"
esc=$'\033]0;owned\007\033[31m\033[2J'
echo '{"flow": [' > scenarios/weekly-digest/bad.blueprint.json
git add -A
GIT_AUTHOR_NAME="ev${esc}il" git commit -qm "digest ${esc}subject" -m "body ${esc}" -m "Purpose: ${esc}"
push_as alice 1 "a commit with escape sequences in its message and author is refused" origin dev
if grep -q $'[\033\007]' "$T/err" "$T/out"; then fail "raw ESC/BEL reached the client (commit)"; else ok "no raw ESC/BEL reached the client (commit)"; fi
expect_grep "$T/err" "[blueprint-parses]" "and still judged"
git reset -q --hard HEAD~1
if git update-ref "refs/heads/x${esc}" HEAD 2>/dev/null; then fail "git accepted a ref name with ESC"; else ok "git itself refuses ref names with control characters (client side)"; fi
z=0000000000000000000000000000000000000000
printf '%s %s refs/heads/red%s\n' "$z" "$head" "$esc" > "$T/stdin"
rc=0; (cd "$srv" && GIT_DIR=. BPGATE_USER=alice "$receive" <"$T/stdin" >"$T/out" 2>"$T/err") || rc=$?
[ "$rc" -eq 1 ] && ok "a raw ref name with escapes on the hook's stdin is refused" || fail "ref name with ESC: exit $rc"
expect_grep "$T/err" "ref name on input line 1 is not accepted" "the refusal names the line, not the bytes"
if grep -q $'[\033\007]' "$T/err" "$T/out"; then fail "raw ESC/BEL echoed (ref name)"; else ok "no raw ESC/BEL echoed (ref name)"; fi
git -C "$srv" config receive.advertisePushOptions true
push_as alice 1 "a push option with escape sequences (break-glass to prod)" -o "bpgate.break-glass=${esc}" origin dev:main
expect_grep "$T/err" '\x1b]0;owned\x07' "the option is shown escaped"
if grep -q $'[\033\007]' "$T/err"; then fail "raw ESC/BEL echoed (push option)"; else ok "no raw ESC/BEL echoed (push option)"; fi

# --- a push that turns the rule off in its own policy gains nothing ------------------------------
section "a pushed policy is not trusted"
sed -i 's/"blueprint-parses": { "mode": "enforce" }/"blueprint-parses": { "mode": "off" }/' .bpgate/policy.json
grep -q '"blueprint-parses": { "mode": "off" }' .bpgate/policy.json || fail "test setup: the policy edit did not apply"
echo '{"flow": [' > scenarios/weekly-digest/bad.blueprint.json
git add -A; git commit -qm "digest: switch the parse rule off and push a broken blueprint" -m "$TRAILERS"
push_as alice 1 "a push that switches a rule off in .bpgate/policy.json is still judged by the policy ref" origin dev
expect_grep "$T/err" "[blueprint-parses]" "the rule it switched off still refuses it"
git reset -q --hard HEAD~1

ln -sf "$receive" "$srv/hooks/pre-receive"
intact "$srv" "$audit" "after the abuse"
finish
