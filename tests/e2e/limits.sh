#!/usr/bin/env bash
# End-to-end: the gate fails closed under volume (issue "Fail closed under
# volume and under privilege", items 1-3), against bpgate-receive as the
# pre-receive hook of a bare repository, driven by real `git push`, and
# against `bpgate check` on the client.
#
#  1. more findings than a decision holds (100,001 e-mail addresses in a
#     fixture, scan-findings in warn mode): the whole push is refused ("too
#     many findings to judge"); a finding is never dropped.
#  2. the judgement's budget (bpgate.maxJudgeSeconds / bpgate.maxJudgeMemory,
#     --max-judge-seconds / --max-judge-memory): past it the push is refused,
#     naming the limit. A budget of 0 s is spent before the first check point,
#     so the test does not depend on the machine's speed.
#  3. a 1 GiB blob of zeros (a few MB once compressed) as a fixture: refused
#     by its size, bounded as libgit2 allocates it; the gate's peak memory stays
#     small (/usr/bin/time -v, a ceiling, not a speed assertion).
source "$(dirname "$0")/lib.sh"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
[ -x "$receive" ] || { echo "SKIP: $receive not built"; exit 77; }
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (install/deps.sh installs package time)"; exit 77; }
export BPGATE_TIME=2025-06-04T10:30:00Z   # a Wednesday, inside the change windows
T="$E2E_TMP"; keys="$T/keys"; work="$T/work"; srv="$T/srv.git"
mkdir -p "$keys"
printf 'alice alice\nalice@example.com alice\ntester@example.com alice\n' > "$keys/users"

