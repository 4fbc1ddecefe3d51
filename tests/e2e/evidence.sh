# End-to-end: the release evidence package and the audit export, built from
# what the real server gate recorded. A bare repository with bpgate-receive
# as its pre-receive and post-receive hook (set up as in receive.sh), pushes
# dev -> stage -> prod with approvals and signed pushes, a release that is
# rolled back, then `bpgate evidence` / `evidence verify` / `audit export`.
source "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"
receive="$BPG_BUILD_ROOT/server/bpgate-receive"
[ -x "$receive" ] || { echo "bpgate-receive not built: skipped"; exit 77; }
keys="$E2E_TMP/keys"; srv="$E2E_TMP/server.git"; work="$E2E_TMP/work"; audit="$E2E_TMP/audit"
mkdir -p "$keys"

# --- people, keys and the server (the pattern of receive.sh) --------------------
for p in alice bob carol dave erin frank grace; do
  ssh-keygen -q -t ed25519 -N '' -C "$p" -f "$keys/$p"
done
: > "$keys/allowed_signers"
for p in carol dave erin frank grace; do
  echo "$p namespaces=\"git,bpgate-approval@v1\" $(cut -d' ' -f1,2 "$keys/$p.pub")" >> "$keys/allowed_signers"
done
: > "$keys/users"
for p in alice bob carol dave erin frank grace; do echo "$p $p" >> "$keys/users"; echo "$p@example.com $p" >> "$keys/users"; done
bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null
bpgate evidence keygen --out "$keys/ev" > "$E2E_TMP/evkeyid"

git init -q --bare "$srv"
git -C "$srv" symbolic-ref HEAD refs/heads/main
git -C "$srv" config bpgate.users "$keys/users"
git -C "$srv" config bpgate.repository acme/make-scenarios
git -C "$srv" config bpgate.bootstrap true
git -C "$srv" config bpgate.bootstrapPrincipal alice
git -C "$srv" config bpgate.auditDir "$audit"
git -C "$srv" config bpgate.auditKey "$keys/audit.skey"
git -C "$srv" config receive.advertisePushOptions true
git -C "$srv" config receive.certNonceSeed e2e-seed
git -C "$srv" config gpg.ssh.allowedSignersFile "$keys/allowed_signers"
ln -s "$receive" "$srv/hooks/pre-receive"
ln -s "$receive" "$srv/hooks/post-receive"

# --- the governed repository -------------------------------------------------------
blueprint() { # blueprint <subject text>: a small valid blueprint of weekly-digest
  printf '{"name": "Weekly KPI digest e-mail", "flow": [{"id": 1, "module": "util:SetVariable2", "version": 1, "parameters": {}, "mapper": {"name": "subject", "value": "%s"}, "metadata": {}}], "metadata": {"scenario": {"dlq": false, "confidential": false}}}\n' "$1"
}
git init -q "$work"; cd "$work"
git config bpgate.repository acme/make-scenarios
mkdir -p .bpgate scenarios/weekly-digest health uat/weekly-digest
cp "$pack/policy.json" .bpgate/policy.json
cp -r "$pack/contracts" .bpgate/contracts
cp "$keys/allowed_signers" .bpgate/allowed_signers
echo "Weekly KPI digest" > scenarios/weekly-digest/README.md
cat > health/stage.json <<'J'
{"measured_at": "2025-06-02T00:00:00Z", "scenarios": {
 "weekly-digest": {"success_rate": 0.999, "error_rate": 0.001, "p95_ms": 800}}}
