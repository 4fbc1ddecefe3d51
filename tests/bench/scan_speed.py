#!/usr/bin/env python3
"""Throughput and peak memory of `bpgate scan` and its peers on generated
fixtures: a 50 MB tree of pretty-printed blueprint-like JSON files and one
50 MB single-line minified JSON file.

usage: scan_speed.py BPGATE WORKDIR [--peers] [--mb N]
"""
import json, os, random, shutil, subprocess, sys, time

def blueprint(rng, i):
    """A blueprint-shaped document with a few personal values in it."""
    mods = []
    for m in range(rng.randint(8, 20)):
        mods.append({
            "id": m + 1, "module": rng.choice(["http:ActionSendData", "google-sheets:addRow",
                "json:ParseJSON", "builtin:BasicRouter", "gmail:ActionSendEmail", "hubspotcrm:createContact"]),
            "version": rng.randint(1, 4),
            "parameters": {"__IMTCONN__": rng.randint(100000, 999999), "spreadsheetId": "1xQ%08dAbCdEf" % rng.randint(0, 10**8)},
            "mapper": {
                "url": "https://api.example-%d.com/v1/items/{{%d.id}}" % (rng.randint(0, 99), m),
                "to": "{{%d.email}}" % m,
                "subject": "Order {{%d.order_id}} confirmed for {{%d.customer.name}}" % (m, m),
                "body": "Hello {{%d.first_name}}, your invoice of {{%d.amount}} EUR is ready. Reference %s." % (m, m, "INV-%06d" % rng.randint(0, 999999)),
                "method": rng.choice(["get", "post", "put"]),
                "qs": [{"name": "limit", "value": str(rng.randint(1, 500))}, {"name": "since", "value": "2024-0%d-1%dT10:00:00Z" % (rng.randint(1, 9), rng.randint(0, 9))}],
                "correlationId": "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12), rng.getrandbits(48)),
            },
            "metadata": {"designer": {"x": rng.randint(-900, 900), "y": rng.randint(-900, 900)},
                "restore": {"parameters": {"__IMTCONN__": {"label": "My HTTP connection", "data": {"scoped": "true", "connection": "http"}}}},
                "expect": [{"name": "sheetId", "type": "select", "label": "Sheet Name", "required": True}]},
        })
    if i % 3 == 0:  # some literals that the scanner must find
        mods[0]["mapper"]["cc"] = "ops.team%d@acme-mail.com" % i
        mods[-1]["mapper"]["note"] = "call +44 20 7123 %04d if it fails" % (i % 10000)
    return {"name": "Scenario %d" % i, "flow": mods,
            "metadata": {"version": 1, "scenario": {"roundtrips": 1, "maxErrors": 3, "autoCommit": True,
                         "sequential": False, "confidential": False, "dataloss": False, "dlq": False}}}

def generate(work, mb):
    rng = random.Random(1234)
    tree = os.path.join(work, "tree", "fixtures")
    os.makedirs(tree, exist_ok=True)
    target = mb << 20
    total, i, docs = 0, 0, []
    while total < target:
        d = blueprint(rng, i)
        text = json.dumps(d, indent=4) + "\n"
        sub = os.path.join(tree, "team%02d" % (i % 20))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "scenario%05d.blueprint.json" % i), "w") as f:
            f.write(text)
        total += len(text)
        docs.append(d)
        i += 1
    # the minified file gets its own documents until it is as large as the tree
    mini = os.path.join(work, "minified.json")
    with open(mini, "w") as f:
        f.write('{"scenarios":[')
        size, k = 0, 0
        while size < target:
            t = (k and "," or "") + json.dumps(docs[k % len(docs)] if k < len(docs) else blueprint(rng, i + k), separators=(",", ":"))
            f.write(t)
            size += len(t)
            k += 1
        f.write("]}")
    return os.path.join(work, "tree"), mini, total, os.path.getsize(mini)

def timed(cmd, cwd=None):
    """(CPU seconds user+sys, peak RSS KiB, exit, stdout, stderr) via /usr/bin/time.
    CPU time, not wall time: the figure must not depend on other load."""
    r = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M"] + cmd, cwd=cwd, capture_output=True)
    last = r.stderr.decode(errors="replace").strip().splitlines()[-1]
    wall, user, sys_, rss = last.split()
    return float(user) + float(sys_), int(rss), r.returncode, r.stdout, r.stderr

