#!/usr/bin/env bash
# End-to-end: the gate's controls against insiders (principals the daemon
# knows, pushing for real with `git push` over SSH to bpgated, whose pre- and
# post-receive hooks run the real bpgate-receive with the daemon's audit log).
#
#  3. the bootstrap window: between `repo create` and the admin's first push,
#     a principal without a role cannot push her own policy or plant a
#     break-glass record; the admin's bootstrap push takes only the policy
#     branch (and branches at its commit), no refs/bpgate/ records; with
#     bootstrap left on, a policy branch whose .bpgate/ cannot be read, or that
#     has none, is refused, not bootstrapped again.
#  4. break-glass records: one commit pushed to main and stage together keeps
#     BOTH records (the prod one was lost: same spool file), so five days later
#     break-glass-overdue refuses the next promotion of the scenario, also when
#     the record has been damaged (it was skipped) and after 10,001 releases
#     (only the first 10,000 release records were read: the gate now reads its
#     own index of break-glass records, which post-receive writes and, for
#     older records, builds once); two break-glass options in one push are
#     refused.
#  8. a forged old id (a raw receive-pack session over the same SSH server) is
#     refused, naming the ref, and never listed as a release; a release the
#     gate accepted but git did not apply (an update hook said no) is judged in
#     the audit log, and `audit export` lists only what post-receive confirmed
#     (bpgate-applied); a spooled record damaged before post-receive is named
#     and kept, not dropped in silence.
#
# The gate reads its clock from BPGATE_TIME: a wrapper around bpgate-receive
# (the daemon's pre_receive_hook) sets it from a file the test writes, so the
# "five days later" is exact. Rules that need keys and signatures the test is
# not about (approvals, signed-push) are off in the test's policy.
source "$(dirname "$0")/lib.sh"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
daemon="$BPG_BUILD_ROOT/server/bpgated"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
[ -x "$receive" ] && [ -x "$daemon" ] || { echo "SKIP: bpgate-receive or bpgated not built"; exit 77; }
command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v python3 >/dev/null ||
  { echo "SKIP: needs ssh, ssh-keygen and python3"; exit 77; }

T="$E2E_TMP"; D="$T/d"; mkdir -p "$D/repos" "$D/state"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$E2E_TMP"
}
trap cleanup EXIT

# --- the daemon: principals, audit log, the gate behind a clock wrapper ---------
people="grace alice bob erin mallory"
for p in $people; do ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$D/$p"; done
for p in $people; do
  opt=; [ "$p" = grace ] && opt=admin
  echo "$p $opt $(cut -d' ' -f1,2 "$D/$p.pub")"
done > "$D/keys"
bpgate audit keygen example.com/audit --out "$D/audit" >/dev/null
echo 2025-06-04T10:30:00Z > "$D/clock"   # a Wednesday, 12:30 in Europe/Berlin
cat > "$D/gate" <<EOF
#!/bin/sh
# the server admin's clock for the gate (tests only): BPGATE_TIME
BPGATE_TIME=\$(cat "$D/clock"); export BPGATE_TIME
# test-only flags for the gate, when the test writes them (BPGATE_TEST_FLAGS)
if [ -f "$D/flags" ]; then BPGATE_TEST_FLAGS=\$(cat "$D/flags"); export BPGATE_TEST_FLAGS; fi
exec "$receive" "\$@"
EOF
chmod +x "$D/gate"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/cfg.json" <<EOF
{ "listen": { "address": "127.0.0.1", "port": $port }, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$D/gate", "audit_log": "auditlog", "server_signing_key": "audit.skey",
  "path": "$BPG_BUILD_ROOT/hooks:$BPG_BUILD_ROOT/server:/usr/local/bin:/usr/bin:/bin",
  "limits": { "idle_timeout": 60 } }
EOF
"$daemon" --config "$D/cfg.json" > "$D/log" 2>&1 & PIDS+=($!)
for _ in $(seq 200); do grep -q 'event=listen' "$D/log" && break; sleep 0.05; done
grep -q 'event=listen' "$D/log" || { fail "bpgated did not start"; cat "$D/log"; finish; exit 1; }

