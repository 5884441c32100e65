"""openapi_doc: docs/openapi.yaml as the contract checks read it.

Shared by test_openapi.py (the document is valid and matches the router)
and validate_responses.py (real responses match the document). Works with
Debian 12's python3-jsonschema (4.10) and newer releases: schemas are
checked with Draft 2020-12 against the whole document as the root, so
"#/components/..." references resolve without a registry.
Must not: talk to the network or the stack.
"""
import json
import re
import string

import yaml
from jsonschema import Draft202012Validator

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    # libyaml's loader when there is one: the pure-Python one takes seconds.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=loader)


def operations(doc):
    """(METHOD, path template, operation) for every operation."""
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def pointer(*parts):
    """A JSON pointer to parts (RFC 6901 escaping)."""
    return child("#", *parts)


def child(ref, *parts):
    """The JSON pointer ref extended by parts."""
    return "/".join([ref] + [str(p).replace("~", "~0").replace("/", "~1") for p in parts])


def resolve(doc, ref):
    """The value a local $ref names; KeyError when it names nothing."""
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def deref(doc, node):
    """node, or what its $ref names (followed until no $ref is left)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 16:
        node = resolve(doc, node["$ref"])
        seen += 1
    return node


_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def router_path(path):
    """The path as the worker's router reads it (src/http/router.c,
    sp_router_path): a percent-encoded unreserved character decoded (RFC
    3986 6.2.2.2), every other escape kept, so /support/admin/%61rticles/%372
    is /support/admin/articles/72."""
    def one(m):
        c = chr(int(m.group(1), 16))
        return c if c in _UNRESERVED else m.group(0)
    return re.sub(r"%([0-9A-Fa-f]{2})", one, path)


class PathIndex:
    """Finds the document's path template of a concrete path. Literal
    segments win over parameters (OpenAPI's rule), segment by segment."""

    def __init__(self, doc):
        self.templates = []
        for path in doc.get("paths", {}):
            segs = path.strip("/").split("/")
            self.templates.append((path, segs))

    def match(self, path):
        segs = router_path(path).strip("/").split("/")
        best, best_key = None, None
        for template, tsegs in self.templates:
            if len(tsegs) != len(segs):
                continue
            key = []
            for t, s in zip(tsegs, segs):
                if t.startswith("{") and t.endswith("}"):
                    if s == "":
                        break
                    key.append(1)
                elif t == s:
                    key.append(0)
                else:
                    break
            else:
                if best_key is None or key < best_key:
                    best, best_key = template, key
        return best


class Schemas:
    """Draft 2020-12 validators of schemas inside the document, by pointer."""

    def __init__(self, doc):
        self.root = dict(doc)
        self.cache = {}

    def validator(self, ref):
        v = self.cache.get(ref)
        if v is None:
            schema = dict(self.root)
            schema["$ref"] = ref
            v = Draft202012Validator(schema)
            self.cache[ref] = v
        return v

    def errors(self, ref, instance, limit=3):
        """Up to limit messages of what is wrong ([] when it validates)."""
        out = []
        for e in self.validator(ref).iter_errors(instance):
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            out.append(f"{where}: {e.message[:300]}")
            if len(out) >= limit:
                break
        return out


def media_type(content_type):
    return (content_type or "").split(";")[0].strip().lower()


def pick_content(content, mtype):
    """The key of content that describes mtype (exact, then type/*, then */*)."""
    if not content:
        return None
    keys = {media_type(k): k for k in content}
    if mtype in keys:
        return keys[mtype]
    major = mtype.split("/")[0] + "/*"
    if major in keys:
        return keys[major]
    return keys.get("*/*")


def is_json(mtype):
    return mtype == "application/json" or mtype.endswith("+json")


def router_template(pattern):
    """The router's ":name" pattern as an OpenAPI template "{name}"."""
    return re.sub(r":([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", pattern)


def dumps(v):
    return json.dumps(v, ensure_ascii=False)
