#!/usr/bin/env bash
# End-to-end (issue #20): the audit log's frontier through the real `bpgate`
# binary. Appends keep <log>/frontier; `verify --save` keeps a checkpoint and
# its frontier, `verify --since` then reads only the new entries; each
# tampering of the log or its frontier is refused by name (append exit 1),
# `repair` is the advertised cure; a kept checkpoint the log does not extend
# (a rewrite signed with the same key, a rollback) is refused.
source "$(dirname "$0")/lib.sh"
export BPGATE_AUDIT_STATE="$E2E_TMP/state"
unset BPGATE_AUDIT_DIR

bpgate audit keygen audit.example.com/frontier --out k >/dev/null 2>&1
append() { # DIR ENTRY
  echo "$2" | bpgate audit append --log "$1" --signing-key k.skey
}
# a verifier with no memory yet (its own fresh --state), so the fast path applies
since() { # KEPT [args...]
  local k=$1; shift
  bpgate audit verify --key k.vkey --since "$k" --state "$(mktemp -d "$E2E_TMP/st.XXXXXX")" "$@"
}
flip() { # FILE PREFIX: change the first hex digit after the first line starting with PREFIX
  python3 - "$1" "$2" <<'PY'
import sys
p, pre = sys.argv[1], sys.argv[2]
lines = open(p).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith(pre):
        c = l[len(pre)]
        lines[i] = pre + ("1" if c != "1" else "2") + l[len(pre) + 1:]
        break
open(p, "w").write("\n".join(lines))
PY
}
for i in $(seq 0 29); do append log "{\"seq\":$i}" >/dev/null; done
expect_grep log/frontier "size 30" "30 appends keep the frontier at 30 entries"

# --- verify --save, then --since reads only the new entries ---------------
expect_exit 0 "full verify keeps the checkpoint and its frontier" -- \
  bpgate audit verify --log log --key k.vkey --save kept.cp
expect_grep "$E2E_TMP/out" "kept: kept.cp and kept.cp.frontier (30 entries) for the next --since" "--save says what it kept"
[ -f kept.cp ] && [ -f kept.cp.frontier ] && ok "kept.cp and kept.cp.frontier written" || fail "--save wrote nothing"
for i in $(seq 30 34); do append log "{\"seq\":$i}" >/dev/null; done
expect_exit 0 "verify --since checks the 5 new entries" -- \
  since kept.cp --log log
expect_grep "$E2E_TMP/out" "ok: 5 new entries in log after the kept checkpoint kept.cp (30 entries) match the checkpoint signed by audit.example.com/frontier+" "only the new entries"
expect_grep "$E2E_TMP/out" "ok: extends the kept checkpoint kept.cp (30 entries): consistency 30 -> 35 proven" "consistency proven"
expect_grep "$E2E_TMP/out" "note: the 30 entries before it were not re-read" "says what it did not re-read"

# An old entry edited: --since does not re-read it (documented), the full verify names it.
cp log/entries entries.good
sed -i 's/^3 \([0-9a-f]*\) {"seq":3}$/3 \1 {"seq":4}/' log/entries
expect_exit 0 "verify --since does not re-read entries before the kept checkpoint" -- \
  since kept.cp --log log
expect_exit 1 "the full verify names the edited old entry" -- bpgate audit verify --log log --key k.vkey
expect_grep "$E2E_TMP/err" "entry 3 tampered" "entry 3 tampered"
cp entries.good log/entries

# A new entry edited: named by --since.
sed -i 's/^32 \([0-9a-f]*\) {"seq":32}$/32 \1 {"seq":99}/' log/entries
expect_exit 1 "verify --since names a tampered new entry" -- \
  since kept.cp --log log
expect_grep "$E2E_TMP/err" "log/entries: entry 32 tampered: its bytes (offset" "entry 32 tampered"
cp entries.good log/entries
expect_exit 0 "verify --since --save moves the kept checkpoint on" -- \
  since kept.cp --log log --save kept.cp
expect_grep kept.cp.frontier "size 35" "kept frontier at 35"

# --- a kept checkpoint the log does not extend ------------------------------
# The operator serves a rewrite signed with the same key: entry 20 differs.
for i in $(seq 0 40); do
  if [ "$i" = 20 ]; then append forged '{"seq":77}' >/dev/null; else append forged "{\"seq\":$i}" >/dev/null; fi
done
expect_exit 1 "verify --since refuses a log that is not an extension of the kept checkpoint" -- \
  since kept.cp --log forged
expect_grep "$E2E_TMP/err" "log rewritten: the entries after the kept checkpoint do not lead to the signed root (consistency proof 35 -> 41 fails)" "log rewritten"
mkdir short && for i in $(seq 0 9); do append short "{\"seq\":$i}" >/dev/null; done
expect_exit 1 "verify --since refuses a rolled-back log" -- \
  since kept.cp --log short
