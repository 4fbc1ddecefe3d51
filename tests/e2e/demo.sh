# End-to-end: the README's main job (install/demo.sh, what install/try.sh runs)
# against this build: bpgated on loopback and the whole flow with stock clients.
source "$(dirname "$0")/lib.sh"
out="$E2E_TMP/demo.log"
if TMPDIR="$E2E_TMP" bash "$BPG_SOURCE_ROOT/install/demo.sh" "$BPG_BUILD_ROOT" > "$out" 2>&1; then
  ok "the demo runs to the end"
else
  fail "the demo failed"; tail -30 "$out"
fi
expect_grep "$out" "created acme/scenarios" "an admin creates the repository over ssh"
expect_grep "$out" "error [scan-findings]: EMAIL found (ja********om)" "personal data stopped by pre-commit, masked"
expect_grep "$out" "bpgate: accepted 1 ref update(s) from alice" "pushes to dev and stage accepted"
expect_grep "$out" "[protected-branch] refs/heads/main (environment prod) may only be pushed by the roles releasers" "a direct push to prod is refused: role"
expect_grep "$out" "[promotion] refs/heads/main (environment prod) may only move to content that stage had" "refused: promotion"
expect_grep "$out" "for prod as carol" "carol approves over ssh"
expect_grep "$out" "for prod as dave" "dave approves over ssh"
expect_grep "$out" "approvals: 2 verified: carol, dave" "status shows both approvals verified"
expect_grep "$out" "bpgate: accepted 1 ref update(s) from erin" "the releaser promotes to prod"
expect_grep "$out" "deployed (Make scenario 204)" "the releaser deploys stage to Make over ssh"
expect_grep "$out" "bpgate: deploying" "the accepted prod push deploys itself (make.deploy auto)"
expect_grep "$out" "deployed (Make scenario 304)" "prod deployed to the stand-in's prod team"
expect_grep "$out" "by bpgate-receive (accepted push of refs/heads/main by erin)" "status: who deployed prod, and why"
expect_grep "$out" "edited in Make since the last deployment" "an edit in Make's editor is caught by drift"
expect_grep "$out" "refused: carol holds none of the roles that may disable" "a reviewer may not disable a prod scenario"
expect_grep "$out" "weekly-digest DISABLED in prod (Make scenario 304): INC-42: digest sent twice" "the releaser disables it at once"
expect_grep "$out" "match the checkpoint signed by demo.example/audit" "the audit log verifies"
if grep -q "$(printf '\033')" "$out"; then fail "colour codes without a tty"; else ok "no colour without a tty"; fi
finish
