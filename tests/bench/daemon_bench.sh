#!/usr/bin/env bash
# Benchmark: bpgated against OpenSSH sshd + git and against gitolite3 (behind
# its own sshd), all on 127.0.0.1, same client, same kex (curve25519-sha256),
# same trivial accepting pre-receive hook everywhere.
#
#   bash tests/bench/daemon_bench.sh [builddir]    (default: build-bench, release)
#
# Figures: small push (1 commit, median of 10), large push (2,000 commits,
# 500 files, median of 3), clone of that repository (median of 5) and 20
# concurrent pushes to separate branches (wall time, median of 3). Prints
# milliseconds and ratios (peer / bpgated; > 1 means bpgated is faster).
# Everything lives in a temporary directory; every server is killed by PID.
# Not run by install/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
BUILD=${1:-build-bench}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C "$BUILD" server/bpgated >/dev/null
BIN=$SRC/$BUILD/server/bpgated
[ -x "$BIN" ] || BIN=$BUILD/server/bpgated

T=$(mktemp -d "${TMPDIR:-/tmp}/bpgated-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened"; exit 1; }

cd "$T"
ssh-keygen -q -t ed25519 -N '' -f client -C bench
ssh-keygen -q -t ed25519 -N '' -f hostkey
printf '#!/bin/sh\ncat >/dev/null\nexit 0\n' > accept-hook; chmod +x accept-hook
SSHOPTS="-F /dev/null -i $T/client -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -o KexAlgorithms=curve25519-sha256"
export GIT_SSH_COMMAND="ssh $SSHOPTS"

# ---- peer 1: bpgated -----------------------------------------------------------
mkdir -p bp/repos bp/state
echo "bench admin $(cut -d' ' -f1,2 client.pub)" > bp/keys
P_BP=$(free_port)
cat > bp/cfg.json <<EOF
{ "listen": {"address": "127.0.0.1", "port": $P_BP}, "repo_root": "repos", "state_dir": "state",
  "keys_file": "keys", "pre_receive_hook": "$T/accept-hook",
  "limits": {"max_connections": 64, "max_per_principal": 64} }
EOF
"$BIN" --config bp/cfg.json 2> bp/log & PIDS+=($!)
wait_port "$P_BP"

# ---- peer 2: OpenSSH sshd + git-shell (test config) ------------------------------
# As root, the peers run as a test user whose shell is /bin/sh, so that no
# login shell start-up files (root's .bashrc) are counted against them.
BUSER=$(id -un)
if [ "$(id -u)" = 0 ]; then
  BUSER=bpgbench
  id "$BUSER" >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /bin/sh "$BUSER"
  usermod -p '*' "$BUSER"  # not "locked" ('!'): sshd without PAM refuses locked accounts
  chmod 755 "$T"
fi
mkdir -p /run/sshd 2>/dev/null || true
mkdir -p ssh/repos
P_SSH=$(free_port)
echo "command=\"git-shell -c \\\"\$SSH_ORIGINAL_COMMAND\\\"\",restrict $(cat client.pub)" > ssh/authorized_keys
cat > ssh/sshd_config <<EOF
Port $P_SSH
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AcceptEnv GIT_PROTOCOL
MaxStartups 100:30:200
PidFile none
EOF
/usr/sbin/sshd -D -e -f ssh/sshd_config -o AllowUsers="$BUSER" 2> ssh/log & PIDS+=($!)
wait_port "$P_SSH"

# ---- peer 3: gitolite3 behind its own sshd -----------------------------------------
mkdir -p gl/home
P_GL=$(free_port)
[ "$BUSER" = "$(id -un)" ] || chown -R "$BUSER" gl ssh
asb() { if [ "$BUSER" = "$(id -un)" ]; then "$@"; else runuser -u "$BUSER" -- "$@"; fi; }
asb env HOME="$T/gl/home" gitolite setup -pk "$T/client.pub" >/dev/null 2>&1
echo "command=\"env HOME=$T/gl/home /usr/share/gitolite3/gitolite-shell client\",restrict $(cat client.pub)" > gl/authorized_keys
sed -e "s/^Port .*/Port $P_GL/" -e "s|^AuthorizedKeysFile .*|AuthorizedKeysFile $T/gl/authorized_keys|" ssh/sshd_config > gl/sshd_config
/usr/sbin/sshd -D -e -f gl/sshd_config -o AllowUsers="$BUSER" 2> gl/log & PIDS+=($!)
wait_port "$P_GL"

