#!/usr/bin/env bash
# End-to-end: the pre-push hook's retry when the remote tip is not known here.
# Only that case (BPG_ENOBASE) is judged as a new branch; any other failure to
# read the old tip refuses the push (it used to retry on any message with the
# word "cannot" in it, so a corrupt object was judged as if absent).
source "$(dirname "$0")/lib.sh"
export BPGATE_PACKS="$BPG_SOURCE_ROOT/policy/packs"
repo="$E2E_TMP/repo"
git init -q "$repo"; cd "$repo"
bpgate init >/dev/null 2>&1 || fail "bpgate init"
git add .bpgate && git commit -qm "Govern this repository"
git checkout -q -b dev
echo "notes" > README && git add README
git commit -qm "readme" -m $'Purpose: test\nRisk: low\nTest-Plan: e2e\nRollback: revert'
tip=$(git rev-parse HEAD)
hook() { expect_exit "$1" "$2" -- bpgate hook pre-push origin "$E2E_TMP/remote.git"; }

# the remote is at a commit this clone never fetched: judged as a new branch
printf 'refs/heads/dev %s refs/heads/dev %s\n' "$tip" 0123456789abcdef0123456789abcdef01234567 > "$E2E_TMP/in"
hook 0 "remote tip unknown here: the local commits are judged as a new branch" < "$E2E_TMP/in"

# the remote tip is here but its object is corrupt: refused, never judged as absent
git commit -q --allow-empty -m "old remote tip"
old=$(git rev-parse HEAD); git reset -q --hard HEAD~1
obj=".git/objects/${old:0:2}/${old:2}"
[ -f "$obj" ] || fail "test setup: $old is not a loose object"
chmod u+w "$obj"; printf 'not a zlib stream' > "$obj"
printf 'refs/heads/dev %s refs/heads/dev %s\n' "$tip" "$old" > "$E2E_TMP/in"
hook 2 "remote tip present but corrupt: the push is refused" < "$E2E_TMP/in"
expect_grep "$E2E_TMP/err" "bpgate pre-push: cannot read refs/heads/dev (push refused): cannot walk the commits of the change" \
  "the refusal says which ref and why"

# the remote tip is a blob, not a commit: refused too
blob=$(echo hello | git hash-object -w --stdin)
printf 'refs/heads/dev %s refs/heads/dev %s\n' "$tip" "$blob" > "$E2E_TMP/in"
hook 2 "remote tip is not a commit: the push is refused" < "$E2E_TMP/in"
expect_grep "$E2E_TMP/err" "bpgate pre-push: cannot read refs/heads/dev (push refused)" "names the ref"
finish
