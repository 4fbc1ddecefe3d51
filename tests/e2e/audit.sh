#!/usr/bin/env bash
# End-to-end: `bpgate audit` and `bpgate evidence` as an auditor uses them.
# Exact outputs and exit codes; tampering of each kind named; a torn append
# repaired; concurrent appenders; syslog lines over a real datagram socket.
set -euo pipefail

B="$BPG_BUILD_ROOT/hooks/bpgate"
V="$BPG_SHARED_DIR/vectors"
T=$(mktemp -d /tmp/bpg-e2e-audit-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
export NO_COLOR=1
unset BPGATE_AUDIT_DIR
export BPGATE_AUDIT_STATE="$T/state"  # never the real HOME

fails=0
check() { # name expected-rc command...
	local name=$1 want=$2; shift 2
	local rc=0
	"$@" >out 2>err || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit $rc, expected $want"; cat out err; fails=$((fails + 1))
	else
		echo "ok   $name"
	fi
}
expect_in() { # name file text
	if ! grep -qF -- "$3" "$2"; then
		echo "FAIL $1: '$3' not in $2:"; cat "$2"; fails=$((fails + 1))
	fi
}

# --- the vector key reproduces the vector checkpoint byte for byte --------
cp "$V/merkle/checkpoints/test-only-note-key.PRIVATE.skey" vec.skey && chmod 600 vec.skey
python3 - "$V/merkle/vectors.json" <<'EOF' > events.txt
import json, sys
for h in json.load(open(sys.argv[1]))["audit_log_example"]["leaf_inputs_hex"]:
    print(bytes.fromhex(h).decode())
EOF
while IFS= read -r e; do
	printf '%s' "$e" | "$B" audit append --log vec --signing-key vec.skey >/dev/null
done < events.txt
check "checkpoint equals vectors/merkle audit-size5" 0 cmp vec/checkpoint "$V/merkle/checkpoints/audit-size5.checkpoint"
check "verify with the vector vkey" 0 "$B" audit verify --log vec --key "$V/merkle/checkpoints/test-only-note-key.vkey"
expect_in "verify output" out "ok: 5 entries in vec match the checkpoint signed by audit.example.com/test-only-log+e9be9be8"
expect_in "verify root" out "root     10015597f52e01d9fe99ec2d0e789e9e3cf36743f4c760f4b962bcec41f77550"

# --- a log of our own ------------------------------------------------------
check "keygen" 0 "$B" audit keygen git.example.com/audit --out k
[ "$(stat -c %a k.skey)" = 600 ] || { echo "FAIL skey mode"; fails=$((fails + 1)); }
check "keygen refuses to overwrite" 2 "$B" audit keygen git.example.com/audit --out k
for i in 0 1 2 3 4 5 6; do
	echo "{\"seq\":$i,\"time\":\"2024-05-0${i}T10:00:00Z\",\"type\":\"push.accepted\"}" |
		"$B" audit append --log L --signing-key k.skey > idx
	[ "$(cat idx)" = "$i" ] || { echo "FAIL append index $i"; fails=$((fails + 1)); }
done
check "refuses a non-object entry" 2 sh -c "echo '[1]' | '$B' audit append --log L --signing-key k.skey"
check "refuses pretty-printed JSON" 2 sh -c "printf '{\n\"a\":1}' | '$B' audit append --log L --signing-key k.skey"
check "verify" 0 "$B" audit verify --log L --key k.vkey
cp L/checkpoint kept-7.checkpoint
check "prove 3" 0 "$B" audit prove 3 --log L --key k.vkey
expect_in "prove header" out "entry    3 of 7 (git.example.com/audit)"
check "prove json" 0 sh -c "'$B' audit prove 3 --log L --key k.vkey --format json > proof.json"
check "check-proof offline" 0 "$B" audit check-proof proof.json --key k.vkey
expect_in "check-proof" out "ok: entry 3 is in the log of 7 entries signed by git.example.com/audit+"
check "prove out of range" 2 "$B" audit prove 7 --log L --key k.vkey
sed 's/push.accepted/push.refused/' proof.json > proof-bad.json
check "check-proof tampered entry" 1 "$B" audit check-proof proof-bad.json --key k.vkey
expect_in "check-proof tampered" err "entry tampered"

echo '{"seq":7,"type":"rollback"}' | "$B" audit append --log L --signing-key k.skey >/dev/null
check "consistency kept checkpoint -> now" 0 "$B" audit consistency kept-7.checkpoint --log L --key k.vkey
expect_in "consistency" out "ok: the tree of 8 entries extends the tree of 7"
check "consistency sizes" 0 "$B" audit consistency 3 8 --log L --key k.vkey --format json
expect_in "consistency json" out '{"old_size":3,"new_size":8,"proof":["'
check "verify --since" 0 "$B" audit verify --log L --key k.vkey --since kept-7.checkpoint
check "consistency backwards" 1 "$B" audit consistency 8 3 --log L --key k.vkey
expect_in "backwards named" err "rolled back"

# --- tampering, each named (exit 1) ----------------------------------------
# Each damaged copy is judged by a verifier with no memory of the others (the
# witness state, docs/readme/audit.md, would rightly call them forks).
nstate=0
fresh() { rm -rf X && cp -r L X; nstate=$((nstate + 1)); export BPGATE_AUDIT_STATE="$T/state.$nstate"; }
fresh; sed -i '3s/push.accepted/push.refused/' X/entries
check "tampered entry" 1 "$B" audit verify --log X --key k.vkey
expect_in "tampered named" err "entry 2 tampered"
fresh; sed -i '3d' X/entries
check "deleted entry" 1 "$B" audit verify --log X --key k.vkey
expect_in "deleted named" err "entry 2 deleted"
fresh; { sed -n '1,2p' L/entries; sed -n '4p' L/entries; sed -n '3p' L/entries; sed -n '5,$p' L/entries; } > X/entries
check "reordered entries" 1 "$B" audit verify --log X --key k.vkey
expect_in "reordered named" err "entries reordered"
fresh; "$B" audit keygen git.example.com/audit --out other >/dev/null 2>&1
# One base64 digit of the signature changed, length kept.
python3 - L/checkpoint X/checkpoint <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-10] = ord("A") if b[-10] != ord("A") else ord("B")
open(sys.argv[2], "wb").write(b)
EOF
check "bad checkpoint signature" 1 "$B" audit verify --log X --key k.vkey
expect_in "bad signature named" err "does not verify: forged"
check "wrong key" 1 "$B" audit verify --log L --key other.vkey
expect_in "wrong key named" err "not signed by the expected key"
fresh; head -n 5 L/entries > X/entries
check "truncated log" 1 "$B" audit verify --log X --key k.vkey
expect_in "truncated named" err "log truncated"
# Rolled back: an older, validly signed state restored (entries and checkpoint of 7).
fresh; head -n 7 L/entries > X/entries; cp kept-7.checkpoint X/checkpoint
check "rolled-back log verifies alone" 0 "$B" audit verify --log X --key k.vkey
check "a verifier that saw L refuses it" 1 "$B" audit verify --log X --key k.vkey --state "$T/state.saw-L-$nstate" \
	--witness L/checkpoint