J
GIT_AUTHOR_DATE=2025-06-01T08:00:00Z GIT_COMMITTER_DATE=2025-06-01T08:00:00Z git add -A
GIT_AUTHOR_DATE=2025-06-01T08:00:00Z GIT_COMMITTER_DATE=2025-06-01T08:00:00Z git commit -qm "Govern this repository"
git remote add origin "$srv"
git branch stage; git branch dev
push() { # push <user> <expected exit> <what> [git push args...]
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git push "$@"
}
spush() { # spush <user> <expected exit> <what> args...: signed with the user's key
  local user=$1 want=$2 what=$3; shift 3
  expect_exit "$want" "$what" -- env BPGATE_USER="$user" git -c gpg.format=ssh -c user.signingkey="$keys/$user.pub" push --signed "$@"
}
commit_as() { # commit_as <person> <date> <message file> (AUTHOR_NAME overrides the display name)
  GIT_AUTHOR_NAME=${AUTHOR_NAME:-$1} GIT_AUTHOR_EMAIL=$1@example.com GIT_COMMITTER_NAME=$1 GIT_COMMITTER_EMAIL=$1@example.com \
    GIT_AUTHOR_DATE=$2 GIT_COMMITTER_DATE=$2 git commit -q --no-verify -F "$3"
}
msg() { # msg <summary>: a message with the change template
  printf '%s\n\nPurpose: %s\nRisk: low\nTest-Plan: ran in dev\nRollback: revert this commit\n' "$1" "$1" > "$E2E_TMP/msg"
}
# release <author date> <time of dev/stage> <approval time> <release time> <summary> <subject>
release() {
  git checkout -q dev; git merge -q --ff-only main
  blueprint "$6" > scenarios/weekly-digest/main.blueprint.json
  echo "UAT $1: pass" > "uat/weekly-digest/$(echo "$1" | cut -c1-10).md"
  git add -A; msg "$5"; commit_as alice "$1" "$E2E_TMP/msg"
  BPGATE_TIME=$2 push alice 0 "dev: $5" origin dev
  git branch -f stage dev; BPGATE_TIME=$2 push bob 0 "stage: $5" origin stage
  git branch -f main stage
  BPGATE_TIME=$3 expect_exit 0 "carol approves $5 for prod" -- env BPGATE_USER=carol bpgate approve main --for prod -f "$keys/carol"
  BPGATE_TIME=$4 spush erin 0 "prod: $5" origin main
}

push alice 0 "bootstrap push" origin main stage dev
git -C "$srv" config --unset bpgate.bootstrap

release 2025-06-02T08:00:00Z 2025-06-03T09:00:00Z 2025-06-03T09:30:00Z 2025-06-03T10:00:00Z "digest: first version" "KPI digest"
r1=$(git rev-parse main)
release 2025-06-04T07:00:00Z 2025-06-04T08:00:00Z 2025-06-04T08:30:00Z 2025-06-04T09:00:00Z \
  'digest: <b>bold</b> & "quoted" subject' '=HYPERLINK(\"http://evil.example\")'
r2=$(git rev-parse main)
# the release misbehaves: the releaser rolls prod back to the tree of r1
git checkout -q main
git read-tree -u --reset "$r1^{tree}"
msg "Roll back weekly-digest"; commit_as erin 2025-06-04T09:40:00Z "$E2E_TMP/msg"
BPGATE_TIME=2025-06-04T09:45:00Z spush erin 0 "the releaser rolls prod back" origin main
expect_grep "$E2E_TMP/err" "[rollback] rollback of refs/heads/main" "the gate recorded a rollback"
rb=$(git rev-parse main)
AUTHOR_NAME="=1+2 Alice" release 2025-06-05T07:00:00Z 2025-06-05T08:00:00Z 2025-06-05T08:30:00Z 2025-06-05T09:00:00Z "digest: fixed subject" "KPI digest v2"
r3=$(git rev-parse main)
for c in "$r1" "$r2" "$rb" "$r3"; do
  git -C "$srv" rev-parse -q --verify "refs/bpgate/releases/prod/$c" >/dev/null \
    && ok "release record for ${c:0:12}" || fail "no release record for ${c:0:12}"
done

# --- the evidence package of r2 ----------------------------------------------------
ev="$E2E_TMP/ev"; mkdir -p "$ev"
ev_build() { BPGATE_TIME=2025-06-06T12:00:00Z bpgate evidence "$@" --repo "$srv" --audit-dir "$audit" \
  --log-key "$keys/audit.vkey" --key "$keys/ev.pem"; }
expect_exit 0 "bpgate evidence builds the package of a prod release" -- \
  ev_build "$r2" --out "$ev/r2.json" --html "$ev/r2.html" --markdown "$ev/r2.md"
expect_grep "$E2E_TMP/err" "1 subject(s), signed by SHA256:" "says what it signed"
t0=$(date +%s%N); ev_build "$r2" --out "$ev/timed.json" 2>/dev/null; t1=$(date +%s%N)
echo "# package of r2: $(wc -c < "$ev/r2.json") bytes, HTML $(wc -c < "$ev/r2.html") bytes, Markdown $(wc -c < "$ev/r2.md") bytes, built in $(( (t1 - t0) / 1000000 )) ms (this build)"
expect_exit 0 "evidence verify passes offline (signature, subjects, audit proofs, approvals)" -- \
  bpgate evidence verify "$ev/r2.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
