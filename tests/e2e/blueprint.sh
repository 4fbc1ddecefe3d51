# End-to-end: `bpgate blueprint show`, `bpgate diff` and the git diff driver.
source "$(dirname "$0")/lib.sh"
corpus="$BPG_SHARED_DIR/corpus/blueprints/real"
t="$E2E_TMP"

expect_exit 0 "show json of a real export" -- bpgate blueprint show "$corpus/data-readout-7-break-handlers.blueprint.json" --format json
python3 - "$t/out" <<'PY' && ok "model json: modules flattened with id and module" || fail "model json shape"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["module_count"] == len(m["modules"]) > 0
assert all("id" in x and "module" in x and "pointer" in x for x in m["modules"])
PY

# every corpus file, both formats
n=0
for f in "$corpus"/*.json; do
  bpgate blueprint show "$f" >/dev/null && bpgate blueprint show --format json "$f" >/dev/null || { fail "show $f"; continue; }
  n=$((n + 1))
done
ok "all $n corpus files shown"

# bad input: exit 2, a located message, never a crash
printf '{"flow": [1, 2' > "$t/trunc.json"
expect_exit 2 "truncated JSON" -- bpgate blueprint show "$t/trunc.json"
expect_grep "$t/err" "trunc.json:1:" "truncated: file:line:column"
printf 'hello' > "$t/notjson.json"
expect_exit 2 "not JSON" -- bpgate blueprint show "$t/notjson.json"
expect_grep "$t/err" "not valid JSON" "not JSON: says so"
printf '{"name": "x", "modules": []}' > "$t/notbp.json"
expect_exit 2 "JSON but not a blueprint" -- bpgate blueprint show "$t/notbp.json"
expect_grep "$t/err" 'notbp.json: /flow: not a blueprint' "not a blueprint: JSON pointer"
printf '{"flow": [],\n "flow": []}' > "$t/dup.json"
expect_exit 2 "duplicate keys" -- bpgate blueprint show "$t/dup.json"
expect_grep "$t/err" "dup.json:2:" "duplicate key located"
printf '{"flow": [], "name": "\xff\xfe"}' > "$t/utf8.json"
expect_exit 2 "invalid UTF-8" -- bpgate blueprint show "$t/utf8.json"
python3 -c 'import sys; sys.stdout.write("{\"flow\":" + "[" * 100000 + "]" * 100000 + "}")' > "$t/deep.json"
expect_exit 2 "nesting 100,000 deep" -- bpgate blueprint show "$t/deep.json"
expect_grep "$t/err" "nested deeper than 2048 levels" "deep nesting explained"
truncate -s 200M "$t/big.json"
expect_exit 2 "a 200 MB file" -- bpgate blueprint show "$t/big.json"
expect_grep "$t/err" "larger than the 67108864-byte limit" "size limit explained"
expect_exit 2 "a directory" -- bpgate blueprint show "$t"
printf '\xef\xbb\xbf{"name":"bom","flow":[],"metadata":{}}' > "$t/bom.json"
expect_exit 0 "a UTF-8 BOM is accepted" -- bpgate blueprint show "$t/bom.json"

# semantic diff
cat > "$t/old.blueprint.json" <<'J'
{"name":"Leads","flow":[{"id":1,"module":"gateway:CustomWebHook","version":1,"parameters":{"hook":10}},
 {"id":2,"module":"hubspotcrm:createContact","version":1,"parameters":{"__IMTCONN__":20},"mapper":{"email":"{{1.email}}"}}],
 "metadata":{"scenario":{"dlq":false}}}
J
cat > "$t/new.blueprint.json" <<'J'
{"name":"Leads","flow":[{"id":1,"module":"gateway:CustomWebHook","version":1,"parameters":{"hook":10}},
 {"id":2,"module":"hubspotcrm:createContact","version":1,"parameters":{"__IMTCONN__":21},"mapper":{"email":"{{1.mail}}"}},
 {"id":3,"module":"slack:CreateMessage","version":4}],
 "metadata":{"scenario":{"dlq":true}}}
J
expect_exit 0 "diff of identical files exits 0" -- bpgate diff "$t/old.blueprint.json" "$t/old.blueprint.json"
expect_grep "$t/out" "no semantic change" "identical: no semantic change"
expect_exit 1 "diff of different files exits 1" -- bpgate diff "$t/old.blueprint.json" "$t/new.blueprint.json"
cat > "$t/want" <<'W'
scenario:
  ~ setting dlq: false -> true
module 2 hubspotcrm:createContact
  ~ connection __IMTCONN__: 20 -> 21
  ~ mapper mapper.email: "{{1.email}}" -> "{{1.mail}}"
module 3 slack:CreateMessage
  + added in flow
W
if diff -u "$t/want" "$t/out"; then ok "diff text is exact"; else fail "diff text"; fi
expect_exit 1 "diff json" -- bpgate diff --format json "$t/old.blueprint.json" "$t/new.blueprint.json"
python3 - "$t/out" <<'PY' && ok "diff json exact" || fail "diff json"
import json, sys
c = json.load(open(sys.argv[1]))["changes"]
assert [x["kind"] for x in c] == ["setting", "connection", "mapper", "added"], c
assert c[1] == {"kind": "connection", "module_id": 2, "module": "hubspotcrm:createContact",
                "field": "__IMTCONN__", "old": "20", "new": "21"}, c[1]
PY

# git integration: git diff uses the semantic diff, git log -p the textconv
repo="$t/repo"
git init -q "$repo"
cp "$t/old.blueprint.json" "$repo/leads.blueprint.json"
(cd "$repo" && git add . && git commit -qm "first")
(cd "$repo" && bpgate diff --setup >/dev/null) && ok "diff --setup" || fail "diff --setup"
cp "$t/new.blueprint.json" "$repo/leads.blueprint.json"
(cd "$repo" && git diff) > "$t/gitdiff"
expect_grep "$t/gitdiff" "blueprint leads.blueprint.json" "git diff names the file"
expect_grep "$t/gitdiff" '~ mapper mapper.email: "{{1.email}}" -> "{{1.mail}}"' "git diff shows the semantic change"
(cd "$repo" && git commit -qam "second" && git log -p -1) > "$t/gitlog"
expect_grep "$t/gitlog" '+[3] slack:CreateMessage v4  flow  message' "git log -p shows the model diff"
(cd "$repo" && bpgate diff --setup >/dev/null && grep -c 'diff=bpgate' .git/info/attributes) > "$t/count"
expect_grep "$t/count" "1" "diff --setup is idempotent"

finish
