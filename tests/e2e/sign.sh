#!/usr/bin/env bash
# End-to-end: bpgate keygen/sign/verify/bundle against the real minisign.
#  - minisign -V verifies what bpgate signs, bpgate verifies what minisign signs,
#    keys made by either tool are read by the other (encrypted and unencrypted);
#  - every vector in vectors/minisign and vectors/signify gives the expected answer;
#  - OpenSSH ed25519 keys sign (bpgate sign -s id_ed25519) and keygen -R gives their public key;
#    a passphrase-protected one signs through ssh-agent once ssh-add has it;
#  - bundle create/sign/verify; tampered, missing and extra files are reported; an auditor's
#    `minisign -Vm MANIFEST -p PUB` and `sed ... | sha256sum -c` work.
source "$(dirname "$0")/lib.sh"
set +e
command -v minisign >/dev/null || { echo "minisign missing"; exit 77; }
V="$BPG_SHARED_DIR/vectors"
cd "$E2E_TMP"
printf 'release bundle test\n' > msg.txt

# --- vectors ---------------------------------------------------------------------------
M="$V/minisign"
for s in message.txt.minisig message.txt.default-comments.minisig message.txt.legacy.minisig; do
  expect_exit 0 "vector $s ACCEPT" -- bpgate verify -p "$M/test-only-minisign-ed25519.pub" -m "$M/message.txt" -x "$M/$s"
done
expect_exit 0 "vector encrypted-key ACCEPT" -- bpgate verify -p "$M/test-only-minisign-ed25519-encrypted.pub" -m "$M/message.txt" -x "$M/message.txt.encrypted-key.minisig"
expect_exit 1 "vector legacy with -H REJECT" -- bpgate verify -H -p "$M/test-only-minisign-ed25519.pub" -m "$M/message.txt" -x "$M/message.txt.legacy.minisig"
expect_exit 1 "vector wrong key REJECT" -- bpgate verify -p "$M/test-only-minisign-ed25519-encrypted.pub" -m "$M/message.txt" -x "$M/message.txt.minisig"
expect_exit 1 "vector flipped byte REJECT" -- bpgate verify -p "$M/test-only-minisign-ed25519.pub" -m "$M/negative/flipped-byte-message.txt" -x "$M/message.txt.minisig"
expect_exit 2 "vector truncated signature REJECT" -- bpgate verify -p "$M/test-only-minisign-ed25519.pub" -m "$M/message.txt" -x "$M/negative/truncated-signature.minisig"
for s in modified-trusted-comment prehash-flag-flipped wrong-key-keyid-forged; do
  expect_exit 1 "vector $s REJECT" -- bpgate verify -p "$M/test-only-minisign-ed25519.pub" -m "$M/message.txt" -x "$M/negative/$s.minisig"
done
expect_exit 2 "signify signature REJECT (no trusted comment, as minisign)" -- bpgate verify -p "$V/signify/test-only-signify-ed25519.pub" -m "$V/signify/message.txt" -x "$V/signify/message.txt.sig"
expect_grep "$E2E_TMP/err" "trusted comment not present" "signify refusal says why"
expect_exit 0 "verify -Q prints the trusted comment" -- bpgate verify -Q -P RWQr6aErmFCi7516b6h26VsGViwGiLAxTaGSxbXNCyVjXNNTTPHAxVav -m "$M/message.txt" -x "$M/message.txt.minisig"
expect_grep "$E2E_TMP/out" "timestamp:1700000000" "trusted comment printed"

# --- keys made by bpgate, used by minisign, and back --------------------------------------
expect_exit 0 "keygen -W" -- bpgate keygen -W -p b.pub -s b.key
[ "$(stat -c %a b.key)" = 600 ] && ok "secret key written 0600" || fail "secret key mode $(stat -c %a b.key)"
expect_exit 2 "keygen refuses to overwrite" -- bpgate keygen -W -p b.pub -s b.key
expect_exit 0 "bpgate sign" -- bpgate sign -s b.key -m msg.txt -t "release 1.2.3"
expect_exit 0 "minisign -V verifies bpgate's signature" -- minisign -Vm msg.txt -p b.pub
expect_grep "$E2E_TMP/out" "Trusted comment: release 1.2.3" "minisign shows our trusted comment"
expect_exit 0 "bpgate sign -l (legacy)" -- bpgate sign -l -s b.key -m msg.txt -x legacy.sig
expect_exit 0 "minisign verifies bpgate legacy signature" -- minisign -Vm msg.txt -x legacy.sig -p b.pub
expect_exit 0 "signify verifies bpgate legacy signature" -- signify-openbsd -V -p b.pub -m msg.txt -x legacy.sig
expect_exit 0 "minisign signs with bpgate's unencrypted key" -- minisign -S -s b.key -m msg.txt -x m1.sig
expect_exit 0 "bpgate verifies minisign's signature" -- bpgate verify -p b.pub -m msg.txt -x m1.sig
printf 'x\n' >> msg.txt
expect_exit 1 "tampered file refused" -- bpgate verify -p b.pub -m msg.txt -x m1.sig

