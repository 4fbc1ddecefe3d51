#!/usr/bin/env bash
# Throughput (MB/s) and peak RSS of `bpgate scan` on a generated 50 MB
# pretty-printed JSON fixture tree and a 50 MB single-line minified JSON,
# and the same inputs through git-secrets (--register-aws) and secretlint 12
# (recommended preset), installed here (not by install/test.sh).
# Usage: tests/bench/scan_speed.sh [BUILD_DIR] [--no-peers]
# Build for speed first: meson setup build-rel -Dbuildtype=release -Dtests=false
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build-rel}
work=${BPG_BENCH_DIR:-/tmp/bpgate-scan-bench}
mkdir -p "$work"
peers=--peers
[ "${2:-}" = --no-peers ] && peers=
if [ -n "$peers" ]; then
  if ! command -v git-secrets >/dev/null; then
    sudo -n apt-get install -y git-secrets >/dev/null 2>&1 || apt-get install -y git-secrets >/dev/null 2>&1 ||
      echo "note: could not install git-secrets" >&2
  fi
  if [ ! -x "$work/secretlint/node_modules/.bin/secretlint" ]; then
    mkdir -p "$work/secretlint"
    (cd "$work/secretlint" && npm init -y >/dev/null &&
      npm install --no-audit --no-fund secretlint@12 @secretlint/secretlint-rule-preset-recommend@12 >/dev/null) ||
      echo "note: could not install secretlint" >&2
  fi
fi
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (one core used)"
exec python3 "$here/scan_speed.py" "$build/hooks/bpgate" "$work" $peers
