#!/usr/bin/env python3
"""Broken/repaired pairs of real blueprints (issue #19, "broken JSON keeps its secrets").

usage: broken_pairs.py OUTDIR BLUEPRINT.json...
For every blueprint, every error kind and 3 positions spread over the file
(at 1/5, 1/2 and 4/5 of the places where that kind of error can be made),
writes OUTDIR/broken/<kind>-<n>/<name> (the file with ONE syntax error) and
OUTDIR/repaired/<kind>-<n>/<name> (the same file written without it: the
obvious repair), both pretty-printed the same way. The scanner must give the
same findings for both (tests/e2e/scan_broken_json.sh compares them).
Kinds: trailing_comma doubled_comma missing_comma missing_colon single_quotes
unquoted_key stray_char control_char comment unterminated_string_eof
truncated_after_value truncated_after_comma truncated_after_colon.
"""
import json, os, re, sys

KINDS = ["trailing_comma", "doubled_comma", "missing_comma", "missing_colon", "single_quotes",
         "unquoted_key", "stray_char", "control_char", "comment", "unterminated_string_eof",
         "truncated_after_value", "truncated_after_comma", "truncated_after_colon"]
IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")
STRAYS = ";x=#)`@"

class Stop(Exception):
    pass

class Emit:
    def __init__(self, kind, target):
        self.kind, self.target, self.sites = kind, target, 0
        self.out, self.fix, self.stack, self.n = [], None, [], 0

    def site(self):
        """A place where this kind of error can be made: True at the chosen one."""
        hit = self.sites == self.target
        self.sites += 1
        return hit

    def w(self, s):
        self.out.append(s)
        self.n += len(s)

    def closers(self):
        return "".join("\n" + "  " * i + ("}" if t == "o" else "]") for i, t in reversed(list(enumerate(self.stack))))

    def stop(self, repaired_tail, broken_tail=""):
        text = "".join(self.out)
        self.broken = text + broken_tail
        self.fix = text + repaired_tail
        raise Stop()

    def string(self, s, is_key):
        enc = json.dumps(s)
        k = self.kind
        if k == "single_quotes" and "'" not in s and self.site():
            enc = "'" + enc[1:-1] + "'"
        elif k == "control_char" and not is_key and ("\\n" in enc or "\\t" in enc) and self.site():
            enc = enc.replace("\\n", "\n").replace("\\t", "\t")
        elif k == "unterminated_string_eof" and not is_key and len(s) >= 2 and self.site():
            half = json.dumps(s[: len(s) // 2])[:-1]
            self.w(half)
            self.stop('"' + self.closers())
        self.w(enc)

    def value(self, v, ind):
        if isinstance(v, list):
            self.container(v, ind, "a")
        elif isinstance(v, tuple) and v and v[0] == "__obj__":
            self.container(v[1], ind, "o")
        elif isinstance(v, str):
            self.string(v, False)
        else:
            self.w(json.dumps(v))

    def container(self, items, ind, t):
        self.w("{" if t == "o" else "[")
        self.stack.append(t)
        pad = "\n" + "  " * (ind + 1)
        for i, it in enumerate(items):
            mark = self.n  # before this member's comma and key
            if i:
                k = self.kind
                if k == "doubled_comma" and self.site():
                    self.w(",,")
                elif k == "missing_comma" and self.site():
                    pass
                elif k == "stray_char" and self.site():
                    self.w(" " + STRAYS[self.target % len(STRAYS)] + ",")
                elif k == "comment" and self.site():
                    self.w(", // edited by the ops team" if self.target % 2 else ", /* reviewed */")
                elif k == "truncated_after_comma" and self.site():
                    self.stop(self.closers(), ",")
                else:
                    self.w(",")
            self.w(pad)
            if t == "o":
                key, val = it
                if self.kind == "unquoted_key" and IDENT.match(key) and self.site():
                    self.w(key)
                else:
                    self.string(key, True)
                if self.kind == "missing_colon" and self.site():
                    self.w(" ")
                elif self.kind == "truncated_after_colon" and self.site():
                    # the repair drops the member whose value is missing
                    text = "".join(self.out)
                    self.broken = text + ": "
                    self.fix = text[:mark] + self.closers()
                    raise Stop()
                else:
                    self.w(": ")
                self.value(val, ind + 1)
            else:
                self.value(it, ind + 1)
            if self.kind == "truncated_after_value" and self.site():
                self.stop(self.closers())
        if items and self.kind == "trailing_comma" and self.site():
            self.w(",")
        self.stack.pop()
        self.w("\n" + "  " * ind + ("}" if t == "o" else "]"))

def load(path):
    return json.load(open(path, encoding="utf-8"), object_pairs_hook=lambda kv: ("__obj__", kv))

def render(doc, kind, target):
    e = Emit(kind, target)
    try:
        e.value(doc, 0)
    except Stop:
        return e.sites, e.broken, e.fix
    text = "".join(e.out) + "\n"
    return e.sites, text, None

def main():
    out, files = sys.argv[1], sys.argv[2:]
    n = 0
    for path in files:
        doc = load(path)
        name = os.path.basename(path)
        _, clean, _ = render(doc, None, -1)
        for kind in KINDS:
            total, _, _ = render(doc, kind, -1)
            if total == 0:
                continue
            for j, frac in enumerate((0.2, 0.5, 0.8)):
                target = min(total - 1, int(total * frac))
                _, broken, fix = render(doc, kind, target)
                if fix is None:
                    fix = clean
                for side, text in (("broken", broken), ("repaired", fix)):
                    d = os.path.join(out, side, "%s-%d" % (kind, j))
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
                        f.write(text)
                json.loads(fix)  # the repaired copy is valid JSON
                try:
                    json.loads(broken)
                    sys.exit("%s %s %d: the broken copy parses" % (name, kind, j))
                except ValueError:
                    pass
                n += 1
    print("%d pairs" % n)

if __name__ == "__main__":
    main()