printf 'test-only-pass\n' > pass
expect_exit 0 "keygen encrypted (--passphrase-fd)" -- bpgate keygen --passphrase-fd 3 -p e.pub -s e.key 3<pass
expect_exit 0 "sign with encrypted key" -- bpgate sign --passphrase-fd 3 -s e.key -m msg.txt -x e.sig 3<pass
expect_exit 0 "minisign verifies it" -- minisign -Vm msg.txt -x e.sig -p e.pub
expect_exit 0 "minisign decrypts bpgate's encrypted key" -- sh -c 'minisign -S -s e.key -m msg.txt -x e2.sig < pass'
expect_exit 0 "bpgate verifies it" -- bpgate verify -p e.pub -m msg.txt -x e2.sig
expect_exit 1 "wrong passphrase refused" -- sh -c 'echo nope | bpgate sign --passphrase-fd 0 -s e.key -m msg.txt -x e3.sig'
expect_grep "$E2E_TMP/err" "wrong passphrase" "wrong passphrase message"
chmod 644 e.key
expect_exit 2 "secret key readable by others refused" -- bpgate sign --passphrase-fd 3 -s e.key -m msg.txt 3<pass
expect_grep "$E2E_TMP/err" "are too open" "ssh-like permissions message"
chmod 600 e.key

# Keys made by minisign itself.
expect_exit 0 "minisign -G" -- sh -c 'printf "pw2\npw2\n" | minisign -G -p mk.pub -s mk.key'
expect_exit 0 "bpgate signs with minisign's encrypted key" -- sh -c 'echo pw2 | bpgate sign --passphrase-fd 0 -s mk.key -m msg.txt -x mk.sig'
expect_exit 0 "minisign verifies" -- minisign -Vm msg.txt -x mk.sig -p mk.pub
expect_exit 0 "minisign -G -W" -- minisign -G -W -p mw.pub -s mw.key
expect_exit 0 "bpgate signs with minisign's unencrypted key" -- bpgate sign -s mw.key -m msg.txt -x mw.sig
expect_exit 0 "minisign verifies" -- minisign -Vm msg.txt -x mw.sig -p mw.pub

# OpenSSH ed25519 keys (the keys people already sign commits with).
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -q -t ed25519 -N "" -C "test-only" -f id_ed25519
  expect_exit 0 "keygen -R: minisign public key of an ssh key" -- bpgate keygen -R -s id_ed25519 -p ssh.pub
  expect_exit 0 "sign -s id_ed25519" -- bpgate sign -s id_ed25519 -m msg.txt -x ssh.sig
  expect_exit 0 "minisign verifies the ssh-key signature" -- minisign -Vm msg.txt -x ssh.sig -p ssh.pub
  expect_exit 0 "bpgate verify -p id_ed25519.pub" -- bpgate verify -p id_ed25519.pub -m msg.txt -x ssh.sig

  # A passphrase-protected key signs through ssh-agent; bpgate never decrypts it.
  ssh-keygen -q -t ed25519 -N "correct horse" -C "test-only-pp" -f id_pp
  expect_exit 0 "keygen -R from a passphrase-protected ssh key (no agent needed)" -- \
    env -u SSH_AUTH_SOCK bpgate keygen -R -s id_pp -p pp.pub
  expect_exit 2 "sign with it and no agent: refused" -- env -u SSH_AUTH_SOCK bpgate sign -s id_pp -m msg.txt -x pp.sig
  expect_grep "$E2E_TMP/err" "passphrase-protected, so bpgate signs with it through ssh-agent" "says why and what to do"
  [ ! -e pp.sig ] && ok "no signature file left behind" || fail "pp.sig written on a refused signing"
  eval "$(ssh-agent -s -a "$E2E_TMP/agent.sock")" >/dev/null
  trap 'ssh-agent -k >/dev/null 2>&1; rm -rf "$E2E_TMP"' EXIT
  expect_exit 2 "an agent without the key: refused" -- bpgate sign -s id_pp -m msg.txt -x pp.sig
  expect_grep "$E2E_TMP/err" "ssh-agent does not hold it: run \`ssh-add id_pp\`, then sign again" "says to ssh-add it"
  printf '#!/bin/sh\necho "correct horse"\n' > askpass && chmod +x askpass
  SSH_ASKPASS="$PWD/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -q id_pp </dev/null 2>/dev/null
  expect_exit 0 "sign -s id_pp through the agent" -- bpgate sign -s id_pp -m msg.txt -x pp.sig
  expect_exit 0 "minisign verifies the agent-made signature" -- minisign -Vm msg.txt -x pp.sig -p pp.pub
  expect_exit 0 "bpgate verify -p id_pp.pub" -- bpgate verify -p id_pp.pub -m msg.txt -x pp.sig
  expect_exit 0 "legacy (-l) signature through the agent" -- bpgate sign -l -s id_pp -m msg.txt -x pp-l.sig
  expect_exit 0 "minisign verifies it" -- minisign -Vm msg.txt -x pp-l.sig -p pp.pub
  ssh-add -q -D 2>/dev/null
  expect_exit 2 "key removed from the agent: refused again" -- bpgate sign -s id_pp -m msg.txt -x pp2.sig
  ssh-agent -k >/dev/null 2>&1
  trap 'rm -rf "$E2E_TMP"' EXIT
