#!/usr/bin/env bash
# End-to-end: `bpgate scan` on temporary files: exact output lines, JSON and
# exit codes (0 clean, 1 findings, 2 usage/input error).
set -euo pipefail
BPG=${BPG_BUILD_ROOT:?}/hooks/bpgate
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { local want=$1; shift; set +e; "$@" >out 2>err; local rc=$?; set -e
  [ "$rc" = "$want" ] || { cat out err >&2; fail "exit $rc, wanted $want: $*"; }; }

mkdir -p fixtures/sub fixtures/.git fixtures/build fixtures/node_modules
printf '{\n  "patient": {\n    "email": "jane.roe@acme-mail.com",\n    "ssn": "078-05-1123"\n  }\n}\n' > fixtures/p.json
printf 'plain text, nothing here\n' > fixtures/sub/clean.txt
printf 'jane.roe@acme-mail.com\n' > fixtures/.git/x.json
printf 'jane.roe@acme-mail.com\n' > fixtures/build/x.json
printf 'jane.roe@acme-mail.com\n' > fixtures/notes.bin
printf 'contact: support@example.com\n' > syn.txt

# clean file
expect_rc 0 "$BPG" scan fixtures/sub/clean.txt
[ ! -s out ] || fail "clean output not empty"

# directory walk: .git, build, unknown extensions skipped
expect_rc 1 "$BPG" scan fixtures
diff -u - out <<'OUT' || fail "text output"
fixtures/p.json:3:15: EMAIL ja********om (/patient/email)
fixtures/p.json:4:13: US_SSN 0********3 (/patient/ssn)
fix EMAIL: use an address at example.com / example.org (RFC 2606)
fix US_SSN: use a masked or invalid SSN (e.g. 000-00-0000 patterns are never issued)
2 findings (0 synthetic)
OUT
grep -q 'jane.roe' out && fail "unmasked value printed"

# explicitly named files are scanned whatever their extension
expect_rc 1 "$BPG" scan fixtures/notes.bin
grep -q '^fixtures/notes.bin:1:1: EMAIL ' out || fail "explicit path not scanned"

# JSON format
expect_rc 1 "$BPG" scan --format json fixtures/p.json
fp1=$(python3 -c 'import json,sys; d=json.load(open("out")); print(d["findings"][0]["fingerprint"])')
python3 - "$fp1" <<'PY' || fail "json output"
import json, sys
d = json.load(open("out"))
assert list(d) == ["findings"], d
f = d["findings"]
assert [list(x) for x in f] == [["rule","path","line","column","pointer","masked","synthetic","fingerprint"]] * 2
assert f[0] == {"rule": "EMAIL", "path": "fixtures/p.json", "line": 3, "column": 15,
  "pointer": "/patient/email", "masked": "ja********om", "synthetic": False, "fingerprint": sys.argv[1]}, f[0]
assert f[1]["rule"] == "US_SSN" and f[1]["pointer"] == "/patient/ssn"
PY

# SARIF
expect_rc 1 "$BPG" scan --format sarif fixtures/p.json
python3 - <<'PY' || fail "sarif output"
import json
d = json.load(open("out"))
assert d["version"] == "2.1.0"
r = d["runs"][0]
assert r["tool"]["driver"]["name"] == "bpgate-scan"
assert [x["ruleId"] for x in r["results"]] == ["EMAIL", "US_SSN"]
assert r["results"][0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 15}
PY

# stdin
printf 'x 078-05-1123\n' | { set +e; "$BPG" scan - >out 2>err; echo $? >rc; set -e; }
[ "$(cat rc)" = 1 ] || fail "stdin exit"
grep -qx '<stdin>:1:3: US_SSN 0\*\*\*\*\*\*\*\*3' out || { cat out; fail "stdin output"; }

# synthetic only: reported, exit 0; --strict: exit 1
expect_rc 0 "$BPG" scan syn.txt
grep -qx 'syn.txt:1:10: EMAIL su\*\*\*\*\*\*\*\*om \[synthetic\]' out || { cat out; fail "synthetic line"; }
expect_rc 1 "$BPG" scan --strict syn.txt

# ignore file: accepted fingerprints disappear; .bpgate/ignore is read by default
mkdir -p .bpgate
printf '{"version": 1, "ignore": [{"fingerprint": "%s", "reason": "fictional person", "accepted_by": "qa@example.com"}]}\n' "$fp1" > .bpgate/ignore
expect_rc 1 "$BPG" scan fixtures/p.json
[ "$(wc -l < out)" = 3 ] && grep -q '^fixtures/p.json:4:13: US_SSN' out || { cat out; fail "ignore"; }
printf '{"version": 1, "ignore": [{"fingerprint": "%s"}]}\n' "$fp1" > bad-ignore
expect_rc 2 "$BPG" scan --ignore bad-ignore fixtures/p.json
grep -qx 'bpgate scan: bad-ignore: /ignore/0: missing "reason"; every accepted finding needs a fingerprint, a reason and who accepted it' err || { cat err; fail "ignore error"; }
rm -rf .bpgate

# binary file: a reported skip, not a crash
printf 'PK\0\0 078-05-1123' > bin.json
expect_rc 0 "$BPG" scan bin.json
grep -qx 'bpgate scan: skipped bin.json: binary (NUL bytes in the first 8 KiB)' err || { cat err; fail "binary skip"; }

# usage and input errors
expect_rc 2 "$BPG" scan
expect_rc 2 "$BPG" scan --format xml fixtures
expect_rc 2 "$BPG" scan does-not-exist.json
grep -q 'does-not-exist.json' err || fail "missing file message"
echo "e2e scan: ok"
