#!/usr/bin/env bash
# Issue #19: broken JSON keeps its secrets. Real blueprints of the shared
# corpus get ONE syntax error each (13 kinds: trailing/doubled/missing comma,
# missing colon, single quotes, an unquoted key, a stray byte, a raw control
# byte in a string, a comment, a string left open at the end of the file, and
# a file cut short after a value, a comma or a colon), at 3 positions each;
# the scanner must give exactly the same findings (rule, JSON pointer, masked
# excerpt, synthetic flag, fingerprint) for the broken file as for its
# repaired copy. Before the tolerant reader, 619 of the 1644 pairs differed
# (the file fell back to text mode and lost its key context).
here=$(cd "$(dirname "$0")/../.." && pwd)
source "$here/tests/e2e/lib.sh"
corpus="$BPG_SHARED_DIR/corpus/blueprints/real"
files=()
for f in "$corpus"/*.json; do
  [ "$(stat -c %s "$f")" -le 300000 ] && files+=("$f")
done
[ ${#files[@]} -ge 20 ] && ok "real blueprints under 300 kB: ${#files[@]}" || fail "corpus missing: ${#files[@]} files"
python3 "$here/tests/scan_quality/broken_pairs.py" "$E2E_TMP/pairs" "${files[@]}" > "$E2E_TMP/gen.out" &&
  ok "pairs generated: $(cat "$E2E_TMP/gen.out")" || fail "broken_pairs.py"
python3 - "$(command -v bpgate)" "$E2E_TMP/pairs" > "$E2E_TMP/cmp.out" <<'PY'
import collections, json, os, subprocess, sys
bp, root = sys.argv[1], sys.argv[2]
def run(side):
    d = os.path.join(root, side)
    files = sorted(os.path.join(k, f) for k in os.listdir(d) for f in os.listdir(os.path.join(d, k)))
    res = collections.defaultdict(list)
    for i in range(0, len(files), 400):
        out = subprocess.run([bp, "scan", "--format", "json", "--strict"] + files[i:i + 400],
                             capture_output=True, text=True, cwd=d)
        if out.returncode not in (0, 1):
            sys.exit("scan failed: " + out.stderr)
        for f in json.loads(out.stdout)["findings"]:
            res[f["path"]].append((f["rule"], f.get("pointer"), f["masked"], f["synthetic"], f["fingerprint"]))
    return files, res
files, b = run("broken")
_, r = run("repaired")
tot, bad, nf = collections.Counter(), collections.Counter(), 0
for f in files:
    k = f.split("/")[0].rsplit("-", 1)[0]
    tot[k] += 1
    nf += len(r[f])
    if sorted(b[f]) != sorted(r[f]):
        bad[k] += 1
        print("DIFF %s only-broken=%s only-repaired=%s" % (f, sorted(set(b[f]) - set(r[f]))[:2], sorted(set(r[f]) - set(b[f]))[:2]))
for k in sorted(tot):
    print("KIND %s %d %d" % (k, tot[k], bad[k]))
print("FINDINGS %d" % nf)
PY
[ "$(grep -c '^KIND ' "$E2E_TMP/cmp.out")" -eq 13 ] && ok "13 error kinds generated" || fail "error kinds: $(grep -c '^KIND ' "$E2E_TMP/cmp.out")"
while read -r _ kind n d; do
  if [ "$n" -ge 60 ] && [ "$d" -eq 0 ]; then ok "$kind: $n broken/repaired pairs, same findings"
  else fail "$kind: $d of $n pairs differ"; fi
done < <(grep '^KIND ' "$E2E_TMP/cmp.out")
nf=$(sed -n 's/^FINDINGS //p' "$E2E_TMP/cmp.out")
[ "${nf:-0}" -ge 1000 ] && ok "the repaired copies have findings to keep ($nf)" || fail "too few findings: $nf"
grep '^DIFF' "$E2E_TMP/cmp.out" | head -5 || true
finish
