#!/usr/bin/env python3
"""Check a bpgate release evidence package with stock tools only.

    python3 tools/verify-evidence.py PACKAGE --key EV.pub --log-key AUDIT.vkey
            [--key EV2.pub ... --threshold N] [--allowed-signers FILE]
            [--tree DIR] [--minisign-key RELEASER.pub]

An auditor who does not want to trust bpgate's own `bpgate evidence verify` runs this
instead. It uses python3's standard library for parsing and hashing, and calls only:

  openssl     Ed25519 signatures: the DSSE envelope, the audit log's signed checkpoint
  ssh-keygen  the approvals' SSHSIG signatures (ssh-keygen -Y verify)
  sha256sum   with --tree: the released files against the digests in the package
  minisign    with --minisign-key: the release bundles' signatures (minisign -V)

What it checks (docs/readme/audit.md, "Release evidence packages", says how each part is
formed):

  1. the DSSE envelope: Ed25519 over PAE(payloadType, payload) by --threshold of the --key
     public keys (OpenSSH ssh-ed25519 lines, as `bpgate evidence keygen` writes PREFIX.pub);
  2. the in-toto Statement: type, predicateType, subjects (name + sha256, none twice), every
     changed blueprint a subject with the same digest;
  3. the audit log: the checkpoint is a signed note (c2sp.org/signed-note) verified with the
     log's key (--log-key, `NAME+KEYID+BASE64`), every proof's entry is in the tree of that
     checkpoint (RFC 9162 inclusion proof, SHA-256, leaf 0x00, node 0x01), and the entry
     `release_entry` is the accepted push of this commit to this environment by this pusher
     at this time under this policy commit (and, when the gate judged it before git applied
     it, a later proven `bpgate-applied` entry lists the same update);
  4. every approval: its statement is canonical JSON, names the released tree and
     environment, and its SSHSIG signature (namespace bpgate-approval@v1, principal = the
     approver, at the approval's time) verifies against the package's allowed_signers, or
     --allowed-signers;
  5. with --tree DIR (the released commit checked out or exported, e.g. with
     `git archive COMMIT | tar -x -C DIR`): every subject, UAT file, the stage health report
     and every bundle file have the listed sha256;
  6. with --minisign-key: every release bundle's manifest verifies with minisign.

Exit status: 0 verified, 1 a check failed (the first failure is named by its JSON pointer),
2 usage or unreadable input, or a required tool is missing.
"""
import argparse
import base64
import binascii
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://bpgate.invalid/release-evidence/v1"
APPROVAL_NAMESPACE = "bpgate-approval@v1"
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
MAX_INPUT = 256 << 20


class Failed(Exception):
    """A check failed: exit 1."""


class Unusable(Exception):
    """Bad usage or input that cannot be read: exit 2."""


def say(msg):
    print(msg, flush=True)


def need(tool):
    if not shutil.which(tool):
        raise Unusable(f"{tool} is not installed (it is needed for this check)")


def b64decode(text, what):
    for fn in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            pad = "=" * (-len(text) % 4)
            return fn(text + pad)
        except (binascii.Error, ValueError):
            continue
    raise Failed(f"{what}: not base64")


def read_bytes(path, what):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_INPUT + 1)
    except OSError as e:
        raise Unusable(f"{what}: {path}: {e.strerror}")
    if len(data) > MAX_INPUT:
        raise Unusable(f"{what}: {path}: larger than {MAX_INPUT} bytes")
    return data


# ---- Ed25519 through openssl -----------------------------------------------------------

def ssh_ed25519_raw(line, what):
    """The 32-byte key of an OpenSSH `ssh-ed25519 BASE64 [comment]` line."""
    parts = line.split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        raise Unusable(f"{what}: expected an OpenSSH ssh-ed25519 public key line")
    blob = b64decode(parts[1], what)

    def string(b, off):
        if off + 4 > len(b):
            raise Unusable(f"{what}: truncated key blob")
        n = int.from_bytes(b[off:off + 4], "big")
        if off + 4 + n > len(b):
            raise Unusable(f"{what}: truncated key blob")
        return b[off + 4:off + 4 + n], off + 4 + n

    kt, off = string(blob, 0)
    pk, off = string(blob, off)
    if kt != b"ssh-ed25519" or len(pk) != 32 or off != len(blob):
        raise Unusable(f"{what}: not an ssh-ed25519 key blob")
    return pk, blob


