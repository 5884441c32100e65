#!/usr/bin/env python3
"""validate_responses: the integration suite's responses against docs/openapi.yaml.

    validate_responses.py OPENAPI.yaml RESPONSES.jsonl

RESPONSES.jsonl is what the harness records with SP_TEST_CONTRACT_LOG set
(t/integration/harness.c): one {method, path, status, content_type,
headers, body} per line. Each record is matched to its operation (path
template, literal segments first) and checked:
  - the status is one the operation documents (no `default`: an
    undocumented status is a failure);
  - the media type is one the response documents, or the body is empty
    when it documents none;
  - a JSON body validates against that schema (Draft 2020-12);
  - documented headers are present when required and of their schema.
A request to a path or method the document does not have (deliberate
probes: unknown paths, 405s) must answer a problem+json that validates
against components/schemas/Problem, or, at an admin page's address, the
HTML error page.
Prints a summary (responses validated per operation and status) and the
mismatches; exit 1 on any mismatch, 2 on bad input.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_doc as od  # noqa: E402

MAX_SHOWN = int(os.environ.get("SP_CONTRACT_MAX_SHOWN", "40"))


def check_headers(doc, schemas, resp, resp_ref, headers):
    out = []
    for name, h in (resp.get("headers") or {}).items():
        ptr = h["$ref"] if "$ref" in h else od.child(resp_ref, "headers", name)
        hdef = od.deref(doc, h)
        value = headers.get(name.lower())
        if value is None:
            if hdef.get("required"):
                out.append(f"header {name} missing")
            continue
        schema = hdef.get("schema") or {}
        stype = od.deref(doc, schema).get("type")
        inst = value
        if stype == "integer":
            try:
                inst = int(value)
            except ValueError:
                out.append(f"header {name}: {value!r} is not an integer")
                continue
        for e in schemas.errors(ptr + "/schema", inst, limit=1):
            out.append(f"header {name}: {e}")
    return out


def check_body(schemas, resp, resp_ref, rec):
    mtype = od.media_type(rec.get("content_type"))
    body = rec.get("body") or ""
    content = resp.get("content")
    if not content:
        if body.strip():
            return [f"documents no body, got {len(body)} bytes of {mtype or 'no type'}"]
        return []
    key = od.pick_content(content, mtype)
    if key is None:
        return [f"content type {mtype or '(none)'} not documented (documented: {', '.join(content)})"]
    if not od.is_json(mtype) or "schema" not in content[key]:
        return []
    try:
        inst = json.loads(body)
    except ValueError:
        return [f"{mtype} body is not JSON: {body[:80]!r}"]
    return schemas.errors(od.child(resp_ref, "content", key, "schema"), inst)


def admin_page_path(doc, template, path):
    """Whether path is an admin page's address (an operation there is tagged
    admin-pages) or the pages' root: a browser gets their 404s and 405s as
    the HTML error page (API.md §8)."""
    if path.rstrip("/") == "/support/admin":
        return True
    item = doc["paths"].get(template) or {} if template else {}
    return any("admin-pages" in (op.get("tags") or []) for op in item.values()
               if isinstance(op, dict))


def check_record(doc, paths, schemas, rec):
    """(operation key, errors)."""
    method, status = rec["method"].upper(), str(rec["status"])
    template = paths.match(rec["path"])
    op = doc["paths"][template].get(method.lower()) if template else None
    headers = {k.lower(): v for k, v in (rec.get("headers") or [])}
    if op is None:
        key = f"(outside the document) {method} {rec['path']}"
        mtype = od.media_type(rec.get("content_type"))
        if mtype == "text/html" and admin_page_path(doc, template, rec["path"]):
            return key, []
        if mtype != "application/problem+json":
            return key, [f"{status}: not a documented operation and not problem+json ({mtype})"]
        try:
            inst = json.loads(rec.get("body") or "")
        except ValueError:
            return key, [f"{status}: problem+json body is not JSON"]
        return key, [f"{status}: {e}" for e in schemas.errors("#/components/schemas/Problem", inst)]
    key = f"{method} {template}"
    responses = op.get("responses", {})
    if status not in responses:
        return key, [f"status {status} is not documented (documented: {', '.join(sorted(responses))})"]
    resp_ref = od.pointer("paths", template, method.lower(), "responses", status)
    resp = responses[status]
    while "$ref" in resp:
        resp_ref = resp["$ref"]
        resp = od.resolve(doc, resp_ref)
    errs = check_body(schemas, resp, resp_ref, rec)
    errs += check_headers(doc, schemas, resp, resp_ref, headers)
    return key, [f"{status}: {e}" for e in errs]


def main(argv):
    if len(argv) != 3:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    doc = od.load(argv[1])
    paths, schemas = od.PathIndex(doc), od.Schemas(doc)
    counts = collections.defaultdict(collections.Counter)
    failures = []
    n = 0
    with open(argv[2], encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                print(f"{argv[2]}:{lineno}: not JSON: {e}", file=sys.stderr)
                return 2
            n += 1
            key, errs = check_record(doc, paths, schemas, rec)
            counts[key][str(rec["status"])] += 1
            for e in errs:
                failures.append((f"{key} -> {e}", f"{rec['method']} {rec['path']}"))
    width = max((len(k) for k in counts), default=0)
    print(f"contract: {n} responses, {len(counts)} operations")
    for key in sorted(counts):
        by_status = " ".join(f"{s}x{c}" for s, c in sorted(counts[key].items()))
        print(f"  {key:<{width}}  {by_status}")
    documented = {f"{m} {p}" for m, p, _ in od.operations(doc)}
    unseen = sorted(documented - set(counts))
    if unseen:
        print(f"contract: {len(unseen)} operations had no response in this run: " + ", ".join(unseen))
    if failures:
        distinct = collections.OrderedDict()
        for what, example in failures:
            distinct.setdefault(what, [0, example])[0] += 1
        print(f"contract: {len(failures)} mismatches ({len(distinct)} distinct):")
        for what, (count, example) in list(distinct.items())[:MAX_SHOWN]:
            print(f"  {what}   [{count}x, e.g. {example}]")
        if len(distinct) > MAX_SHOWN:
            print(f"  … and {len(distinct) - MAX_SHOWN} more")
        return 1
    print("contract: every response matches docs/openapi.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
