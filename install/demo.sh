#!/usr/bin/env bash
# The main job on the embedded default: a governed repository made from the
# shipped "regulated" pack and its sample blueprints, one change refused with
# its reasons and one accepted. Usage: install/demo.sh BUILDDIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$build/hooks:$build/server:$PATH"
export BPGATE_PACKS="$src/policy/packs"
pack="$src/policy/packs/regulated"
demo=$(mktemp -d "${TMPDIR:-/tmp}/bpgate-demo.XXXXXX")
export HOME="$demo/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name "Alice Builder"
git config --global user.email alice@example.com
git config --global init.defaultBranch main

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] || say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A governed repository, in one command (bpgate init)"
cd "$demo" && git init -q scenarios-repo && cd scenarios-repo
run bpgate init
git add .bpgate && git commit -qm "Govern this repository with the regulated pack"
run bpgate policy test
git checkout -q -b dev

say "A builder commits a blueprint that breaks the rules: refused, with the fix for each finding"
mkdir -p scenarios/crm-contact-sync
cp "$pack/blueprints/crm-contact-sync.bad.blueprint.json" scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
printf '$ git commit -m "Sync web leads to HubSpot"\n'
if git commit -qm "Sync web leads to HubSpot"; then echo "(unexpected: accepted)"; exit 1; fi

say "The fixed blueprint, with the change template in the message: accepted"
cp "$pack/blueprints/crm-contact-sync.good.blueprint.json" scenarios/crm-contact-sync/main.blueprint.json
git add scenarios
cat > "$demo/msg" <<'M'
Sync web leads to HubSpot

Purpose: new web-form leads reach sales the same minute
Risk: high
Test-Plan: ran in dev with five synthetic leads, checked HubSpot
Rollback: revert this commit and re-import the previous blueprint
UAT-Evidence: uat/crm-contact-sync.json
M
run git commit -q -F "$demo/msg"
run git log --oneline -1

say "What the reviewer sees: the semantic diff of the two blueprints"
printf '$ bpgate diff bad good\n'
bpgate diff "$pack/blueprints/crm-contact-sync.bad.blueprint.json" \
  "$pack/blueprints/crm-contact-sync.good.blueprint.json" || true

say "The same judgement in CI (bpgate check), and the inventory"
run bpgate check HEAD~1..HEAD
run bpgate inventory

say "Done. The demo repository is in $demo/scenarios-repo"