def ssh_fingerprint(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def ed25519_verify(tmp, pk, message, sig):
    """True when openssl verifies the Ed25519 signature `sig` of `message` by key `pk`."""
    if len(sig) != 64:
        return False
    der = ED25519_SPKI_PREFIX + pk
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
    kf, mf, sf = (os.path.join(tmp, n) for n in ("k.pem", "m.bin", "s.bin"))
    with open(kf, "w") as f:
        f.write(pem)
    with open(mf, "wb") as f:
        f.write(message)
    with open(sf, "wb") as f:
        f.write(sig)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", kf, "-rawin", "-in", mf,
                        "-sigfile", sf], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode == 0


# ---- 1. DSSE ---------------------------------------------------------------------------

def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def check_envelope(tmp, env, keys, threshold, where):
    if not isinstance(env, dict) or not isinstance(env.get("payload"), str) or \
            not isinstance(env.get("payloadType"), str) or not isinstance(env.get("signatures"), list):
        raise Failed(f"{where}: not a DSSE envelope (payloadType, payload, signatures)")
    if env["payloadType"] != PAYLOAD_TYPE:
        raise Failed(f"{where}/payloadType: {env['payloadType']!r}, expected {PAYLOAD_TYPE}")
    body = b64decode(env["payload"], f"{where}/payload")
    msg = pae(env["payloadType"], body)
    good = set()
    for i, s in enumerate(env["signatures"]):
        if not isinstance(s, dict) or not isinstance(s.get("sig"), str):
            raise Failed(f"{where}/signatures/{i}: no sig")
        sig = b64decode(s["sig"], f"{where}/signatures/{i}/sig")
        for fp, pk in keys:
            if fp not in good and ed25519_verify(tmp, pk, msg, sig):
                good.add(fp)
    if len(good) < threshold:
        raise Failed(f"{where}: signed by {len(good)} of the given keys, {threshold} required "
                     "(a changed payload or another key)")
    try:
        stmt = json.loads(body)
    except ValueError:
        raise Failed(f"{where}/payload: not JSON")
    return stmt, sorted(good)


# ---- 2. the Statement --------------------------------------------------------------------

def is_hex(s, n):
    return isinstance(s, str) and len(s) == n and all(c in "0123456789abcdef" for c in s)


def check_statement(stmt):
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE:
        raise Failed(f"/_type: expected {STATEMENT_TYPE}")
    if stmt.get("predicateType") != PREDICATE_TYPE:
        raise Failed(f"/predicateType: expected {PREDICATE_TYPE}")
    pred = stmt.get("predicate")
    if not isinstance(pred, dict) or not isinstance(pred.get("release"), dict):
        raise Failed("/predicate/release: missing")
    subjects = {}
    for i, s in enumerate(stmt.get("subject") or []):
        name = s.get("name") if isinstance(s, dict) else None
        sha = (s.get("digest") or {}).get("sha256") if isinstance(s, dict) else None
        if not isinstance(name, str) or not is_hex(sha, 64):
            raise Failed(f"/subject/{i}: a subject needs a name and a sha256 digest")
        if name in subjects:
            raise Failed(f"/subject/{i}: {name} is a subject twice")
        subjects[name] = sha
    for i, f in enumerate((pred.get("changes") or {}).get("files") or []):
        if f.get("blueprint") is not True or f.get("status") == "deleted":
            continue
        if f.get("path") not in subjects:
            raise Failed(f"/predicate/changes/files/{i}: the changed blueprint {f.get('path')} is not a subject")
        if subjects[f["path"]] != f.get("sha256"):
            raise Failed(f"/predicate/changes/files/{i}: {f['path']}: the subject's sha256 differs from the change's")
    return pred, subjects


# ---- 3. the audit log --------------------------------------------------------------------

def parse_vkey(text):
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise Unusable("--log-key: expected NAME+KEYID+BASE64 (the .vkey of bpgate audit keygen)")
    name, keyid_hex, b64 = parts
    key = b64decode(b64, "--log-key")
    if len(key) != 33 or key[0] != 1:
        raise Unusable("--log-key: not an Ed25519 note verifier key")
    keyid = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]
    if keyid.hex() != keyid_hex.lower():
        raise Unusable("--log-key: the key id does not match the key")
    return name, keyid, key[1:]


