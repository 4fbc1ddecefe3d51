# Shared by the Make end-to-end tests (sourced after lib.sh): the Make stand-in
# and, for the plain-git-server tests, the server with its token and audit log.

# standin_start ARGS...: start tests/make/standin.py with ARGS (stderr to
# standin.err), wait until it has written $E2E_TMP/port, and set $standin and
# $port. No time budget: it waits while the stand-in runs and fails, with its
# log, the moment it exits without a port.
standin_start() {
  python3 "$BPG_SOURCE_ROOT/tests/make/standin.py" --port-file "$E2E_TMP/port" "$@" 2> standin.err &
  standin=$!
  trap 'kill $standin 2>/dev/null; rm -rf "$E2E_TMP"' EXIT
  while [ ! -s "$E2E_TMP/port" ]; do
    kill -0 "$standin" 2>/dev/null || { echo "the stand-in exited without a port:"; cat standin.err; exit 1; }
    sleep 0.05
  done
  port=$(cat "$E2E_TMP/port")
}

# make_server_two_teams: the seed (teams dev 10 and stage 20, one Digest scenario
# each, a read-write token $TOKEN), the stand-in on a frozen clock, and a bare
# repository $srv with bpgate-receive as pre- and post-receive, an audit log and
# the token in a 0600 file its git config names. Needs $TOKEN, $srv and $keys.
make_server_two_teams() {
  cat > seed.json <<J
{ "organizations": [{"id": 1, "name": "Acme", "apiLimit": 1000}],
  "teams": [{"id": 10, "organizationId": 1, "name": "dev"}, {"id": 20, "organizationId": 1, "name": "stage"}],
  "users": [{"id": 5, "name": "gate", "email": "gate@example.test"}],
  "tokens": {"$TOKEN": {"user": 5, "scopes": ["scenarios:read", "scenarios:write"]}},
  "scenarios": [
    {"id": 101, "teamId": 10, "name": "Digest", "isActive": true, "blueprint": {"name": "Digest", "flow": [], "metadata": {"version": 1}}},
    {"id": 201, "teamId": 20, "name": "Digest", "isActive": true, "blueprint": {"name": "Digest", "flow": [], "metadata": {"version": 1}}}]}
J
  standin_start --seed seed.json --frozen-clock
  bpgate audit keygen example.com/audit --out "$keys/audit" >/dev/null
  ( umask 077; echo "$TOKEN" > "$keys/make-token" )
  git init -q --bare "$srv"
  git -C "$srv" symbolic-ref HEAD refs/heads/dev
  git -C "$srv" config bpgate.bootstrap true
  git -C "$srv" config bpgate.bootstrapPrincipal alice
  git -C "$srv" config bpgate.auditDir "$E2E_TMP/audit"
  git -C "$srv" config bpgate.auditKey "$keys/audit.skey"
  git -C "$srv" config bpgate.makeTokenFile "$keys/make-token"
  git -C "$srv" config bpgate.policyRef refs/heads/dev
  ln -s "$BPG_BUILD_ROOT/server/bpgate-receive" "$srv/hooks/pre-receive"
  ln -s "$BPG_BUILD_ROOT/server/bpgate-receive" "$srv/hooks/post-receive"
}