SSHO="-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10"
sshas() { local who=$1; shift; timeout 60 ssh $SSHO -p "$port" -i "$D/$who" git@127.0.0.1 "$@"; }
# push_as WHO WANT WHAT git-push-args...: a real push over SSH with WHO's key
push_as() {
  local who=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env GIT_SSH_COMMAND="ssh $SSHO -i $D/$who" timeout 120 git push "$@"
}
# section 3 works on its own repository (acme/boot), 4 and 8 on acme/app
url="ssh://git@127.0.0.1:$port/acme/boot.git"
srv="$D/repos/acme/boot.git"
on_server() { git --git-dir="$srv" "$@"; }
has_ref() { git --git-dir="$srv" rev-parse -q --verify "$1" >/dev/null; }
# export_commits ENV: the commits `bpgate audit export` lists as deployments of ENV, one a line
export_commits() {
  bpgate audit export --log "$(audit_dir)" --key "$D/audit.vkey" --since 2025-06-01 --until 2025-06-30 \
    --env "$1" --format json 2>/dev/null | python3 -c 'import json,sys; [print(r["commit"]) for r in json.load(sys.stdin)["rows"]]'
}
audit_dir() { if [ -d "$D/auditlog" ]; then echo "$D/auditlog"; else echo "$D/state/auditlog"; fi; }