expect_grep "$E2E_TMP/out" "release: release acme/make-scenarios of $r2 to prod by erin at 2025-06-04T09:00:00Z" "names the release"
expect_grep "$E2E_TMP/out" "approvals: 1 signature(s) verified against the embedded allowed_signers" "approval signature checked"
expect_grep "$E2E_TMP/out" "the release decision among them" "the release decision is proven"
expect_exit 0 "with the repository every digest is recomputed" -- \
  bpgate evidence verify "$ev/r2.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --repo "$srv" \
  --allowed-signers "$keys/allowed_signers"
expect_grep "$E2E_TMP/out" "digest(s) recomputed from git, all equal" "digests recomputed"
expect_grep "$E2E_TMP/out" "against the given allowed_signers" "given allowed_signers used"
# issue #18 item 13: verify --html shows the verification result at the top (the unverified page says NO)
BPGATE_TIME=2025-06-07T10:00:00Z expect_exit 0 "verify --html writes the verified page" -- \
  bpgate evidence verify "$ev/r2.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --repo "$srv" --html "$ev/r2v.html"
expect_grep "$ev/r2v.html" "<tr><td>Verified</td><td>yes: every check below passed</td></tr>" "verified page: verified yes"
expect_grep "$ev/r2v.html" "<tr><td>Verified at</td><td>2025-06-07T10:00:00Z</td></tr>" "verified page: when"
expect_grep "$ev/r2v.html" "<tr><td>Evidence signature, key id</td><td>$(cat "$E2E_TMP/evkeyid") (threshold 1)</td></tr>" "verified page: evidence key"
expect_grep "$ev/r2v.html" "<tr><td>Audit log key</td><td>example.com/audit+" "verified page: audit log key"
expect_grep "$ev/r2v.html" "<tr><td>Approvals</td><td>1 signature(s) verified against the embedded allowed_signers</td></tr>" "verified page: approvals"
expect_grep "$ev/r2v.html" "<tr><td>Digests recomputed</td><td>yes: " "verified page: digests recomputed"
expect_grep "$ev/r2.html" "<p>Verified: NO. This page was rendered without verification;" "unverified page says so"
grep -q "Verified: NO" "$ev/r2v.html" && fail "the verified page says NO" || ok "the verified page does not say NO"
expect_exit 2 "audit proofs need the log key" -- bpgate evidence verify "$ev/r2.json" --key "$keys/ev.pub"
expect_grep "$E2E_TMP/err" "pass the audit log's verifier key (--log-key VKEY)" "says which key is missing"

# tampering: a byte of the envelope, a subject re-signed by an insider, a foreign key
sed 's/"payload":"e/"payload":"f/' "$ev/r2.json" > "$ev/t1.json"
expect_exit 1 "a changed payload fails the signature" -- bpgate evidence verify "$ev/t1.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
sed -E 's/.*"payload":"([^"]*)".*/\1/' "$ev/r2.json" | base64 -d > "$ev/stmt.json"
git show "$r2:scenarios/weekly-digest/main.blueprint.json" | sha256sum | cut -c1-64 > "$ev/r2sha"
sed "s/$(cat "$ev/r2sha")/$(printf '%064d' 0)/g" "$ev/stmt.json" > "$ev/stmt2.json"
sed "0,/\"sha256\":\"$(cat "$ev/r2sha")\"/s//\"sha256\":\"$(printf '%064d' 0)\"/" "$ev/stmt.json" > "$ev/stmt3.json"
bpgate evidence sign "$ev/stmt3.json" --key "$keys/ev.pem" --out "$ev/t2.json" >/dev/null
expect_exit 1 "a re-signed package whose subject digest was changed fails" -- \
  bpgate evidence verify "$ev/t2.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
expect_grep "$E2E_TMP/err" "the subject's sha256 00000000" "names the subject"
bpgate evidence sign "$ev/stmt2.json" --key "$keys/ev.pem" --out "$ev/t3.json" >/dev/null
expect_exit 1 "changed consistently (subject and change), git still tells" -- \
  bpgate evidence verify "$ev/t3.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --repo "$srv"
expect_grep "$E2E_TMP/err" "sha256 in git is" "names the digest mismatch"
sed 's/"approver":"carol","environment"/"approver":"dave","environment"/; s/\\"approver\\":\\"carol\\"/\\"approver\\":\\"dave\\"/' "$ev/stmt.json" > "$ev/stmt4.json"
grep -q '"approver":"dave"' "$ev/stmt4.json" && grep -q '\\"approver\\":\\"dave\\"' "$ev/stmt4.json" && ok "the approval was edited" || fail "the approval edit did not apply"
bpgate evidence sign "$ev/stmt4.json" --key "$keys/ev.pem" --out "$ev/t4.json" >/dev/null
expect_exit 1 "an approval statement edited after signing fails" -- \
  bpgate evidence verify "$ev/t4.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
