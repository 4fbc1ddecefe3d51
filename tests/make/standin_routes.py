"""The routes of the stand-in's /api/v2 (Make REST API v2 subset).

Each handler takes (state, ctx, params) and returns (status, body) or raises
ApiError. The route table carries the scopes each route needs (spec section 1);
standin.py checks them (missing scope: 401 or 403, --missing-scope-status).
All handlers run under state.lock.
"""
import copy
import json
import re

from standin_api import (ApiError, SCENARIO_SORT, SCHEDULING_TYPES, VERSION_WINDOW_MS,
                         iso, modules_of, not_found, paginate, project, sort_value, validation)

READ = ("scenarios:read",)
WRITE = ("scenarios:write",)


def _sorted(items, key, direction):
    return sorted(items, key=lambda x: (sort_value(x.get(key)), x.get("id", 0)),
                  reverse=(direction == "desc"))


def _team_filter(st, ctx, items, required=True):
    tid = ctx.query.int("teamId", required=required)
    allowed = st.token_teams(ctx.token)
    if tid is not None:
        if tid not in allowed:
            return []
        return [x for x in items if x.get("teamId") == tid]
    return [x for x in items if x.get("teamId") in allowed]


def _by_id(st, ctx, items, oid, what):
    for x in items:
        if x.get("id") == oid and x.get("teamId") in st.token_teams(ctx.token):
            return x
    raise not_found("%s with id %d not found." % (what, oid))


# ---- scenarios ----------------------------------------------------------------
def list_scenarios(st, ctx, p):
    q = ctx.query
    has_team, has_org = "teamId" in q.plain, "organizationId" in q.plain
    if has_team and has_org:
        raise ApiError(400, "Bad Request", "SC400",
                       "teamId and organizationId cannot be used together")
    if not has_team and not has_org:
        raise ApiError(400, "Bad Request", "SC400",
                       "Missing required parameter teamId or organizationId")
    allowed = st.token_teams(ctx.token)
    if has_team:
        tid = q.int("teamId")
        teams = {tid} & allowed
    else:
        oid = q.int("organizationId")
        teams = {t for t in allowed if st.org_of_team(t) == oid}
    ids = set(q.ints("id"))
    folder = q.int("folderId")
    active = q.bool("isActive")
    if active is None:
        active = q.bool("islinked")
    concept = q.bool("concept")
    sort_by, sort_dir, offset, limit = paginate(q, 10, SCENARIO_SORT, "proprietal", "desc")
    recs = []
    for rec in st.scenarios.values():
        if rec["teamId"] not in teams or (ids and rec["id"] not in ids):
            continue
        if folder is not None and rec["folderId"] != folder:
            continue
        if active is not None and rec["isActive"] != active:
            continue
        if concept is not None and rec["concept"] != concept:
            continue
        recs.append(rec)

    def key(rec):
        if sort_by in ("createdByUserName", "updatedByUserName"):
            u = st.user_obj(rec["createdBy" if sort_by.startswith("created") else "updatedBy"])
            return (sort_value((u or {}).get("name")), rec["id"])
        k = {"proprietal": "id", "islinked": "isActive"}.get(sort_by, sort_by)
        return (sort_value(rec.get(k)), rec["id"])
    recs = sorted(recs, key=key, reverse=(sort_dir == "desc"))[offset:offset + limit]
    cols = q.arrays.get("cols")
    out = []
    for rec in recs:
        v = st.view(rec)
        v["operations"], v["transfer"], v["customProperties"] = rec["operations"], rec["transfer"], {}
        out.append(project(v, cols))
    return 200, {"scenarios": out,
                 "pg": {"sortBy": sort_by, "sortDir": sort_dir, "offset": offset, "limit": limit}}


def get_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    return 200, {"scenario": project(st.view(rec), ctx.query.arrays.get("cols"))}


def _json_string_field(st, body, name, errors):
    """String on write: the field must be a JSON string (strict) holding JSON."""
    v = body[name]
    if not isinstance(v, str):
        if st.strict or not isinstance(v, dict):
            errors.append("Invalid value of parameter '%s': a JSON-encoded string is expected." % name)
            return None
        return copy.deepcopy(v)
    return v


