#!/usr/bin/env bash
# The README's first command: install, build, and run the main job on the
# embedded default (the shipped policy pack and sample blueprints).
set -euo pipefail
cd "$(dirname "$0")/.."

bash install/deps.sh
builddir=${BPG_TRY_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" -Dbuildtype=release -Dtests=false >/dev/null
ninja -C "$builddir" >/dev/null
exec bash install/demo.sh "$builddir"
