#!/usr/bin/env bash
# The main job on the embedded default: bpgated on 127.0.0.1 with the shipped
# "regulated" pack and demo principals, and the real flow with the stock git
# and OpenSSH clients: a builder's commits judged by the hooks, pushes to dev
# and stage, a direct push to prod refused with reasons, reviewers approving
# over ssh, the releaser promoting to prod with a signed push, the audit log
# verified. Usage: install/demo.sh BUILDDIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$build/hooks:$build/server:$PATH" BPGATE_PACKS="$src/policy/packs"
pack="$src/policy/packs/regulated"
demo=$(mktemp -d "${TMPDIR:-/tmp}/bpgate-demo.XXXXXX")
export HOME="$demo/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global init.defaultBranch main
daemon_pid=
make_pid=
cleanup() { for p in $daemon_pid $make_pid; do kill "$p" 2>/dev/null; done; wait 2>/dev/null || true; }
trap cleanup EXIT

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b=$'\033[1m'; r=$'\033[0m'; else b=; r=; fi
say() { printf '\n%s== %s%s\n' "$b" "$*" "$r"; }
show() { printf '$ %s\n' "$*"; }

# --- the server ----------------------------------------------------------------
say "bpgated on 127.0.0.1: principals, their SSH keys, an audit log"
keys="$demo/keys"; srv="$demo/server"; mkdir -p "$keys" "$srv/repos" "$srv/state"
people="alice bob carol dave erin frank grace"
for p in $people; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"; done
for p in $people; do
  opt=; [ "$p" = grace ] && opt=admin
  echo "$p $opt $(cut -d' ' -f1,2 "$keys/$p.pub")"
done > "$srv/principals"
bpgate audit keygen demo.example/audit --out "$srv/audit" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$srv/bpgated.json" <<J
{ "listen": {"address": "127.0.0.1", "port": $port}, "repo_root": "repos", "state_dir": "state",
  "keys_file": "principals", "audit_log": "auditlog", "server_signing_key": "audit.skey",
  "pre_receive_hook": "$build/server/bpgate-receive", "bpgate": "$build/hooks/bpgate",
  "path": "$build/hooks:$build/server:/usr/local/bin:/usr/bin:/bin", "log_level": "info" }
J
bpgated --config "$srv/bpgated.json" --check-config
bpgated --config "$srv/bpgated.json" 2> "$srv/bpgated.log" &
daemon_pid=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "listening on 127.0.0.1:$port (log: $srv/bpgated.log)"

sshcmd() { echo "ssh -p $port -i $keys/$1 -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"; }
on() { # on PERSON ssh-command...: one of our commands over the same SSH server
  local p=$1; shift; show "ssh $p@server $*"; $(sshcmd "$p") git@127.0.0.1 "$@"
}
as() { # as PERSON git ...: git with that person's identity and key
  local p=$1; shift
  GIT_SSH_COMMAND=$(sshcmd "$p") GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com \
    GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com git "$@"
}

on grace whoami
on grace repo create acme/scenarios
# The server admin maps commit e-mails to principals and trusts the signers for signed pushes.
repo="$srv/repos/acme/scenarios.git"
for p in $people; do echo "$p $p"; echo "$p@example.com $p"; done > "$srv/users"
{ for p in carol dave erin frank; do echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")"; done
  # approvals made over ssh (`approve`) are signed by the daemon's approval key (held by its
  # monitor process, never by a session) on the caller's behalf
  echo "* namespaces=\"bpgate-approval@v1\" $(cut -d' ' -f1,2 "$srv/state/approval_ed25519_key.pub")"
} > "$srv/allowed_signers"
git --git-dir="$repo" config bpgate.users "$srv/users"
git --git-dir="$repo" config gpg.ssh.allowedSignersFile "$srv/allowed_signers"
git --git-dir="$repo" config bpgate.makeTokenFile "$srv/make-token"

# --- Make (a stand-in of Make's API on loopback: this demo cannot reach make.com) ------
say "A stand-in of Make's API with the dev, stage and prod teams (tests/make/standin.py)"
mk="$demo/make"; mkdir -p "$mk"
make_token=3c9a1f5e-7b2d-4e8f-a061-5d4c3b2a1908; editor_token=9e8d7c6b-5a49-4382-8716-0f1e2d3c4b5a
python3 - "$mk/seed.json" "$make_token" "$editor_token" <<'P'
import json, sys
bp = lambda url: {"name": "Weekly KPI digest", "flow": [
  {"id": 1, "module": "http:ActionSendData", "version": 3, "parameters": {},
   "mapper": {"url": url, "method": "get"}}], "metadata": {"version": 1, "scenario": {"dlq": True},
   "designer": {"orphans": []}, "zone": "eu1.make.com"}}
