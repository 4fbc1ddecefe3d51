#!/usr/bin/env bash
# Install what bpgate needs to build and test on Debian 12. Idempotent: when
# every package is already there it does nothing (and needs no network).
set -euo pipefail

packages=(
  gcc pkg-config meson ninja-build
  libgit2-dev libssh-dev libjansson-dev libsodium-dev libpcre2-dev libcriterion-dev
  libcurl4-openssl-dev  # the Make API client: HTTPS with verified TLS (policy/make)
  git openssh-client openssh-server minisign signify-openbsd gitolite3
  clang libclang-rt-14-dev python3 ca-certificates
  time  # /usr/bin/time -v: the hardening e2e test measures the gate's peak memory
  openssl  # tools/verify-evidence.py (Ed25519) and the Make stand-in tests (a throw-away TLS certificate)
  pre-commit  # tests/e2e/mislead.sh runs .pre-commit-hooks.yaml under the framework (offline: a local hook repository)
)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install/deps.sh: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
