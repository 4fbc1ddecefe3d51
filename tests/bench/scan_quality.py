#!/usr/bin/env python3
"""Precision and recall of `bpgate scan` on labelled JSONL corpora.

usage: scan_quality.py BPGATE CORPUS.jsonl [CORPUS2.jsonl ...] [--misses]
With several corpora (tests/scan_quality/dev.jsonl and heldout.jsonl) each
gets its own table, then one line per entity with precision/recall on each
part side by side. --misses lists the texts of false positives/negatives
(of the first corpus only: the held-out part is not for tuning).

Each line {"text", "entities"} becomes its own file; the scanner runs once
over all files (--format json --strict, so synthetic findings count as
predictions); a prediction is the pair (text, entity type). Prints per
entity and overall precision/recall, then the targets of issue 3.
"""
import collections, json, os, subprocess, sys, tempfile

PATTERN_TYPES = {"EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "UK_NHS", "UK_NINO",
    "US_ITIN", "US_NPI", "US_MBI", "MEDICAL_LICENSE", "CRYPTO_WALLET", "PRIVATE_KEY", "AWS_ACCESS_KEY",
    "JWT", "SLACK_TOKEN", "SLACK_WEBHOOK_URL", "GITHUB_TOKEN", "STRIPE_KEY", "PASSWORD_IN_URL",
    "MAKE_WEBHOOK_URL", "ZAPIER_WEBHOOK_URL", "DISCORD_WEBHOOK_URL", "TELEGRAM_BOT_TOKEN",
    "IFTTT_WEBHOOK_KEY", "POWER_AUTOMATE_URL", "TEAMS_WEBHOOK_URL", "SENDGRID_KEY", "GITLAB_TOKEN", "NPM_TOKEN",
    "GOOGLE_API_KEY", "SHOPIFY_TOKEN", "OPENAI_KEY", "AWS_SECRET_KEY", "MAKE_API_TOKEN", "GENERIC_API_KEY"}
CONTEXT_TYPES = {"PERSON_NAME", "STREET_ADDRESS", "DATE_OF_BIRTH", "MEDICAL_RECORD_NUMBER"}

def evaluate(bpgate, corpus, misses=False):
    rows = [json.loads(l) for l in open(corpus, encoding="utf-8") if l.strip()]
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, r in enumerate(rows):
            p = os.path.join(d, "t%04d.txt" % i)
            with open(p, "w", encoding="utf-8") as f:
                f.write(r["text"])
            paths.append(p)
        out = subprocess.run([bpgate, "scan", "--format", "json", "--strict"] + paths,
                             capture_output=True, text=True, cwd=d)
        if out.returncode not in (0, 1):
            sys.exit("bpgate scan failed (%d): %s" % (out.returncode, out.stderr))
        pred = collections.defaultdict(set)
        for f in json.loads(out.stdout)["findings"]:
            pred[os.path.basename(f["path"])].add(f["rule"])
    tp, fp, fn = collections.Counter(), collections.Counter(), collections.Counter()
    for i, r in enumerate(rows):
        g, p = set(r["entities"]), pred.get("t%04d.txt" % i, set())
        for e in g & p: tp[e] += 1
        for e in p - g: fp[e] += 1
        for e in g - p: fn[e] += 1
        if misses and (p - g or g - p):
            print("MISS fp=%s fn=%s %s" % (sorted(p - g), sorted(g - p), json.dumps(r["text"], ensure_ascii=False)[:160]))
    print("== %s (%d samples)" % (corpus, len(rows)))
    def pr(keys):
        t = sum(tp[k] for k in keys); f = sum(fp[k] for k in keys); n = sum(fn[k] for k in keys)
        return (t / (t + f) if t + f else 1.0), (t / (t + n) if t + n else 1.0), t, f, n
    print("%-22s %9s %7s %5s %5s %5s" % ("entity", "precision", "recall", "tp", "fp", "fn"))
    for e in sorted(set(tp) | set(fp) | set(fn)):
        p_, r_, t, f, n = pr([e])
        print("%-22s %9.3f %7.3f %5d %5d %5d" % (e, p_, r_, t, f, n))
    allk = set(tp) | set(fp) | set(fn)
    p_, r_, t, f, n = pr(allk)
    print("%-22s %9.3f %7.3f %5d %5d %5d" % ("OVERALL", p_, r_, t, f, n))
    _, rp, *_ = pr(PATTERN_TYPES & allk)
    _, rc, *_ = pr(CONTEXT_TYPES & allk)
    print("recall, pattern/checksum types: %.3f (target >= 0.95)" % rp)
    print("recall, context types (name, address, DOB, MRN): %.3f (target >= 0.85)" % rc)
    print("precision overall: %.3f (target >= 0.97)" % p_)
    worst = [min(pr([e])[1] for e in CONTEXT_TYPES & allk)] if CONTEXT_TYPES & allk else [1]
    print("lowest recall among context types: %.3f" % worst[0])
    return {e: pr([e]) for e in allk}, (p_, rp, rc)

def main():
    args = [a for a in sys.argv[1:] if a != "--misses"]
    bpgate, corpora = args[0], args[1:]
    res = [evaluate(bpgate, c, misses=("--misses" in sys.argv and i == 0)) for i, c in enumerate(corpora)]
    if len(res) < 2:
        return
    names = [os.path.basename(c).split(".")[0] for c in corpora]
    print("== per entity, precision / recall (tp fp fn) on each part")
    print("%-22s " % "entity" + " ".join("%-26s" % n for n in names))
    for e in sorted(set().union(*[r[0].keys() for r in res])):
        cells = []
        for per, _ in res:
            if e in per:
                p_, r_, t, f, n = per[e]
                cells.append("%.2f / %.2f (%d %d %d)" % (p_, r_, t, f, n))
            else:
                cells.append("-")
        print("%-22s " % e + " ".join("%-26s" % c for c in cells))
    for label, k in (("precision overall", 0), ("recall pattern", 1), ("recall contextual", 2)):
        print("%-22s " % label + " ".join("%-26s" % ("%.3f" % r[1][k]) for r in res))

if __name__ == "__main__":
    main()
