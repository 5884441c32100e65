#!/usr/bin/env python3
"""test_openapi: docs/openapi.yaml is valid OpenAPI 3.1 and matches the router.

Run by `make check` (TESTS). Checks, each named in the output:
  schema       the document validates against the OpenAPI 3.1 schema
               (t/contract/openapi-3.1-schema.json, the official
               2022-10-07 one) with Draft 2020-12;
  schemas      every Schema Object is a valid Draft 2020-12 schema;
  refs         every local $ref names something;
  operations   operationIds are unique, no operation answers `default`
               (an undocumented status must stay a failure of the
               contract run), path parameters are declared;
  routes       the set of (method, path) equals support-api's route table
               as t/contract/routes_dump prints it, except operations
               marked `x-router: false` (served by nginx); operations
               marked `x-pending-route: <branch>` may be missing from the
               table (routes another branch adds; they must match once
               it lands);
  roles        each route's role matches the operation's security and
               x-roles;
  validator    validate_responses.py fails on a wrong body (an
               agent-only member in a customer view too), an undocumented
               status or media type, a missing X-Request-Id and an
               HTML error outside the admin pages, and passes right
               ones (an admin page's HTML 404 or 405).
Env: top_srcdir, top_builddir (make check sets them). Exit 0/1 (99 when
the route dump cannot run).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import openapi_doc as od  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402

SRC = os.environ.get("top_srcdir") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("top_builddir") or os.getcwd()
DOC_PATH = os.path.join(SRC, "docs", "openapi.yaml")
META_PATH = os.path.join(HERE, "openapi-3.1-schema.json")
ROLES = {"customer": ["customer"], "support_agent": ["support_agent"],
         "support_admin": ["support_admin"], "any": ["customer", "support_agent", "support_admin"]}

failures = []


def fail(check, msg):
    failures.append(f"{check}: {msg}")


def check_schema(doc):
    with open(META_PATH, encoding="utf-8") as f:
        meta = json.load(f)
    v = Draft202012Validator(meta)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))[:20]:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        fail("schema", f"{where}: {e.message[:300]}")


def walk(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def check_schemas_and_refs(doc):
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # SchemaError; its text says what
            fail("schemas", f"components/schemas/{name}: {str(e).splitlines()[0]}")
    for path, node in walk(doc):
        # Inline schemas of parameters, headers and media types.
        if path and path[-1] == "schema" and path[:2] != ("components", "schemas") \
                and isinstance(node, dict):
            try:
                Draft202012Validator.check_schema(node)
            except Exception as e:
                fail("schemas", f"{'/'.join(map(str, path))}: {str(e).splitlines()[0]}")
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                od.resolve(doc, node["$ref"])
            except (KeyError, IndexError, ValueError):
                fail("refs", f"{'/'.join(map(str, path))}: $ref {node['$ref']} names nothing")


def check_operations(doc):
    seen = {}
    for method, path, op in od.operations(doc):
        oid = op.get("operationId")
        if oid in seen:
            fail("operations", f"operationId {oid} of {method} {path} also names {seen[oid]}")
        seen[oid] = f"{method} {path}"
        if "default" in op.get("responses", {}):
            fail("operations", f"{method} {path} documents `default`: list its statuses")
        declared = set()
        for p in doc["paths"][path].get("parameters", []) + op.get("parameters", []):
            p = od.deref(doc, p)
            if p.get("in") == "path":
                declared.add(p["name"])
        used = {s[1:-1] for s in path.split("/") if s.startswith("{")}
        if used != declared:
            fail("operations", f"{method} {path}: path parameters {sorted(used)} "
                               f"but declared {sorted(declared)}")


def route_table():
    exe = os.path.join(BUILD, "t", "contract", "routes_dump")
    try:
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"test_openapi: cannot run {exe}: {e}", file=sys.stderr)
        sys.exit(99)
    table = {}
    for line in out.splitlines():
        method, pattern, role = line.split()
        table[(method, od.router_template(pattern))] = role
    return table


def check_routes(doc, table):
    documented, pending = {}, {}
    for method, path, op in od.operations(doc):
        if op.get("x-router", True) is False:
            continue
        (pending if "x-pending-route" in op else documented)[(method, path)] = op
    router = set(table)
    for m, p in sorted(router - set(documented) - set(pending)):
        fail("routes", f"in the router, not in docs/openapi.yaml: {m} {p} (role {table[(m, p)]})")
    for m, p in sorted(set(documented) - router):
        fail("routes", f"in docs/openapi.yaml, not in the router: {m} {p}")
    for (m, p), op in sorted(pending.items()):
        state = "now in the router (x-pending-route may go)" if (m, p) in router \
            else "not in the router yet"
        print(f"test_openapi: pending route {m} {p} ({op['x-pending-route']}): {state}")
    for key in sorted(router & (set(documented) | set(pending))):
        check_role(doc, key, (documented.get(key) or pending[key]), table[key])


def check_role(doc, key, op, role):
    m, p = key
    security = op.get("security", doc.get("security", []))
    names = {n for req in security for n in req}
    if role == "none":
        if "bearerAuth" in names:
            fail("roles", f"{m} {p}: public route, but the document asks for a bearer token")
        return
    if names != {"bearerAuth"}:
        fail("roles", f"{m} {p}: role {role}, but security is {sorted(names) or 'none'}")
    if sorted(op.get("x-roles", [])) != sorted(ROLES[role]):
        fail("roles", f"{m} {p}: router role {role}, x-roles {op.get('x-roles')}")


def check_validator():
    """The response validator catches what it exists to catch."""
    rid = [["X-Request-Id", "r1"]]
    good = {"method": "GET", "path": "/support/healthz", "status": 200,
            "content_type": "application/json; charset=utf-8", "headers": rid,
            "body": '{"status":"ok"}'}
    ticket = {"public_id": "K7Q2M9XD4TRA", "subject": "s", "description": "d", "status": "open",
              "priority": "normal", "source": "web", "category": None, "provider_id": None,
              "booking_id": None, "metadata": {}, "created_at": "2026-11-24T09:15:02.125Z",
              "updated_at": "2026-11-24T09:15:02.125Z", "closed_at": None, "version": 1,
              "messages": [], "messages_next_cursor": None}
    customer_view = dict(good, path="/support/tickets/K7Q2M9XD4TRA", body=json.dumps(ticket),
                         headers=rid + [["ETag", '"v1-0123456789abcdef"']])
    page_405 = {"method": "GET", "path": "/support/admin/kb/1/publish", "status": 405,
                "content_type": "text/html; charset=utf-8", "headers": rid, "body": "<p>"}
    leaked = dict(customer_view, body=json.dumps(dict(ticket, customer_id="42")))
    cases = [
        ("a documented response", [good], 0, None),
        ("a customer ticket view", [customer_view], 0, None),
        ("an agent-only field in a customer view", [leaked], 1, "customer_id"),
        ("a body off its schema", [dict(good, body='{"status":"ok","extra":1}')], 1,
         "Additional properties"),
        ("an undocumented status", [dict(good, status=418)], 1, "status 418 is not documented"),
        ("an undocumented media type", [dict(good, content_type="text/plain")], 1,
         "content type text/plain not documented"),
        ("a missing X-Request-Id", [dict(good, headers=[])], 1, "header X-Request-Id missing"),
        ("a ticket without its ETag", [dict(customer_view, headers=rid)], 1, "header ETag missing"),
        ("an admin page's HTML 405", [dict(page_405)], 0, None),
        ("a page's HTML 404", [dict(page_405, method="GET", path="/support/admin/kb/",
                                    status=404)], 0, None),
        ("an HTML 404 beside the pages", [dict(page_405, method="GET", status=404,
                                               path="/support/admin/nothing")], 1,
         "not a documented operation and not problem+json"),
    ]
    script = os.path.join(HERE, "validate_responses.py")
    for name, records, want_rc, want_text in cases:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
        try:
            res = subprocess.run([sys.executable, script, DOC_PATH, f.name],
                                 capture_output=True, text=True)
        finally:
            os.unlink(f.name)
        if res.returncode != want_rc or (want_text and want_text not in res.stdout):
            fail("validator", f"{name}: exit {res.returncode} (want {want_rc}); output:\n"
                              f"{res.stdout[-2000:]}{res.stderr[-2000:]}")


def main():
    doc = od.load(DOC_PATH)
    if not str(doc.get("openapi", "")).startswith("3.1."):
        fail("schema", f"openapi is {doc.get('openapi')!r}, not 3.1.x")
    check_schema(doc)
    check_schemas_and_refs(doc)
    check_operations(doc)
    table = route_table()
    check_routes(doc, table)
    check_validator()
    nops = sum(1 for _ in od.operations(doc))
    if failures:
        print(f"test_openapi: {len(failures)} problems with docs/openapi.yaml:")
        for f in failures:
            print("  " + f)
        return 1
    print(f"test_openapi: {nops} operations, {len(table)} routes: valid OpenAPI 3.1, "
          "matches the router")
    return 0


if __name__ == "__main__":
    sys.exit(main())