expect_in "rollback against the witness named" err "log rolled back: its checkpoint covers 7 entries"
cp L/checkpoint kept-8.checkpoint
check "rolled back against kept checkpoint" 1 "$B" audit verify --log X --key k.vkey --since kept-8.checkpoint
expect_in "rollback named" err "log rolled back"

# --- a torn append: cut inside the last record, old checkpoint -------------
fresh; cp kept-7.checkpoint X/checkpoint; head -c -9 L/entries > X/entries
check "torn tail verifies (committed part)" 0 "$B" audit verify --log X --key k.vkey
expect_in "torn tail noted" out "note: 0 uncommitted record(s) and"
check "repair" 0 "$B" audit repair --log X
expect_in "repair saved" out "repaired: removed an interrupted append after entry 7"
ls X/torn-* >/dev/null 2>&1 || { echo "FAIL torn bytes not saved"; fails=$((fails + 1)); }
check "append after repair" 0 sh -c "echo '{\"seq\":7,\"type\":\"again\"}' | '$B' audit append --log X --signing-key k.skey"
expect_in "append index" out "7"
check "verify after repair" 0 "$B" audit verify --log X --key k.vkey

# --- concurrent appenders -------------------------------------------------
export BPGATE_AUDIT_STATE="$T/state.C"
for w in 1 2 3; do
	( for n in $(seq 1 15); do
		echo "{\"writer\":$w,\"n\":$n}" | "$B" audit append --log C --signing-key k.skey >/dev/null
	  done ) &
done
wait
check "concurrent appends verify" 0 "$B" audit verify --log C --key k.vkey
expect_in "45 entries" out "ok: 45 entries in C"
for w in 1 2 3; do
	got=$(grep -o "\"writer\":$w,\"n\":[0-9]*" C/entries | sed 's/.*://' | tr '\n' ' ')
	[ "$got" = "$(seq 1 15 | tr '\n' ' ')" ] || { echo "FAIL writer $w order: $got"; fails=$((fails + 1)); }
