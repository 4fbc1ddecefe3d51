#!/usr/bin/env bash
# Quality of the scanner on the labelled samples: precision and recall per
# entity and overall, on the dev and the held-out part of tests/scan_quality/
# (or on the corpora named). Usage: tests/bench/scan_quality.sh [BUILD_DIR] [CORPUS.jsonl...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${BPG_BUILD_ROOT:-$here/../../build}}" && pwd)
shift || true
if [ $# -eq 0 ]; then
  set -- "$here/../scan_quality/dev.jsonl" "$here/../scan_quality/heldout.jsonl"
fi
exec python3 "$here/scan_quality.py" "$build/hooks/bpgate" "$@"