# The gate as the hook, measured: /usr/bin/time -v writes $T/time.<n> (n counts runs).
cat > "$T/gate-timed" <<G
#!/bin/bash
n=\$(ls "$T"/time.* 2>/dev/null | wc -l)
# ASan keeps up to 256 MB of freed memory in quarantine: keep it small so the
# peak measures the gate, not the sanitizer.
export ASAN_OPTIONS="\${ASAN_OPTIONS:-}\${ASAN_OPTIONS:+:}quarantine_size_mb=4"
exec /usr/bin/time -v -o "$T/time.\$n" "$receive" "\$@"
G
chmod +x "$T/gate-timed"
git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/limits
ln -s "$T/gate-timed" "$srv/hooks/pre-receive"
last_time() { ls -t "$T"/time.* | head -1; }
rss_mb() { awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$(last_time)"; }
refs_of() { git -C "$srv" for-each-ref --format='%(refname) %(objectname)'; }
push_as() { local u=$1 want=$2 what=$3; shift 3; expect_exit "$want" "$what" -- env BPGATE_USER="$u" git push "$@"; }
same_refs() { if [ "$(refs_of)" = "$1" ]; then ok "$2: no ref moved"; else fail "$2: refs changed"; fi; }

# --- the governed repository: scan-findings in warn mode ---------------------------
git init -q "$work"; cd "$work"
mkdir -p .bpgate scenarios/weekly-digest tests/fixtures
python3 - "$pack/policy.json" .bpgate/policy.json <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["rules"]["scan-findings"]["mode"] = "warn"
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
cp -r "$pack/contracts" .bpgate/contracts
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A && git commit -qm "Govern this repository"
git branch dev; git branch stage
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
env BPGATE_USER=alice git push -q "$srv" main dev stage 2>/dev/null
git -C "$srv" config --unset bpgate.bootstrap
git remote add origin "$srv"
TRAILERS=$'Purpose: test\nRisk: low\nTest-Plan: e2e\nRollback: revert'

# ============ 1. more findings than a decision holds ====================================
echo "# 1. findings past the limit refuse the decision"
mails() { python3 -c 'import sys
n = int(sys.argv[1])
sys.stdout.write("".join("contact: customer%d@acme-mail.de\n" % i for i in range(n)))' "$1"; }
git checkout -q main
mails 10 > tests/fixtures/contacts.txt
git add -A; git commit -qm "fixtures: contacts" -m "$TRAILERS"
before=$(refs_of)
push_as alice 1 "a builder's direct push to prod with 10 addresses is refused" origin main
expect_grep "$T/err" "push refused: 5 problem(s) in 1 ref update(s)" "for five reasons"
# 100,010 addresses: the scanner finds 100,009 of them (one is taken for something
# else), more than the 100,000 findings a decision holds even on the client, where
# the server's rules add none.
mails 100010 > tests/fixtures/contacts.txt
git add -A; git commit -q --amend -m "fixtures: contacts" -m "$TRAILERS"
push_as alice 1 "the same push with 100,010 addresses is refused too (it was accepted)" origin main
expect_grep "$T/err" "cannot judge refs/heads/main: too many findings to judge: rule scan-findings reached the limit of 100000 findings per decision, so the whole change is refused" \
  "the refusal says there are too many findings to judge"
same_refs "$before" "100,010 findings"
# client side: the output of the old code is 100,000 findings long, so it goes to files
judge() { # judge WANT WHAT CMD...: exit code and "too many findings" in its stderr
  local want=$1 what=$2 rc=0; shift 2
  "$@" >"$T/judge.out" 2>"$T/judge.err" || rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$what"; else fail "$what: exit $rc, wanted $want"; head -c 600 "$T/judge.err"; fi
  expect_grep "$T/judge.err" "cannot judge this change (refused): too many findings to judge: rule scan-findings reached the limit of 100000" "$what: says why"
}
judge 2 "bpgate check refuses it" bpgate check main
judge 2 "the pre-push hook refuses it" bpgate hook pre-push origin "$srv" \
  <<<"refs/heads/main $(git rev-parse main) refs/heads/main $(git -C "$srv" rev-parse main)"
git reset -q --hard HEAD~1

# ============ 2. the judgement's budget =================================================
echo "# 2. the judgement's budget"
git checkout -q dev
echo "Sent on Mondays" >> scenarios/weekly-digest/README.md
git add -A; git commit -qm "digest: wording" -m "$TRAILERS"
before=$(refs_of)
git -C "$srv" config bpgate.maxJudgeSeconds 0
push_as alice 1 "a time budget of 0 s refuses the push" origin dev
expect_grep "$T/err" "cannot judge refs/heads/dev: the judgement ran out of time: it took longer than its budget of 0 s (bpgate.maxJudgeSeconds or --max-judge-seconds)" \
  "the refusal names the time limit"
same_refs "$before" "time budget"
git -C "$srv" config --unset bpgate.maxJudgeSeconds
git -C "$srv" config bpgate.maxJudgeMemory 1m
push_as alice 1 "a memory budget of 1 MiB refuses the push" origin dev
expect_grep "$T/err" "MiB, more than its budget of 1 MiB (bpgate.maxJudgeMemory or --max-judge-memory)" \
  "the refusal names the memory limit"
same_refs "$before" "memory budget"
git -C "$srv" config bpgate.maxJudgeMemory lots
push_as alice 1 "a budget that is not a size refuses the push" origin dev
expect_grep "$T/err" "bpgate.maxJudgeMemory: 'lots' is not a size" "and says which setting"
git -C "$srv" config bpgate.maxJudgeMemory 2g
git -C "$srv" config bpgate.maxJudgeSeconds 600
push_as alice 0 "within the budget the same push is accepted" origin dev
git -C "$srv" config --unset bpgate.maxJudgeMemory; git -C "$srv" config --unset bpgate.maxJudgeSeconds
expect_exit 2 "bpgate check --max-judge-seconds 0 refuses" -- bpgate check --max-judge-seconds 0 dev
expect_grep "$T/err" "the judgement ran out of time: it took longer than its budget of 0 s (--max-judge-seconds or git config bpgate.maxJudgeSeconds)" \
  "bpgate check names the limit"
git config bpgate.maxJudgeMemory 1m
expect_exit 2 "git config bpgate.maxJudgeMemory 1m makes the pre-commit hook refuse" -- bpgate hook pre-commit
expect_grep "$T/err" "more than its budget of 1 MiB" "the hook names the limit"
git config --unset bpgate.maxJudgeMemory
expect_exit 0 "bpgate check within the default budget passes" -- bpgate check dev

# ============ 3. a 1 GiB blob as a fixture ==============================================
echo "# 3. a 1 GiB blob of zeros as a fixture"
git checkout -q dev
big=$(head -c 1G /dev/zero | git hash-object -w --stdin)
git update-index --add --cacheinfo 100644 "$big" tests/fixtures/zeros.bin
git commit -qm "fixtures: a large one" -m "$TRAILERS"
git checkout -q -f dev
before=$(refs_of)
push_as alice 1 "a 1 GiB fixture is refused" origin dev
expect_grep "$T/err" "tests/fixtures/zeros.bin: 1024 MiB, larger than the 64 MiB limit of a file the gate reads" \
  "the refusal names the file and the limit"
same_refs "$before" "1 GiB fixture"
small_peak() { # small_peak WHAT: the last gate run's peak stayed under 160 MB (ASan build)
  local mb; mb=$(rss_mb); echo "    measured: $1: gate peak ${mb} MB"
  if [ "$mb" -le 160 ]; then ok "$1: the gate's peak memory stays under 160 MB"; else fail "$1: gate peak ${mb} MB > 160 MB"; fi
}
small_peak "1 GiB fixture"
git reset -q --hard HEAD~1
# the same blob as the stage health report the server reads from the pushed tree
# (it was read whole: ~1 GiB in the gate)
mkdir -p health
git update-index --add --cacheinfo 100644 "$big" health/stage.json
git commit -qm "health: a large report" -m "$TRAILERS"
git checkout -q -f dev
push_as alice 1 "a 1 GiB health report is refused" origin dev
expect_grep "$T/err" "health/stage.json" "the refusal names the file"
expect_grep "$T/err" "larger than the 64 MiB limit" "and the limit"
same_refs "$before" "1 GiB health report"
small_peak "1 GiB health report"
git reset -q --hard HEAD~1
# the same blob as an approval (refs/bpgate/approvals/...): read before any rule (it was read whole)
sig=$(echo "not a signature" | git hash-object -w --stdin)
atree=$(printf '100644 blob %s\tapproval.json\n100644 blob %s\tapproval.json.sig\n' "$big" "$sig" | git mktree)
acommit=$(git commit-tree -m approval "$atree")
push_as alice 1 "a 1 GiB approval is refused" origin "$acommit:refs/bpgate/approvals/dev/$atree/alice/20250604T103000Z"
expect_grep "$T/err" "approval approval.json larger than 8192 bytes" "the refusal names the approval limit"
same_refs "$before" "1 GiB approval"
small_peak "1 GiB approval"
finish