def _parse_blueprint(st, text):
    if isinstance(text, dict):
        bp = text
    else:
        try:
            bp = json.loads(text)
        except ValueError:
            raise ApiError(400, "Invalid blueprint", "IM007", "Blueprint is not valid JSON.")
    if not isinstance(bp, dict) or not isinstance(bp.get("flow"), list):
        raise ApiError(400, "Invalid blueprint", "IM007",
                       "Blueprint must be an object with a 'flow' array.")
    for m in modules_of(bp["flow"]):
        mod, ver = m.get("module"), m.get("version", 1)
        ok = isinstance(mod, str) and re.fullmatch(r"[A-Za-z0-9_-]+:[A-Za-z0-9_.-]+", mod)
        ok = ok and isinstance(ver, int) and not isinstance(ver, bool) and ver > 0
        if ok and st.known_apps is not None and mod.split(":", 1)[0] not in st.known_apps:
            ok = False
        if not ok:
            raise ApiError(400, "Invalid blueprint", "IM007",
                           "Module not found '%s' version '%s'." % (mod, ver))
    return bp


def _parse_scheduling(text):
    if isinstance(text, dict):
        sch = text
    else:
        try:
            sch = json.loads(text)
        except ValueError:
            raise validation("Invalid value of parameter 'scheduling'.")
    if not isinstance(sch, dict) or sch.get("type") not in SCHEDULING_TYPES:
        raise validation("Invalid value of parameter 'scheduling'.")
    return sch


def _check_apps(st, ctx, org_id, bp):
    """An app new to the organization needs confirmed=true (then it is installed)."""
    org = st.orgs.get(org_id)
    if org is None:
        return
    new = sorted(st._apps(bp) - set(org["installedApps"]))
    if not new:
        return
    if ctx.query.bool("confirmed") is not True:
        raise ApiError(406, "Confirmation Required", "IM004",
                       "The scenario uses apps not installed in the organization: %s. "
                       "Repeat the request with confirmed=true to install them." % ", ".join(new))
    return new


def _write(st, ctx, rec, bp=None, sch=None):
    if bp is not None:
        rec["blueprint"] = bp
    if sch is not None:
        rec["scheduling"] = sch
    rec["lastEdit"] = st.stamp()
    rec["updatedBy"] = st.tokens[ctx.token]["user"]
    version = max(v["version"] for v in rec["versions"]) + 1 if rec["versions"] else 1
    rec["versions"].append({"version": version, "created": rec["lastEdit"], "draft": False,
                            "blueprint": copy.deepcopy(rec["blueprint"]),
                            "scheduling": copy.deepcopy(rec["scheduling"])})
    rec["draft"] = None


def create_scenario(st, ctx, p):
    body = ctx.body
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    errors = []
    for k in ("teamId", "blueprint", "scheduling"):
        if k not in body:
            errors.append("Missing value of required parameter '%s'." % k)
    if "teamId" in body and (not isinstance(body["teamId"], int) or isinstance(body["teamId"], bool)):
        errors.append("Invalid value of parameter 'teamId'.")
    if "folderId" in body and body["folderId"] is not None and not isinstance(body["folderId"], int):
        errors.append("Invalid value of parameter 'folderId'.")
    bp_text = _json_string_field(st, body, "blueprint", errors) if "blueprint" in body else None
    sch_text = _json_string_field(st, body, "scheduling", errors) if "scheduling" in body else None
    if errors:
        raise validation(*errors)
    tid = body["teamId"]
    if tid not in st.teams or tid not in st.token_teams(ctx.token):
        raise not_found("Team with id %d not found." % tid)
    bp = _parse_blueprint(st, bp_text)
    sch = _parse_scheduling(sch_text)
    org_id = st.org_of_team(tid)
    new_apps = _check_apps(st, ctx, org_id, bp)
    if new_apps:
        st.orgs[org_id]["installedApps"] = sorted(set(st.orgs[org_id]["installedApps"]) | set(new_apps))
    sid = st.next_id
    st.next_id += 1
    uid = st.tokens[ctx.token]["user"]
    now = st.stamp()
    rec = {"id": sid, "name": bp.get("name", "New scenario"), "teamId": tid,
           "folderId": body.get("folderId"), "description": "", "hookId": None,
           "deviceId": None, "deviceScope": None, "concept": False, "isActive": False,
           "isinvalid": False, "islocked": False, "isPaused": False, "iswaiting": False,
           "dlqCount": 0, "scheduling": sch, "blueprint": bp, "lastEdit": now, "created": now,
           "createdBy": uid, "updatedBy": uid, "operations": 0, "transfer": 0,
           "versions": [{"version": 1, "created": now, "draft": False,
                         "blueprint": copy.deepcopy(bp), "scheduling": copy.deepcopy(sch)}],
           "draft": None}
    st.scenarios[sid] = rec
    return 200, {"scenario": project(st.view(rec), ctx.query.arrays.get("cols"))}