json.dump({"organizations": [{"id": 1, "name": "Acme", "apiLimit": 240}],
  "teams": [{"id": t, "organizationId": 1, "name": n} for t, n in ((10, "dev"), (20, "stage"), (30, "prod"))],
  "users": [{"id": 5, "name": "bpgate on the server", "email": "gate@example.com"},
            {"id": 6, "name": "Someone in Make's editor", "email": "someone@example.com"}],
  "tokens": {sys.argv[2]: {"user": 5, "scopes": ["scenarios:read", "scenarios:write"]},
             sys.argv[3]: {"user": 6, "scopes": ["scenarios:read", "scenarios:write"]}},
  "scenarios": [{"id": i, "teamId": t, "name": "Weekly KPI digest", "isActive": True,
                 "blueprint": bp("https://old-sheet.internal.example/kpi")}
                for i, t in ((104, 10), (204, 20), (304, 30))]}, open(sys.argv[1], "w"), indent=1)
P
python3 "$src/tests/make/standin.py" --seed "$mk/seed.json" --port-file "$mk/port" 2> "$mk/standin.log" &
make_pid=$!
for _ in $(seq 1 100); do [ -s "$mk/port" ] && break; sleep 0.1; done
make_url="http://127.0.0.1:$(cat "$mk/port")/api/v2"
echo "Make's API stand-in at $make_url; its prod team is 30"
# The token lives on the server only, in a 0600 file the repository's git config names.
( umask 077; echo "$make_token" > "$srv/make-token" )

# --- the builder ------------------------------------------------------------------
say "Alice (builder) governs the repository with the shipped pack (bpgate init)"
cd "$demo"; as alice clone -q "ssh://git@127.0.0.1:$port/acme/scenarios.git" work 2>/dev/null; cd work
as alice config user.name alice; as alice config user.email alice@example.com
# the id `repo create` printed (also the server's git config bpgate.repositoryId): approvals bind to it
rid=$(git --git-dir="$repo" config bpgate.repositoryId)
show "bpgate init --repository-id $rid"; bpgate init --repository-id "$rid"
cp "$srv/allowed_signers" .bpgate/allowed_signers
# The demo runs the change-window rule in warn mode so that it works at any hour.
# Each environment's Make team is reached through the stand-in, and prod deploys itself on
# every accepted push (make.deploy "auto").
python3 - "$make_url" <<'P'
import json, sys
p = json.load(open(".bpgate/policy.json"))
p["rules"]["change-window"]["mode"] = "warn"
for env in p["environments"].values():
    env["make"]["api_url"] = sys.argv[1]
p["environments"]["prod"]["make"]["deploy"] = "auto"
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
mkdir -p health
cat > health/stage.json <<J
{"measured_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "scenarios": {
 "weekly-digest": {"success_rate": 0.998, "error_rate": 0.002, "p95_ms": 850}}}
J
as alice add -A && as alice commit -qm "Govern this repository with the regulated pack"
show "git push origin main dev stage   # grace, who created the repository, pushes the policy branch first (bootstrap)"
as alice branch dev; as alice branch stage
as grace push -q origin main dev stage 2>&1 | sed -n 's/^remote: //p' | grep -v '^$' || true
git --git-dir="$repo" config --unset bpgate.bootstrap

say "A change with personal data in a fixture is stopped on the laptop (pre-commit)"
as alice checkout -q dev
mkdir -p scenarios/weekly-digest/fixtures
cp "$src/tests/e2e/data/weekly-digest.blueprint.json" scenarios/weekly-digest/main.blueprint.json 2>/dev/null || \
python3 - <<'P'
import json
bp = {"name": "Weekly KPI digest", "flow": [
  {"id": 1, "module": "http:ActionSendData", "version": 3, "parameters": {},
   "mapper": {"url": "https://kpi.internal.example/weekly", "method": "get"}},
  {"id": 2, "module": "json:ParseJSON", "version": 1, "parameters": {}, "mapper": {"json": "{{1.data}}"}},
  {"id": 3, "module": "util:TextAggregator", "version": 1, "parameters": {"feeder": 2},
   "mapper": {"value": "{{2.kpi}}: {{2.value}}"}}],
  "metadata": {"instant": False, "version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3,
   "autoCommit": True, "autoCommitTriggerLast": True, "sequential": False, "confidential": False,
   "dataloss": False, "dlq": True, "freshVariables": False}, "designer": {"orphans": []}, "zone": "eu1.make.com"}}