def check_note(tmp, note, vkey, where):
    """Verify a signed note; return its text (the checkpoint)."""
    name, keyid, pk = vkey
    sep = note.find("\n\n")
    if sep < 0:
        raise Failed(f"{where}: not a signed note")
    text, sigs = note[:sep + 1], note[sep + 2:]
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            raise Failed(f"{where}: malformed signature line")
        lname, _, b64 = line[2:].rpartition(" ")
        raw = b64decode(b64, where)
        if lname == name and raw[:4] == keyid:
            if ed25519_verify(tmp, pk, text.encode(), raw[4:]):
                return text
            raise Failed(f"{where}: the signature of {name} does not verify (a changed checkpoint)")
    raise Failed(f"{where}: not signed by {name} (another log key)")


def parse_checkpoint(text, where):
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit():
        raise Failed(f"{where}: not a checkpoint (origin, size, root)")
    root = b64decode(lines[2], where)
    if len(root) != 32:
        raise Failed(f"{where}: the root is not a SHA-256 hash")
    return lines[0], int(lines[1]), root


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_root(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2: the root the inclusion proof leads to, or None."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def update_key(ref):
    if not all(isinstance(ref.get(k), str) for k in ("ref", "old", "new")):
        return None
    return f"{ref['ref']} {ref['old']} {ref['new']}"


def check_audit(tmp, pred, vkey):
    audit = pred.get("audit")
    if audit is None:
        say("audit: the package carries no audit proofs")
        return 0
    rel = pred["release"]
    cp, proofs, want = audit.get("checkpoint"), audit.get("proofs"), audit.get("release_entry")
    if not isinstance(cp, str) or not isinstance(proofs, list) or not isinstance(want, int):
        raise Failed("/predicate/audit: checkpoint, proofs and release_entry are required")
    if vkey is None:
        raise Unusable("the package carries audit proofs: pass the audit log's verifier key (--log-key VKEY)")
    text = check_note(tmp, cp, vkey, "/predicate/audit/checkpoint")
    origin, size, root = parse_checkpoint(text, "/predicate/audit/checkpoint")
    entries = audit.get("entries") or []
    release_seen, release_key, applied_at = False, None, None
    for i, p in enumerate(proofs):
        where = f"/predicate/audit/proofs/{i}"
        if p.get("checkpoint") != cp:
            raise Failed(f"{where}: proven against another checkpoint than /predicate/audit/checkpoint")
        idx, entry, path = p.get("index"), p.get("entry"), p.get("proof")
        if not isinstance(idx, int) or not isinstance(entry, str) or not isinstance(path, list):
            raise Failed(f"{where}: expected index, entry and proof")
        if p.get("tree_size", size) != size:
            raise Failed(f"{where}: tree_size differs from the signed checkpoint's")
        leaf = leaf_hash(entry.encode())
        if "leaf_hash" in p and p["leaf_hash"] != leaf.hex():
            raise Failed(f"{where}: leaf_hash is not the hash of the entry: entry tampered")
        try:
            hashes = [bytes.fromhex(h) for h in path]
        except (TypeError, ValueError):
            raise Failed(f"{where}/proof: expected hex hashes")
        if any(len(h) != 32 for h in hashes) or inclusion_root(idx, size, leaf, hashes) != root:
            raise Failed(f"{where}: entry {idx} is not in the log of the signed checkpoint (size {size})")
        if i >= len(entries) or entries[i] != idx:
            raise Failed(f"{where}: proves entry {idx}, listed otherwise in /predicate/audit/entries")
        try:
            e = json.loads(entry)
        except ValueError:
            raise Failed(f"{where}: the entry is not JSON")
        if idx == want:
            refs = [r for r in e.get("refs") or [] if r.get("environment") == rel.get("environment")
                    and r.get("new") == rel.get("commit") and r.get("kind") == rel.get("kind")]
            release_seen = (e.get("type") == "bpgate-push" and e.get("decision") == "accept" and bool(refs)
                            and e.get("policy_commit") == (pred.get("policy") or {}).get("commit")
                            and e.get("time") == rel.get("time") and e.get("pusher") == rel.get("pusher"))
            if release_seen and e.get("stage") == "judged":
                keys = [update_key(r) for r in e.get("refs") or []
                        if r.get("environment") == rel.get("environment") and r.get("new") == rel.get("commit")]
                release_key = next((k for k in keys if k), None)
                release_seen = release_key is not None
        if e.get("type") == "bpgate-applied" and release_key and idx > want and applied_at is None:
            if any(update_key(r) == release_key for r in e.get("refs") or []):
                applied_at = idx
    if not release_seen:
        raise Failed(f"/predicate/audit/release_entry: no proven audit entry records the accepted "
                     f"{rel.get('kind')} of {rel.get('commit')} to {rel.get('environment')} by {rel.get('pusher')} "
                     f"at {rel.get('time')}")
    if release_key and applied_at is None:
        raise Failed("/predicate/audit/release_entry: judged, but no proven bpgate-applied entry after it "
                     "says git applied it")
    say(f"audit: {len(proofs)} entries proven in the log {origin} of size {size} (signed checkpoint), "
        f"the release decision (entry {want}) among them")
    return len(proofs)


# ---- 4. approvals ------------------------------------------------------------------------

def ssh_time(t):
    # 2025-06-03T09:30:00Z -> 20250603093000Z (ssh-keygen -O verify-time, UTC)
    return t.replace("-", "").replace(":", "").replace("T", "")


def check_approvals(tmp, pred, signers_file):
    approvals = pred.get("approvals") or []
    if not approvals:
        say("approvals: none in the package")
        return 0
    need("ssh-keygen")
    rel = pred["release"]
    if signers_file is None:
        embedded = (pred.get("policy") or {}).get("allowed_signers")
        if not isinstance(embedded, str):
            raise Unusable("the package embeds no allowed_signers: pass --allowed-signers FILE")
        signers_file = os.path.join(tmp, "allowed_signers")
        with open(signers_file, "w") as f:
            f.write(embedded)
        source = "the embedded allowed_signers"
    else:
        source = "the given allowed_signers"
    for i, a in enumerate(approvals):
        where = f"/predicate/approvals/{i}"
        st, sig = a.get("statement"), a.get("signature")
        if not isinstance(st, str) or not isinstance(sig, str):
            raise Failed(f"{where}: statement and signature are required")
        try:
            sj = json.loads(st)
        except ValueError:
            raise Failed(f"{where}/statement: not JSON")
        if json.dumps(sj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) != st:
            raise Failed(f"{where}/statement: not in canonical form")
        if sj.get("type") != "bpgate-approval/v1":
            raise Failed(f"{where}/statement: not a bpgate-approval/v1 statement")
        for k in ("approver", "tree", "time", "environment"):
            if sj.get(k) != a.get(k):
                raise Failed(f"{where}: the listed {k} differs from the signed statement")
        if sj.get("tree") != rel.get("tree") or sj.get("environment") != rel.get("environment"):
            raise Failed(f"{where}: {sj.get('approver')} approved tree {str(sj.get('tree'))[:12]} for "
                         f"{sj.get('environment')}, not the released tree for {rel.get('environment')}")
        sf, mf = os.path.join(tmp, "approval.sig"), os.path.join(tmp, "approval.json")
        with open(sf, "w") as f:
            f.write(sig)
        with open(mf, "wb") as f:
            f.write(st.encode())
        with open(mf, "rb") as stdin:
            r = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", signers_file, "-I", sj["approver"],
                                "-n", APPROVAL_NAMESPACE, "-s", sf, "-O", "verify-time=" + ssh_time(sj["time"])],
                               stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Failed(f"{where}: {sj['approver']}'s signature does not verify (ssh-keygen -Y verify: "
                         f"{r.stdout.decode(errors='replace').strip()[:200]})")
    say(f"approvals: {len(approvals)} signature(s) verified with ssh-keygen against {source}")
    return len(approvals)


