#!/usr/bin/env bash
# The docs stay in one place and in step with the code (issue #18, docs):
#  - README.md links every docs/readme/*.md page and no paragraph of it is copied into docs/
#    (docs/assemble.py --check);
#  - bpgate(1) names every command of bpgate's command table (hooks/bpgate.c);
#  - bpgate-policy(5) names every rule the engine knows (bpgate policy rules) and hard-codes
#    no count of policy tests;
#  - every man page render without groff warnings, and each is installed by man/meson.build.
source "$(dirname "$0")/lib.sh"
src=${BPG_SOURCE_ROOT:?run through meson test}

if python3 "$src/docs/assemble.py" --check --root "$src" >"$E2E_TMP/out" 2>&1; then
  ok "README.md: links up to date, no paragraph copied into docs/"
else fail "docs/assemble.py --check"; sed 's/^/    /' "$E2E_TMP/out" | head -20; fi

# the check itself catches a copied paragraph and an unlinked page
mkdir -p "$E2E_TMP/copy/docs"; cp -r "$src/docs/readme" "$E2E_TMP/copy/docs/"; cp "$src/README.md" "$E2E_TMP/copy/"
awk 'NF && !/^#/ && !/^ / && !/^```/ && !/^\|/ && !/^[*-] / { print; n++ } n && !NF { exit }' \
  "$src/docs/readme/server.md" >> "$E2E_TMP/copy/README.md"
expect_exit 1 "a paragraph of docs/readme/server.md pasted into README.md is caught" -- \
  python3 "$src/docs/assemble.py" --check --root "$E2E_TMP/copy"
expect_grep "$E2E_TMP/out" "also in docs/readme/server.md" "... and named"
cp "$src/README.md" "$E2E_TMP/copy/"; printf '## A new page\n\ntext\n' > "$E2E_TMP/copy/docs/readme/zz-new.md"
expect_exit 1 "a docs/readme page the README does not link is caught" -- \
  python3 "$src/docs/assemble.py" --check --root "$E2E_TMP/copy"

# bpgate(1) against the command table
mapfile -t cmds < <(sed -n 's/^[[:space:]]*{ "\([a-z][a-z-]*\)", cmd_[a-z_]*,.*/\1/p' "$src/hooks/bpgate.c")
[ "${#cmds[@]}" -ge 20 ] || fail "the command table of hooks/bpgate.c was not read"
sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$src/man/bpgate.1" | sed -n 's/^\.B \([a-z][a-z-]*\).*/\1/p' > "$E2E_TMP/man-cmds"
missing=
for c in "${cmds[@]}"; do grep -qx -- "$c" "$E2E_TMP/man-cmds" || missing="$missing $c"; done
[ -z "$missing" ] && ok "bpgate(1) describes each of the ${#cmds[@]} commands of the table" \
  || fail "bpgate(1) does not describe:$missing (add a .TP/.B entry under COMMANDS)"
extra=
while read -r m; do printf '%s\n' "${cmds[@]}" | grep -qx -- "$m" || extra="$extra $m"; done < "$E2E_TMP/man-cmds"
[ -z "$extra" ] && ok "bpgate(1) describes no command bpgate does not have" || fail "bpgate(1) describes unknown commands:$extra"

# bpgate-policy(5) against the engine's rules
bpgate policy rules | awk '{print $1}' > "$E2E_TMP/rules"
[ "$(wc -l < "$E2E_TMP/rules")" -ge 20 ] || fail "bpgate policy rules listed too few rules"
missing=
while read -r r; do grep -qx -- ".B $r" "$src/man/bpgate-policy.5" || missing="$missing $r"; done < "$E2E_TMP/rules"
[ -z "$missing" ] && ok "bpgate-policy(5) describes every rule of bpgate policy rules" \
  || fail "bpgate-policy(5) does not describe:$missing"
if grep -qE '[0-9]+ passed' "$src/man/bpgate-policy.5"; then fail "bpgate-policy(5) hard-codes a test count"; else
  ok "bpgate-policy(5) hard-codes no test count"; fi

# each page is installed and renders cleanly
for page in "$src"/man/*.[0-9]; do
  n=$(basename "$page")
  expect_grep "$src/man/meson.build" "'$n'" "man/meson.build installs $n"
  if command -v groff >/dev/null; then
    groff -man -ww -z "$page" >"$E2E_TMP/out" 2>&1
    [ ! -s "$E2E_TMP/out" ] && ok "$n renders without groff warnings" || { fail "$n: groff warns"; head -5 "$E2E_TMP/out"; }
  fi
done
for n in bpgate.1 bpgate-policy.5 bpgate-receive.8 bpgated.8; do
  [ -f "$src/man/$n" ] && ok "man/$n exists" || fail "man/$n is missing"
done
finish