def update_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    body = ctx.body
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    errors = []
    bp_text = _json_string_field(st, body, "blueprint", errors) if "blueprint" in body else None
    sch_text = _json_string_field(st, body, "scheduling", errors) if "scheduling" in body else None
    if "name" in body and (not isinstance(body["name"], str) or not body["name"]):
        errors.append("Invalid value of parameter 'name'.")
    if "folderId" in body and body["folderId"] is not None and (
            not isinstance(body["folderId"], int) or isinstance(body["folderId"], bool)):
        errors.append("Invalid value of parameter 'folderId'.")
    if "description" in body and not isinstance(body["description"], str):
        errors.append("Invalid value of parameter 'description'.")
    if errors:
        raise validation(*errors)
    bp = _parse_blueprint(st, bp_text) if bp_text is not None else None
    sch = _parse_scheduling(sch_text) if sch_text is not None else None
    org_id = st.org_of_team(rec["teamId"])
    new_apps = _check_apps(st, ctx, org_id, bp) if bp is not None else None
    if not any(k in body for k in ("blueprint", "scheduling", "name", "folderId", "description")):
        return 200, {"scenario": project(st.view(rec), ctx.query.arrays.get("cols"))}
    if new_apps:
        st.orgs[org_id]["installedApps"] = sorted(set(st.orgs[org_id]["installedApps"]) | set(new_apps))
    if bp is not None:
        rec["name"] = bp.get("name", rec["name"])
    if "name" in body:
        rec["name"] = body["name"]
        bp = copy.deepcopy(bp if bp is not None else rec["blueprint"])
        bp["name"] = body["name"]
    if "folderId" in body:
        rec["folderId"] = body["folderId"]
    if "description" in body:
        rec["description"] = body["description"]
    _write(st, ctx, rec, bp, sch)
    return 200, {"scenario": project(st.view(rec), ctx.query.arrays.get("cols"))}


def delete_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    del st.scenarios[rec["id"]]
    return 200, {"scenario": rec["id"]}


def start_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    was = rec["isActive"]
    rec["isActive"] = True
    if not was and rec["scheduling"].get("type") == "indefinitely":
        st.add_log(rec["id"], {"type": "auto", "status": 1, "timestamp": st.clock.now_ms()})
    return 200, {"scenario": {"id": rec["id"], "isActive": True, "islinked": True}}


def stop_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    rec["isActive"] = False
    return 200, {"scenario": {"id": rec["id"], "isActive": False, "islinked": False}}