# --- the governed content --------------------------------------------------------
work="$T/work"; git init -q "$work"; cd "$work"
mkdir -p .bpgate scenarios/weekly-digest health
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
python3 - <<'P'
import json
p = json.load(open(".bpgate/policy.json"))
for r in ("approvals", "signed-push"):   # not under test here: they need reviewer keys and signed pushes
    p["rules"][r]["mode"] = "off"
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
cat > health/stage.json <<'J'
{"measured_at": "2025-06-03T00:00:00Z", "scenarios": {"weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800}}}
J
git add -A && git commit -qm "Govern this repository"
base=$(git rev-parse HEAD)
as() { local p=$1; shift; GIT_AUTHOR_NAME=$p GIT_AUTHOR_EMAIL=$p@example.com GIT_COMMITTER_NAME=$p GIT_COMMITTER_EMAIL=$p@example.com "$@"; }
change() { echo "$3" >> "$2"; git add -A; as "$1" git commit -qm "$4"; }

# ================= 3. the bootstrap window ============================================
expect_exit 0 "grace (daemon admin) creates the repository" -- sshas grace repo create acme/boot
[ "$(on_server config bpgate.bootstrapPrincipal)" = grace ] && ok "repo create names its admin as the bootstrap principal" ||
  fail "bpgate.bootstrapPrincipal is '$(on_server config bpgate.bootstrapPrincipal || true)', wanted grace"
# mallory, a principal with no role anywhere, pushes a policy that makes her everything
git checkout -q -b evil
python3 - <<'P'
import json
p = json.load(open(".bpgate/policy.json"))
for k in p["roles"]:
    p["roles"][k] = ["mallory"]
json.dump(p, open(".bpgate/policy.json", "w"), indent=2)
P
git add -A; as mallory git commit -qm "my policy now"
push_as mallory 1 "bootstrap: a principal without a role cannot push her own policy" "$url" evil:refs/heads/main
expect_grep "$T/err" "remote: error: bpgate: bootstrap: no policy yet: only the bootstrap principal (grace) may create the policy branch refs/heads/main; mallory may not" "the refusal names who may bootstrap"
has_ref refs/heads/main && fail "mallory's policy branch exists" || ok "no policy branch was created"
# ...nor plant a break-glass record that nobody could ever remove
rec=$(printf '{"commit":"%s","environment":"prod","incident":"INC-1: planted","kind":"break-glass","pusher":"mallory","scenarios":["weekly-digest"],"time":"2025-06-01T00:00:00Z","tree":"%s"}' \
  "$base" "$(git rev-parse "$base^{tree}")" | git hash-object -w --stdin)
push_as mallory 1 "bootstrap: a planted break-glass record is refused" "$url" "$rec:refs/bpgate/releases/prod/$base"
expect_grep "$T/err" "mallory may not" "the record is refused for who pushes it"
has_ref "refs/bpgate/releases/prod/$base" && fail "the planted record exists" || ok "no record was planted"
git checkout -q main
# the bootstrap principal herself: the policy branch only, no records, nothing else unjudged
push_as grace 1 "bootstrap: the admin cannot push a record with the policy branch" "$url" main "$rec:refs/bpgate/releases/prod/$base"
expect_grep "$T/err" "refs/bpgate/releases/prod/$base cannot be pushed with the policy branch (only branches; no tags, no refs/bpgate/ records)" "names the record"
push_as grace 1 "bootstrap: nor another commit on another branch" "$url" main evil:refs/heads/dev
expect_grep "$T/err" "refs/heads/dev must point at the policy branch's commit" "names the branch"
push_as grace 1 "bootstrap: the first push must create the policy branch" "$url" main:refs/heads/dev
expect_grep "$T/err" "the first push must create the policy branch refs/heads/main" "says which branch"
# a bootstrap without a policy the server can load would leave a policy branch no push gets past
nopol=$(git commit-tree -m "no policy yet" "$(git mktree </dev/null)")
push_as grace 1 "bootstrap: a policy branch without a policy is refused" "$url" "$nopol:refs/heads/main"
expect_grep "$T/err" "the bootstrap push must carry a policy the server can load, or no later push could get past it: refs/heads/main has no .bpgate/ folder" "says why"
has_ref refs/heads/main || has_ref refs/heads/dev && fail "a refused bootstrap left a branch" || ok "the refused bootstraps left nothing"
git branch -q stage; git branch -q dev
push_as grace 0 "bootstrap: the admin creates the policy branch (with stage and dev at its commit)" "$url" main stage dev
expect_grep "$T/err" "accepted WITHOUT judgement because bpgate.bootstrap is set" "bootstrap is loud"
# bpgate.bootstrap is still set here (the admin forgot to unset it): it is for a policy ref
# that does not exist, never for one that exists and cannot be read, or has no .bpgate/.
# (1) .bpgate/ of main went missing from the server's object store: grace's next push to
# main was let through unjudged as a bootstrap; it is refused, saying what cannot be read.
policy_main=$(on_server rev-parse refs/heads/main)
bt=$(git rev-parse "main:.bpgate")
loose="$srv/objects/${bt:0:2}/${bt:2}"
if [ -f "$loose" ]; then
  mv "$loose" "$T/bpgate-tree.saved"
  git checkout -q -B main "$policy_main"
  change grace scenarios/weekly-digest/README.md "unjudged?" "digest: while .bpgate/ cannot be read"
  push_as grace 1 "bootstrap: a policy ref whose .bpgate/ cannot be read is not a bootstrap (refused)" "$url" HEAD:refs/heads/main
  expect_grep "$T/err" "cannot read .bpgate/ of the policy ref refs/heads/main" "the refusal says what cannot be read"
  [ "$(on_server rev-parse refs/heads/main)" = "$policy_main" ] && ok "main did not move" || fail "main moved unjudged"
  mv "$T/bpgate-tree.saved" "$loose"
  git checkout -q -B main "$policy_main"
else
  fail "the policy's .bpgate/ tree is not a loose object on the server: the test cannot remove it"
fi
# (2) main exists without .bpgate/ (put there by the server's admin, as in a repository that
# predates the gate): grace's push on top of it was a bootstrap too; it is refused.
git checkout -q --orphan nopolicy; git rm -rq --cached .bpgate; rm -rf .bpgate
as grace git commit -qm "a main from before the gate"
on_server fetch -q "$work" nopolicy:refs/heads/main --force
change grace scenarios/weekly-digest/README.md "unjudged?" "digest: on a main without a policy"
push_as grace 1 "bootstrap: an existing policy ref without .bpgate/ is not a bootstrap (refused)" "$url" HEAD:refs/heads/main
expect_grep "$T/err" "refs/heads/main has no .bpgate/ folder: nothing to judge with" "the refusal says the policy is missing"
[ "$(on_server rev-parse refs/heads/main)" = "$(git rev-parse nopolicy~1)" ] && ok "main did not move" || fail "main moved unjudged"
on_server update-ref refs/heads/main "$policy_main"
git checkout -q -f main; git branch -q -D nopolicy

# --- acme/app: bootstrapped by its admin, as it should be ------------------------------
url="ssh://git@127.0.0.1:$port/acme/app.git"
srv="$D/repos/acme/app.git"
expect_exit 0 "grace creates acme/app" -- sshas grace repo create acme/app
push_as grace 0 "grace bootstraps acme/app" "$url" main stage dev
on_server config --unset bpgate.bootstrap

# ================= 4. break-glass records never collide ===============================
change grace scenarios/weekly-digest/README.md "hotfix" "digest: emergency fix"
bg=$(git rev-parse HEAD)
push_as grace 0 "break-glass of one commit to main and stage in one push" \
  -o "bpgate.break-glass=INC-7: digest spams customers" "$url" HEAD:refs/heads/main HEAD:refs/heads/stage
expect_grep "$T/err" "break-glass INC-7: digest spams customers by grace accepted and recorded" "break-glass noted"
for env in prod stage; do
  if on_server cat-file blob "refs/bpgate/releases/$env/$bg" > "$T/rec.$env" 2>/dev/null; then
    ok "the $env break-glass record exists"
    expect_grep "$T/rec.$env" '"kind":"break-glass"' "$env record: kind"
    expect_grep "$T/rec.$env" '"incident":"INC-7: digest spams customers"' "$env record: incident"
  else
    fail "the $env break-glass record was lost"
  fi
done
[ -z "$(ls -A "$srv/bpgate-spool" 2>/dev/null)" ] && ok "the spool is empty after post-receive" || fail "spool left: $(ls "$srv/bpgate-spool")"
# the gate's own index of break-glass records (<commit>-<blob>): the same blobs, and the marker
# that the records are indexed
bg_ref() { on_server for-each-ref --format='%(refname)' "refs/bpgate/break-glass/$1/" | grep "/$2-" || true; }
# bg_indexed WHAT: the prod and stage records of $bg are indexed (the same blobs) and marked so
bg_indexed() {
  local env r
  for env in prod stage; do
    r=$(bg_ref "$env" "$bg")
    [ -n "$r" ] && [ "$(on_server rev-parse -q --verify "$r")" = "$(on_server rev-parse -q --verify "refs/bpgate/releases/$env/$bg")" ] &&
      ok "$1: the $env break-glass record is indexed" || fail "$1: the $env break-glass record is not indexed"
  done
  on_server rev-parse -q --verify refs/bpgate/records-indexed >/dev/null && ok "$1: the records are marked indexed" ||
    fail "$1: no index marker"
}
bg_indexed "post-receive"
# bpgated hides the indexes (transfer.hideRefs): not advertised, the records themselves are
env GIT_SSH_COMMAND="ssh $SSHO -i $D/alice" timeout 60 git ls-remote "$url" > "$T/lsr" 2>&1 || true
grep -q "refs/bpgate/releases/prod/$bg" "$T/lsr" && ok "the release records are advertised" || fail "no release records in ls-remote"
grep -qE "refs/bpgate/(tips|released|break-glass)/|refs/bpgate/records-indexed" "$T/lsr" &&
  fail "the indexes are advertised" || ok "the indexes are not advertised"
# five days later, the scenario is promoted again without a retroactive approval
echo 2025-06-09T10:30:00Z > "$D/clock"   # Monday, 12:30 Berlin: inside the change window
git checkout -q dev; git merge -q --ff-only "$bg"
change alice scenarios/weekly-digest/README.md "next" "digest: next change"
push_as alice 0 "dev (five days later)" "$url" dev
push_as bob 0 "stage (five days later)" "$url" dev:stage
push_as erin 1 "prod: the unapproved break-glass change of five days ago freezes the scenario" "$url" dev:main
expect_grep "$T/err" "[break-glass-overdue] scenario weekly-digest was changed on prod by break-glass INC-7: digest spams customers (2025-06-04T10:30:00Z) 5 day(s) ago and still has no retroactive approval" "break-glass-overdue names the incident and the age"
[ "$(on_server rev-parse refs/heads/main)" = "$bg" ] && ok "prod did not move" || fail "prod moved"
# a damaged record could be that overdue one: it is not skipped (the promotion went through)
bgp=$(bg_ref prod "$bg")
good_rec=$(on_server rev-parse "$bgp")
on_server update-ref "$bgp" "$(echo "not a record" | on_server hash-object -w --stdin)"
push_as erin 1 "prod: a break-glass record that cannot be read refuses the promotion" "$url" dev:main
expect_grep "$T/err" "[break-glass-overdue] the break-glass records of prod cannot all be read ($bgp is not a readable record" "names the record"
[ "$(on_server rev-parse refs/heads/main)" = "$bg" ] && ok "prod did not move past the damaged record" || fail "prod moved"
on_server update-ref "$bgp" "$good_rec"
# 10,001 release records that sort before the break-glass one: every release leaves a record, so an
# environment gets there by releasing. The overdue record is still read (the gate reads the index;
# before it, only the first 10,000 release records were read and the promotion went through).
relrec=$(printf '{"environment":"prod","kind":"release","new":"%s","tree":"%s"}' "$bg" "$(git rev-parse "$bg^{tree}")" | on_server hash-object -w --stdin)
plant() { seq -f "$1 refs/bpgate/releases/prod/%040g $relrec" 1 10001 | on_server update-ref --stdin; on_server pack-refs --all; }
plant create
push_as erin 1 "prod: after 10,001 releases the overdue break-glass change still freezes the scenario" "$url" dev:main
expect_grep "$T/err" "[break-glass-overdue] scenario weekly-digest was changed on prod by break-glass INC-7" "the overdue record is found"
grep -q "cannot all be read" "$T/err" && fail "the records were cut at the limit" || ok "nothing was cut"
# a repository whose records predate the index (no marker, no index): the gate lists the release
# records, and past 10,000 of them refuses (it warned and went on); the next post-receive indexes them
on_server update-ref -d refs/bpgate/records-indexed
for env in prod stage; do on_server update-ref -d "$(bg_ref "$env" "$bg")"; done
push_as erin 1 "prod: not indexed and past 10,000 release records: refused" "$url" dev:main
expect_grep "$T/err" "[break-glass-overdue] the break-glass records of prod cannot all be read (more than 10000 release records under refs/bpgate/releases/prod/, not indexed yet" "the limit is named"
change alice scenarios/weekly-digest/README.md "after" "digest: after the upgrade"
push_as alice 0 "dev: the first accepted push after the upgrade" "$url" dev
bg_indexed "the first post-receive after the upgrade (older records)"
plant delete
push_as bob 0 "stage" "$url" dev:stage
push_as erin 1 "prod: from the index again, still refused" "$url" dev:main
expect_grep "$T/err" "[break-glass-overdue] scenario weekly-digest was changed on prod by break-glass INC-7" "found in the index"
# a pass during which packed-refs changed proves nothing (a repack can hide loose refs from a
# listing): no marker then (the test flag refs-stamp-moves makes every pass see packed-refs change)
on_server update-ref -d refs/bpgate/records-indexed
echo refs-stamp-moves > "$D/flags"
change alice scenarios/weekly-digest/README.md "repack" "digest: during a repack"
push_as alice 0 "dev: post-receive's index passes all meet a repack" "$url" dev
expect_grep "$T/err" "the release records kept changing while they were indexed (3 passes): not marked as indexed" "said"
on_server rev-parse -q --verify refs/bpgate/records-indexed >/dev/null && fail "marked indexed after passes that proved nothing" ||
  ok "no marker"
rm -f "$D/flags"
change alice scenarios/weekly-digest/README.md "quiet" "digest: quiet again"
push_as alice 0 "dev: the next push, refs quiet" "$url" dev
on_server rev-parse -q --verify refs/bpgate/records-indexed >/dev/null && ok "marked indexed again" || fail "no marker"
# the same commit broken through twice (dev reset between): two incidents, both kept, the
# records still marked indexed (the second failed to index and removed the marker before)
git checkout -q -b bg3 dev; change grace scenarios/weekly-digest/README.md "dev fix" "digest: dev fix"; x=$(git rev-parse HEAD)
devwas=$(on_server rev-parse refs/heads/dev)
push_as grace 0 "break-glass of X to dev" -o "bpgate.break-glass=INC-10: dev outage" "$url" HEAD:refs/heads/dev
push_as grace 0 "dev reset before X (dev is not protected)" --force "$url" "$devwas:refs/heads/dev"
push_as grace 0 "break-glass of X to dev again" -o "bpgate.break-glass=INC-11: dev outage again" "$url" HEAD:refs/heads/dev
[ "$(bg_ref dev "$x" | wc -l)" = 2 ] && ok "both break-glass incidents of X are indexed" || { fail "break-glass index of X:"; bg_ref dev "$x"; }
on_server rev-parse -q --verify refs/bpgate/records-indexed >/dev/null && ok "the records are still marked indexed" || fail "the marker went"
push_as grace 0 "dev back" --force "$url" "$devwas:refs/heads/dev"
[ -n "$(on_server for-each-ref --format='%(refname)' "refs/bpgate/releases/dev/$x-*")" ] &&
  ok "the second record of X is kept beside the first" || fail "the second record of X was lost"
[ -z "$(ls -A "$srv/bpgate-spool" 2>/dev/null)" ] && ok "no spool file is left behind" || fail "spool left: $(ls "$srv/bpgate-spool")"
# the later record counts where records are listed too (no marker): with the first one gone, X
# is still an accepted tip of dev that stage may take
on_server update-ref -d refs/bpgate/records-indexed; on_server update-ref -d "refs/bpgate/releases/dev/$x"
stage_prev=$(on_server rev-parse refs/heads/stage)
push_as bob 0 "stage takes X, found by its later record (<commit>-<blob>) in the listing" "$url" "$x:refs/heads/stage"
on_server update-ref refs/heads/stage "$stage_prev" # the admin puts stage back for what follows
git checkout -q dev; git branch -q -D bg3
# two break-glass options: the first was validated, the last recorded
git checkout -q -b bg2 "$bg"; change grace scenarios/weekly-digest/README.md "again" "digest: second fix"
push_as grace 1 "two break-glass options in one push are refused" \
  -o "bpgate.break-glass=INC-8: real outage" -o "bpgate.break-glass=INC-9: something else" "$url" HEAD:refs/heads/main
expect_grep "$T/err" "[break-glass] break-glass refused: 2 break-glass options in one push (at most one)" "the refusal says why"
has_ref "refs/bpgate/releases/prod/$(git rev-parse HEAD)" && fail "a record was written" || ok "no record was written"
git checkout -q dev; git branch -q -D bg2

# ================= 8. the gate judges only what git applies ===========================
change alice scenarios/weekly-digest/README.md "m" "digest: m"; m=$(git rev-parse HEAD)
change alice scenarios/weekly-digest/README.md "n" "digest: n"; n=$(git rev-parse HEAD)
push_as alice 0 "dev: two more commits" "$url" dev
stage_was=$(on_server rev-parse refs/heads/stage)
# bob speaks receive-pack himself: "stage moves from M to N", while stage is at S
cat > "$T/rawpush.py" <<'PY'
import hashlib, subprocess, sys
old, new, ref = sys.argv[1:4]
p = subprocess.Popen(sys.argv[4:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def read_pkt():
    n = p.stdout.read(4)
    if len(n) < 4:
        sys.exit("no pkt-line from the server")
    n = int(n, 16)
    return b"" if n == 0 else p.stdout.read(n - 4)
while read_pkt() != b"":      # the ref advertisement
    pass
line = ("%s %s %s" % (old, new, ref)).encode() + b"\0report-status\n"
pack = b"PACK" + (2).to_bytes(4, "big") + (0).to_bytes(4, "big")   # N's objects are on the server (dev)
p.stdin.write(b"%04x" % (len(line) + 4) + line + b"0000" + pack + hashlib.sha1(pack).digest())
p.stdin.close()
while True:
    l = read_pkt()
    if l == b"":
        break
    print(l.decode().rstrip("\n"))
p.wait()
PY
expect_exit 0 "bob's raw receive-pack session with a forged old id of stage" -- \
  timeout 120 python3 "$T/rawpush.py" "$m" "$n" refs/heads/stage ssh $SSHO -p "$port" -i "$D/bob" git@127.0.0.1 "git-receive-pack 'acme/app.git'"
expect_grep "$T/out" "ng refs/heads/stage pre-receive hook declined" "the gate refuses it (not git's ref lock)"
expect_grep "$T/err" "error: bpgate: ref update: refs/heads/stage: the update says the ref is at $m but it is at $stage_was" "the refusal names the ref, the claimed and the real id"
[ "$(on_server rev-parse refs/heads/stage)" = "$stage_was" ] && ok "stage did not move" || fail "stage moved"
tail -n1 "$(audit_dir)/entries" > "$T/entry"
expect_grep "$T/entry" '"decision":"refuse"' "the audit log records a refusal"
expect_grep "$T/entry" '"rule":"old-value"' "with the rule"
export_commits stage > "$T/rows"
grep -qx "$n" "$T/rows" && fail "audit export lists a stage release of $n that never happened" || ok "audit export lists no release that never happened"
# the same update, honestly: judged, applied, confirmed, listed once
push_as bob 0 "the real push of stage to N" "$url" dev:stage
tail -n1 "$(audit_dir)/entries" > "$T/entry"
expect_grep "$T/entry" "\"type\":\"bpgate-applied\"" "post-receive appends a bpgate-applied entry"
expect_grep "$T/entry" "{\"new\":\"$n\",\"old\":\"$stage_was\",\"ref\":\"refs/heads/stage\"}" "listing the update git applied"
export_commits stage > "$T/rows"
[ "$(grep -cx "$n" "$T/rows")" = 1 ] && ok "audit export lists the applied stage release once" || { fail "export rows for $n:"; cat "$T/rows"; }
# accepted by the gate, then not applied by git (an update hook says no): judged, never listed
cat > "$D/state/hooks/update" <<EOF
#!/bin/sh
[ -e "$D/deny-stage" ] && [ "\$1" = refs/heads/stage ] && { echo "update hook: stage is frozen" >&2; exit 1; }
exit 0
EOF
chmod +x "$D/state/hooks/update"; touch "$D/deny-stage"
change alice scenarios/weekly-digest/README.md "p" "digest: p"; p=$(git rev-parse HEAD)
push_as alice 0 "dev: one more commit" "$url" dev
push_as bob 1 "stage: the gate accepts, git's update hook refuses" "$url" dev:stage
expect_grep "$T/err" "remote: bpgate: accepted 1 ref update(s) from bob" "the gate had accepted it"
expect_grep "$T/err" "(hook declined)" "git did not apply it"
grep -q "\"decision\":\"accept\".*\"new\":\"$p\".*\"stage\":\"judged\"" "$(audit_dir)/entries" &&
  ok "the audit log holds the judged decision" || fail "no judged decision for $p"
export_commits stage > "$T/rows"
grep -qx "$p" "$T/rows" && fail "audit export lists a release git never applied" || ok "audit export lists only applied releases"
# the leftover spool file of that update: a retry within the stale time is refused, after it replaced
rm -f "$D/deny-stage"
push_as bob 1 "the same update again while its spooled record is fresh: refused" "$url" dev:stage
expect_grep "$T/err" "is already spooled: another push of the same update is running" "the collision is an error, not an overwrite"
touch -d '-1 hour' "$srv"/bpgate-spool/*.json
push_as bob 0 "the same update once the leftover is older than any push: accepted" "$url" dev:stage
expect_grep "$T/err" "a leftover release record of an update that was never applied is replaced" "the replacement is loud"
export_commits stage > "$T/rows"
[ "$(grep -cx "$p" "$T/rows")" = 1 ] && ok "now the stage release of P is listed, once" || { fail "export rows for $p:"; cat "$T/rows"; }
# a spooled record damaged between pre- and post-receive (the update hook stands in for a disk
# error or an intruder): post-receive says so, names the file and leaves it; it was dropped silently
cat > "$D/state/hooks/update" <<EOF
#!/bin/sh
for f in "$srv"/bpgate-spool/*.json; do [ -e "\$f" ] && printf '{"ref": "refs/heads/sta' > "\$f"; done
exit 0
EOF
chmod +x "$D/state/hooks/update"
change alice scenarios/weekly-digest/README.md "q" "digest: q"; q=$(git rev-parse HEAD)
push_as alice 0 "dev: one more commit" "$url" dev
push_as bob 0 "stage: accepted and applied, its spooled record damaged before post-receive" "$url" dev:stage
expect_grep "$T/err" "warning: bpgate: post-receive: the spooled release record $srv/bpgate-spool/" "the damaged record is named"
expect_grep "$T/err" "is damaged (line 1, column 23: premature end of input" "with where it is damaged"
expect_grep "$T/err" "the record of refs/heads/stage at ${q:0:12} is not written and the file is left in place" "and what it means"
ls "$srv"/bpgate-spool/*."$q".json >/dev/null 2>&1 && ok "the damaged file is kept" || fail "the damaged file was removed"
on_server rev-parse -q --verify "refs/bpgate/releases/stage/$q" >/dev/null && fail "a record was written from a damaged file" ||
  ok "no record is written from it"
rm -f "$D/state/hooks/update"
expect_exit 0 "the audit log verifies" -- bpgate audit verify --log "$(audit_dir)" --key "$D/audit.vkey"
finish
