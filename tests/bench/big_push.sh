#!/usr/bin/env bash
# The abuse cases of issue 9 at full size, outside the test suite: a push of
# one SIZE_MB blueprint (default 1024, over the 64 MiB limit) and a push of
# COMMITS empty commits (default 100000, over the 20,000 limit), each through
# real git into a bare repository whose pre-receive hook is bpgate-receive.
# Prints the gate's peak memory and time (/usr/bin/time -v) and its refusal.
#   tests/bench/big_push.sh [BUILD_DIR] [SIZE_MB] [COMMITS]
# BUILD_DIR defaults to build-bench (a release build: meson setup build-bench
# -Dbuildtype=release); an ASan build works too but measures the sanitizer.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=$(cd "${1:-build-bench}" && pwd)
size=${2:-1024}
ncommits=${3:-100000}
receive="$build/server/bpgate-receive"
bpgate="$build/hooks/bpgate"
[ -x "$receive" ] && [ -x "$bpgate" ] || { echo "big_push.sh: build $receive and $bpgate first"; exit 2; }
[ -x /usr/bin/time ] || { echo "big_push.sh: needs /usr/bin/time (package time)"; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/bpg-big.XXXXXX")
trap 'rm -rf "$T"' EXIT
export HOME="$T" GIT_CONFIG_NOSYSTEM=1 LC_ALL=C BPGATE_TIME=2025-06-04T10:30:00Z
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.com GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.com
export ASAN_OPTIONS=quarantine_size_mb=4:detect_leaks=0
git config --global init.defaultBranch main

printf 'alice alice\ntester@example.com alice\n' > "$T/users"
"$bpgate" audit keygen example.com/audit --out "$T/audit" >/dev/null 2>&1
cat > "$T/gate" <<EOF
#!/bin/bash
exec /usr/bin/time -v -o "$T/time" "$receive" "\$@"
EOF
chmod +x "$T/gate"
git init -q --bare "$T/srv.git"
for kv in "bpgate.users $T/users" "bpgate.auditDir $T/auditlog" "bpgate.auditKey $T/audit.skey" "bpgate.bootstrap true"; do
  git -C "$T/srv.git" config $kv
done
ln -s "$T/gate" "$T/srv.git/hooks/pre-receive"
git init -q "$T/work"; cd "$T/work"
mkdir -p .bpgate scenarios/weekly-digest
cp "$src/policy/packs/regulated/policy.json" .bpgate/; cp -r "$src/policy/packs/regulated/contracts" .bpgate/
echo digest > scenarios/weekly-digest/README.md
git add -A; git commit -qm init; git remote add origin "$T/srv.git"
BPGATE_USER=alice git push -q origin main 2>/dev/null
git -C "$T/srv.git" config --unset bpgate.bootstrap

report() { # report WHAT: the gate's figures and its refusal line
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time")
  printf '%-28s client push %5.1f s, gate %s wall, %d MB peak; %s\n' "$1" "$2" "$wall" "$((rss / 1024))" \
    "$(grep -o 'error: bpgate: [^:]*: [^:]*\|\[blueprint-parses\][^.]*\|bpgate: accepted[^(]*' "$T/err" | head -1)"
}

# --- one SIZE_MB blueprint -------------------------------------------------------
python3 - "$size" scenarios/weekly-digest/big.blueprint.json <<'PY'
import sys
mb, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write('{"name": "big", "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1, "mapper": {"x": "')
    chunk = "A" * (1 << 20)
    for _ in range(mb):
        f.write(chunk)
    f.write('"}}], "metadata": {"version": 1}}\n')
PY
s=$(date +%s.%N); git add -A; git commit -qm "a ${size} MB blueprint"; e=$(date +%s.%N)
printf '%-28s git add+commit %.1f s\n' "blueprint ${size} MB" "$(awk "BEGIN{print $e - $s}")"
s=$(date +%s.%N); BPGATE_USER=alice git push origin main >/dev/null 2>"$T/err" || true; e=$(date +%s.%N)
report "blueprint ${size} MB" "$(awk "BEGIN{print $e - $s}")"
git reset -q --hard HEAD~1

# --- COMMITS empty commits (one pack, as in tests/e2e/hardening.sh) -----------------
tip=$(python3 - "$ncommits" "$(git rev-parse HEAD)" "$(git rev-parse 'HEAD^{tree}')" 2>&1 >"$T/commits.pack" <<'PY'
import hashlib, sys, zlib
n, parent, tree = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = bytearray()
for i in range(n):
    body = ("tree %s\nparent %s\nauthor tester <tester@example.com> %d +0000\n"
            "committer tester <tester@example.com> %d +0000\n\ncommit %d\n"
            % (tree, parent, 1717400000 + i, 1717400000 + i, i)).encode()
    parent = hashlib.sha1(b"commit %d\0" % len(body) + body).hexdigest()
    size = len(body); hdr = bytearray([(1 << 4) | (size & 15)]); size >>= 4
    while size:
        hdr[-1] |= 0x80; hdr.append(size & 0x7f); size >>= 7
    out += hdr + zlib.compress(body, 1)
pack = b"PACK" + (2).to_bytes(4, "big") + n.to_bytes(4, "big") + out
sys.stdout.buffer.write(pack + hashlib.sha1(pack).digest())
sys.stderr.write(parent + "\n")
PY
)
git index-pack --stdin <"$T/commits.pack" >/dev/null; git update-ref refs/heads/many "$tip"
s=$(date +%s.%N); BPGATE_USER=alice git push origin many >/dev/null 2>"$T/err" || true; e=$(date +%s.%N)
report "${ncommits} commits" "$(awk "BEGIN{print $e - $s}")"
