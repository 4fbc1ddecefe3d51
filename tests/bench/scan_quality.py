#!/usr/bin/env python3
"""Precision and recall of `bpgate scan` on a labelled JSONL corpus.

Each line {"text", "entities"} becomes its own file; the scanner runs once
over all files (--format json --strict, so synthetic findings count as
predictions); a prediction is the pair (text, entity type). Prints per
entity and overall precision/recall, then the targets of issue 3.
"""
import collections, json, os, subprocess, sys, tempfile

PATTERN_TYPES = {"EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "UK_NHS", "UK_NINO",
    "US_ITIN", "US_NPI", "US_MBI", "MEDICAL_LICENSE", "CRYPTO_WALLET", "PRIVATE_KEY", "AWS_ACCESS_KEY",
    "JWT", "SLACK_TOKEN", "SLACK_WEBHOOK_URL", "GITHUB_TOKEN", "STRIPE_KEY", "PASSWORD_IN_URL",
    "MAKE_WEBHOOK_URL", "ZAPIER_WEBHOOK_URL"}
CONTEXT_TYPES = {"PERSON_NAME", "STREET_ADDRESS", "DATE_OF_BIRTH", "MEDICAL_RECORD_NUMBER"}

def main():
    bpgate, corpus = sys.argv[1], sys.argv[2]
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
    print("recall, context types (name, address, DOB, MRN): %.3f (target >= 0.70)" % rc)
    print("precision overall: %.3f (target >= 0.97)" % p_)
    worst = [min(pr([e])[1] for e in CONTEXT_TYPES & allk)] if CONTEXT_TYPES & allk else [1]
    print("lowest recall among context types: %.3f" % worst[0])

if __name__ == "__main__":
    main()