fi

# --- release bundles ------------------------------------------------------------------------
mkdir -p repo/release/1.2.3/scenarios repo/.bpgate/keys
cd repo
git init -q .
cat > release/1.2.3/scenarios/invoice.blueprint.json <<'EOF'
{"name": "Invoice sync", "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1}], "metadata": {"version": 1}}
EOF
printf '{"env": "prod"}\n' > release/1.2.3/config.json
printf 'readme\n' > release/1.2.3/README.txt
cp ../b.pub .bpgate/keys/releaser.pub
git add . && git commit -qm "release 1.2.3"
expect_exit 0 "bundle create" -- bpgate bundle create --env prod --out release/1.2.3/release.bundle.json \
  release/1.2.3/scenarios/invoice.blueprint.json release/1.2.3/config.json
expect_grep release/1.2.3/release.bundle.json "\"source_commit\": \"$(git rev-parse HEAD)\"" "manifest records HEAD"
expect_grep release/1.2.3/release.bundle.json '"name": "Invoice sync"' "manifest names the scenario"
expect_grep release/1.2.3/release.bundle.json '"creator": "tester <tester@example.com>"' "creator from git config"
expect_exit 2 "bundle create refuses a file outside the manifest's tree" -- bpgate bundle create --env prod --out release/1.2.3/x.bundle.json .bpgate/keys/releaser.pub
expect_exit 1 "bundle verify: unsigned" -- bpgate bundle verify -p ../b.pub release/1.2.3/release.bundle.json
expect_grep "$E2E_TMP/err" "unsigned: release.bundle.json.minisig" "unsigned reported"
expect_exit 0 "bundle sign" -- bpgate bundle sign -s ../b.key release/1.2.3/release.bundle.json
expect_exit 0 "bundle verify" -- bpgate bundle verify -p .bpgate/keys/releaser.pub release/1.2.3/release.bundle.json
expect_grep "$E2E_TMP/out" "environment:prod" "trusted comment names the environment"
( cd release/1.2.3 &&
  minisign -Vm release.bundle.json -p ../../.bpgate/keys/releaser.pub >/dev/null &&
  sed -n 's/^    "\(.*\)": "\([0-9a-f]\{64\}\)",\{0,1\}$/\2  \1/p' release.bundle.json | sha256sum -c >"$E2E_TMP/sums" ) \
  && ok "auditor: minisign -V and sha256sum -c pass" || fail "auditor commands"
[ "$(grep -c ': OK$' "$E2E_TMP/sums")" = 2 ] && ok "sha256sum checked both files" || fail "sha256sum output: $(cat "$E2E_TMP/sums")"
expect_exit 1 "bundle verify with another key" -- bpgate bundle verify -p ../e.pub release/1.2.3/release.bundle.json
expect_grep "$E2E_TMP/err" "not-releaser" "not a releaser's key"

printf '{"env": "dev"}\n' > release/1.2.3/config.json
rm release/1.2.3/scenarios/invoice.blueprint.json
printf '{}\n' > release/1.2.3/scenarios/new.json
expect_exit 1 "bundle verify: tampered" -- bpgate bundle verify -p ../b.pub release/1.2.3/release.bundle.json
expect_grep "$E2E_TMP/err" "mismatch: config.json" "mismatch reported"
expect_grep "$E2E_TMP/err" "missing: scenarios/invoice.blueprint.json" "missing reported"
expect_grep "$E2E_TMP/err" "extra: scenarios/new.json" "extra reported"
expect_grep "$E2E_TMP/err" "REFUSED (3 problems)" "three problems"
( cd release/1.2.3 && sed -n 's/^    "\(.*\)": "\([0-9a-f]\{64\}\)",\{0,1\}$/\2  \1/p' release.bundle.json | sha256sum -c >/dev/null 2>&1 ) \
  && fail "sha256sum -c should fail on tampered files" || ok "auditor's sha256sum -c fails on tampering"
sed -i 's/"prod"/"dev"/' release/1.2.3/release.bundle.json
expect_exit 1 "edited manifest: bad signature" -- bpgate bundle verify -p ../b.pub release/1.2.3/release.bundle.json
expect_grep "$E2E_TMP/err" "bad-signature" "bad signature reported"
expect_exit 1 "minisign agrees" -- minisign -Vm release/1.2.3/release.bundle.json -p ../b.pub

finish
