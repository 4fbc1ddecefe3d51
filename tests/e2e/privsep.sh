# End-to-end: bpgated's privilege separation and its fail-closed admin actions, with real
# ssh and git against a real daemon on 127.0.0.1.
#  * approvals over ssh are signed by a separate approval key (generated, 0600, .pub beside
#    it), not by the host key, and verify through allowed_signers as before;
#  * a session process (held open mid-push) runs as session_user, holds no fd on either key,
#    cannot open either key file as its uid, and has no byte of the approval key's seed in
#    its memory (read through /proc/<pid>/mem);
#  * `approve` is refused with the reason for a principal without an approving role;
#  * user add / user remove / repo create are refused, with nothing changed, when the
#    audit entry cannot be written, and work again once it can.
# Needs root (to start the daemon as root and drop to `nobody`), ssh, git, python3.
source "$(dirname "$0")/lib.sh"
BIN=$BPG_BUILD_ROOT/server/bpgated
[ -x "$BIN" ] || { echo "SKIP: bpgated not built"; exit 77; }
command -v ssh >/dev/null && command -v setpriv >/dev/null && command -v python3 >/dev/null ||
  { echo "SKIP: needs ssh, setpriv, python3"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the daemon drops its sessions to nobody)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }

T=$E2E_TMP
DPID=
cleanup() { [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
chmod 755 "$T"
cd "$T"

# ---- fixtures: what the session user may use, and what it must not ----------------------
mkdir -p state srv/repos srv/home srv/keysdir hooks
for k in grace carol bob alice; do ssh-keygen -q -t ed25519 -N '' -C "$k@test" -f "$T/$k"; done
{ echo "grace admin $(cut -d' ' -f1,2 grace.pub)"
  echo "carol $(cut -d' ' -f1,2 carol.pub)"
  echo "bob $(cut -d' ' -f1,2 bob.pub)"
  echo "alice $(cut -d' ' -f1,2 alice.pub)"; } > srv/keysdir/keys
bpgate audit keygen test.example/audit --out "$T/srv/audit" > /dev/null
# The test gate: accepts, and parks a push of a "hold" ref until released, telling which
# process is the session (git receive-pack's parent).
mkfifo srv/release
cat > gate <<'EOF'
#!/bin/sh
[ "${1:-}" = --post-receive ] && exit 0
while read -r old new ref; do
  case "$ref" in
    *hold*) sess=$(awk '{print $4}' /proc/$PPID/stat); echo "$sess" > "$(dirname "$0")/srv/session.pid.tmp"
            mv "$(dirname "$0")/srv/session.pid.tmp" "$(dirname "$0")/srv/session.pid"
            read -r _ < "$(dirname "$0")/srv/release";;
  esac
done
exit 0
EOF
chmod 755 gate
chown -R nobody:nogroup srv
chmod 700 state
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > cfg.json <<EOF
{ "listen": { "address": "127.0.0.1", "port": $PORT }, "repo_root": "srv/repos", "state_dir": "state",
  "hooks_dir": "hooks", "home": "srv/home", "keys_file": "srv/keysdir/keys", "pre_receive_hook": "gate",
  "bpgate": "$BPG_BUILD_ROOT/hooks/bpgate", "audit_log": "srv/auditlog", "server_signing_key": "srv/audit.skey",
  "session_user": "nobody", "limits": { "auth_timeout": 60, "idle_timeout": 120 } }
EOF
"$BIN" --config cfg.json > daemon.log 2>&1 &
DPID=$!
for _ in $(seq 200); do grep -q 'event=listen' daemon.log && break; kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
if ! grep -q 'event=listen' daemon.log; then fail "bpgated did not start"; cat daemon.log; finish; exit 1; fi
ok "bpgated starts as root with session_user nobody"

SSHOPTS="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
sshas() { local who=$1; shift; timeout 60 ssh $SSHOPTS -p "$PORT" -i "$T/$who" git@127.0.0.1 "$@"; }
gitas() { local who=$1; shift; GIT_SSH_COMMAND="ssh $SSHOPTS -i $T/$who" timeout 120 git "$@"; }
URL="ssh://git@127.0.0.1:$PORT"
rgit() { git -c safe.directory='*' --git-dir=srv/repos/team/app.git "$@"; }   # the repos are nobody's
AKEY=$T/state/approval_ed25519_key
HKEY=$T/state/ssh_host_ed25519_key

# ---- the approval key ---------------------------------------------------------------------
if [ -f "$AKEY" ] && [ "$(stat -c %a "$AKEY")" = 600 ] && [ "$(stat -c %u "$AKEY")" = 0 ]; then
  ok "approval key generated at first start: 0600, owned by the daemon's user"
else fail "approval key missing or not 0600 root: $(stat -c '%a %U' "$AKEY" 2>&1)"; fi
if [ "$(ssh-keygen -y -f "$AKEY" | cut -d' ' -f1,2)" = "$(cut -d' ' -f1,2 "$AKEY.pub" 2>/dev/null)" ]; then
  ok "its public half is listed beside it ($AKEY.pub)"; else fail "approval key .pub missing or wrong"; fi
if [ "$(ssh-keygen -y -f "$AKEY" | cut -d' ' -f2)" != "$(ssh-keygen -y -f "$HKEY" | cut -d' ' -f2)" ]; then
  ok "the approval key is not the host key"; else fail "approval key equals the host key"; fi

# ---- admin actions fail closed without an audit entry --------------------------------------
expect_exit 0 "repo create with a working audit log" -- sshas grace repo create team/app
[ -d srv/auditlog ] && ok "the audit log was written" || fail "no audit log after repo create"
mv srv/auditlog srv/auditlog.off
: > srv/auditlog            # a file where the log directory should be: every append fails (even as root)
cp srv/keysdir/keys keys.before
newkey=$(ssh-keygen -q -t ed25519 -N '' -f "$T/eve" && cut -d' ' -f1,2 eve.pub)
expect_exit 1 "user add refused when the audit entry cannot be written" -- sshas grace user add eve $newkey
expect_grep "$T/err" "the audit log cannot record it" "user add says why (the audit log)"
expect_grep "$T/err" "nothing was changed" "user add says nothing was changed"
expect_exit 1 "user remove refused when the audit entry cannot be written" -- sshas grace user remove bob
expect_exit 1 "repo create refused when the audit entry cannot be written" -- sshas grace repo create team/other
expect_exit 1 "...also under a new parent folder" -- sshas grace repo create newteam/app
cmp -s keys.before srv/keysdir/keys && ok "the keys file is unchanged" || fail "the keys file changed without an audit entry"
[ ! -e srv/repos/team/other.git ] && ok "no repository was created" || fail "team/other.git exists without an audit entry"
[ ! -e srv/repos/newteam ] && ok "no parent folder was created" || fail "newteam/ exists without an audit entry"
expect_exit 0 "bob can still log in (not removed)" -- sshas bob whoami
expect_exit 255 "eve cannot log in (not added)" -- timeout 60 ssh $SSHOPTS -p "$PORT" -i "$T/eve" git@127.0.0.1 whoami
rm srv/auditlog; mv srv/auditlog.off srv/auditlog
expect_exit 0 "user add works again once the audit log can record it" -- sshas grace user add eve $newkey
grep -rqs '"user.add"' srv/auditlog && ok "...and it is in the audit log" || fail "user.add not in the audit log"
expect_exit 0 "user remove works again" -- sshas grace user remove eve

# ---- a policy on the policy branch, pushed through the daemon ------------------------------
pack=$BPG_SOURCE_ROOT/policy/packs/regulated
gitas alice clone -q "$URL/team/app.git" work 2>/dev/null || git init -q work
cd work
git config user.name alice; git config user.email alice@example.com
mkdir .bpgate
cp -r "$pack/policy.json" "$pack/contracts" "$pack/tests" .bpgate/
{ echo "carol namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 ../carol.pub)"
  echo "* namespaces=\"bpgate-approval@v1\" $(cut -d' ' -f1,2 "$AKEY.pub")"; } > .bpgate/allowed_signers
echo hello > README; git add -A; git commit -qm "policy"
gitas alice push -q "$URL/team/app.git" HEAD:refs/heads/main > ../out 2>&1 && ok "policy pushed to main" ||
  { fail "push of the policy failed"; cat ../out; }
cd "$T"

# ---- approve: roles from the engine, signature from the monitor ----------------------------
expect_exit 1 "approve by a principal without an approving role is refused" -- sshas bob approve team/app main --for prod
expect_grep "$T/err" "refused: 'bob' has no role whose approvals count for prod (roles: reviewers, cab, admins)" \
  "the refusal names the roles that would do"
rgit for-each-ref refs/bpgate/approvals/ > refs.txt
[ ! -s refs.txt ] && ok "no approval was recorded for bob" || fail "an approval was recorded for bob: $(cat refs.txt)"
expect_exit 1 "approve for an environment the policy does not know is refused" -- sshas carol approve team/app main --for qa
expect_grep "$T/err" "the policy has no environment 'qa'" "...with the reason"
expect_exit 0 "approve by a reviewer" -- sshas carol approve team/app main --for prod
expect_grep "$T/out" "for prod as carol" "the approval names the authenticated principal"
ref=$(rgit for-each-ref --format='%(refname)' refs/bpgate/approvals/prod/)
rgit show "$ref:approval.json" > stmt
rgit show "$ref:approval.json.sig" > stmt.sig
echo "carol $(cut -d' ' -f1,2 "$AKEY.pub")" > by_approval_key
echo "carol $(ssh-keygen -y -f "$HKEY" | cut -d' ' -f1,2)" > by_host_key
expect_exit 0 "the approval verifies with the approval key (ssh-keygen -Y verify)" -- \
  ssh-keygen -Y verify -f by_approval_key -I carol -n bpgate-approval@v1 -s stmt.sig < stmt
if ssh-keygen -Y verify -f by_host_key -I carol -n bpgate-approval@v1 -s stmt.sig < stmt > /dev/null 2>&1; then
  fail "the approval verifies with the host key"; else ok "...and not with the host key"; fi
expect_exit 0 "status over ssh" -- sshas bob status team/app main
expect_grep "$T/out" "approvals: 1 verified: carol" "status verifies it against the policy branch's allowed_signers"

cat > seedscan.py <<'PY'
import base64, struct, sys
text = open(sys.argv[1]).read().split("\n")
blob = base64.b64decode("".join(l for l in text if l and not l.startswith("-----")))
def s(b, o):
    n = struct.unpack(">I", b[o:o + 4])[0]; return b[o + 4:o + 4 + n], o + 4 + n
o = len(b"openssh-key-v1\0")
_, o = s(blob, o); _, o = s(blob, o); _, o = s(blob, o); o += 4
_, o = s(blob, o); priv, o = s(blob, o)
p = 8; _, p = s(priv, p); _, p = s(priv, p); sk, p = s(priv, p)
seed = sk[:32]
assert len(seed) == 32
pid = sys.argv[2]; found = []; scanned = 0; skipped = 0
CHUNK = 1 << 22
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        rng, perms = line.split()[:2]
        if perms[0] != "r": continue
        a, b = (int(x, 16) for x in rng.split("-"))
        if b - a > (1 << 28):      # ASan's shadow and reserved spaces: terabytes of nothing
            skipped += 1; continue
        prev = b""
        for off in range(a, b, CHUNK):
            try:
                mem.seek(off); data = mem.read(min(CHUNK, b - off))
            except (OSError, ValueError):
                break
            scanned += len(data)
            if seed in prev[-31:] + data: found.append(line.strip()); break
            prev = data
print(f"scanned {scanned} bytes, skipped {skipped} huge mappings, found in: {found}", file=sys.stderr)
sys.exit(1 if found or scanned == 0 else 0)
PY

# ---- a session, held open mid-push: what it can reach ---------------------------------------
cd work; git checkout -q -b hold; echo more >> README; git commit -qam more
(GIT_SSH_COMMAND="ssh $SSHOPTS -i $T/alice" timeout 300 git push -q "$URL/team/app.git" hold > ../push.out 2>&1; echo $? > ../push.rc) &
PUSHPID=$!
cd "$T"
for _ in $(seq 1200); do [ -s srv/session.pid ] && break; sleep 0.1; done
SESS=$(cat srv/session.pid 2>/dev/null || echo 0)
if [ "$SESS" != 0 ] && [ "$(readlink /proc/$SESS/exe)" = "$(readlink -f "$BIN")" ]; then
  ok "the push's session process is a bpgated child (pid $SESS)"
  uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$SESS/status)
  [ "$uids" = "65534 65534 65534 65534" ] && ok "the session runs as nobody (real, effective, saved, fs)" ||
    fail "session uids: $uids"
  held=$(for f in /proc/$SESS/fd/*; do readlink "$f"; done | grep -F -e "$AKEY" -e "$HKEY" || true)
  [ -z "$held" ] && ok "the session holds no fd on either key" || fail "the session holds: $held"
  if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$AKEY" > /dev/null 2>&1; then
    fail "the session's uid can read the approval key"; else ok "the session's uid cannot open the approval key"; fi
  if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$HKEY" > /dev/null 2>&1; then
    fail "the session's uid can read the host key"; else ok "the session's uid cannot open the host key"; fi
  # The approval key's 32-byte seed, looked for in every readable mapping of the session.
  if python3 - "$AKEY" "$SESS" < seedscan.py
  then ok "no byte string of the approval key's seed in the session's memory"
  else fail "the approval key's seed is in the session's memory (or it could not be read)"; fi
  # The same scan finds the seed in the monitor, which holds it: the scan can see it.
  if python3 - "$AKEY" "$DPID" < seedscan.py; then fail "the scan does not find the seed in the monitor either"
  else ok "the same scan finds the seed in the monitor (it is there, and only there)"; fi
else
  fail "no session process found for the held push (pid '$SESS')"
fi
echo go > srv/release
wait "$PUSHPID"
[ "$(cat push.rc 2>/dev/null)" = 0 ] && ok "the held push then completes" || { fail "held push: $(cat push.rc 2>/dev/null)"; cat push.out; }
if grep -q 'event=privsep.failed\|event=startup.failed' daemon.log; then fail "privsep errors in the log"; grep privsep daemon.log; fi
finish
