#!/usr/bin/env bash
# Rules of the sources that the code depends on and a compiler does not check:
#  - no json_dumps() outside policy/core/jsonheap.c: bpgate-receive gives jansson a heap of
#    its own (bpgate/jsonheap.h), and json_dumps() returns memory of that heap, which the
#    callers' free() must not see; bpg_json_dumps() returns malloc()'s;
#  - no system() or popen(): commands run through posix_spawn with argument vectors;
#  - no engine code reads a blueprint's "diff": bpgate-receive leaves it out of its facts
#    because bpg_policy_reads_blueprint_diff (query.h) says no rule does.
source "$(dirname "$0")/lib.sh"
src=${BPG_SOURCE_ROOT:?run through meson test}

scan() { # scan <regex> -> "file:line: text" of the C sources that match
  grep -rnE --include='*.c' --include='*.h' -- "$1" "$src/policy" "$src/server" "$src/hooks" |
    sed "s|^$src/||" | grep -v '^policy/core/jsonheap\.c:' || true
}
hits=$(scan '(^|[^_a-z])json_dumps[[:space:]]*\(')
[ -z "$hits" ] && ok "no json_dumps() outside jsonheap.c (bpg_json_dumps instead)" \
  || { fail "json_dumps() called: use bpg_json_dumps() (bpgate/jsonheap.h)"; echo "$hits" | sed 's/^/    /'; }
# no rule reads a blueprint's semantic diff (bpg_policy_reads_blueprint_diff, query.h): the gate leaves it out
diff_readers() { # engine code naming "diff" (facts.c lists it in the facts' shape)
  grep -rnF --include='*.c' -- '"diff"' "$src/policy/engine" | sed "s|^$src/||" | grep -v '^policy/engine/facts\.c:' || true
}
hits=$(diff_readers)
[ -z "$hits" ] && ok "no engine code reads files[].diff (the gate leaves it out)" \
  || { fail "engine code reads \"diff\": make bpg_policy_reads_blueprint_diff (query.c) say so"; echo "$hits" | sed 's/^/    /'; }
hits=$(scan '(^|[^_a-z])(system|popen)[[:space:]]*\(')
[ -z "$hits" ] && ok "no system() or popen()" \
  || { fail "system()/popen() called: spawn with an argument vector"; echo "$hits" | sed 's/^/    /'; }

# the check itself: a call pasted into a copy is found
mkdir -p "$E2E_TMP/copy/policy/engine" "$E2E_TMP/copy/server" "$E2E_TMP/copy/hooks"
printf 'char *f(json_t *j) { return json_dumps(j, 0); }\n' > "$E2E_TMP/copy/policy/x.c"
src="$E2E_TMP/copy"
[ -n "$(scan '(^|[^_a-z])json_dumps[[:space:]]*\(')" ] && ok "a json_dumps() call is found" || fail "a json_dumps() call was not found"
printf 'char *f(json_t *j) { return bpg_json_dumps(j, 0); }\n' > "$E2E_TMP/copy/policy/x.c"
[ -z "$(scan '(^|[^_a-z])json_dumps[[:space:]]*\(')" ] && ok "bpg_json_dumps() is not taken for it" || fail "bpg_json_dumps() taken for json_dumps()"
printf 'int r(const json_t *f) { return json_object_get(f, "diff") != NULL; }\n' > "$E2E_TMP/copy/policy/engine/rule_x.c"
[ -n "$(diff_readers)" ] && ok "a rule reading the diff is found" || fail "a rule reading the diff was not found"
finish
