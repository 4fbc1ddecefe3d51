#!/usr/bin/env python3
"""A faithful stand-in of Make's REST API v2 for bpgate's tests.

python3 standin.py --seed SEED.json --port-file FILE [--port 0] [--tls-cert C --tls-key K]
    [--limit-per-minute N] [--retry-after] [--missing-scope-status 401|403] [--log FILE]
    [--lenient-write] [--frozen-clock] [--clock-start ISO]

Listens on 127.0.0.1 only, writes the port to --port-file (atomically) once
listening. /api/v2/... is the Make API subset (standin_routes.py), /_standin/...
is the control API for tests (no auth, loopback only). See README.md.
"""
import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin_api import (ApiError, MakeState, Query, RATE_MESSAGE, error_body,  # noqa: E402
                         parse_iso)
import standin_routes  # noqa: E402

MAX_BODY = 16 * 1024 * 1024
HUGE_DEFAULT = 50 * 1024 * 1024
FAULT_KINDS = ("json", "html", "truncated", "huge", "slow")


class Clock:
    """Milliseconds since the epoch: real time (unless frozen) plus what
    POST /_standin/clock added. Controls the 429 window and version ages."""

    def __init__(self, start_ms=None, frozen=False):
        self.base = start_ms if start_ms is not None else int(time.time() * 1000)
        self.mono = time.monotonic()
        self.frozen = frozen
        self.offset = 0
        self.lock = threading.Lock()

    def now_ms(self):
        with self.lock:
            run = 0 if self.frozen else int((time.monotonic() - self.mono) * 1000)
            return self.base + run + self.offset

    def advance(self, ms):
        with self.lock:
            self.offset += ms


