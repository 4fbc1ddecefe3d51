#!/usr/bin/env bash
# End-to-end: bpgate sshsig and verify-commit against the real ssh-keygen and git.
#  - ssh-keygen -Y verify accepts what bpgate signs; bpgate verifies what ssh-keygen signs;
#  - keys behind a passphrase are signed through ssh-keygen (posix_spawn, no shell);
#  - real commits/tags signed by git (gpg.format=ssh) verify; tampered, moved-signature,
#    wrong-key and unsigned commits are refused with exit 1.
set -u
B="$BPG_BUILD_ROOT/hooks/bpgate"
V="$BPG_SHARED_DIR/vectors"
command -v ssh-keygen >/dev/null && command -v git >/dev/null || { echo "ssh-keygen/git missing"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
export NO_COLOR=1 HOME="$T" GIT_CONFIG_NOSYSTEM=1 SSH_AUTH_SOCK=
fails=0
ok()   { echo "ok - $1"; }
bad()  { echo "not ok - $1"; fails=$((fails + 1)); }
expect() { # expect CODE NAME CMD...
	local want=$1 name=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; local got=$?
	if [ "$got" = "$want" ]; then ok "$name"; else bad "$name (exit $got, want $want)"; cat "$T/err"; fi
}

printf 'approve release 1.2.3 of invoice-sync\n' > msg
ssh-keygen -q -t ed25519 -N "" -C "alice test-only" -f alice
ssh-keygen -q -t ed25519 -N "test-only-pass" -C "carol test-only (encrypted)" -f carol
ssh-keygen -q -t ed25519 -N "" -C "mallory test-only" -f mallory
{
	echo "alice@example.com namespaces=\"file,release-approval@example.com,git\" $(cut -d' ' -f1,2 alice.pub)"
	echo "carol@example.com $(cut -d' ' -f1,2 carol.pub)"
} > allowed_signers

# 1. we sign, ssh-keygen verifies (sha512 and sha256)
expect 0 "bpgate sshsig sign (sha512)" sh -c "'$B' sshsig sign -f alice -n release-approval@example.com < msg > msg.sig"
expect 0 "ssh-keygen -Y verify accepts ours (sha512)" \
	sh -c "ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n release-approval@example.com -s msg.sig < msg"
expect 0 "bpgate sshsig sign -O hashalg=sha256" sh -c "'$B' sshsig sign -f alice -n file -O hashalg=sha256 < msg > msg256.sig"
expect 0 "ssh-keygen -Y verify accepts ours (sha256)" \
	sh -c "ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n file -s msg256.sig < msg"
cp msg m2; expect 0 "bpgate sshsig sign FILE writes FILE.sig" "$B" sshsig sign -f alice -n file m2
expect 0 "ssh-keygen verifies FILE.sig" sh -c "ssh-keygen -Y verify -f allowed_signers -I alice@example.com -n file -s m2.sig < m2"
# byte-identical to ssh-keygen (Ed25519 is deterministic)
cp msg m3; ssh-keygen -q -Y sign -f alice -n file m3 2>/dev/null
"$B" sshsig sign -f alice -n file < m3 > m3.ours
if cmp -s m3.sig m3.ours; then ok "signature bytes equal ssh-keygen's"; else bad "signature bytes differ from ssh-keygen's"; fi

# 2. ssh-keygen signs, we verify
expect 0 "bpgate verifies ssh-keygen's signature" sh -c "'$B' sshsig verify -f allowed_signers -I alice@example.com -n file -s m3.sig < m3"
expect 1 "wrong namespace refused" sh -c "'$B' sshsig verify -f allowed_signers -I alice@example.com -n email -s m3.sig < m3"
expect 1 "wrong principal refused" sh -c "'$B' sshsig verify -f allowed_signers -I carol@example.com -n file -s m3.sig < m3"
printf 'x' >> m3
expect 1 "tampered message refused" sh -c "'$B' sshsig verify -f allowed_signers -I alice@example.com -n file -s m3.sig < m3"
cp msg m4; ssh-keygen -q -Y sign -f mallory -n file m4 2>/dev/null
expect 1 "unknown key refused" sh -c "'$B' sshsig verify -f allowed_signers -I alice@example.com -n file -s m4.sig < m4"
expect 0 "find-principals" sh -c "'$B' sshsig find-principals -f allowed_signers -s msg.sig | grep -qx alice@example.com"

# 3. encrypted key: delegated to ssh-keygen (passphrase via SSH_ASKPASS, no tty)
cat > askpass <<'EOS'
#!/bin/sh
echo test-only-pass
EOS
chmod 700 askpass
expect 0 "encrypted key signs through ssh-keygen" \
	sh -c "SSH_ASKPASS='$T/askpass' SSH_ASKPASS_REQUIRE=force DISPLAY=: setsid -w '$B' sshsig sign -f carol -n file < msg > carol.sig"
expect 0 "and verifies" sh -c "'$B' sshsig verify -f allowed_signers -I carol@example.com -n file -s carol.sig < msg"

# 4. key file hygiene
chmod 644 alice
expect 2 "private key readable by others refused" sh -c "'$B' sshsig sign -f alice -n file < msg"
grep -q "too open" "$T/err" && ok "message says permissions are too open" || bad "no permission message"
chmod 600 alice

# 5. the shared vectors through the CLI
S="$V/sshsig"
expect 0 "vector file-sha512" sh -c "'$B' sshsig verify -f '$S/allowed_signers' -I reviewer@example.com -n file -s '$S/message.txt.file-sha512.sig' < '$S/message.txt'"
expect 1 "vector expired" sh -c "'$B' sshsig verify -f '$S/allowed_signers' -I expired-reviewer@example.com -n file -s '$S/message.txt.file-sha512.sig' < '$S/message.txt'"
expect 0 "vector cert (verify-time 2025)" sh -c "'$B' sshsig verify -f '$S/cert/allowed_signers' -I reviewer2@example.com -n file -O verify-time=20250101Z -s '$S/cert/message.txt.cert-file-sha512.sig' < '$S/cert/message.txt'"
expect 1 "vector cert expired (2036)" sh -c "'$B' sshsig verify -f '$S/cert/allowed_signers' -I reviewer2@example.com -n file -O verify-time=20360101Z -s '$S/cert/message.txt.cert-file-sha512.sig' < '$S/cert/message.txt'"

# 6. real SSH-signed git commits and tags
git init -q -b main repo && cd repo
export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com
mkdir .bpgate && cp ../allowed_signers .bpgate/allowed_signers
echo '{"name":"x"}' > blueprint.json && git add . && \
	git -c gpg.format=ssh -c user.signingkey="$T/alice" commit -q -S -m "signed commit"
expect 0 "git verify-commit accepts (reference)" git -c gpg.ssh.allowedSignersFile=.bpgate/allowed_signers verify-commit HEAD
expect 0 "bpgate verify-commit accepts a git-signed commit" "$B" verify-commit HEAD
git -c gpg.format=ssh -c user.signingkey="$T/alice" tag -s v1 -m "signed tag"
expect 0 "bpgate verify-commit accepts a git-signed tag" "$B" verify-commit v1
echo 2 >> blueprint.json && git commit -q -am "unsigned"
expect 1 "unsigned commit refused" "$B" verify-commit HEAD
# tampered: change the message, keep the signature
git cat-file commit HEAD~1 | sed 's/signed commit/signed commit (edited)/' > tampered
T1=$(git hash-object -t commit -w --literally tampered)
expect 1 "tampered commit refused" "$B" verify-commit "$T1"
expect 1 "git also refuses it (reference)" git -c gpg.ssh.allowedSignersFile=.bpgate/allowed_signers verify-commit "$T1"
# moved signature: gpgsig header moved to the end of the message body
git cat-file commit HEAD~1 | awk '
	/^gpgsig /{insig=1; sub(/^gpgsig /,""); sig=sig $0 "\n"; next}
	insig && /^ /{sub(/^ /,""); sig=sig $0 "\n"; next}
	{insig=0; print}
	END{printf "%s", sig}' > moved
T2=$(git hash-object -t commit -w --literally moved)
expect 1 "signature moved into the message body refused" "$B" verify-commit "$T2"
grep -q "unsigned" "$T/err" && ok "moved signature reported as unsigned" || bad "moved signature message"
expect 1 "git also refuses it (reference)" git -c gpg.ssh.allowedSignersFile=.bpgate/allowed_signers verify-commit "$T2"
# wrong key: a commit signed by mallory
echo 3 >> blueprint.json && git -c gpg.format=ssh -c user.signingkey="$T/mallory" commit -q -S -am "mallory"
expect 1 "commit signed by a key not in allowed_signers refused" "$B" verify-commit HEAD
# allowed_signers given explicitly
expect 0 "verify-commit -f" "$B" verify-commit -f "$T/allowed_signers" HEAD~2
expect 2 "unknown revision is an input error" "$B" verify-commit does-not-exist
cd ..

echo "# $fails failed"
[ "$fails" -eq 0 ]
