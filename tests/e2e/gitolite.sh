# End-to-end: bpgate-receive as the pre-receive (and post-receive) hook of a
# gitolite3 repository, installed the gitolite way (LOCAL_CODE +
# repo-specific-hooks, settings through `config bpgate.*` in gitolite.conf),
# the pusher taken from GL_USER (--user-var GL_USER), pushing with stock git
# over a real sshd on 127.0.0.1 that this test starts on a free port and
# stops. The core cases of receive.sh: accepted push, refused pushes with
# remote: lines naming the rule, protected branch deletion refused, unknown
# pusher refused, and a signed, approved release to prod with its record.
#
# As root, gitolite and sshd's session run as a dedicated system user
# (created if missing, removed again if this test created it); otherwise as
# the current user. Exits 77 (skipped) when gitolite3 or sshd is missing or
# sshd cannot be started here.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, inside the change window
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
GLSHELL=/usr/share/gitolite3/gitolite-shell
skip() { echo "SKIP: $*"; exit 77; }
command -v gitolite >/dev/null 2>&1 && [ -x "$GLSHELL" ] || skip "gitolite3 is not installed"
[ -x "$SSHD" ] || skip "sshd is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 (to find a free port) is not installed"

GLUSER=$(id -un); CREATED_USER=""; SSHD_PID=""
cleanup() {
  if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; wait "$SSHD_PID" 2>/dev/null || true; fi
  if [ -n "$CREATED_USER" ]; then userdel "$CREATED_USER" 2>/dev/null || true; fi
  rm -rf "$E2E_TMP"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ]; then
  GLUSER=bpgate-gitolite
  if ! id "$GLUSER" >/dev/null 2>&1; then
    useradd --system --home-dir /nonexistent --shell /bin/sh "$GLUSER" || skip "cannot create the user $GLUSER"
    CREATED_USER=$GLUSER
  fi
  usermod -p '*' "$GLUSER"  # not locked ('!'): sshd without PAM refuses locked accounts
  chmod 755 "$E2E_TMP"
fi
asg() { if [ "$GLUSER" = "$(id -un)" ]; then "$@"; else runuser -u "$GLUSER" -- "$@"; fi; }

