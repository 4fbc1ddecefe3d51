#!/usr/bin/env bash
# Benchmark: bpgated against OpenSSH sshd + git and against gitolite3 (behind
# its own sshd), all on 127.0.0.1, same client, same kex (curve25519-sha256),
# same trivial accepting pre-receive hook everywhere.
#
#   bash tests/bench/daemon_bench.sh [builddir] [runs]   (default: build-bench, release; 5 runs)
#
# Figures: small push (1 commit, median of 10), large push (2,000 commits,
# 500 files, median of 3), clone of that repository (median of 5) and 20
# concurrent pushes to separate branches (wall time, median of 3). The peers
# are measured interleaved (bpgated, sshd, gitolite3, bpgated, ...) so that a
# change in the machine's load hits all three alike. Each run prints its
# milliseconds and ratios (peer / bpgated; > 1 means bpgated is faster); the
# summary gives each ratio's median and min-max over the runs, and the load.
# Every peer runs the same accepting pre-receive hook and no post-receive
# (bpgated: "post_receive": false), and the same connection limits.
# A failed push stops the bench: a refused push would look fast.
# Everything lives in a temporary directory; every server is killed by PID.
# Not run by install/test.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
BUILD=${1:-build-bench}
RUNS=${2:-5}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C "$BUILD" server/bpgated >/dev/null
BIN=$SRC/$BUILD/server/bpgated
[ -x "$BIN" ] || BIN=$BUILD/server/bpgated
BIN=${BPGATED:-$BIN}   # BPGATED=/path/to/bpgated: another build (e.g. before a change)

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
  "keys_file": "keys", "pre_receive_hook": "$T/accept-hook", "post_receive": false,
  "limits": {"max_connections": 64, "max_per_principal": 64, "max_startups": "100:30:200",
             "per_source_max_startups": 200} }
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

push_or_die() { # push_or_die PEER GIT-ARGS...
  local peer=$1; shift
  "$@" >/dev/null 2>"$T/push.err.$BASHPID" || { echo "push failed ($peer): $*" >&2; head -5 "$T/push.err.$BASHPID" >&2; exit 1; }
}
timed() { # timed PEER GIT-ARGS... -> ms
  local t0; t0=$(now_ms); push_or_die "$@"; echo $(( $(now_ms) - t0 ))
}
PEERS=(bpgated sshd gitolite)

# small: 10 rounds, each peer gets one new commit pushed per round
fig_small() {
  local peer i
  for peer in "${PEERS[@]}"; do git -C small push -q "${URL[$peer]}" main >/dev/null 2>&1; : > "$T/small.$peer"; done
  for i in $(seq 1 10); do
    git -C small -c user.email=b@e -c user.name=B commit -q --allow-empty -m "s$i"
    for peer in "${PEERS[@]}"; do timed "$peer" git -C small push -q "${URL[$peer]}" main >> "$T/small.$peer"; done
  done
  for peer in "${PEERS[@]}"; do R[$peer,small]=$(median < "$T/small.$peer"); done
}
# large: 3 rounds, a fresh repository per peer per round; the last URL serves the clone
fig_large() {
  local peer i url
  for peer in "${PEERS[@]}"; do : > "$T/large.$peer"; done
  for i in 1 2 3; do
    for peer in "${PEERS[@]}"; do
      url=$(new_repo "$peer"); LARGE[$peer]=$url
      timed "$peer" git -C large push -q "$url" main >> "$T/large.$peer"
    done
  done
  for peer in "${PEERS[@]}"; do R[$peer,large]=$(median < "$T/large.$peer"); done
}
fig_clone() {
  local peer i t0
  for peer in "${PEERS[@]}"; do : > "$T/clone.$peer"; done
  for i in $(seq 1 5); do
    for peer in "${PEERS[@]}"; do
      rm -rf "$T/clone"; t0=$(now_ms)
      git clone -q --bare "${LARGE[$peer]}" "$T/clone" >/dev/null 2>"$T/clone.err" || { echo "clone failed ($peer)" >&2; head -5 "$T/clone.err" >&2; exit 1; }
      echo $(( $(now_ms) - t0 )) >> "$T/clone.$peer"
    done
  done
  for peer in "${PEERS[@]}"; do R[$peer,clone]=$(median < "$T/clone.$peer"); done
}
fig_burst() { # 3 bursts of 20 concurrent pushes to separate branches, wall time
  local peer r i t0 pids failed
  for peer in "${PEERS[@]}"; do : > "$T/burst.$peer"; done
  for r in 1 2 3; do
    for peer in "${PEERS[@]}"; do
      pids=(); failed=0; t0=$(now_ms)
      for i in $(seq 1 20); do
        git -C small push -q "${URL[$peer]}" "main:refs/heads/burst$RUN-$r-$i" >/dev/null 2>"$T/burst.err.$i" & pids+=($!)
      done
      for i in "${!pids[@]}"; do wait "${pids[$i]}" || { failed=1; echo "burst push failed ($peer):" >&2; head -3 "$T/burst.err.$((i + 1))" >&2; }; done
      [ "$failed" = 0 ] || exit 1
      echo $(( $(now_ms) - t0 )) >> "$T/burst.$peer"
    done
  done
  for peer in "${PEERS[@]}"; do R[$peer,burst]=$(median < "$T/burst.$peer"); done
}

declare -A R URL LARGE
for peer in "${PEERS[@]}"; do URL[$peer]=$(new_repo "$peer"); done
label() { case $1 in small) echo "small push (1 commit)";; large) echo "large push (2000 commits, 500 files)";;
  clone) echo "clone (large repo)";; burst) echo "20 concurrent pushes (wall)";; esac; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
: > "$T/ratios"
for RUN in $(seq 1 "$RUNS"); do
  load0=$(cut -d' ' -f1 /proc/loadavg)
  fig_small; fig_large; fig_clone; fig_burst
  printf '\nrun %d of %d (load %s before, %s after)\n' "$RUN" "$RUNS" "$load0" "$(cut -d' ' -f1 /proc/loadavg)"
  printf '%-38s %9s %9s %9s %10s %13s\n' "figure (ms, median)" bpgated sshd+git gitolite3 "sshd/bpgd" "gitolite/bpgd"
  for f in small large clone burst; do
    b=${R[bpgated,$f]} s=${R[sshd,$f]} g=${R[gitolite,$f]}
    printf '%-38s %9s %9s %9s %10s %13s\n' "$(label $f)" "$b" "$s" "$g" "$(ratio "$s" "$b")" "$(ratio "$g" "$b")"
    echo "$f sshd $(ratio "$s" "$b")" >> "$T/ratios"; echo "$f gitolite $(ratio "$g" "$b")" >> "$T/ratios"
  done
done
summ() { # FIGURE PEER -> "median (min-max)"
  awk -v f="$1" -v p="$2" '$1 == f && $2 == p {print $3}' "$T/ratios" | sort -n |
    awk '{a[NR]=$1} END {printf "%.2f (%.2f-%.2f)", a[int((NR+1)/2)], a[1], a[NR]}'
}
printf '\nratios over %d runs, median (min-max); > 1 means bpgated is faster\n' "$RUNS"
printf '%-38s %20s %20s\n' "figure" "sshd+git / bpgated" "gitolite3 / bpgated"
for f in small large clone burst; do printf '%-38s %20s %20s\n' "$(label $f)" "$(summ $f sshd)" "$(summ $f gitolite)"; done
echo "(kex curve25519-sha256 for every peer; $(nproc) cores; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
