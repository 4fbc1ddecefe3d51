"""The Make REST API v2 model of the stand-in: state, routes, envelopes.

Test code (python3 standard library only). The HTTP side (sockets, TLS,
faults, the 429 budget, /_standin/ control) lives in standin.py; this module
only turns (method, path, query, body, token) into (status, JSON, headers)
and owns the state. Behaviour follows ../../../shared/specs/make-api.md,
"What a faithful stand-in must reproduce"; README.md lists the choices made
where the spec says UNVERIFIED.
"""
import copy
import datetime
import hashlib
import re
import threading
from urllib.parse import unquote_plus

RATE_MESSAGE = "Requests limit for organization exceeded, please try again later."
DEFAULT_APPS = ["builtin", "gateway", "json", "util", "http", "regexp", "placeholder"]
SCHEDULING_TYPES = {"immediately", "indefinitely", "once", "daily", "weekly",
                    "monthly", "yearly", "on-demand"}
SCENARIO_SORT = ["proprietal", "id", "name", "teamId", "folderId", "isActive", "islinked",
                 "isinvalid", "islocked", "lastEdit", "createdByUserName",
                 "updatedByUserName", "created"]
MAX_LIMIT = 10000
VERSION_WINDOW_MS = 60 * 24 * 3600 * 1000
HTTP_MESSAGES = {400: "Bad Request", 401: "Unauthorized", 403: "Permission denied",
                 404: "Not Found", 406: "Not Acceptable", 409: "Conflict",
                 413: "Payload Too Large", 422: "Unprocessable Entity",
                 424: "Failed Dependency", 429: RATE_MESSAGE,
                 500: "Internal Server Error", 502: "Bad Gateway",
                 503: "Service Unavailable", 504: "Gateway Timeout"}


class ApiError(Exception):
    """An error answered with Make's error body (spec section 6)."""

    def __init__(self, status, message, code, detail=None, suberrors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "code": code}
        if detail is not None:
            self.body["detail"] = detail
        if suberrors:
            self.body["suberrors"] = [{"message": m, "name": "Error"} for m in suberrors]
        self.headers = headers or {}


def validation(*messages):
    return ApiError(400, "Bad Request", "SC400",
                    "Validation failed for %d parameter(s)." % len(messages), list(messages))


def not_found(detail):
    return ApiError(404, "Not Found", "SC404", detail)


def error_body(status, detail=None):
    """The canned error body for a status (used by faults)."""
    body = {"message": HTTP_MESSAGES.get(status, "Error"), "code": "SC%d" % status}
    if detail:
        body["detail"] = detail
    return body


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def parse_iso(text):
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            dt = datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
            return int(dt.timestamp() * 1000 + 0.5) if fmt.endswith(".%fZ") else int(dt.timestamp()) * 1000
        except ValueError:
            pass
    raise ValueError("not an ISO-8601 UTC timestamp: %r" % (text,))


class Query:
    """A parsed query string: plain keys, pg[...] and arrays (k[] and k[N])."""

    def __init__(self, raw):
        self.raw = raw
        self.plain, self.pg, self.arrays = {}, {}, {}
        for part in raw.split("&") if raw else []:
            if not part:
                continue
            k, _, v = part.partition("=")
            k, v = unquote_plus(k), unquote_plus(v)
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[([^\]]*)\]", k)
            if m and m.group(1) == "pg" and m.group(2) and not m.group(2).isdigit():
                self.pg[m.group(2)] = v
            elif m and (m.group(2) == "" or m.group(2).isdigit()):
                self.arrays.setdefault(m.group(1), []).append(v)
            else:
                self.plain[k] = v

    def get(self, key, default=None):
        return self.plain.get(key, default)

    def int(self, key, required=False):
        v = self.plain.get(key)
        if v is None:
            if required:
                raise validation("Missing value of required parameter '%s'." % key)
            return None
        if not re.fullmatch(r"-?[0-9]{1,18}", v):
            raise validation("Invalid value of parameter '%s'." % key)
        return int(v)

    def bool(self, key):
        v = self.plain.get(key)
        if v is None:
            return None
        if v in ("true", "1"):
            return True
        if v in ("false", "0"):
            return False
        raise validation("Invalid value of parameter '%s'." % key)

    def ints(self, key):
        out = []
        for v in self.arrays.get(key, []):
            if not re.fullmatch(r"[0-9]{1,18}", v):
                raise validation("Invalid value of parameter '%s[]'." % key)
            out.append(int(v))
        return out