keys="$E2E_TMP/keys"; GLH="$E2E_TMP/gl"; work="$E2E_TMP/work"
mkdir -p "$keys" "$GLH"
for p in admin alice bob carol erin mallory; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
: > "$keys/allowed_signers"
for p in carol erin; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done
: > "$keys/users"   # gitolite user names and commit e-mails -> principals; mallory is not mapped
for p in alice bob carol erin; do echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"; done
chmod 755 "$keys"; chmod 644 "$keys"/*.pub "$keys/users" "$keys/allowed_signers"
[ "$GLUSER" = "$(id -un)" ] || chown "$GLUSER" "$GLH"

# --- gitolite, the gitolite way ------------------------------------------------------
asg env HOME="$GLH" gitolite setup -pk "$keys/admin.pub" >/dev/null 2>&1 || skip "gitolite setup failed"
rc="$GLH/.gitolite.rc"
asg sed -i -e 's|# LOCAL_CODE *=> *"$ENV{HOME}/local",|LOCAL_CODE => "$ENV{HOME}/local",|' \
  -e "s|# 'repo-specific-hooks',|'repo-specific-hooks',|" \
  -e "s|GIT_CONFIG_KEYS *=> *'',|GIT_CONFIG_KEYS => 'bpgate\\\\..* receive\\\\..* gpg\\\\.ssh\\\\..*',|" "$rc"
grep -q "^ *LOCAL_CODE => " "$rc" && grep -q "^ *'repo-specific-hooks'," "$rc" && ok "rc: LOCAL_CODE and repo-specific-hooks enabled" \
  || fail "rc not edited"
asg mkdir -p "$GLH/local/hooks/repo-specific"
printf '#!/bin/sh\nexec %s --user-var GL_USER "$@"\n' "$receive" | asg tee "$GLH/local/hooks/repo-specific/bpgate-pre" >/dev/null
printf '#!/bin/sh\nexec %s --post-receive "$@"\n' "$receive" | asg tee "$GLH/local/hooks/repo-specific/bpgate-post" >/dev/null
asg chmod 755 "$GLH/local/hooks/repo-specific/bpgate-pre" "$GLH/local/hooks/repo-specific/bpgate-post"
asg tee -a "$GLH/.gitolite/conf/gitolite.conf" >/dev/null <<EOF

repo scenarios
    RW+ = alice bob carol erin mallory
    option hook.pre-receive = bpgate-pre
    option hook.post-receive = bpgate-post
    config bpgate.users = $keys/users
    config bpgate.repository = acme/make-scenarios
    config bpgate.policyRef = refs/heads/main
    config gpg.ssh.allowedSignersFile = $keys/allowed_signers
    config receive.advertisePushOptions = true
    config receive.certNonceSeed = gitolite-e2e-seed
EOF
asg env HOME="$GLH" gitolite compile >/dev/null 2>"$E2E_TMP/gl.err" && asg env HOME="$GLH" gitolite setup >/dev/null 2>>"$E2E_TMP/gl.err" \
  && ok "gitolite compiled the configuration" || { fail "gitolite compile"; cat "$E2E_TMP/gl.err"; }
srv="$GLH/repositories/scenarios.git"
[ -L "$srv/hooks/pre-receive" ] && [ -L "$srv/hooks/pre-receive.h00-bpgate-pre" ] \
  && ok "repo-specific-hooks installed bpgate-receive as pre-receive" || fail "hooks not installed: $(ls "$srv/hooks")"
asg git --git-dir="$srv" config bpgate.bootstrap true   # only for the first push that creates the policy branch
asg git --git-dir="$srv" config bpgate.bootstrapPrincipal alice   # by alice only

# --- sshd on a free port -------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$E2E_TMP/hostkey"
: > "$E2E_TMP/authorized_keys"
for p in admin alice bob carol erin mallory; do
  # BPGATE_TIME: the server's clock fixed for reproducible windows and ages (an administrator's setting)
  echo "command=\"env HOME=$GLH BPGATE_TIME=$BPGATE_TIME $GLSHELL $p\",restrict $(cat "$keys/$p.pub")" >> "$E2E_TMP/authorized_keys"
done
chmod 644 "$E2E_TMP/authorized_keys"
cat > "$E2E_TMP/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $E2E_TMP/hostkey
AuthorizedKeysFile $E2E_TMP/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
StrictModes no
UsePAM no
AllowUsers $GLUSER
PidFile none
EOF
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
"$SSHD" -D -e -f "$E2E_TMP/sshd_config" 2> "$E2E_TMP/sshd.log" & SSHD_PID=$!
up=no
while :; do  # until it listens or exits (never a fixed delay)
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && { up=yes; break; }
  kill -0 "$SSHD_PID" 2>/dev/null || break
  sleep 0.05
done
[ "$up" = yes ] || skip "sshd cannot be started here: $(head -3 "$E2E_TMP/sshd.log" | tr '\n' ' ')"
ok "sshd listens on 127.0.0.1:$port"
url="ssh://$GLUSER@127.0.0.1:$port/scenarios"
sshopts="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR"

# --- the governed repository --------------------------------------------------------------
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
git add -A && git commit -qm "Govern this repository"
git remote add origin "$url"
git branch stage; git branch dev

push() { # push <user> <expected exit> <what> [git push args...]: over ssh with that user's key
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $sshopts -i $keys/$user" git push "$@"
}
spush() { # spush <user> <want> <what> args...: signed push (push certificate) with that user's key
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $sshopts -i $keys/$user" \
    git -c gpg.format=ssh -c user.signingkey="$keys/$user.pub" push --signed "$@"
}
as() { local p=$1; shift
  GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"; }
change() { echo "$3" >> "$2"; git add -A; as "$1" git commit -qm "$4"; }

push alice 0 "bootstrap: the first push creates the policy branch" origin main stage dev
expect_grep "$E2E_TMP/err" "remote: warning: bpgate:" "the bootstrap acceptance is loud, as remote: lines"
asg git --git-dir="$srv" config --unset bpgate.bootstrap

# --- accepted and refused ---------------------------------------------------------------------
git checkout -q dev
change alice scenarios/weekly-digest/README.md "Sent on Mondays" "digest: wording"
push alice 0 "a builder's push to dev is accepted" origin dev
expect_grep "$E2E_TMP/err" "remote: bpgate: accepted 1 ref update(s) from alice" "one-line summary as a remote: line"
push mallory 1 "a gitolite user without a principal is refused" origin dev:refs/heads/feature
expect_grep "$E2E_TMP/err" "remote: error: bpgate: who is pushing: unknown pusher 'mallory' (from GL_USER)" "unknown pusher named, from GL_USER"
echo '{"flow": [' > scenarios/weekly-digest/main.blueprint.json
git add -A; as alice git commit -qm "digest: broken" --no-verify
push alice 1 "a blueprint that does not parse is refused on the server" origin dev
expect_grep "$E2E_TMP/err" "remote: error: refs/heads/dev [blueprint-parses]" "remote: line names the ref and the rule"
expect_grep "$E2E_TMP/err" "remote: error: bpgate: push refused:" "refusal summary"
git reset -q --hard HEAD~1
git branch -f stage dev
push bob 0 "stage takes what dev had" origin stage
push bob 1 "deleting a protected branch is refused (gitolite's RW+ would allow it)" origin :stage
expect_grep "$E2E_TMP/err" "[protected-branch] refs/heads/stage is the protected branch of environment stage and cannot be deleted" "deletion named"
asg git --git-dir="$srv" rev-parse -q --verify refs/heads/stage >/dev/null && ok "stage still exists" || fail "stage was deleted"
git branch -f main stage
spush bob 1 "a builder cannot push to prod" origin main
expect_grep "$E2E_TMP/err" "[protected-branch]" "protected-branch named"
spush erin 1 "prod without an approval is refused" origin main
expect_grep "$E2E_TMP/err" "remote: error: refs/heads/main [approvals] prod requires 1 approval(s)" "approvals named"

# --- approval over gitolite, signed release, record ----------------------------------------------
expect_exit 0 "carol approves the tree for prod (pushed through gitolite)" -- \
  env GIT_SSH_COMMAND="ssh $sshopts -i $keys/carol" bpgate approve main --for prod -f "$keys/carol"
spush erin 0 "the releaser's signed push of the approved tree is accepted" origin main
asg git --git-dir="$srv" cat-file blob "refs/bpgate/releases/prod/$(git rev-parse main)" > "$E2E_TMP/rec" 2>/dev/null || true
expect_grep "$E2E_TMP/rec" '"kind":"release"' "post-receive wrote the release record"
expect_grep "$E2E_TMP/rec" '"pusher":"erin"' "the record names the releaser (GL_USER mapped)"
finish
