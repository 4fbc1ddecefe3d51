#!/usr/bin/env python3
"""Assemble README.md from docs/readme-head.md, the sections in docs/readme/ and
docs/readme-tail.md; the <!-- TOC --> line of the head becomes the list of the
sections' "## " headings. Run from the repository root: python3 docs/assemble.py"""
import re

SECTIONS = ["blueprint", "hooks", "policy", "scan", "sign", "sshsig", "server", "daemon", "audit", "make-client", "hardening"]


def anchor(title):
    a = title.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a)
    return a.replace(" ", "-")


parts = [open(f"docs/readme/{s}.md").read() for s in SECTIONS]
toc = []
for p in parts:
    in_code = False
    for line in p.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            t = line[3:].strip()
            toc.append(f"- [{t}](#{anchor(t)})")
head = open("docs/readme-head.md").read().replace("<!-- TOC -->", "\n".join(toc))
out = "\n".join([head] + parts + [open("docs/readme-tail.md").read()])
open("README.md", "w").write(out)
