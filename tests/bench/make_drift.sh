#!/usr/bin/env bash
# What `bpgate make drift` costs against the stand-in (tests/make/standin.py)
# for 10, 100 and 1,000 catalogued scenarios: requests sent and wall time of
# a clean check (one paginated list, no blueprint read) and of a check after
# one scenario was edited in Make (the list plus one read). RUNS runs each
# (default 5): median and min-max, and the machine's load.
#
# usage: tests/bench/make_drift.sh [BUILDDIR]   (a release build is fairer:
#        meson setup build-rel -Dbuildtype=release)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
runs=${RUNS:-5}
export PATH="$build/hooks:$PATH" NO_COLOR=1 GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpg-drift-bench.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
export HOME="$tmp/home"; mkdir -p "$HOME"
git config --global user.name bench; git config --global user.email bench@example.com
git config --global init.defaultBranch main
TOKEN=3f1c2b7a-5d6e-4f80-9a1b-2c3d4e5f6a7b
export BPGATE_MAKE_TOKEN=$TOKEN BPGATE_MAKE_BUDGET=1000000
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-8s %-10s %-22s\n' scenarios check requests "time ms median (min-max)"

for N in 10 100 1000; do
  d="$tmp/n$N"; mkdir -p "$d"; cd "$d"
  python3 - "$N" "$TOKEN" <<'P'
import json, sys
n, tok = int(sys.argv[1]), sys.argv[2]
def bp(i):
    return {"name": "S%d" % i, "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1, "parameters": {},
            "mapper": {"json": "{\"n\": %d}" % i}}], "metadata": {"version": 1, "scenario": {"dlq": True},
            "designer": {"orphans": []}, "zone": "eu1.make.com"}}
seed = {"organizations": [{"id": 1, "name": "Bench", "apiLimit": 10000000}],
        "teams": [{"id": 30, "organizationId": 1, "name": "prod"}],
        "users": [{"id": 5, "name": "bench", "email": "bench@example.test"}],
        "tokens": {tok: {"user": 5, "scopes": ["scenarios:read", "scenarios:write"]}},
        "scenarios": [{"id": 1000 + i, "teamId": 30, "name": "S%d" % i, "isActive": True, "blueprint": bp(i),
                       "scheduling": {"type": "indefinitely", "interval": 900}} for i in range(n)]}
json.dump(seed, open("seed.json", "w"))
P
  python3 "$src/tests/make/standin.py" --seed seed.json --port-file port --frozen-clock 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 600); do [ -s port ] && break; sleep 0.05; done
  port=$(cat port)
  git init -q repo; cd repo; mkdir -p .bpgate scenarios
  python3 - "$N" "$port" <<'P'
import json, sys
n, port = int(sys.argv[1]), sys.argv[2]
url = "http://127.0.0.1:%s/api/v2" % port
cat = []
for i in range(n):
    cat.append({"id": "s%d" % i, "paths": ["scenarios/s%d.json" % i], "owner": "bench", "risk": "low",
                "blueprint": "scenarios/s%d.json" % i, "make": {"prod": 1000 + i}})
    json.dump({"name": "S%d" % i, "flow": [{"id": 1, "module": "json:ParseJSON", "version": 1, "parameters": {},
               "mapper": {"json": "{\"n\": %d}" % i}}], "metadata": {"version": 1, "scenario": {"dlq": True},
               "designer": {"orphans": []}, "zone": "eu1.make.com"},
               "scheduling": {"type": "indefinitely", "interval": 900}}, open("scenarios/s%d.json" % i, "w"), indent=4)
json.dump({"version": 1, "environments": {"prod": {"branch": "refs/heads/main", "promotes_from": None,
           "make": {"zone": "eu1.make.com", "api_url": url, "team_id": 30}}},
           "roles": {"builders": ["bench"]}, "risk_tiers": ["low"], "catalog": cat, "rules": {}},
          open(".bpgate/policy.json", "w"), indent=2)
P
  git add -A; git commit -qm bench
  bpgate audit keygen bench/audit --out "$d/audit" >/dev/null 2>&1
  git config bpgate.auditDir "$d/auditlog"; git config bpgate.auditKey "$d/audit.skey"
  bpgate make deploy --env prod >/dev/null
  measure() { # measure LABEL EXPECTED-EXIT
    local times=() req=
    for _ in $(seq 1 "$runs"); do
      local t0 t1 rc=0
      t0=$(date +%s%N)
      bpgate make drift --env prod > out 2>&1 || rc=$?
      t1=$(date +%s%N)
      [ "$rc" = "$2" ] || { echo "drift exit $rc, wanted $2"; cat out; exit 1; }
      req=$(sed -n 's/.*; \([0-9]*\) requests$/\1/p' out)
      times+=($(( (t1 - t0) / 1000000 )))
    done
    local sorted; sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    local med; med=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%-10s %-8s %-10s %s (%s-%s)\n' "$N" "$1" "$req" "$med" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
  }
  measure clean 0
  python3 "$src/tests/make/ctl.py" --port-file "$d/port" --token "$TOKEN" call PATCH "scenarios/1000?confirmed=true" \
    '{"name": "renamed in the editor", "blueprint": "{\"name\":\"edited\",\"flow\":[{\"id\":1,\"module\":\"json:ParseJSON\",\"version\":1,\"parameters\":{},\"mapper\":{\"json\":\"{}\"}}],\"metadata\":{\"version\":1}}"}' >/dev/null
  measure edited 1
  cd "$tmp"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