def main():
    bpgate, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    peers = "--peers" in sys.argv
    mb = int(sys.argv[sys.argv.index("--mb") + 1]) if "--mb" in sys.argv else 50
    os.makedirs(work, exist_ok=True)
    tree, mini, tree_bytes, mini_bytes = generate(work, mb)
    print("fixtures: tree %.1f MB (pretty-printed, %d files), minified %.1f MB (one line)" %
          (tree_bytes / 1e6, len([1 for _, _, fs in os.walk(tree) for _ in fs]), mini_bytes / 1e6))
    inputs = [("tree", tree_bytes, lambda: [tree]), ("minified", mini_bytes, lambda: [mini])]
    results = {}
    for name, size, args in inputs:
        best = None
        for _ in range(3):
            wall, rss, rc, out, err = timed([bpgate, "scan", "--format", "json"] + args())
            if rc not in (0, 1):
                sys.exit("bpgate failed: %s" % err.decode())
            best = min(best, (wall, rss)) if best else (wall, rss)
        n = len(json.loads(out)["findings"])
        results[("bpgate", name)] = best
        print("bpgate      %-9s %7.2f s cpu %8.1f MB/s  peak RSS %6.1f MB  findings %d" %
              (name, best[0], size / 1e6 / max(best[0], 1e-3), best[1] / 1024, n))
    if peers:
        run_peers(work, tree, mini, tree_bytes, mini_bytes, results)

def run_peers(work, tree, mini, tree_bytes, mini_bytes, results):
    # git-secrets: a throwaway repository with the AWS patterns registered
    gs = shutil.which("git-secrets")
    if gs:
        repo = os.path.join(work, "gsrepo")
        if not os.path.isdir(repo):
            subprocess.run(["git", "init", "-q", repo], check=True)
            subprocess.run(["git", "secrets", "--register-aws"], cwd=repo, check=True, capture_output=True)
        for name, size, target in [("tree", tree_bytes, tree), ("minified", mini_bytes, mini)]:
            files = [os.path.join(d, f) for d, _, fs in os.walk(target) for f in fs] if os.path.isdir(target) else [target]
            wall, rss, rc, out, err = timed(["git", "secrets", "--scan"] + files, cwd=repo)
            results[("git-secrets", name)] = (wall, rss)
            print("git-secrets %-9s %7.2f s cpu %8.1f MB/s  peak RSS %6.1f MB  exit %d" %
                  (name, wall, size / 1e6 / max(wall, 1e-3), rss / 1024, rc))
    else:
        print("git-secrets: not installed (apt-get install git-secrets)")
    sl = os.path.join(work, "secretlint")
    if os.path.isfile(os.path.join(sl, "node_modules", ".bin", "secretlint")):
        with open(os.path.join(sl, ".secretlintrc.json"), "w") as f:
            f.write('{"rules":[{"id":"@secretlint/secretlint-rule-preset-recommend"}]}')
        for name, size, target in [("tree", tree_bytes, tree), ("minified", mini_bytes, mini)]:
            glob = os.path.join(target, "**", "*.json") if os.path.isdir(target) else target
            wall, rss, rc, out, err = timed([os.path.join(sl, "node_modules", ".bin", "secretlint"),
                                             "--secretlintrc", os.path.join(sl, ".secretlintrc.json"), glob], cwd=sl)
            results[("secretlint", name)] = (wall, rss)
            print("secretlint  %-9s %7.2f s cpu %8.1f MB/s  peak RSS %6.1f MB  exit %d" %
                  (name, wall, size / 1e6 / max(wall, 1e-3), rss / 1024, rc))
    else:
        print("secretlint: not installed")
    for name in ("tree", "minified"):
        ours = results[("bpgate", name)][0]
        peer = [results[k][0] for k in results if k[1] == name and k[0] != "bpgate"]
        if peer:
            print("ratio %-9s faster peer / bpgate = %.1fx" % (name, min(peer) / max(ours, 1e-3)))

if __name__ == "__main__":
    main()