def run_scenario(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    if not rec["isActive"]:
        raise ApiError(400, "Bad Request", "SC400", "Scenario is not active.")
    log = st.add_log(rec["id"], {"type": "manual", "status": 1, "timestamp": st.clock.now_ms(),
                                 "authorId": st.tokens[ctx.token]["user"]})
    out = {"executionId": log["id"]}
    if isinstance(ctx.body, dict) and ctx.body.get("responsive") is True:
        out.update({"status": 1, "outputs": {}})
    return 200, out


# ---- blueprints -----------------------------------------------------------------
def _id_sequence(bp):
    ids = [m["id"] for m in modules_of(bp.get("flow")) if isinstance(m.get("id"), int)]
    return max(ids) + 1 if ids else 1


def get_blueprint(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    bid = ctx.query.int("blueprintId")
    draft = ctx.query.bool("draft")
    if bid is not None:
        ver = next((v for v in rec["versions"] if v["version"] == bid), None)
        if ver is None:
            raise not_found("Blueprint version %d not found." % bid)
    elif draft and rec["draft"] is not None:
        ver = next(v for v in rec["versions"] if v["version"] == rec["draft"])
    else:
        ver = max((v for v in rec["versions"] if not v["draft"]), key=lambda v: v["version"])
    return 200, {"code": "OK", "response": {
        "blueprint": copy.deepcopy(ver["blueprint"]),
        "scheduling": copy.deepcopy(ver["scheduling"]),
        "idSequence": _id_sequence(ver["blueprint"]),
        "created": iso(rec["created"]), "last_edit": iso(ver["created"]),
        "metadata": {"input_spec": [], "output_spec": []}}}


def list_blueprints(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    sort_by, sort_dir, offset, limit = paginate(ctx.query, MAX_LIMIT_VERSIONS,
                                                ["version", "created"], "version", "desc")
    horizon = st.clock.now_ms() - VERSION_WINDOW_MS
    vers = [{"version": v["version"], "created": v["created"], "scenarioId": rec["id"],
             "draft": v["draft"]} for v in rec["versions"] if v["created"] >= horizon]
    vers = sorted(vers, key=lambda v: (v[sort_by], v["version"]),
                  reverse=(sort_dir == "desc"))[offset:offset + limit]
    for v in vers:
        v["created"] = iso(v["created"])
    return 200, {"scenariosBlueprints": vers}


MAX_LIMIT_VERSIONS = 10000


# ---- logs -----------------------------------------------------------------------
def _imt_key(imt):
    head, _, rest = imt.partition("_")
    return (int(head) if head.isdigit() else 0, rest)


def list_logs(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    q = ctx.query
    sort_by, sort_dir, offset, limit = paginate(q, 50, ["imtId"], "imtId", "desc")
    t_from, t_to = q.int("from"), q.int("to")
    status = q.int("status")
    show_checks = q.bool("showCheckRuns") is True
    last = q.pg.get("last")
    show_last = q.pg.get("showLast") == "true"
    recs = []
    for e in st.logs.get(rec["id"], []):
        if e["check"] and not show_checks:
            continue
        if t_from is not None and e["ts"] < t_from:
            continue
        if t_to is not None and e["ts"] > t_to:
            continue
        if status is not None and e["log"]["status"] != status:
            continue
        recs.append(e["log"])
    desc = sort_dir == "desc"
    recs.sort(key=lambda x: _imt_key(x["imtId"]), reverse=desc)
    if last:
        k = _imt_key(last)
        if desc:
            recs = [x for x in recs if _imt_key(x["imtId"]) < k or (show_last and x["imtId"] == last)]
        else:
            recs = [x for x in recs if _imt_key(x["imtId"]) > k or (show_last and x["imtId"] == last)]
    page = [copy.deepcopy(x) for x in recs[offset:offset + limit]]
    return 200, {"scenarioLogs": page,
                 "pg": {"sortBy": sort_by, "sortDir": sort_dir,
                        "last": page[-1]["imtId"] if page else None,
                        "showLast": show_last, "limit": limit}}


def _find_log(st, ctx, p):
    rec = st.scenario_for(ctx, p["sid"])
    for e in st.logs.get(rec["id"], []):
        if p["eid"] in (e["log"]["id"], e["log"]["imtId"]):
            return e["log"]
    raise not_found("Execution %s not found." % p["eid"])


def get_log(st, ctx, p):
    return 200, {"scenarioLog": copy.deepcopy(_find_log(st, ctx, p))}


def get_execution(st, ctx, p):
    log = _find_log(st, ctx, p)
    name = {1: "SUCCESS", 2: "WARNING", 3: "ERROR"}.get(log["status"], "RUNNING")
    out = {"status": name, "outputs": {}}
    if name == "ERROR":
        out["error"] = {"name": "RuntimeError", "message": "Stand-in execution error.",
                        "causeModule": {"name": "", "appName": ""}}
    return 200, out


# ---- folders, connections, hooks, data stores, keys, teams, orgs, users ----------
def list_folders(st, ctx, p):
    folders = _team_filter(st, ctx, st.folders)
    out = []
    for f in sorted(folders, key=lambda f: f["id"]):
        total = sum(1 for s in st.scenarios.values() if s["folderId"] == f["id"])
        out.append({"id": f["id"], "name": f.get("name", ""), "scenariosTotal": total})
    return 200, {"scenariosFolders": out}


def list_connections(st, ctx, p):
    items = _team_filter(st, ctx, st.connections)
    types = ctx.query.arrays.get("type")
    if types:
        items = [c for c in items if c.get("accountName") in types]
    cols = ctx.query.arrays.get("cols")
    return 200, {"connections": [project(c, cols) for c in sorted(items, key=lambda c: c["id"])]}


def get_connection(st, ctx, p):
    return 200, {"connection": copy.deepcopy(_by_id(st, ctx, st.connections, p["id"], "Connection"))}


def list_hooks(st, ctx, p):
    items = _team_filter(st, ctx, st.hooks)
    q = ctx.query
    if q.get("typeName"):
        items = [h for h in items if h.get("typeName") == q.get("typeName")]
    assigned = q.bool("assigned")
    if assigned is not None:
        items = [h for h in items if (h.get("scenarioId") is not None) == assigned]
    return 200, {"hooks": [copy.deepcopy(h) for h in sorted(items, key=lambda h: h["id"])]}


def get_hook(st, ctx, p):
    return 200, {"hook": copy.deepcopy(_by_id(st, ctx, st.hooks, p["id"], "Hook"))}


def list_data_stores(st, ctx, p):
    items = _team_filter(st, ctx, st.data_stores)
    sort_by, sort_dir, offset, limit = paginate(ctx.query, 10, ["id", "name"], "id", "asc")
    items = _sorted(items, sort_by, sort_dir)[offset:offset + limit]
    cols = ctx.query.arrays.get("cols")
    return 200, {"dataStores": [project(d, cols) for d in items],
                 "pg": {"sortBy": sort_by, "sortDir": sort_dir, "offset": offset, "limit": limit}}


def get_data_store(st, ctx, p):
    return 200, {"dataStore": copy.deepcopy(_by_id(st, ctx, st.data_stores, p["id"], "Data store"))}


KEY_TYPES = ["aes-key", "apikeyauth", "apn", "basicauth", "clientcertauth", "eet",
             "gpg-private", "gpg-public", "webpay"]


def list_keys(st, ctx, p):
    items = _team_filter(st, ctx, st.keys)
    if ctx.query.get("typeName"):
        items = [k for k in items if k.get("typeName") == ctx.query.get("typeName")]
    cols = ctx.query.arrays.get("cols")
    return 200, {"keys": [project(k, cols) for k in sorted(items, key=lambda k: k["id"])]}


def get_key(st, ctx, p):
    return 200, {"key": copy.deepcopy(_by_id(st, ctx, st.keys, p["id"], "Key"))}


def key_types(st, ctx, p):
    return 200, {"keysTypes": [{"name": n, "label": n} for n in KEY_TYPES]}


def _team_view(t):
    return {"id": t["id"], "name": t.get("name", ""), "organizationId": t.get("organizationId")}


def list_teams(st, ctx, p):
    oid = ctx.query.int("organizationId", required=True)
    allowed = st.token_teams(ctx.token)
    items = [_team_view(t) for t in st.teams.values()
             if t.get("organizationId") == oid and t["id"] in allowed]
    sort_by, sort_dir, offset, limit = paginate(ctx.query, 10, ["id", "name"], "id", "asc")
    items = _sorted(items, sort_by, sort_dir)[offset:offset + limit]
    return 200, {"teams": items,
                 "pg": {"sortBy": sort_by, "sortDir": sort_dir, "offset": offset, "limit": limit}}


def get_team(st, ctx, p):
    t = st.teams.get(p["id"])
    if t is None or t["id"] not in st.token_teams(ctx.token):
        raise not_found("Team with id %d not found." % p["id"])
    return 200, {"team": _team_view(t)}


def _org_view(st, o):
    return {"id": o["id"], "name": o.get("name", ""), "zone": o.get("zone", "eu1.make.com"),
            "countryId": o.get("countryId", 1), "timezoneId": o.get("timezoneId", 113),
            "license": {"apiLimit": st.org_limit(o["id"])}}


def _visible_orgs(st, ctx):
    allowed = st.token_teams(ctx.token)
    return {st.org_of_team(t) for t in allowed} | {st.token_org(ctx.token)}


def list_orgs(st, ctx, p):
    vis = _visible_orgs(st, ctx)
    zone = ctx.query.get("zone")
    items = [_org_view(st, o) for oid, o in sorted(st.orgs.items()) if oid in vis]
    if zone:
        items = [o for o in items if o["zone"] == zone]
    return 200, {"organizations": items}


def get_org(st, ctx, p):
    o = st.orgs.get(p["id"])
    if o is None or p["id"] not in _visible_orgs(st, ctx):
        raise not_found("Organization with id %d not found." % p["id"])
    return 200, {"organization": _org_view(st, o)}


def users_me(st, ctx, p):
    u = st.user_obj(st.tokens[ctx.token]["user"])
    return 200, {"authUser": u}


# (method, path regex, handler, scopes (all required; a tuple of tuples = any of))
ROUTES = [
    ("GET", r"/scenarios", list_scenarios, READ),
    ("POST", r"/scenarios", create_scenario, WRITE),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)", get_scenario, READ),
    ("PATCH", r"/scenarios/(?P<sid>[0-9]+)", update_scenario, WRITE),
    ("DELETE", r"/scenarios/(?P<sid>[0-9]+)", delete_scenario, WRITE),
    ("POST", r"/scenarios/(?P<sid>[0-9]+)/start", start_scenario, WRITE),
    ("POST", r"/scenarios/(?P<sid>[0-9]+)/stop", stop_scenario, WRITE),
    ("POST", r"/scenarios/(?P<sid>[0-9]+)/run", run_scenario,
     ("scenarios:read", "scenarios:write", "scenarios:run")),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)/blueprint", get_blueprint, READ),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)/blueprints", list_blueprints, READ),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)/logs", list_logs, READ),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)/logs/(?P<eid>[A-Za-z0-9_.]+)", get_log, READ),
    ("GET", r"/scenarios/(?P<sid>[0-9]+)/executions/(?P<eid>[A-Za-z0-9_.]+)", get_execution, READ),
    ("GET", r"/scenarios-folders", list_folders, READ),
    ("GET", r"/connections", list_connections, ("connections:read",)),
    ("GET", r"/connections/(?P<id>[0-9]+)", get_connection, ("connections:read",)),
    ("GET", r"/hooks", list_hooks, ("hooks:read",)),
    ("GET", r"/hooks/(?P<id>[0-9]+)", get_hook, ("hooks:read",)),
    ("GET", r"/data-stores", list_data_stores, ("datastores:read",)),
    ("GET", r"/data-stores/(?P<id>[0-9]+)", get_data_store,
     (("datastores:read", "organization:read"),)),
    ("GET", r"/keys", list_keys, ("keys:read",)),
    ("GET", r"/keys/types", key_types, ("keys:read",)),
    ("GET", r"/keys/(?P<id>[0-9]+)", get_key, ("keys:read",)),
    ("GET", r"/teams", list_teams, ("teams:read",)),
    ("GET", r"/teams/(?P<id>[0-9]+)", get_team, ("teams:read",)),
    ("GET", r"/organizations", list_orgs, ("organizations:read",)),
    ("GET", r"/organizations/(?P<id>[0-9]+)", get_org, ("organizations:read",)),
    ("GET", r"/users/me", users_me, ("user:read",)),
]
COMPILED = [(m, re.compile(r), h, s) for m, r, h, s in ROUTES]


def match(method, path):
    """(handler, params, scopes) or None. Paths are case-sensitive; a known
    path with another method is answered like an unknown path (404)."""
    for m, rx, h, scopes in COMPILED:
        mm = rx.fullmatch(path)
        if mm and m == method:
            params = {}
            for k, v in mm.groupdict().items():
                params[k] = v if k == "eid" else int(v)
            return h, params, scopes
    return None


def missing_scopes(granted, needed):
    """The scopes of `needed` not in `granted` (an inner tuple: any one of)."""
    out = []
    for s in needed:
        if isinstance(s, tuple):
            if not any(x in granted for x in s):
                out.append(s[0])
        elif s not in granted:
            out.append(s)
    return out