done

# --- syslog ---------------------------------------------------------------
check "syslog lines" 0 "$B" audit syslog --log L --from 6 --hostname gitserver
sig=$(tail -n 1 L/checkpoint | cut -d' ' -f3)
root=$(sed -n 3p L/checkpoint)
leaf6=$(sed -n 7p L/entries | cut -d' ' -f2)
want="<110>1 2024-05-06T10:00:00Z gitserver bpgate - audit [entry@32473 index=\"6\" leaf=\"$leaf6\"][checkpoint@32473 origin=\"git.example.com/audit\" size=\"8\" root=\"$root\" sig=\"$sig\"] {\"seq\":6,\"time\":\"2024-05-06T10:00:00Z\",\"type\":\"push.accepted\"}"
[ "$(head -n 1 out)" = "$want" ] || { echo "FAIL syslog line:"; head -n 1 out; echo "$want"; fails=$((fails + 1)); }
[ "$(wc -l < out)" = 2 ] || { echo "FAIL syslog line count"; fails=$((fails + 1)); }
# Real datagrams: a listener on a private socket receives the appended entry.
python3 - "$T/sock" > received.txt <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(20); print(s.recv(65536).decode())
EOF
lp=$!
while [ ! -e "$T/sock.ready" ]; do kill -0 "$lp" 2>/dev/null || break; sleep 0.05; done  # the listener is up (or died)
check "append --syslog" 0 sh -c "echo '{\"seq\":8,\"type\":\"policy.change\"}' | '$B' audit append --log L --signing-key k.skey --syslog='$T/sock'"
wait "$lp"
grep -qE '^<110>1 - [^ ]+ bpgate [0-9]+ audit ' received.txt || { echo "FAIL datagram header"; cat received.txt; fails=$((fails + 1)); }
expect_in "datagram entry" received.txt 'audit [entry@32473 index="8" leaf="'
expect_in "datagram checkpoint" received.txt '[checkpoint@32473 origin="git.example.com/audit" size="9" root="'
expect_in "datagram body" received.txt '] {"seq":8,"type":"policy.change"}'

# --- evidence (DSSE / in-toto) --------------------------------------------
D="$V/dsse"
check "evidence verify vector" 0 "$B" evidence verify "$D/envelope.intoto.json" --key "$D/test-only-dsse-ed25519.pub" --artifact "$D/invoice-sync.blueprint.json"
expect_in "evidence subject" out "subject invoice-sync.blueprint.json sha256:dc481b0a18f599c6e32d9e0a407912e16789210443227614694800aea40e9ce2"
check "evidence verify bundle (PEM key)" 0 "$B" evidence verify "$D/release.intoto.jsonl" --key "$D/test-only-dsse-ed25519.pub.pem"
check "evidence verify url-safe" 0 "$B" evidence verify "$D/envelope-urlsafe-b64.intoto.json" --key "$D/test-only-dsse-ed25519.pub.raw.hex"
for n in neg-payloadtype-changed neg-payload-tampered neg-signed-without-pae neg-signature-truncated neg-wrong-key; do
	check "evidence rejects $n" 1 "$B" evidence verify "$D/negative/$n.json" --key "$D/test-only-dsse-ed25519.pub"
done
check "evidence artifact not a subject" 1 "$B" evidence verify "$D/envelope.intoto.json" --key "$D/test-only-dsse-ed25519.pub" --artifact k.vkey
check "evidence keygen" 0 "$B" evidence keygen --out ev
python3 - proof.json "$D/invoice-sync.blueprint.json" <<'EOF' > st.json
import hashlib, json, sys
proof = json.load(open(sys.argv[1]))
print(json.dumps({"_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "invoice-sync.blueprint.json",
                 "digest": {"sha256": hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()}}],
    "predicateType": "https://bpgate.invalid/release-evidence/v1",
    "predicate": {"audit": {"proofs": [proof]}}}, separators=(",", ":")), end="")
EOF
check "evidence sign" 0 "$B" evidence sign st.json --key ev.pem --out st.intoto.json
check "evidence needs the log key for audit proofs" 2 "$B" evidence verify st.intoto.json --key ev.pub
check "evidence verify with audit proofs" 0 "$B" evidence verify st.intoto.json --key ev.pub --log-key k.vkey --artifact "$D/invoice-sync.blueprint.json"
expect_in "evidence audit proof" out "audit entry 3: in the log of 7 entries (checkpoint verified)"
check "evidence REV not yet" 2 "$B" evidence HEAD

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all audit e2e checks passed"