expect_grep "$E2E_TMP/err" "/predicate/approvals/0: dave's signature:" "names the approval whose signature fails"
bpgate evidence keygen --out "$keys/mallory" >/dev/null
bpgate evidence sign "$ev/stmt.json" --key "$keys/mallory.pem" --out "$ev/t5.json" >/dev/null
expect_exit 1 "a package signed by another key fails" -- bpgate evidence verify "$ev/t5.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey"
bpgate audit keygen example.com/audit --out "$keys/other" >/dev/null
expect_exit 1 "audit proofs against another log key fail" -- bpgate evidence verify "$ev/r2.json" --key "$keys/ev.pub" --log-key "$keys/other.vkey"
expect_exit 2 "no release record, no package" -- ev_build "$(git rev-parse "$r1~1")" --out "$ev/x.json"
expect_grep "$E2E_TMP/err" "was not released to prod through the gate" "says why"

# --- the HTML and Markdown pages -----------------------------------------------------
h="$ev/r2.html"
expect_grep "$h" "<title>Release evidence: acme/make-scenarios prod ${r2:0:12}</title>" "HTML title"
expect_grep "$h" "<tr><td>Released by</td><td>erin</td></tr>" "who released"
expect_grep "$h" "<tr><td>carol</td><td>prod</td><td>2025-06-04T08:30:00Z</td><td>no</td>" "who approved"
expect_grep "$h" "<tr><td>weekly-digest</td><td>Weekly KPI digest e-mail</td><td>low</td><td>bob</td>" "what changed (scenario)"
expect_grep "$h" "<td>scenarios/weekly-digest/main.blueprint.json</td><td>modified</td><td>weekly-digest</td><td>$(cat "$ev/r2sha")</td>" "what changed (file and digest)"
expect_grep "$h" "<tr><td>mapper</td><td>1 util:SetVariable2</td><td>mapper.value</td><td>&quot;KPI digest&quot;</td><td>&quot;=HYPERLINK(\\&quot;http://evil.example\\&quot;)&quot;</td></tr>" "semantic diff before and after, escaped"
expect_grep "$h" "digest: &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; subject" "commit summaries escaped"
expect_grep "$h" "<td>uat/weekly-digest/2025-06-04.md</td>" "UAT evidence listed"
expect_grep "$h" "<tr><td>Measured at</td><td>2025-06-02T00:00:00Z</td></tr>" "stage health listed"
expect_grep "$h" "bpgate rollback weekly-digest --env prod --to ${r1:0:12} --dry-run" "how to roll back: bpgate rollback"
expect_grep "$h" "bpgate rollback weekly-digest --env prod --to ${r1:0:12} --deploy" "how to roll back: and deploy"
expect_exit 0 "the recipe's dry run works as printed" -- env BPGATE_USER=erin bpgate rollback weekly-digest --env prod --to "${r1:0:12}" --dry-run
grep -q "git commit -m" "$h" && fail "the rollback recipe is a plain git commit the gate refuses" || ok "no plain git commit recipe"
expect_grep "$h" "<tr><td>Releaser&#39;s roles (policy)</td><td>releasers, emergency</td></tr>" "releaser's roles"
expect_grep "$h" "<td>SSHSIG bpgate-approval@v1 (embedded)</td><td>reviewers</td></tr>" "approver's roles"
expect_grep "$h" "th{background:#eee;overflow-wrap:normal;word-break:keep-all;white-space:nowrap}" "headers do not break words"
expect_grep "$h" "@media print" "print CSS"
if grep -qiE "<script|<link|<img|<iframe|<object|src=|url\(|@import" "$h"; then fail "external resource or script in the page"; else ok "no script, no external resource"; fi
grep -q "<b>bold" "$h" && fail "raw HTML from a commit reached the page" || ok "no raw HTML from the data"
expect_grep "$ev/r2.md" "| Released by | erin |" "Markdown: who released"
expect_grep "$ev/r2.md" "digest: \\<b\\>bold\\</b\\> \\& \"quoted\" subject" "Markdown escapes the data"
expect_exit 0 "a rollback has a package too" -- ev_build "$rb" --out "$ev/rb.json" --html "$ev/rb.html"
expect_grep "$ev/rb.html" "This release is a ROLLBACK." "rollback flagged"
expect_exit 0 "and it verifies" -- bpgate evidence verify "$ev/rb.json" --key "$keys/ev.pub" --log-key "$keys/audit.vkey" --repo "$srv"

