#!/usr/bin/env bash
# Quality of the scanner on the labelled samples: precision and recall per
# entity and overall. Usage: tests/bench/scan_quality.sh [BUILD_DIR] [CORPUS.jsonl]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${BPG_BUILD_ROOT:-$here/../../build}}" && pwd)
corpus=${2:-${BPG_SHARED_DIR:-$here/../../../shared}/corpus/pii/dev.jsonl}
exec python3 "$here/scan_quality.py" "$build/hooks/bpgate" "$corpus"
