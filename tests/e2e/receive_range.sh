#!/usr/bin/env bash
# extra.server.first_parent_range (the commits an update adds to a branch's
# first-parent history, checked by the first-parent-history rule) is taken
# from the gathered commits when their chain ends at the old tip, and from a
# first-parent walk otherwise (srvfacts_release.c). Every shape below is
# judged both ways (BPGATE_TEST_FLAGS=range-walk forces the walk) and must
# give exactly the expected range, including chains that leave the new
# commits elsewhere than at the old tip (there the gate walks).
. "$(dirname "$0")/lib.sh"
pack="$BPG_SOURCE_ROOT/policy/packs/regulated"

git init -q src && cd src
mkdir -p .bpgate scenarios/crm
cp "$pack/policy.json" .bpgate/policy.json; cp -r "$pack/contracts" .bpgate/contracts
cp "$pack/blueprints/crm-contact-sync.good.blueprint.json" scenarios/crm/a.blueprint.json
git add -A && git commit -qm base --no-verify && git branch dev
git init -q --bare ../server.git
git push -q ../server.git main dev

n=0
commit() { # commit MESSAGE [PARENT...] -> id (a change of a.blueprint.json on a tree of its own)
  local msg=$1 t; shift; n=$((n + 1))
  sed "s/Web form to HubSpot contact/Web form $n to HubSpot contact/" "$pack/blueprints/crm-contact-sync.good.blueprint.json" > scenarios/crm/a.blueprint.json
  git add -A; t=$(git write-tree)
  local args=(); for p in "$@"; do args+=(-p "$p"); done
  git commit-tree "$t" "${args[@]}" -m "$msg"
}

# range OLD NEW [FLAGS] -> "commit commit ..." of first_parent_range, as the gate dumps it
range() {
  git push -q ../server.git "$2:refs/keep/$2"
  git --git-dir=../server.git update-ref refs/heads/dev "$1"
  (cd ../server.git && echo "$1 $2 refs/heads/dev" | GIT_DIR=. BPGATE_USER=alice BPGATE_RECEIVE_DUMP_FACTS=1 \
    BPGATE_TEST_FLAGS=${3:-} bpgate-receive >/dev/null 2>"$E2E_TMP/facts.err") || true
  grep -q "^{" "$E2E_TMP/facts.err" || { echo "no facts:" >&2; head -5 "$E2E_TMP/facts.err" >&2; }
  python3 - "$E2E_TMP/facts.err" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
start = lines.index("{")
end = lines.index("}", start)
facts = json.loads("\n".join(lines[start:end + 1]))
print(" ".join(c["commit"] for c in facts["extra"]["server"]["first_parent_range"]))
PY
}

check() { # check WHAT OLD NEW EXPECTED...
  local what=$1 old=$2 new=$3; shift 3
  local want="$*" fast walk
  fast=$(range "$old" "$new"); walk=$(range "$old" "$new" range-walk)
  [ "$fast" = "$want" ] && ok "$what: the range is the expected one" ||
    fail "$what: range '$fast', wanted '$want'"
  [ "$walk" = "$want" ] && ok "$what: the first-parent walk gives the same" ||
    fail "$what: walked range '$walk', wanted '$want'"
}

base=$(git rev-parse main)

# 1. a straight line on the old tip
c1=$(commit c1 "$base"); c2=$(commit c2 "$c1"); c3=$(commit c3 "$c2")
check "a straight line" "$base" "$c3" "$c3 $c2 $c1"

# 2. a merge whose first parent is an unrelated (orphan) chain: all of that chain enters
x1=$(commit x1); x2=$(commit x2 "$x1"); m=$(commit merge-orphan "$x2" "$base")
check "an orphan chain merged as first parent" "$base" "$m" "$m $x2 $x1"

# 3. the old tip merged a side commit B as second parent; the new tip's first parents run
#    through B, which the old tip reaches: hidden, as the fact says (the chain leaves the new
#    commits at B, not at the old tip, so the gate walks)
m1=$(commit m1 "$base"); b=$(commit side-b "$base"); old=$(commit merge-side "$m1" "$b")
c=$(commit on-b "$b"); new=$(commit merge-back "$c" "$old")
check "a chain through a commit the old tip has only as a second parent" "$old" "$new" "$new $c"

# 4. a merge whose first parent is an older commit of the branch, the old tip second
y=$(commit y "$base"); old4=$(commit y2 "$y"); new4=$(commit back-to-older "$y" "$old4")
check "first parent an older commit of the branch" "$old4" "$new4" "$new4"

finish
