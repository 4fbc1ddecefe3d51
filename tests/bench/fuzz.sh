#!/usr/bin/env bash
# Run every libFuzzer target for SECONDS each (default 10) and print the
# figures libFuzzer reports (runs, exec/s, coverage). Builds build-fuzz with
# clang first. Seeds come from the shared test vectors where a target has
# some. Exit 1 if any target finds a crash, leak or sanitizer report.
#   tests/bench/fuzz.sh [SECONDS]
set -u
cd "$(dirname "$0")/../.."
secs=${1:-10}
shared=${BPG_SHARED_DIR:-$PWD/../shared}
builddir=${BPG_FUZZ_BUILDDIR:-build-fuzz}
command -v clang >/dev/null || { echo "fuzz.sh: clang not installed; skipping"; exit 0; }
if [ ! -f "$builddir/build.ninja" ]; then
	# -Werror off: clang warns where gcc does not; the -Werror gate is the gcc build.
	CC=clang meson setup "$builddir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug -Doptimization=1 -Dtests=true >/dev/null || exit 2
fi
targets=()
for src in tests/fuzz/fuzz_*.c; do targets+=("tests/fuzz/$(basename "$src" .c)"); done
ninja -C "$builddir" "${targets[@]}" >/dev/null || { ninja -C "$builddir" "${targets[@]}" | tail -20; exit 2; }

seed() { # seed TARGET DIR: copy vector files that suit TARGET into DIR
	local v="$shared/vectors"
	case "$1" in
	sshsig) cp "$v"/sshsig/*.sig "$v"/sshsig/negative/*.sig "$v"/sshsig/cert/*.sig "$2"/ ;;
	allowed_signers) cp "$v"/sshsig/allowed_signers "$2"/a; cp "$v"/sshsig/cert/allowed_signers "$2"/b
		cp "$v"/git-ssh-signed-commit/allowed_signers "$2"/c ;;
	sshkey) for f in "$v"/sshsig/test-only-ed25519* "$v"/sshsig/cert/test-only-*; do cp "$f" "$2"/; done ;;
	commit_sig) cp "$v"/git-ssh-signed-commit/*.raw "$v"/git-ssh-signed-commit/negative/*.raw "$2"/ ;;
	blueprint) cp "$shared"/corpus/blueprints/real/*.json "$2"/ ;;
	policy) i=0; for f in policy/packs/*/policy.json policy/packs/*/tests/*.json; do
			i=$((i + 1)); { if [ "${f#*tests/}" != "$f" ]; then printf '\001'; else printf '\000'; fi
			cat "$f"; } > "$2/seed$i"; done ;;
	receive_input) z=0000000000000000000000000000000000000000; a=1111111111111111111111111111111111111111
		printf '\000%s %s refs/heads/main\n%s %s refs/tags/v1\n' $z $a $a $z > "$2"/stdin
		printf '\000%s %s refs/heads/\033[31mx\n' $a $a > "$2"/stdin-esc
		printf '\0012\nbpgate.break-glass=INC-42: digest\nci.skip\n' > "$2"/options
		printf '\002# map\nalice alice\nalice@example.com alice\n' > "$2"/users ;;
	daemon_cmd) printf "\000git-receive-pack '/team/app.git'" > "$2"/push
		printf '\000%s' "git upload-pack 'it'\\''s!'" > "$2"/quoted
		printf '\000user add bob --admin ssh-ed25519 AAAA' > "$2"/user
		printf '\001%s' "'a'\\!'b'" > "$2"/sq; printf '\002/team/app.git' > "$2"/name
		printf '\003version=2:object-format=sha1' > "$2"/proto
		{ printf '\004'; cat "$v"/sshsig/allowed_signers 2>/dev/null | sed 's/^[^ ]* /alice admin /'; } > "$2"/keys
		printf '\005caf\303\251 \033[2J' > "$2"/esc ;;
	minisign*|sign*) cp "$v"/minisign/*.minisig "$v"/minisign/*.pub "$v"/minisign/*.key "$2"/ 2>/dev/null ;;
	esac 2>/dev/null
	return 0
}

fails=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for exe in "$builddir"/tests/fuzz/fuzz_*; do
	[ -f "$exe" ] && [ -x "$exe" ] || continue
	name=$(basename "$exe"); name=${name#fuzz_}
	mkdir -p "$work/$name"
	seed "$name" "$work/$name"
	# UBSan reports are recoverable by default: libFuzzer would run on past them
	if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$exe" -max_total_time="$secs" -max_len=8192 -print_final_stats=1 \
		"$work/$name" >"$work/$name.log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
		cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -1)
		printf '%-20s ok   %8s runs in %ss (%s/s), %s\n' "$name" "${runs:-?}" "$secs" "$(( ${runs:-0} / secs ))" "$cov"
	else
		printf '%-20s FAIL (see below)\n' "$name"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$name.log" | head -5
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ]
