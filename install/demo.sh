#!/usr/bin/env bash
# The demo (main job) — filled in as the gate grows.
set -euo pipefail
"$1/hooks/bpgate" --version
