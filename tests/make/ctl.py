#!/usr/bin/env python3
"""A tiny client of the Make stand-in for test scripts (python3 urllib only).

  ctl.py --port-file F [--token T] [--scheme Token|Bearer] [--cafile C] [-s] [-H NAME]... call METHOD PATH [JSON-BODY]
  ctl.py --port-file F fault STATUS COUNT [--path-prefix P] [--method M] [--body KIND]
                             [--retry-after N] [--delay-ms N] [--size N] [--chunked]
  ctl.py --port-file F requests [--reset]
  ctl.py --port-file F state
  ctl.py --port-file F clock [--advance-ms N]
  ctl.py --port-file F logs SCENARIO_ID JSON-ARRAY
  ctl.py --port-file F draft SCENARIO_ID JSON-BLUEPRINT
  ctl.py --port-file F edit SCENARIO_ID --token T --set-filter-name NAME

PATH is used as given when it starts with "/", else "/api/v2/" is put in front.
`call` prints the response body as received; with -s the first line is "HTTP <status>".
Exit: 0 for a 2xx answer, 1 for another HTTP status, 2 when there was no answer.
With --cafile, https is used (the stand-in started with --tls-cert).
"""
import argparse
import json
import re
import ssl
import sys
import time
import urllib.error
import urllib.request

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Client:
    def __init__(self, a):
        deadline = time.monotonic() + a.wait
        while True:
            try:
                with open(a.port_file) as fh:
                    port = int(fh.read().strip())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise SystemExit("ctl.py: no port in %s" % a.port_file)
                time.sleep(0.02)
        self.ctx = None
        scheme = "http"
        if a.cafile:
            scheme = "https"
            self.ctx = ssl.create_default_context(cafile=a.cafile)
        self.base = "%s://127.0.0.1:%d" % (scheme, port)
        self.token = a.token
        self.scheme = a.scheme or ("Token" if a.token and UUID.fullmatch(a.token) else "Bearer")
        self.timeout = a.timeout

    def request(self, method, path, body=None, auth=True):
        if not path.startswith("/"):
            path = "/api/v2/" + path
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.token:
            headers["Authorization"] = "%s %s" % (self.scheme, self.token)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ctx) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def json(self, method, path, body=None):
        status, data, _ = self.request(method, path, body, auth=not path.startswith("/_standin/"))
        if status // 100 != 2:
            sys.stderr.write("ctl.py: %s %s: HTTP %d %s\n" % (method, path, status, data[:500]))
            raise SystemExit(1)
        return json.loads(data)


def set_filter_name(bp, name):
    """The first module (depth first) with a filter gets the new filter name;
    without any filter the first module gets one."""
    def walk(flow):
        for m in flow or []:
            yield m
            for r in m.get("routes") or []:
                yield from walk(r.get("flow"))
            yield from walk(m.get("onerror"))
    for m in walk(bp.get("flow")):
        if isinstance(m.get("filter"), dict):
            m["filter"]["name"] = name
            return
    if not bp.get("flow"):
        raise SystemExit("ctl.py: the blueprint has no module to edit")
    bp["flow"][0]["filter"] = {"name": name, "conditions": []}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token")
    ap.add_argument("--scheme", choices=("Token", "Bearer"))
    ap.add_argument("--cafile")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--wait", type=float, default=30, help="seconds to wait for the port file")
    ap.add_argument("-s", "--status", action="store_true")
    ap.add_argument("-H", "--show-header", action="append", default=[],
                    help="with call: print 'Name: value' of this response header (repeatable)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("call")
    c.add_argument("method")
    c.add_argument("path")
    c.add_argument("body", nargs="?")
    f = sub.add_parser("fault")
    f.add_argument("status", type=int)
    f.add_argument("count", type=int)
    f.add_argument("--path-prefix")
    f.add_argument("--method")
    f.add_argument("--body", default="json", choices=("json", "html", "truncated", "huge", "slow"))
    f.add_argument("--retry-after", type=int)
    f.add_argument("--delay-ms", type=int)
    f.add_argument("--size", type=int)
    f.add_argument("--chunked", action="store_true")
    r = sub.add_parser("requests")
    r.add_argument("--reset", action="store_true")
    sub.add_parser("state")
    k = sub.add_parser("clock")
    k.add_argument("--advance-ms", type=int, default=0)
    lg = sub.add_parser("logs")
    lg.add_argument("scenario", type=int)
    lg.add_argument("logs")
    d = sub.add_parser("draft")
    d.add_argument("scenario", type=int)
    d.add_argument("blueprint")
    e = sub.add_parser("edit")
    e.add_argument("scenario", type=int)
    e.add_argument("--token", dest="edit_token")
    e.add_argument("--set-filter-name", required=True)
    a = ap.parse_args()
    if a.cmd == "edit" and a.edit_token:
        a.token = a.edit_token
    cl = Client(a)
    try:
        return run(cl, a)
    except (urllib.error.URLError, OSError) as ex:
        sys.stderr.write("ctl.py: no answer: %s\n" % ex)
        return 2


def run(cl, a):
    out = sys.stdout
    if a.cmd == "call":
        body = a.body.encode() if a.body is not None else None
        status, data, hdrs = cl.request(a.method, a.path, body)
        if a.status:
            out.write("HTTP %d\n" % status)
        for name in a.show_header:
            value = next((v for k, v in hdrs.items() if k.lower() == name.lower()), None)
            out.write("%s: %s\n" % (name, "-" if value is None else value))
        out.write(data.decode("utf-8", "replace") + "\n")
        return 0 if status // 100 == 2 else 1
    if a.cmd == "fault":
        fault = {"status": a.status, "count": a.count, "body": a.body}
        for key, v in (("path_prefix", a.path_prefix), ("method", a.method),
                       ("retry_after", a.retry_after), ("delay_ms", a.delay_ms), ("size", a.size)):
            if v is not None:
                fault[key] = v
        if a.chunked:
            fault["chunked"] = True
        res = cl.json("POST", "/_standin/faults", {"faults": [fault]})
    elif a.cmd == "requests":
        res = cl.json("POST" if a.reset else "GET",
                      "/_standin/requests/reset" if a.reset else "/_standin/requests",
                      {} if a.reset else None)
    elif a.cmd == "state":
        res = cl.json("GET", "/_standin/state")
    elif a.cmd == "clock":
        res = cl.json("POST", "/_standin/clock", {"advance_ms": a.advance_ms})
    elif a.cmd == "logs":
        res = cl.json("POST", "/_standin/logs", {"scenarioId": a.scenario, "logs": json.loads(a.logs)})
    elif a.cmd == "draft":
        res = cl.json("POST", "/_standin/draft",
                      {"scenarioId": a.scenario, "blueprint": json.loads(a.blueprint)})
    elif a.cmd == "edit":
        if not cl.token:
            raise SystemExit("ctl.py: edit needs --token")
        got = cl.json("GET", "scenarios/%d/blueprint" % a.scenario)["response"]
        bp = got["blueprint"]
        set_filter_name(bp, a.set_filter_name)
        res = cl.json("PATCH", "scenarios/%d" % a.scenario,
                      {"blueprint": json.dumps(bp), "scheduling": json.dumps(got["scheduling"])})
    out.write(json.dumps(res, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
