#!/usr/bin/env python3
"""Check a SARIF log against the constraints of the SARIF 2.1.0 JSON schema
(https://json.schemastore.org/sarif-2.1.0.json, OASIS SARIF 2.1.0) that apply
to what bpgate writes, plus GitHub code scanning's rule that every result has
a physical location. Standard library only (no network at test time).

Checked (schema): sarifLog requires version "2.1.0" and runs; run requires
tool; tool requires driver; toolComponent requires name; reportingDescriptor
requires id; result requires message; message requires text or id; level in
none|note|warning|error; ruleIndex integer >= -1; locations array of location;
physicalLocation requires address or artifactLocation; artifactLocation.uri a
string; region startLine/startColumn integers >= 1; properties an object.
Checked (upload): every result has locations[0].physicalLocation with an
artifactLocation.uri and a region.startLine.
Exit 0 when valid, 1 with the JSON path of each problem.
"""
import json, sys

problems = []

def need(cond, path, what):
    if not cond:
        problems.append(f"{path}: {what}")
    return cond

def is_int(v, minimum):
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum

def check_message(m, path):
    if need(isinstance(m, dict), path, "message must be an object"):
        need("text" in m or "id" in m, path, "message requires text or id")
        if "text" in m:
            need(isinstance(m["text"], str), path + ".text", "must be a string")

def check_region(r, path):
    if need(isinstance(r, dict), path, "region must be an object"):
        for k in ("startLine", "startColumn", "endLine", "endColumn"):
            if k in r:
                need(is_int(r[k], 1), f"{path}.{k}", "integer >= 1")

def check_location(loc, path, upload):
    if not need(isinstance(loc, dict), path, "location must be an object"):
        return
    pl = loc.get("physicalLocation")
    if pl is None:
        need(not upload, path, "no physicalLocation")
        return
    if not need(isinstance(pl, dict), path + ".physicalLocation", "must be an object"):
        return
    need("address" in pl or "artifactLocation" in pl, path + ".physicalLocation", "requires address or artifactLocation")
    al = pl.get("artifactLocation")
    if al is not None and need(isinstance(al, dict), path + ".physicalLocation.artifactLocation", "must be an object"):
        if "uri" in al:
            need(isinstance(al["uri"], str) and al["uri"] != "", path + ".physicalLocation.artifactLocation.uri", "a non-empty string")
        elif upload:
            need(False, path + ".physicalLocation.artifactLocation", "no uri")
    if "region" in pl:
        check_region(pl["region"], path + ".physicalLocation.region")
        if upload:
            need("startLine" in pl["region"], path + ".physicalLocation.region", "no startLine")
    elif upload:
        need(False, path + ".physicalLocation", "no region")

def main():
    log = json.load(open(sys.argv[1]))
    need(isinstance(log, dict), "$", "sarifLog must be an object")
    need(log.get("version") == "2.1.0", "$.version", "must be 2.1.0")
    runs = log.get("runs")
    if need(isinstance(runs, list), "$.runs", "required array"):
        for ri, run in enumerate(runs):
            p = f"$.runs[{ri}]"
            drv = run.get("tool", {}).get("driver") if isinstance(run.get("tool"), dict) else None
            if need(isinstance(drv, dict), p + ".tool.driver", "required object"):
                need(isinstance(drv.get("name"), str), p + ".tool.driver.name", "required string")
                for k, rule in enumerate(drv.get("rules", [])):
                    need(isinstance(rule, dict) and isinstance(rule.get("id"), str), f"{p}.tool.driver.rules[{k}].id", "required string")
            for k, res in enumerate(run.get("results", [])):
                rp = f"{p}.results[{k}]"
                if not need(isinstance(res, dict), rp, "result must be an object"):
                    continue
                need("message" in res, rp, "requires message")
                if "message" in res:
                    check_message(res["message"], rp + ".message")
                if "level" in res:
                    need(res["level"] in ("none", "note", "warning", "error"), rp + ".level", "not a level")
                if "ruleIndex" in res:
                    need(is_int(res["ruleIndex"], -1), rp + ".ruleIndex", "integer >= -1")
                if "properties" in res:
                    need(isinstance(res["properties"], dict), rp + ".properties", "must be an object")
                locs = res.get("locations")
                if need(isinstance(locs, list) and len(locs) >= 1, rp + ".locations", "every result needs a location"):
                    for li, loc in enumerate(locs):
                        check_location(loc, f"{rp}.locations[{li}]", li == 0)
    for pr in problems:
        print(pr)
    return 1 if problems else 0

sys.exit(main())