json.dump(bp, open("scenarios/weekly-digest/main.blueprint.json", "w"), indent=4)
P
echo '{"recipients": [{"name": "Jane Roe", "email": "jane.roe@gmail.com"}]}' > scenarios/weekly-digest/fixtures/recipients.json
as alice add -A
show 'git commit -m "Weekly KPI digest"'
as alice commit -qm "Weekly KPI digest" || true

say "With synthetic data and the change template, the commit is accepted"
echo '{"recipients": [{"name": "Test User", "email": "test.user@example.com"}]}' > scenarios/weekly-digest/fixtures/recipients.json
as alice add -A
cat > "$demo/msg" <<'M'
Weekly KPI digest

Purpose: the Monday KPI digest reads the KPI service instead of a spreadsheet
Risk: low
Test-Plan: ran in dev against the KPI service, compared with last week's sheet
Rollback: revert this commit; the previous digest keeps running
M
show "git commit -F msg"
as alice commit -q -F "$demo/msg" && as alice log --oneline -1

say "Alice pushes to dev and promotes to stage (the server gate judges each push)"
show "git push origin dev"; as alice push -q origin dev 2>&1 | sed -n 's/^remote: //p'
as alice branch -f stage dev
show "git push origin stage"; as alice push -q origin stage 2>&1 | sed -n 's/^remote: //p'

say "A direct push to prod is refused, with the reasons"
as alice checkout -q -b hotfix main
mkdir -p scenarios/weekly-digest; echo "quick fix" >> scenarios/weekly-digest/NOTES.md
as alice add -A; as alice commit -q --no-verify -m "quick fix straight to prod"
show "git push origin hotfix:main"
as alice push origin hotfix:main 2>&1 | sed -n 's/^remote: //p' | grep -E 'error|fix:|refused' | head -12 || true
as alice checkout -q dev

say "Two reviewers approve the stage tree for prod, over ssh"
rev=$(git rev-parse stage)
on carol approve acme/scenarios "$rev" --for prod
on dave approve acme/scenarios "$rev" --for prod
on erin status acme/scenarios "$rev"

say "Erin (releaser) promotes stage to prod with a signed push"
as erin fetch -q origin
as erin branch -f --no-track main origin/stage
show "git push --signed origin main"
GIT_SSH_COMMAND=$(sshcmd erin) git -c gpg.format=ssh -c user.signingkey="$keys/erin.pub" \
  push --signed -q origin main 2>&1 | sed -n 's/^remote: //p'

say "Erin deploys stage to Make over ssh (stage deploys by hand: make.deploy \"manual\")"
on erin deploy acme/scenarios --env stage

say "The server deployed the release to Make's prod team on the push (make.deploy \"auto\")"
on erin status acme/scenarios main | sed -n '/^make/,$p' | grep -v "^the gate decides\|^duties" || true

say "Someone 'quickly fixes' the prod scenario in Make's editor; drift catches it"
ctl() { python3 "$src/tests/make/ctl.py" --port-file "$mk/port" --token "$editor_token" "$@"; }
ctl call GET scenarios/304/blueprint | python3 -c '
import json, sys
bp = json.load(sys.stdin)["response"]["blueprint"]
bp["flow"][0]["mapper"]["url"] = "https://quick-fix.internal.example/kpi"
print(json.dumps({"blueprint": json.dumps(bp)}))' > "$mk/edit.json"
ctl call PATCH "scenarios/304?confirmed=true" "$(cat "$mk/edit.json")" >/dev/null
on erin drift acme/scenarios --env prod || true

say "An instant disable: refused to a reviewer, done by the releaser (emergency role)"
on carol disable acme/scenarios weekly-digest --env prod --reason "INC-42: digest sent twice" || true
on erin disable acme/scenarios weekly-digest --env prod --reason "INC-42: digest sent twice"
on erin pending acme/scenarios | sed -n '/^disabled/,$p' || true

say "The audit log verifies against its signed checkpoint"
on grace audit verify acme/scenarios
echo
echo "Done. The demo lives in $demo (server: $srv, working copy: $demo/work)."