def modules_of(flow):
    """Depth-first walk of a blueprint flow: routes[].flow[] and onerror[]."""
    if not isinstance(flow, list):
        return
    for mod in flow:
        if not isinstance(mod, dict):
            continue
        yield mod
        for route in mod.get("routes") or []:
            if isinstance(route, dict):
                yield from modules_of(route.get("flow"))
        yield from modules_of(mod.get("onerror"))


def project(obj, cols):
    return {k: v for k, v in obj.items() if k in cols} if cols else obj


def paginate(q, default_limit, sort_keys, default_sort, default_dir="asc"):
    pg = q.pg
    sort_by = pg.get("sortBy", default_sort)
    sort_dir = pg.get("sortDir", default_dir)
    bad = []
    if sort_by not in sort_keys:
        bad.append("Invalid value of parameter 'pg[sortBy]'.")
    if sort_dir not in ("asc", "desc"):
        bad.append("Invalid value of parameter 'pg[sortDir]'.")
    offset, limit = 0, default_limit
    if "offset" in pg:
        if not re.fullmatch(r"[0-9]{1,9}", pg["offset"]):
            bad.append("Invalid value of parameter 'pg[offset]'.")
        else:
            offset = int(pg["offset"])
    if "limit" in pg:
        if not re.fullmatch(r"[0-9]{1,9}", pg["limit"]) or not 1 <= int(pg["limit"]) <= MAX_LIMIT:
            bad.append("Invalid value of parameter 'pg[limit]'.")
        else:
            limit = int(pg["limit"])
    if bad:
        raise validation(*bad)
    return sort_by, sort_dir, offset, limit


def sort_value(v):
    # None sorts first; mixed types never compare directly.
    if v is None:
        return (0, 0, "")
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (1, v, "")
    return (2, 0, str(v))