expect_grep "$E2E_TMP/err" "log rolled back: its checkpoint covers 10 entries, the one you kept covers 35" "rolled back"
# A kept frontier edited: refused, not used.
cp kept.cp.frontier f.good
flip kept.cp.frontier "node "
expect_exit 2 "an edited kept frontier is refused" -- since kept.cp --log log
expect_grep "$E2E_TMP/err" "the frontier kept with the checkpoint (35 entries) does not describe it" "edited kept frontier named"
cp f.good kept.cp.frontier
# The verifier's own state is newer than the kept checkpoint: the full path.
append log '{"seq":35}' >/dev/null
expect_exit 0 "full verify moves the state on" -- bpgate audit verify --log log --key k.vkey
expect_exit 0 "verify --since with a newer state takes the full path" -- \
  bpgate audit verify --log log --key k.vkey --since kept.cp
expect_grep "$E2E_TMP/out" "note: full verification: the newest checkpoint this verifier kept is not the --since one" "full path, said"
expect_grep "$E2E_TMP/out" "ok: 36 entries in log match the checkpoint" "full verification ran"

# --- tampering the cheap append sees -----------------------------------------
cp log/frontier frontier.good
cp log/entries entries.good
flip log/frontier "leaf "
expect_exit 1 "append refuses an edited frontier" -- append log '{"after":"frontier edit"}'
expect_grep "$E2E_TMP/err" "log/entries: entry 35 is not the entry the signed checkpoint covers (its hash differs from the frontier's): rewritten" "frontier edit named"
expect_exit 0 "repair rebuilds the frontier with a full pass" -- bpgate audit repair --log log
cmp -s frontier.good log/frontier && ok "the rebuilt frontier equals the one appends kept" || fail "rebuilt frontier differs"
expect_exit 0 "append works again" -- append log '{"seq":36}'

cp log/entries entries.good
printf '37 %064d {"x":1}\n38 %064d {"x":2}\n' 0 0 >> log/entries
expect_exit 1 "append refuses a log extended by hand" -- append log '{"after":"extension"}'
expect_grep "$E2E_TMP/err" "hold more than one line: not what an interrupted append leaves, the log was extended by hand" "extension named"
expect_exit 0 "repair saves and removes the extension" -- bpgate audit repair --log log
ls log/torn-* >/dev/null 2>&1 && ok "the extension is saved to torn-*" || fail "no torn-* file"
expect_exit 0 "append after repair" -- append log '{"seq":37}'

cp log/entries entries.good
head -c -5 entries.good > log/entries
expect_exit 1 "append refuses a truncated log" -- append log '{"after":"truncation"}'
expect_grep "$E2E_TMP/err" "log truncated; run \`bpgate audit verify\` (full)" "truncation named"
cp entries.good log/entries

# An old log without a frontier: the first append builds it (one full pass).
rm log/frontier
expect_exit 0 "append migrates a log without a frontier" -- append log '{"seq":38}'
expect_grep log/frontier "size 39" "frontier rebuilt at 39"
expect_exit 0 "the migrated log verifies" -- bpgate audit verify --log log --key k.vkey

# --- for real: git pushes through bpgate-receive, the operator extends the log ---
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
export BPGATE_TIME=2025-06-04T10:30:00Z
printf 'alice alice\nalice@example.com alice\ntester@example.com alice\n' > users
srv="$E2E_TMP/srv.git"; audit="$E2E_TMP/gate-audit"
git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$E2E_TMP/users"
git -C "$srv" config bpgate.repository acme/frontier
git -C "$srv" config bpgate.auditDir "$audit"
git -C "$srv" config bpgate.auditKey "$E2E_TMP/k.skey"
ln -s "$receive" "$srv/hooks/pre-receive"
git init -q work && cd work
mkdir -p .bpgate scenarios/weekly-digest
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
git add -A && git commit -qm "Govern this repository"
git branch dev
git remote add origin "$srv"
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
env BPGATE_USER=alice git push -q origin main main:refs/heads/dev 2>/dev/null
git -C "$srv" config --unset bpgate.bootstrap
git checkout -q dev
echo one >> scenarios/weekly-digest/README.md && git commit -qam "change one"
expect_exit 0 "a push to dev through the gate is accepted and recorded" -- env BPGATE_USER=alice git push origin dev
expect_grep "$audit/frontier" "bpgate-audit-frontier v1" "the gate's append keeps the frontier"
n=$(grep -c '' "$audit/entries")
# The operator appends two records of their own (a well-formed forgery of "accepted" entries).
printf '%s %064d {"type":"push.accepted","forged":1}\n%s %064d {"type":"push.accepted","forged":2}\n' "$n" 0 "$((n + 1))" 0 >> "$audit/entries"
echo two >> scenarios/weekly-digest/README.md && git commit -qam "change two"
expect_exit 1 "the next push is refused: the gate will not sign over a log extended by hand" -- \
  env BPGATE_USER=alice git push origin dev
expect_grep "$E2E_TMP/err" "the log was extended by hand" "the push output names the extension"
[ "$(git -C "$srv" rev-parse dev)" != "$(git rev-parse dev)" ] && ok "dev did not move" || fail "dev moved"
expect_exit 0 "bpgate audit repair saves and removes the forged records" -- bpgate audit repair --log "$audit"
expect_exit 0 "the same push is accepted after the repair" -- env BPGATE_USER=alice git push origin dev
expect_exit 0 "the gate's log verifies" -- bpgate audit verify --log "$audit" --key "$E2E_TMP/k.vkey" --state "$E2E_TMP/st-gate"
if grep -q '"forged"' "$audit/entries"; then fail "a forged record is in the log"; else ok "no forged record in the log"; fi
finish