# One fresh bare repository per measurement, the same accepting hook everywhere.
new_repo() { # peer -> URL
  local name="r$(date +%s%N)"  # unique: called in $(...) subshells
  case $1 in
    bpgated) git init -q --bare -b main "bp/repos/$name.git"; echo "ssh://git@127.0.0.1:$P_BP/$name.git";;
    sshd) asb git init -q --bare -b main "ssh/repos/$name.git"; asb cp accept-hook "ssh/repos/$name.git/hooks/pre-receive"
          echo "ssh://$BUSER@127.0.0.1:$P_SSH$T/ssh/repos/$name.git";;
    gitolite)
      printf 'repo %s\n    RW+ = client\n' "$name" | asb tee -a gl/home/.gitolite/conf/gitolite.conf >/dev/null
      asb env HOME="$T/gl/home" gitolite compile >/dev/null 2>&1 && asb env HOME="$T/gl/home" gitolite setup >/dev/null 2>&1
      asb cp accept-hook "gl/home/repositories/$name.git/hooks/pre-receive"
      echo "ssh://$BUSER@127.0.0.1:$P_GL/$name";;
  esac
}

# Source repositories: a small one and the large one (2,000 commits, 500 files).
git init -q -b main small && git -C small -c user.email=b@e -c user.name=B commit -q --allow-empty -m base
git init -q -b main large
( cd large
  for i in $(seq 1 500); do printf '{"module": %d, "text": "%s"}\n' "$i" "$(head -c 600 /dev/urandom | base64 -w0)" > "f$i.json"; done
  git add . && git -c user.email=b@e -c user.name=B commit -qm "c0"
  { for i in $(seq 1 1999); do
      f=$(( (i * 7) % 500 + 1 ))
      echo "commit refs/heads/main"; echo "committer B <b@e> $((1700000000 + i)) +0000"
      echo "data <<EOM"; echo "c$i"; echo "EOM"
      [ "$i" = 1 ] && echo "from refs/heads/main^0"
      echo "M 100644 inline f$f.json"; echo "data <<EOM"; echo "{\"module\": $f, \"rev\": $i}"; echo "EOM"
    done; } | git fast-import --quiet
  git reset -q --hard main )
echo "large repo: $(git -C large rev-list --count main) commits, $(git -C large ls-files | wc -l) files, pack $(du -sh large/.git/objects | cut -f1)"

bench_small() { # url -> median ms of 10 pushes of one new commit each
  local url=$1 i t0
  git -C small push -q "$url" main >/dev/null 2>&1
  for i in $(seq 1 10); do
    git -C small -c user.email=b@e -c user.name=B commit -q --allow-empty -m "s$i"
    t0=$(now_ms); git -C small push -q "$url" main >/dev/null 2>&1; echo $(( $(now_ms) - t0 ))
  done | median
}
bench_large() { # peer -> median ms of 3 pushes into fresh repos; last URL in large.url
  local peer=$1 i t0 url
  for i in 1 2 3; do
    url=$(new_repo "$peer"); echo "$url" > "$T/large.url"
    t0=$(now_ms); git -C large push -q "$url" main >/dev/null 2>"$T/large.err" || { echo "push failed: $peer" >&2; head -5 "$T/large.err" >&2; }
    echo $(( $(now_ms) - t0 )) >> "$T/large.$peer"
  done
  median < "$T/large.$peer"
}
bench_clone() {
  local url=$1 i t0
  for i in $(seq 1 5); do
    rm -rf "$T/clone"; t0=$(now_ms); git clone -q --bare "$url" "$T/clone" >/dev/null 2>&1; echo $(( $(now_ms) - t0 ))
  done | median
}
bench_burst() { # url -> median wall ms of 3 bursts of 20 concurrent pushes
  local url=$1 r i t0 pids
  for r in 1 2 3; do
    pids=()
    t0=$(now_ms)
    for i in $(seq 1 20); do git -C small push -q "$url" "main:refs/heads/burst$r-$i" >/dev/null 2>"$T/burst.err" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || echo "burst push failed" >&2; done
    echo $(( $(now_ms) - t0 ))
  done | median
}

declare -A R
for peer in bpgated sshd gitolite; do
  url=$(new_repo "$peer")
  R[$peer,small]=$(bench_small "$url")
  R[$peer,burst]=$(bench_burst "$url")
  R[$peer,large]=$(bench_large "$peer")
  R[$peer,clone]=$(bench_clone "$(cat "$T/large.url")")
done

printf '\n%-34s %10s %10s %10s %12s %12s\n' "figure (ms, median)" bpgated sshd+git gitolite3 "sshd/bpgd" "gitolite/bpgd"
for f in small large clone burst; do
  case $f in small) label="small push (1 commit)";; large) label="large push (2000 commits, 500 files)";;
    clone) label="clone (large repo)";; burst) label="20 concurrent pushes (wall)";; esac
  b=${R[bpgated,$f]} s=${R[sshd,$f]} g=${R[gitolite,$f]}
  printf '%-34s %10s %10s %10s %12s %12s\n' "$label" "$b" "$s" "$g" \
    "$(awk -v a="$s" -v b="$b" 'BEGIN{printf "%.2f", a/b}')" "$(awk -v a="$g" -v b="$b" 'BEGIN{printf "%.2f", a/b}')"
done
echo "(kex curve25519-sha256 for every peer; ratios > 1 mean bpgated is faster; $(nproc) cores)"
