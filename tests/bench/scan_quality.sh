#!/usr/bin/env bash
# Quality of the scanner on the labelled samples: precision and recall per
# entity and overall, on the dev part, the seen held-out part (heldout_seen: its misses were read in round 1) and the unseen held-out part (heldout2) of tests/scan_quality/
# (or on the corpora named). Usage: tests/bench/scan_quality.sh [BUILD_DIR] [CORPUS.jsonl...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${BPG_BUILD_ROOT:-$here/../../build}}" && pwd)
shift || true
if [ $# -eq 0 ]; then
  set -- "$here/../scan_quality/dev.jsonl" "$here/../scan_quality/heldout_seen.jsonl" "$here/../scan_quality/heldout2.jsonl"
fi
exec python3 "$here/scan_quality.py" "$build/hooks/bpgate" "$@"