# --- the audit export ------------------------------------------------------------------
expect_exit 0 "audit export --format csv" -- bpgate audit export --log "$audit" --key "$keys/audit.vkey" --repo "$srv" \
  --since 2025-06-01 --until 2025-06-30 --format csv
cat > "$E2E_TMP/want.csv" <<EOF
time,environment,commit,kind,scenarios,authors,approvers,releaser,rollback,break_glass,incident,first_commit,cycle_time_seconds,failed,recovered_by,time_to_recover_seconds,audit_entry
2025-06-03T10:00:00Z,prod,$r1,release,weekly-digest,alice,carol,erin,false,false,,2025-06-02T08:00:00Z,93600,false,,,IDX1
2025-06-04T09:00:00Z,prod,$r2,release,weekly-digest,alice,carol,erin,false,false,,2025-06-04T07:00:00Z,7200,true,$rb,,IDX2
2025-06-04T09:45:00Z,prod,$rb,rollback,weekly-digest,erin,carol,erin,true,false,,2025-06-04T09:40:00Z,,,,2700,IDX3
2025-06-05T09:00:00Z,prod,$r3,release,weekly-digest,'=1+2 Alice,carol,erin,false,false,,2025-06-05T07:00:00Z,7200,false,,,IDX4
EOF
# the audit entry numbers depend on how many pushes the gate judged: take them from the log
n=1; for c in "$r1" "$r2" "$rb" "$r3"; do
  idx=$(grep -n "\"kind\":\"[a-z-]*\",\"new\":\"$c\"" "$audit/entries" | grep '"environment":"prod"' | grep '"decision":"accept"' | head -n1 | cut -d' ' -f1 | cut -d: -f2)
  sed -i "s/IDX$n\$/$idx/" "$E2E_TMP/want.csv"; n=$((n + 1))
done
sed -i 's/$/\r/' "$E2E_TMP/want.csv"
if cmp -s "$E2E_TMP/out" "$E2E_TMP/want.csv"; then ok "CSV rows exact"; else fail "CSV rows differ"; diff "$E2E_TMP/want.csv" "$E2E_TMP/out" | head -20; fi
grep -q ",=1+2" "$E2E_TMP/out" && fail "a formula cell reached the CSV" || ok "a cell starting with = is prefixed with '"
expect_exit 0 "audit export --metrics --format csv" -- bpgate audit export --log "$audit" --key "$keys/audit.vkey" --repo "$srv" \
  --since 2025-06-01 --until 2025-06-30 --format csv --metrics
printf 'metric,value\r\ndeployments,4\r\nchanges,3\r\nfailed_changes,1\r\nfailed_change_rate,0.3333\r\nrollbacks,1\r\ncycle_time_seconds.count,3\r\ncycle_time_seconds.min,7200\r\ncycle_time_seconds.median,7200\r\ncycle_time_seconds.mean,36000\r\ncycle_time_seconds.max,93600\r\ntime_to_recover_seconds.count,1\r\ntime_to_recover_seconds.min,2700\r\ntime_to_recover_seconds.median,2700\r\ntime_to_recover_seconds.mean,2700\r\ntime_to_recover_seconds.max,2700\r\n' > "$E2E_TMP/want.csv"
if cmp -s "$E2E_TMP/out" "$E2E_TMP/want.csv"; then ok "metrics exact"; else fail "metrics differ"; diff "$E2E_TMP/want.csv" "$E2E_TMP/out" | head -20; fi
expect_exit 0 "audit export --format json" -- bpgate audit export --log "$audit" --key "$keys/audit.vkey" --repo "$srv" \
  --since 2025-06-04 --until 2025-06-04
expect_grep "$E2E_TMP/out" '"failed_change_rate": 1.0' "a one-day window: one change, failed"
expect_grep "$E2E_TMP/out" "\"recovered_by\": \"$rb\"" "names the rollback that recovered"
expect_exit 2 "a bad date is a usage error" -- bpgate audit export --log "$audit" --since 2025-13-01 --until 2025-06-30
expect_exit 2 "both dates are required" -- bpgate audit export --log "$audit" --since 2025-06-01
echo '{"type":"tamper"}' >> "$audit/entries"
sed -i '1s/"decision":"/"decision":"x/' "$audit/entries"
expect_exit 1 "a tampered log is not exported" -- bpgate audit export --log "$audit" --key "$keys/audit.vkey" --since 2025-06-01 --until 2025-06-30
finish