# ---- 5. and 6. the released files --------------------------------------------------------

def check_tree(pred, subjects, tree):
    need("sha256sum")
    want = dict(subjects)
    for u in pred.get("uat_evidence") or []:
        want[u.get("path")] = u.get("sha256")
    sh = pred.get("stage_health")
    if isinstance(sh, dict) and sh.get("path"):
        want[sh["path"]] = sh.get("sha256")
    for b in pred.get("bundles") or []:
        want[b.get("path")] = b.get("sha256")
        if b.get("signature_path"):
            want[b["signature_path"]] = b.get("signature_sha256")
    root = os.path.realpath(tree)
    for path, sha in sorted(want.items()):
        if not isinstance(path, str) or not is_hex(sha, 64):
            raise Failed(f"{path}: no sha256 in the package")
        full = os.path.realpath(os.path.join(root, path))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            raise Failed(f"{path}: not in {tree}")
        r = subprocess.run(["sha256sum", "--", full], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = r.stdout.split()[0].decode() if r.returncode == 0 and r.stdout else None
        if got != sha:
            raise Failed(f"{path}: sha256 in {tree} is {got}, the package says {sha}")
    say(f"files: {len(want)} digest(s) recomputed with sha256sum in {tree}, all equal")


def check_bundles(tmp, pred, minisign_key):
    bundles = pred.get("bundles") or []
    if not bundles:
        say("bundles: none in the release")
        return
    need("minisign")
    for i, b in enumerate(bundles):
        where = f"/predicate/bundles/{i}"
        text, sig = b.get("manifest"), b.get("signature")
        if not isinstance(text, str) or not isinstance(sig, str):
            raise Failed(f"{where}: the manifest and its .minisig text are required")
        for what, data, sha in (("manifest", text, b.get("sha256")), ("signature", sig, b.get("signature_sha256"))):
            if hashlib.sha256(data.encode()).hexdigest() != sha:
                raise Failed(f"{where}: the {what} text does not have the listed sha256")
        mf, sf = os.path.join(tmp, "bundle.json"), os.path.join(tmp, "bundle.json.minisig")
        with open(mf, "w") as f:
            f.write(text)
        with open(sf, "w") as f:
            f.write(sig)
        r = subprocess.run(["minisign", "-V", "-q", "-p", minisign_key, "-m", mf, "-x", sf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise Failed(f"{where}: minisign -V: {r.stdout.decode(errors='replace').strip()[:200]}")
    say(f"bundles: {len(bundles)} manifest(s) verified with minisign")


# ---- main --------------------------------------------------------------------------------

def load_envelopes(data):
    text = data.decode("utf-8")
    try:
        one = json.loads(text)
        return [one] if isinstance(one, dict) else None
    except ValueError:
        pass
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                raise Unusable(f"line {n}: not JSON")
    return out


def main(argv):
    ap = argparse.ArgumentParser(prog="verify-evidence.py",
                                 description="Check a bpgate release evidence package with stock tools only.")
    ap.add_argument("package", help="the package: one DSSE envelope (.json) or an in-toto bundle (.jsonl)")
    ap.add_argument("--key", action="append", required=True,
                    help="a trusted evidence public key (ssh-ed25519 line, e.g. PREFIX.pub); repeatable")
    ap.add_argument("--threshold", type=int, default=1, help="distinct keys that must have signed (default 1)")
    ap.add_argument("--log-key", help="the audit log's verifier key (the .vkey of bpgate audit keygen)")
    ap.add_argument("--allowed-signers", help="check approvals against this file instead of the embedded one")
    ap.add_argument("--tree", help="the released files (a checkout or export of the released commit)")
    ap.add_argument("--minisign-key", help="the releasers' minisign public key, to verify the release bundles")
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    try:
        need("openssl")
        if not 1 <= a.threshold <= len(a.key):
            raise Unusable("--threshold: between 1 and the number of --key")
        keys = []
        for k in a.key:
            pk, blob = ssh_ed25519_raw(read_bytes(k, "--key").decode(errors="replace").strip(), f"--key {k}")
            keys.append((ssh_fingerprint(blob), pk))
        vkey = parse_vkey(read_bytes(a.log_key, "--log-key").decode(errors="replace")) if a.log_key else None
        envs = load_envelopes(read_bytes(a.package, "package"))
        if not envs:
            raise Unusable("the package holds no envelope")
        with tempfile.TemporaryDirectory(prefix="verify-evidence.") as tmp:
            found = 0
            for n, env in enumerate(envs, 1):
                where = f"envelope {n}"
                stmt, by = check_envelope(tmp, env, keys, a.threshold, where)
                say(f"{where}: DSSE signature verified with openssl by {', '.join(by)}")
                if not isinstance(stmt, dict) or stmt.get("predicateType") != PREDICATE_TYPE:
                    continue
                found += 1
                pred, subjects = check_statement(stmt)
                rel = pred["release"]
                say(f"release: {rel.get('kind')} {rel.get('repository')} of {rel.get('commit')} to "
                    f"{rel.get('environment')} by {rel.get('pusher')} at {rel.get('time')}")
                say(f"subjects: {len(subjects)}, every changed blueprint among them with its digest")
                check_audit(tmp, pred, vkey)
                check_approvals(tmp, pred, a.allowed_signers)
                if a.tree:
                    check_tree(pred, subjects, a.tree)
                if a.minisign_key:
                    check_bundles(tmp, pred, a.minisign_key)
            if not found:
                raise Failed(f"no envelope carries a {PREDICATE_TYPE} statement")
    except Failed as e:
        print(f"verify-evidence: FAILED: {e}", file=sys.stderr)
        return 1
    except Unusable as e:
        print(f"verify-evidence: {e}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, AttributeError, TypeError) as e:
        print(f"verify-evidence: FAILED: malformed package ({e.__class__.__name__})", file=sys.stderr)
        return 1
    say("verified")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
