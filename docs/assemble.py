#!/usr/bin/env python3
"""README.md is the five-minute page; docs/readme/*.md is the reference. This script
keeps the two apart.

    python3 docs/assemble.py          rewrite the list of links between <!-- DOCS --> and
                                      <!-- /DOCS --> in README.md (one per docs/readme/*.md,
                                      titled by the page's first "## " heading)
    python3 docs/assemble.py --check  exit 1 when that list is out of date (a page is not
                                      linked, or a link points at no page) or when a
                                      paragraph of README.md also appears in a file under
                                      docs/ (text must live in one place only)

Run from the repository root, or pass --root DIR. Uses python3's standard library only."""
import argparse
import os
import re
import sys

BEGIN, END = "<!-- DOCS -->", "<!-- /DOCS -->"
MIN_WORDS = 8  # shorter paragraphs (a command line, a heading) may legitimately repeat


def title_of(path):
    in_code = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            if not in_code and line.startswith("## "):
                return line[3:].strip()
    return os.path.basename(path)


def link_list(root):
    d = os.path.join(root, "docs", "readme")
    pages = sorted(p for p in os.listdir(d) if p.endswith(".md"))
    return "\n".join(f"- [{title_of(os.path.join(d, p))}](docs/readme/{p})" for p in pages)


def with_links(readme, links):
    b, e = readme.find(BEGIN), readme.find(END)
    if b < 0 or e < b:
        return None
    return readme[: b + len(BEGIN)] + "\n" + links + "\n" + readme[e:]


def norm(text):
    return " ".join(re.sub(r"[`*_>#|-]+", " ", text).split()).lower()


def paragraphs(text):
    """Blank-line separated blocks outside fenced code, normalised; only long ones."""
    out, cur, in_code = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.startswith("    ") or line.startswith("<!--") or not line.strip():
            if cur:
                out.append(" ".join(cur))
                cur = []
            continue
        cur.append(line)
    if cur:
        out.append(" ".join(cur))
    return [(p, norm(p)) for p in out if len(norm(p).split()) >= MIN_WORDS]


def copied(root, readme):
    docs = []
    for dirpath, _, files in os.walk(os.path.join(root, "docs")):
        for f in sorted(files):
            if f.endswith(".md"):
                p = os.path.join(dirpath, f)
                with open(p, encoding="utf-8") as fh:
                    docs.append((os.path.relpath(p, root), norm(fh.read())))
    found = []
    for raw, n in paragraphs(readme):
        for name, body in docs:
            if n in body:
                found.append((name, raw))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="check only; exit 1 on a problem")
    ap.add_argument("--root", default=".", help="the repository root (default: .)")
    a = ap.parse_args()
    path = os.path.join(a.root, "README.md")
    with open(path, encoding="utf-8") as f:
        readme = f.read()
    want = with_links(readme, link_list(a.root))
    if want is None:
        print(f"README.md has no {BEGIN} ... {END} block for the list of docs/readme pages")
        if not a.check:
            return 1
    if not a.check:
        with open(path, "w", encoding="utf-8") as f:
            f.write(want)
        return 0
    bad = 0
    if want != readme:
        print("README.md: the list of docs/readme pages is out of date; run python3 docs/assemble.py")
        bad = 1
    for name, raw in copied(a.root, readme):
        print(f"README.md: this paragraph is also in {name} (keep it in one place):\n  {raw[:160]}")
        bad = 1
    for m in re.finditer(r"\]\((docs/[^)#]+)", readme):
        if not os.path.exists(os.path.join(a.root, m.group(1))):
            print(f"README.md: link to a missing file: {m.group(1)}")
            bad = 1
    if not bad:
        print("README.md: links up to date, no paragraph copied into docs/")
    return bad


if __name__ == "__main__":
    sys.exit(main())