class RateLimiter:
    """Per organization, per minute, fixed windows of 60 s on the stand-in's clock
    starting at the organization's first counted request."""

    def __init__(self, clock):
        self.clock = clock
        self.windows = {}   # org -> [window_start_ms, count]
        self.lock = threading.Lock()

    def admit(self, org, limit):
        """None if admitted, else the seconds until the window resets."""
        now = self.clock.now_ms()
        with self.lock:
            w = self.windows.get(org)
            if w is None or now >= w[0] + 60000:
                w = self.windows[org] = [now, 0]
            if w[1] >= limit:
                return max(1, -(-(w[0] + 60000 - now) // 1000))
            w[1] += 1
            return None

    def snapshot(self):
        with self.lock:
            return {str(k): {"windowStartMs": v[0], "count": v[1]} for k, v in self.windows.items()}


class Faults:
    def __init__(self):
        self.queue = []
        self.lock = threading.Lock()

    def add(self, faults):
        clean = []
        for f in faults:
            if not isinstance(f, dict):
                raise ValueError("each fault must be an object")
            kind = f.get("body", "json")
            if kind not in FAULT_KINDS:
                raise ValueError("fault body must be one of %s" % ", ".join(FAULT_KINDS))
            status = f.get("status", 200 if kind in ("truncated", "huge", "slow") else None)
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise ValueError("fault status must be an HTTP status")
            count = f.get("count", 1)
            if not isinstance(count, int) or count < 1:
                raise ValueError("fault count must be an integer >= 1")
            clean.append({"status": status, "count": count, "body": kind,
                          "path_prefix": f.get("path_prefix", "/api/v2/"),
                          "method": f.get("method"), "retry_after": f.get("retry_after"),
                          "delay_ms": f.get("delay_ms", 3000), "size": f.get("size", HUGE_DEFAULT),
                          "chunked": bool(f.get("chunked", False))})
        with self.lock:
            self.queue.extend(clean)

    def take(self, method, path):
        with self.lock:
            for f in self.queue:
                if path.startswith(f["path_prefix"]) and f["method"] in (None, method):
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.queue.remove(f)
                    return dict(f)
        return None

    def pending(self):
        with self.lock:
            return [dict(f) for f in self.queue]

    def reset(self):
        with self.lock:
            self.queue = []


class Ctx:
    def __init__(self, method, path, query, body, token):
        self.method, self.path, self.query, self.body, self.token = method, path, query, body, token


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "make-standin/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet; the request log is the record
        pass

    # ---- plumbing --------------------------------------------------------------
    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if te == "chunked":
            data = b""
            while True:
                line = self.rfile.readline(100)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                if len(data) + size > MAX_BODY:
                    raise ApiError(413, "Payload Too Large", "SC413", "Request body too large.")
                data += self.rfile.read(size)
                self.rfile.readline(10)
        n = self.headers.get("Content-Length")
        if not n:
            return b""
        if not n.isdigit() or int(n) > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "Payload Too Large", "SC413", "Request body too large.")
        return self.rfile.read(int(n))

    def _send(self, status, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype if ctype != "application/json"
                         else "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def _record(self, path, query, status, user, fault=None):
        srv = self.server
        entry = {"method": self.command, "path": path, "query": query, "status": status,
                 "user": user, "fault": fault, "timeMs": srv.clock.now_ms()}
        with srv.req_lock:
            srv.requests.append(entry)
            if srv.log_file:
                srv.log_file.write(json.dumps(entry) + "\n")
                srv.log_file.flush()

    def do_GET(self):
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, socket.timeout, ssl.SSLError):
            self.close_connection = True  # the client went away (e.g. timed out on a slow fault)

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def _handle(self):
        path, _, raw_query = self.path.partition("?")
        try:
            raw = self._read_body()
        except ApiError as e:
            self.close_connection = True  # the rest of the body was not read
            self._send(e.status, e.body)
            return
        except (ValueError, OSError):
            self.close_connection = True
            return
        if path.startswith("/_standin/"):
            self._control(path, raw)
            return
        fault = self.server.faults.take(self.command, path)
        if fault and fault["body"] in ("json", "html"):
            self._record(path, raw_query, fault["status"], None, fault["body"])
            self._serve_fault(fault)
            return
        status, body, headers, user = self._api(path, raw_query, raw)
        if fault:
            self._record(path, raw_query, fault["status"], user, fault["body"])
            self._serve_fault(fault, status, body, headers)
            return
        self._record(path, raw_query, status, user)
        self._send(status, body, headers=headers)

    # ---- the Make API --------------------------------------------------------------
    def _api(self, path, raw_query, raw):
        srv = self.server
        st = srv.state
        query = Query(raw_query)
        user = None
        try:
            if not path.startswith("/api/v2/"):
                raise ApiError(404, "Not Found", "SC404", "Route not found.")
            auth = self.headers.get("Authorization", "")
            scheme, _, tok = auth.partition(" ")
            tok = tok.strip()
            if scheme not in ("Token", "Bearer") or tok not in st.tokens:
                raise ApiError(401, "Unauthorized", "SC401", "Invalid or missing API token.")
            user = st.tokens[tok].get("user")
            m = standin_routes.match(self.command, path[len("/api/v2"):])
            if m is None:
                raise ApiError(404, "Not Found", "SC404", "Route not found.")
            handler, params, scopes = m
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request", "SC400", "The request body is not valid JSON.")
            ctx = Ctx(self.command, path, query, body, tok)
            with st.lock:
                if handler is not standin_routes.run_scenario:
                    org = st.org_for(ctx, params)
                    limit = srv.limit if srv.limit is not None else st.org_limit(org)
                    wait = srv.rate.admit(org, limit)
                    if wait is not None:
                        raise ApiError(429, RATE_MESSAGE, "SC429", None, None,
                                       {"Retry-After": wait} if srv.retry_after else None)
                missing = standin_routes.missing_scopes(st.tokens[tok].get("scopes", []), scopes)
                if missing:
                    code = srv.scope_status
                    raise ApiError(code, "Permission denied" if code == 403 else "Unauthorized",
                                   "SC%d" % code, "Access denied.",
                                   ["Missing scope '%s'." % s for s in missing])
                status, out = handler(st, ctx, params)
            return status, out, None, user
        except ApiError as e:
            return e.status, e.body, e.headers, user
        except Exception as e:  # a bug of the stand-in: say so, loudly
            traceback.print_exc()
            return 500, error_body(500, "stand-in bug: %s: %s" % (type(e).__name__, e)), None, user

    # ---- faults ----------------------------------------------------------------------
    def _serve_fault(self, f, status=None, body=None, headers=None):
        hdrs = dict(headers or {})
        if f["retry_after"] is not None:
            hdrs["Retry-After"] = f["retry_after"]
        kind = f["body"]
        if kind == "json":
            self._send(f["status"], error_body(f["status"], "Injected fault."), headers=hdrs)
        elif kind == "html":
            page = ("<!DOCTYPE html>\n<html><head><title>%d</title></head><body><h1>%d</h1>"
                    "<p>The server is temporarily unable to service your request.</p>"
                    "</body></html>\n" % (f["status"], f["status"])).encode()
            self._send(f["status"], page, "text/html; charset=utf-8", hdrs)
        elif kind == "truncated":
            data = json.dumps(body, separators=(",", ":")).encode()
            self._send(f["status"], data[:max(1, len(data) // 2)], headers=hdrs)
        elif kind == "slow":
            self.server.stopping.wait(f["delay_ms"] / 1000.0)
            self._send(f["status"] if f["status"] != 200 else status, body, headers=hdrs)
        elif kind == "huge":
            self._send_huge(f, hdrs)

    def _send_huge(self, f, hdrs):
        size = max(64, int(f["size"]))
        head, tail = b'{"scenarios":[{"id":1,"name":"', b'"}],"pg":{"offset":0,"limit":10}}'
        pad = size - len(head) - len(tail)
        self.send_response(f["status"])
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if f["chunked"]:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        self.end_headers()
        block = b"x" * 65536

        def out(data):
            if f["chunked"]:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)
        try:
            out(head)
            while pad > 0:
                n = min(pad, len(block))
                out(block[:n])
                pad -= n
            out(tail)
            if f["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    # ---- control -----------------------------------------------------------------------
    def _control(self, path, raw):
        srv = self.server
        if not self.client_address[0].startswith("127.") and self.client_address[0] != "::1":
            self._send(403, {"error": "loopback only"})
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, {"error": "body is not JSON"})
            return
        cmd = (self.command, path)
        try:
            if cmd == ("POST", "/_standin/faults"):
                srv.faults.add(body.get("faults", []))
                self._send(200, {"pending": srv.faults.pending()})
            elif cmd == ("GET", "/_standin/faults"):
                self._send(200, {"pending": srv.faults.pending()})
            elif cmd == ("POST", "/_standin/faults/reset"):
                srv.faults.reset()
                self._send(200, {"pending": []})
            elif cmd == ("GET", "/_standin/requests"):
                with srv.req_lock:
                    reqs = list(srv.requests)
                self._send(200, {"count": len(reqs), "requests": reqs})
            elif cmd == ("POST", "/_standin/requests/reset"):
                with srv.req_lock:
                    srv.requests = []
                self._send(200, {"count": 0, "requests": []})
            elif cmd == ("GET", "/_standin/state"):
                with srv.state.lock:
                    out = srv.state.state()
                out["rate"] = srv.rate.snapshot()
                self._send(200, out)
            elif cmd == ("POST", "/_standin/logs"):
                sid = body.get("scenarioId")
                with srv.state.lock:
                    if sid not in srv.state.scenarios:
                        self._send(404, {"error": "no scenario %r" % (sid,)})
                        return
                    added = [srv.state.add_log(sid, r) for r in body.get("logs", [])]
                self._send(200, {"added": added})
            elif cmd == ("POST", "/_standin/draft"):
                with srv.state.lock:
                    srv.state.set_draft(body.get("scenarioId"), body.get("blueprint"))
                self._send(200, {"ok": True})
            elif cmd == ("GET", "/_standin/clock"):
                self._send(200, {"nowMs": srv.clock.now_ms()})
            elif cmd == ("POST", "/_standin/clock"):
                adv = body.get("advance_ms", 0)
                if not isinstance(adv, int) or adv < 0:
                    raise ValueError("advance_ms must be an integer >= 0")
                srv.clock.advance(adv)
                self._send(200, {"nowMs": srv.clock.now_ms()})
            else:
                self._send(404, {"error": "no such control endpoint: %s %s" % cmd})
        except ApiError as e:
            self._send(e.status, e.body)
        except (ValueError, TypeError, KeyError) as e:
            self._send(400, {"error": str(e)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, tls_ctx=None):
        self.tls_ctx = tls_ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread.
        if self.tls_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            tls = self.tls_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            tls.settimeout(None)
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def main(argv=None):
    ap = argparse.ArgumentParser(description="Stand-in of Make's REST API v2 for tests.")
    ap.add_argument("--seed", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--limit-per-minute", type=int, default=None,
                    help="every organization's budget (default: its apiLimit in the seed, else 1000)")
    ap.add_argument("--retry-after", action="store_true", help="send Retry-After with 429")
    ap.add_argument("--missing-scope-status", type=int, choices=(401, 403), default=403)
    ap.add_argument("--log", help="append one JSON line per request")
    ap.add_argument("--lenient-write", action="store_true",
                    help="accept blueprint/scheduling as objects too (default: 400 SC400)")
    ap.add_argument("--frozen-clock", action="store_true",
                    help="the clock moves only through POST /_standin/clock")
    ap.add_argument("--clock-start", help="the clock's start, ISO-8601 UTC (default: now)")
    a = ap.parse_args(argv)
    if bool(a.tls_cert) != bool(a.tls_key):
        ap.error("--tls-cert and --tls-key go together")
    with open(a.seed, encoding="utf-8") as fh:
        seed = json.load(fh)
    clock = Clock(parse_iso(a.clock_start) if a.clock_start else None, a.frozen_clock)
    tls_ctx = None
    if a.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        tls_ctx.load_cert_chain(a.tls_cert, a.tls_key)
    srv = Server(("127.0.0.1", a.port), tls_ctx)
    srv.clock = clock
    srv.state = MakeState(seed, clock, strict=not a.lenient_write)
    srv.rate = RateLimiter(clock)
    srv.faults = Faults()
    srv.requests = []
    srv.req_lock = threading.Lock()
    srv.limit = a.limit_per_minute
    srv.retry_after = a.retry_after
    srv.scope_status = a.missing_scope_status
    srv.stopping = threading.Event()
    srv.log_file = open(a.log, "a", encoding="utf-8") if a.log else None
    tmp = a.port_file + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as fh:
        fh.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stopping.set()
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