class MakeState:
    def __init__(self, seed, clock, strict=True):
        self.lock = threading.RLock()
        self.clock = clock
        self.strict = strict
        self.last_stamp = 0
        self.orgs = {o["id"]: dict(o) for o in seed.get("organizations", [])}
        self.teams = {t["id"]: dict(t) for t in seed.get("teams", [])}
        self.users = {u["id"]: dict(u) for u in seed.get("users", [])}
        self.tokens = dict(seed.get("tokens", {}))
        self.folders = [dict(f) for f in seed.get("folders", seed.get("scenariosFolders", []))]
        self.connections = [dict(x) for x in seed.get("connections", [])]
        self.hooks = [dict(x) for x in seed.get("hooks", [])]
        self.data_stores = [dict(x) for x in seed.get("dataStores", [])]
        self.keys = [dict(x) for x in seed.get("keys", [])]
        self.known_apps = seed.get("knownApps")
        self.scenarios = {}
        self.next_id = 1
        for s in seed.get("scenarios", []):
            self._seed_scenario(s)
        self.next_id = max([self.next_id] + [k + 1 for k in self.scenarios])
        if "nextScenarioId" in seed:
            self.next_id = max(self.next_id, int(seed["nextScenarioId"]))
        for oid, org in self.orgs.items():
            apps = set(org.get("installedApps", DEFAULT_APPS))
            for s in self.scenarios.values():
                if self.teams.get(s["teamId"], {}).get("organizationId") == oid:
                    apps.update(self._apps(s["blueprint"]))
            org["installedApps"] = sorted(apps)
        self.logs = {}
        for sid, recs in seed.get("logs", {}).items():
            for r in recs:
                self.add_log(int(sid), r)

    # ---- time ---------------------------------------------------------------
    def stamp(self):
        """A monotonic millisecond stamp: max(clock, previous + 1)."""
        self.last_stamp = max(self.clock.now_ms(), self.last_stamp + 1)
        return self.last_stamp

    # ---- seeding ------------------------------------------------------------
    def _seed_scenario(self, s):
        sid = int(s["id"])
        bp = s.get("blueprint") or {"name": s.get("name", "Scenario %d" % sid), "flow": [],
                                    "metadata": {"version": 1}}
        created = parse_iso(s["created"]) if "created" in s else self.stamp()
        last = parse_iso(s["lastEdit"]) if "lastEdit" in s else self.stamp()
        self.last_stamp = max(self.last_stamp, created, last)
        user = s.get("createdByUser", s.get("updatedByUser"))
        rec = {
            "id": sid, "name": s.get("name", bp.get("name", "")), "teamId": s["teamId"],
            "folderId": s.get("folderId"), "description": s.get("description", ""),
            "hookId": s.get("hookId"), "deviceId": None, "deviceScope": None,
            "concept": bool(s.get("concept", False)), "isActive": bool(s.get("isActive", False)),
            "isinvalid": bool(s.get("isinvalid", False)), "islocked": False, "isPaused": False,
            "iswaiting": False, "dlqCount": 0,
            "scheduling": s.get("scheduling", {"type": "indefinitely", "interval": 900}),
            "blueprint": bp, "lastEdit": last, "created": created,
            "createdBy": user if isinstance(user, int) else None,
            "updatedBy": s.get("updatedByUser") if isinstance(s.get("updatedByUser"), int) else (
                user if isinstance(user, int) else None),
            "operations": s.get("operations", 0), "transfer": s.get("transfer", 0),
            "versions": [], "draft": None,
        }
        rec["versions"].append({"version": 1, "created": last, "draft": False,
                                "blueprint": copy.deepcopy(bp),
                                "scheduling": copy.deepcopy(rec["scheduling"])})
        if s.get("draftBlueprint") is not None:
            self._set_draft(rec, s["draftBlueprint"], last)
        self.scenarios[sid] = rec

    def _set_draft(self, rec, bp, when):
        version = max(v["version"] for v in rec["versions"]) + 1
        rec["versions"].append({"version": version, "created": when, "draft": True,
                                "blueprint": copy.deepcopy(bp),
                                "scheduling": copy.deepcopy(rec["scheduling"])})
        rec["draft"] = version

    def set_draft(self, sid, bp):
        rec = self.scenarios.get(sid)
        if rec is None:
            raise not_found("Scenario not found.")
        self._set_draft(rec, bp, self.stamp())

    def add_log(self, sid, r):
        rec = self.scenarios.get(sid)
        team = self.teams.get(rec["teamId"], {}) if rec else {}
        lst = self.logs.setdefault(sid, [])
        ts = parse_iso(r["timestamp"]) if isinstance(r.get("timestamp"), str) else (
            r["timestamp"] if isinstance(r.get("timestamp"), int) else self.clock.now_ms())
        typ = r.get("type", "auto")
        lid = r.get("id") or hashlib.md5(("%d.%d.%d" % (sid, ts, len(lst))).encode()).hexdigest()
        ops = r.get("operations", 0)
        log = {"id": lid, "imtId": r.get("imtId", "%d_scenario.%d.%s.%s" % (ts, sid, typ, lid)),
               "type": typ, "status": r.get("status", 1), "timestamp": iso(ts),
               "duration": r.get("duration", 0), "operations": ops,
               "centicredits": r.get("centicredits", ops * 100), "transfer": r.get("transfer", 0),
               "organizationId": r.get("organizationId", team.get("organizationId")),
               "teamId": r.get("teamId", rec["teamId"] if rec else None),
               "authorId": r.get("authorId"), "instant": bool(r.get("instant", False))}
        lst.append({"ts": ts, "check": bool(r.get("checkRun", False)), "log": log})
        return log

    # ---- helpers ------------------------------------------------------------
    def user_obj(self, uid):
        u = self.users.get(uid)
        if u is None:
            return None if uid is None else {"id": uid, "name": "", "email": ""}
        return {"id": u["id"], "name": u.get("name", ""), "email": u.get("email", "")}

    def token_teams(self, tok):
        teams = self.tokens[tok].get("teams")
        return set(teams) if teams is not None else set(self.teams)

    def token_org(self, tok):
        t = self.tokens[tok]
        if "organization" in t:
            return t["organization"]
        for tid in sorted(self.token_teams(tok)):
            if tid in self.teams:
                return self.teams[tid].get("organizationId")
        return min(self.orgs) if self.orgs else None

    def org_of_team(self, tid):
        return self.teams.get(tid, {}).get("organizationId")

    def _apps(self, bp):
        return {m["module"].split(":", 1)[0] for m in modules_of(bp.get("flow"))
                if isinstance(m.get("module"), str)}

    def view(self, rec):
        return {
            "id": rec["id"], "name": rec["name"], "teamId": rec["teamId"],
            "folderId": rec["folderId"], "description": rec["description"],
            "hookId": rec["hookId"], "deviceId": rec["deviceId"], "deviceScope": rec["deviceScope"],
            "concept": rec["concept"], "isActive": rec["isActive"], "islinked": rec["isActive"],
            "isinvalid": rec["isinvalid"], "islocked": rec["islocked"], "isPaused": rec["isPaused"],
            "iswaiting": rec["iswaiting"], "dlqCount": rec["dlqCount"],
            "usedPackages": [m["module"].split(":", 1)[0]
                             for m in modules_of(rec["blueprint"].get("flow"))
                             if isinstance(m.get("module"), str)],
            "scheduling": copy.deepcopy(rec["scheduling"]),
            "lastEdit": iso(rec["lastEdit"]), "created": iso(rec["created"]),
            "nextExec": iso(self.clock.now_ms() + 1000 * rec["scheduling"].get("interval", 900))
            if rec["isActive"] and rec["scheduling"].get("type") == "indefinitely" else None,
            "createdByUser": self.user_obj(rec["createdBy"]),
            "updatedByUser": self.user_obj(rec["updatedBy"]),
        }

    def scenario_for(self, ctx, sid):
        rec = self.scenarios.get(sid)
        if rec is None or rec["teamId"] not in self.token_teams(ctx.token):
            raise not_found("Scenario with id %d not found." % sid)
        return rec

    def state(self):
        scen = []
        for sid in sorted(self.scenarios):
            rec = self.scenarios[sid]
            v = self.view(rec)
            v["blueprint"] = copy.deepcopy(rec["blueprint"])
            v["versions"] = copy.deepcopy(rec["versions"])
            for ver in v["versions"]:
                ver["created"] = iso(ver["created"])
            scen.append(v)
        return {"now": iso(self.clock.now_ms()), "nowMs": self.clock.now_ms(),
                "organizations": list(self.orgs.values()), "teams": list(self.teams.values()),
                "scenarios": scen,
                "logs": {str(k): [e["log"] for e in v] for k, v in sorted(self.logs.items())}}

    # ---- org of a request (for the 429 budget) --------------------------------
    def org_for(self, ctx, params):
        sid = params.get("sid")
        if sid is not None and sid in self.scenarios:
            return self.org_of_team(self.scenarios[sid]["teamId"])
        tid = ctx.query.get("teamId")
        if tid and tid.isdigit() and int(tid) in self.teams:
            return self.org_of_team(int(tid))
        oid = ctx.query.get("organizationId")
        if oid and oid.isdigit() and int(oid) in self.orgs:
            return int(oid)
        if ctx.body and isinstance(ctx.body, dict) and isinstance(ctx.body.get("teamId"), int):
            o = self.org_of_team(ctx.body["teamId"])
            if o is not None:
                return o
        return self.token_org(ctx.token)

    def org_limit(self, oid):
        org = self.orgs.get(oid, {})
        return org.get("apiLimit", org.get("license", {}).get("apiLimit", 1000))
