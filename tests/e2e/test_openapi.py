# SPDX-License-Identifier: ISC
# Copyright (c) 2026 rosterd developers
"""docs/openapi.yaml is true to the server.

1. The document is OpenAPI 3.1, every `$ref` resolves, and every schema uses
   only keywords the validator below enforces (so nothing in it is silently
   unchecked).
2. The routes agree: every route of the route table in src/http/server.c is
   a documented operation and every documented operation is a route; probing
   each documented operation of the running daemon gets one of its
   documented success answers, and methods that are not documented get
   404/405/501 (405 and 501 with Allow).
3. Real requests (create, read, list, filter, patch, replace, delete users
   and groups, searches, Bulk, discovery, and error cases) are answered with
   a documented status, the documented required headers and a body valid
   against the documented schema.

Needs PyYAML (Debian python3-yaml; scripts/setup.sh installs it).
"""

import json
import os
import re
import unittest

import yaml

import harness
from harness import (REPO, URN_ENT, URN_ELIG, URN_GROUP, URN_PATCH, URN_USER,
                     ScimTestCase, patch_body, qs, tag, token_create)

DOC_PATH = os.path.join(REPO, "docs", "openapi.yaml")
SERVER_C = os.path.join(REPO, "src", "http", "server.c")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")
# What the routes can carry; libevent also lets HEAD and OPTIONS through.
PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
URN_SEARCH = harness.URN_SEARCH
URN_BULKREQ = harness.URN_BULKREQ


def load_doc():
    with open(DOC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


# ---- JSON pointers and $ref ------------------------------------------------

def resolve_pointer(doc, ref):
    """The object at a local reference "#/a/b"; KeyError if there is none."""
    if not ref.startswith("#/"):
        raise KeyError("only local references are used: %r" % ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(ref)
    return node


def deref(doc, node):
    """Follow $ref until a node that is not a reference."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise KeyError("reference loop at %s" % ref)
        seen.add(ref)
        node = resolve_pointer(doc, ref)
    return node


def walk_refs(node, where="#"):
    """Every (location, $ref value) in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from walk_refs(v, "%s/%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, "%s/%d" % (where, i))


# ---- a small JSON Schema validator ------------------------------------------

# Keywords the validator enforces, and annotations it may ignore. A schema
# in the document that uses any other keyword fails test_schema_keywords.
ENFORCED = {"$ref", "type", "const", "enum", "properties", "required",
            "additionalProperties", "unevaluatedProperties", "items",
            "minItems", "maxItems", "contains", "minimum", "maximum",
            "minLength", "pattern", "allOf", "anyOf", "oneOf", "writeOnly"}
ANNOTATIONS = {"description", "title", "example", "examples", "default",
               "format", "readOnly", "contentEncoding", "deprecated"}


def _type_ok(value, t):
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "null":
        return value is None
    raise ValueError("unknown type %r" % t)


class Validator:
    """Validates an instance against a schema of the document; collects
    "path: problem" strings. `response=True` also rejects writeOnly
    properties (they must never be returned)."""

    def __init__(self, doc, response=True):
        self.doc = doc
        self.response = response

    def errors(self, value, schema):
        out = []
        self._check(value, schema, "$", out)
        return out

    def _declared(self, schema):
        """Property names a schema (and its allOf branches) declares."""
        schema = deref(self.doc, schema)
        names = set(schema.get("properties", {}))
        for sub in schema.get("allOf", []):
            names |= self._declared(sub)
        return names

    def _check(self, v, s, at, out):
        if s is True or s == {}:
            return
        if s is False:
            out.append("%s: no value is allowed here" % at)
            return
        if "$ref" in s:
            self._check(v, resolve_pointer(self.doc, s["$ref"]), at, out)
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(_type_ok(v, t) for t in types):
                out.append("%s: expected %s, got %s" % (
                    at, "/".join(types), json.dumps(v)[:80]))
                return
        if "const" in s and v != s["const"]:
            out.append("%s: expected %r, got %r" % (at, s["const"], v))
        if "enum" in s and v not in s["enum"]:
            out.append("%s: %r is not one of %r" % (at, v, s["enum"]))
        if isinstance(v, str):
            if "minLength" in s and len(v) < s["minLength"]:
                out.append("%s: shorter than %d" % (at, s["minLength"]))
            if "pattern" in s and not re.search(s["pattern"], v):
                out.append("%s: %r does not match %s" % (at, v, s["pattern"]))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in s and v < s["minimum"]:
                out.append("%s: %r < minimum %r" % (at, v, s["minimum"]))
            if "maximum" in s and v > s["maximum"]:
                out.append("%s: %r > maximum %r" % (at, v, s["maximum"]))
        if isinstance(v, list):
            if "minItems" in s and len(v) < s["minItems"]:
                out.append("%s: fewer than %d items" % (at, s["minItems"]))
            if "maxItems" in s and len(v) > s["maxItems"]:
                out.append("%s: more than %d items" % (at, s["maxItems"]))
            if "items" in s:
                for i, x in enumerate(v):
                    self._check(x, s["items"], "%s[%d]" % (at, i), out)
            if "contains" in s and not any(
                    not self.errors(x, s["contains"]) for x in v):
                out.append("%s: no item matches 'contains'" % at)
        if isinstance(v, dict):
            props = s.get("properties", {})
            for name in s.get("required", []):
                if name not in v:
                    out.append("%s: required member %r is missing" % (at, name))
            for k, x in v.items():
                if k in props:
                    ps = deref(self.doc, props[k])
                    if self.response and ps.get("writeOnly") is True:
                        out.append("%s.%s: writeOnly, must not be returned"
                                   % (at, k))
                    self._check(x, props[k], "%s.%s" % (at, k), out)
                elif "additionalProperties" in s:
                    ap = s["additionalProperties"]
                    if ap is False:
                        out.append("%s: undocumented member %r" % (at, k))
                    elif isinstance(ap, dict):
                        self._check(x, ap, "%s.%s" % (at, k), out)
            if s.get("unevaluatedProperties") is False:
                known = self._declared(s)
                for k in v:
                    if k not in known:
                        out.append("%s: undocumented member %r" % (at, k))
        for sub in s.get("allOf", []):
            self._check(v, sub, at, out)
        if "anyOf" in s:
            errs = [self.errors(v, sub) for sub in s["anyOf"]]
            if all(errs):
                out.append("%s: matches no anyOf branch (%s)" % (
                    at, "; ".join(e[0] for e in errs)))
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if not self.errors(v, sub))
            if n != 1:
                out.append("%s: matches %d oneOf branches, not 1" % (at, n))


def schemas_in(doc):
    """(location, schema) of every schema object in the document."""
    found = []

    def visit(s, where):
        if not isinstance(s, dict):
            return
        found.append((where, s))
        for k in ("properties",):
            for name, sub in s.get(k, {}).items():
                visit(sub, "%s/%s/%s" % (where, k, name))
        for k in ("items", "contains", "additionalProperties",
                  "unevaluatedProperties"):
            if isinstance(s.get(k), dict):
                visit(s[k], "%s/%s" % (where, k))
        for k in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(s.get(k, [])):
                visit(sub, "%s/%s/%d" % (where, k, i))

    comps = doc.get("components", {})
    for name, s in comps.get("schemas", {}).items():
        visit(s, "#/components/schemas/" + name)
    for name, h in comps.get("headers", {}).items():
        visit(h.get("schema"), "#/components/headers/%s/schema" % name)
    for name, p in comps.get("parameters", {}).items():
        visit(p.get("schema"), "#/components/parameters/%s/schema" % name)
    for name, r in comps.get("responses", {}).items():
        for ct, media in r.get("content", {}).items():
            visit(media.get("schema"),
                  "#/components/responses/%s/content/%s" % (name, ct))
    for path, item in doc.get("paths", {}).items():
        for m in METHODS:
            op = item.get(m)
            if not op:
                continue
            for p in op.get("parameters", []):
                visit(p.get("schema"), "%s %s parameter" % (m, path))
            for code, r in op.get("responses", {}).items():
                for ct, media in r.get("content", {}).items():
                    visit(media.get("schema"),
                          "%s %s %s %s" % (m, path, code, ct))
            rb = op.get("requestBody", {})
            for ct, media in rb.get("content", {}).items():
                visit(media.get("schema"), "%s %s request %s" % (m, path, ct))
    return found


# ---- the document -----------------------------------------------------------

class OpenApiDocumentTest(unittest.TestCase):
    """Static checks of docs/openapi.yaml."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_doc()

    def test_openapi_version(self):
        self.assertIsInstance(self.doc, dict)
        self.assertRegex(str(self.doc.get("openapi")), r"^3\.1\.\d+$",
                         "docs/openapi.yaml must be OpenAPI 3.1")
        self.assertIn("title", self.doc.get("info", {}))
        self.assertIn("version", self.doc.get("info", {}))
        self.assertTrue(self.doc.get("paths"), "no paths")

    def test_refs_resolve(self):
        bad = []
        for where, ref in walk_refs(self.doc):
            try:
                resolve_pointer(self.doc, ref)
            except (KeyError, IndexError, ValueError) as e:
                bad.append("%s -> %s (%s)" % (where, ref, e))
        self.assertEqual(bad, [], "unresolved $ref")

    def test_operations_are_complete(self):
        ids = []
        for path, item in self.doc["paths"].items():
            self.assertTrue(path.startswith("/"), path)
            params = set(re.findall(r"\{([^}]+)\}", path))
            for m in METHODS:
                op = item.get(m)
                if op is None:
                    continue
                where = "%s %s" % (m.upper(), path)
                self.assertTrue(op.get("summary"), where + ": no summary")
                self.assertTrue(op.get("responses"), where + ": no responses")
                ids.append(op.get("operationId"))
                declared = {deref(self.doc, p)["name"]
                            for p in item.get("parameters", []) +
                            op.get("parameters", [])
                            if deref(self.doc, p)["in"] == "path"}
                self.assertEqual(declared, params,
                                 where + ": path parameters")
                for code, r in op["responses"].items():
                    self.assertRegex(str(code), r"^[1-5][0-9][0-9]$", where)
                    r = deref(self.doc, r)
                    self.assertTrue(r.get("description"),
                                    "%s %s: no description" % (where, code))
                    for ct, media in r.get("content", {}).items():
                        self.assertIn("schema", media, "%s %s" % (where, code))
                    if int(code) >= 400:
                        self.assertEqual(
                            deref(self.doc, r["content"]
                                  ["application/scim+json"]["schema"]),
                            self.doc["components"]["schemas"]["Error"],
                            "%s %s: errors use the Error schema"
                            % (where, code))
        self.assertEqual(len(ids), len(set(ids)), "duplicate operationId")
        self.assertNotIn(None, ids, "an operation has no operationId")

    def test_schema_keywords(self):
        """Every keyword is one the validator enforces, or an annotation."""
        bad = []
        for where, s in schemas_in(self.doc):
            for k in s:
                if k not in ENFORCED and k not in ANNOTATIONS:
                    bad.append("%s: %s" % (where, k))
        self.assertEqual(bad, [], "schema keywords the test cannot check")

    def test_bearer_scheme(self):
        sec = self.doc["components"]["securitySchemes"]["bearerAuth"]
        self.assertEqual((sec["type"], sec["scheme"]), ("http", "bearer"))
        self.assertIn("scim", sec["description"])
        self.assertEqual(self.doc["security"], [{"bearerAuth": ["scim"]}])

    def test_scim_md_is_linked(self):
        self.assertIn("scim.md", json.dumps(self.doc.get("info", {})))

    def test_validator_can_fail(self):
        """The validator rejects what the document forbids."""
        v = Validator(self.doc)
        err = {"$ref": "#/components/schemas/Error"}
        good = {"schemas": [harness.URN_ERROR], "status": "404",
                "detail": "x"}
        self.assertEqual(v.errors(good, err), [])
        for bad in (dict(good, status=404), dict(good, scimType="nope"),
                    dict(good, extra=1), {"status": "404"},
                    dict(good, schemas=["urn:x"])):
            self.assertTrue(v.errors(bad, err), bad)
        user = {"$ref": "#/components/schemas/User"}
        u = {"schemas": [URN_USER], "id": "1", "userName": "a"}
        self.assertEqual(v.errors(u, user), [])
        self.assertTrue(v.errors(dict(u, password="x"), user))
        self.assertTrue(v.errors(dict(u, active="yes"), user))
        self.assertTrue(v.errors(dict(u, **{URN_ELIG: {
            "employmentStatus": "fired"}}), user))
        lst = {"$ref": "#/components/schemas/UserListResponse"}
        page = {"schemas": [harness.URN_LIST], "totalResults": 1,
                "itemsPerPage": 1, "startIndex": 1, "Resources": [u]}
        self.assertEqual(v.errors(page, lst), [])
        self.assertTrue(v.errors(dict(page, surprise=True), lst))
        self.assertTrue(v.errors(dict(page, Resources=[{"id": 1}]), lst))


# ---- the running server -----------------------------------------------------

def route_table():
    """(pattern, methods) from the route table in src/http/server.c."""
    with open(SERVER_C, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"static const struct route routes\[\] = \{(.*?)\n\};",
                  src, re.S)
    if m is None:
        raise AssertionError("route table not found in %s" % SERVER_C)
    routes = []
    for pat, meth in re.findall(
            r'\{\s*"([^"]*)"\s*,\s*([^,]+?)\s*,\s*\w+\s*,\s*\w+\s*\}',
            m.group(1)):
        if meth.strip() == "~0u":
            methods = {"GET", "POST", "PUT", "PATCH", "DELETE"}
        else:
            methods = {x.strip().replace("EVHTTP_REQ_", "")
                       for x in meth.split("|")}
        routes.append((pat, methods))
    if not routes:
        raise AssertionError("no routes parsed from %s" % SERVER_C)
    return routes


class OpenApiServerTest(ScimTestCase):
    """The running daemon against docs/openapi.yaml."""

    EXTRA_TENANTS = (("oapislow", 1, 2),)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.doc = load_doc()
        cls.validator = Validator(cls.doc)
        cls.templates = []
        for path in cls.doc["paths"]:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+",
                              re.escape(path)) + "$"
            # Concrete paths win over templates (OpenAPI 3.1 §4.8.8.2).
            cls.templates.append(("{" in path, path, re.compile(rx)))
        cls.templates.sort(key=lambda t: t[0])
        cls.admin_token, _ = token_create(cls.db, "acme", "admin")
        cls.slow_token, _ = token_create(cls.db, "oapislow", "scim")

    # ---- the core check ---------------------------------------------------

    def templates_of(self, path):
        """The documented path templates that match path, concrete ones
        first (OpenAPI 3.1 §4.8.8.2)."""
        path = path.split("?", 1)[0]
        return [tpl for _, tpl, rx in self.templates if rx.match(path)]

    def template_of(self, path):
        tpls = self.templates_of(path)
        return tpls[0] if tpls else None

    def lookup(self, method, path):
        """(template, operation) documenting METHOD path; operation is None
        when the matching template lacks the method. /Users/.search is
        both a concrete path and an instance of /Users/{id}: the concrete
        one names the resource, as the server routes it (GET
        /Users/.search is 405, not a read of the user ".search")."""
        tpls = self.templates_of(path)
        if not tpls:
            return None, None
        return tpls[0], self.doc["paths"][tpls[0]].get(method.lower())

    def documented(self, method, path):
        return self.lookup(method, path)[1]

    def check(self, resp, method, path, expect=None):
        """Assert the answer to METHOD path is one the document describes:
        status, required headers, content type and body schema. With
        `expect`, also that the status is that one. Returns the body."""
        what = "%s %s" % (method, path)
        tpl, op = self.lookup(method, path)
        self.assertIsNotNone(tpl, "%s: path not in docs/openapi.yaml" % what)
        self.assertIsNotNone(op, "%s: method not documented for %s"
                             % (what, tpl))
        code = str(resp.status)
        if code not in op["responses"]:
            self.fail("%s answered %s, docs/openapi.yaml documents only %s "
                      "for %s %s: %r" % (what, code, sorted(op["responses"]),
                                         method, tpl, resp))
        if expect is not None:
            self.assertEqual(resp.status, expect, "%s: %r" % (what, resp))
        r = deref(self.doc, op["responses"][code])
        for name, h in r.get("headers", {}).items():
            h = deref(self.doc, h)
            value = resp.header(name)
            if value is None:
                self.assertFalse(h.get("required"), "%s %s: documented "
                                 "header %s is missing" % (what, code, name))
                continue
            hs = h.get("schema", {})
            if hs.get("type") == "integer":
                self.assertRegex(value, r"^-?[0-9]+$",
                                 "%s %s: header %s" % (what, code, name))
                value = int(value)
            errs = self.validator.errors(value, hs)
            self.assertEqual(errs, [], "%s %s: header %s: %r"
                             % (what, code, name, value))
        content = r.get("content", {})
        if not resp.raw:
            self.assertFalse(content, "%s %s: documented with a body, "
                             "answered none" % (what, code))
            return None
        self.assertTrue(content, "%s %s: documented without a body, "
                        "answered %r" % (what, code, resp.raw[:200]))
        ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
        self.assertIn(ctype, content, "%s %s: Content-Type %r is not "
                      "documented" % (what, code, ctype))
        self.assertIsNotNone(resp.json, "%s %s: body is not JSON: %r"
                             % (what, code, resp.raw[:200]))
        errs = self.validator.errors(resp.json, content[ctype]["schema"])
        if errs:
            self.fail("%s %s: the body does not match docs/openapi.yaml:"
                      "\n  %s\nbody: %s" % (what, code, "\n  ".join(errs[:20]),
                                            json.dumps(resp.json)[:1500]))
        return resp.json

    def call(self, method, path, body=None, expect=None, **kw):
        """Send a request (path relative to /scim/v2) and check() it."""
        resp = self.request(method, path, body, **kw)
        self.check(resp, method, path, expect)
        return resp

    def check_request_body(self, method, path, body):
        """The request bodies the test sends are valid by the document."""
        op = self.documented(method, path)
        rb = deref(self.doc, op["requestBody"])
        schema = rb["content"]["application/scim+json"]["schema"]
        errs = Validator(self.doc, response=False).errors(body, schema)
        self.assertEqual(errs, [], "%s %s request: %s" % (method, path, errs))

    # ---- fixtures ---------------------------------------------------------

    def new_user(self, **extra):
        body = {"schemas": [URN_USER, URN_ENT, URN_ELIG],
                "userName": tag("oa") + "@example.com",
                "externalId": tag("ext"),
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "displayName": "Ada Lovelace",
                "active": True,
                "emails": [{"value": "ada@example.com", "type": "work",
                            "primary": True}],
                "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
                "addresses": [{"locality": "London", "country": "GB",
                               "type": "work"}],
                URN_ENT: {"employeeNumber": "701984", "department": "R&D",
                          "manager": {"value": "boss"}},
                URN_ELIG: {"birthDate": "1985-12-10",
                           "hireDate": "2021-04-01",
                           "employmentStatus": "active",
                           "eligibilityClass": "FT", "workState": "CA",
                           "workCountry": "US", "gender": "F"}}
        body.update(extra)
        self.check_request_body("POST", "/Users", body)
        return self.call("POST", "/Users", body, expect=201).json

    def new_group(self, members=()):
        body = {"schemas": [URN_GROUP], "displayName": tag("grp"),
                "members": [{"value": m} for m in members]}
        self.check_request_body("POST", "/Groups", body)
        return self.call("POST", "/Groups", body, expect=201).json

    # ---- 2. routes ----------------------------------------------------------

    def test_route_table_is_documented(self):
        """Each route of src/http/server.c is a documented operation, and
        each documented SCIM operation is a route."""
        if not os.path.exists(SERVER_C):
            self.skipTest("no source tree at %s" % REPO)
        routed = set()
        for pat, methods in route_table():
            sample = "/" + "/".join(
                "sample-id" if seg == "*" else seg
                for seg in pat.split("/"))
            for path in ([sample.replace("{type}", t)
                          for t in ("Users", "Groups")]
                         if "{type}" in sample else [sample]):
                tpl = self.template_of(path)
                self.assertIsNotNone(tpl, "route %s (%s) is not in "
                                     "docs/openapi.yaml" % (pat, path))
                for m in methods:
                    self.assertIn(m.lower(), self.doc["paths"][tpl],
                                  "route %s %s is not documented (%s)"
                                  % (m, pat, tpl))
                    routed.add((m.lower(), tpl))
        for path, item in self.doc["paths"].items():
            if path == "/healthz":  # answered before routing
                continue
            for m in METHODS:
                if m in item:
                    self.assertIn((m, path), routed,
                                  "%s %s is documented but no route of "
                                  "server.c serves it" % (m.upper(), path))

    def concrete(self, tpl, uid, gid):
        return (tpl.replace("/Users/{id}", "/Users/" + uid)
                .replace("/Groups/{id}", "/Groups/" + gid)
                .replace("{name}", "User")
                .replace("{urn}", URN_USER))

    def probe_body(self, method, tpl):
        if method == "POST" and tpl == "/Users":
            return {"schemas": [URN_USER], "userName": tag("probe")}
        if method == "POST" and tpl == "/Groups":
            return {"schemas": [URN_GROUP], "displayName": tag("probe")}
        if method == "PUT" and tpl == "/Users/{id}":
            return {"schemas": [URN_USER], "userName": tag("probe")}
        if method == "PUT" and tpl == "/Groups/{id}":
            return {"schemas": [URN_GROUP], "displayName": tag("probe")}
        if method == "PATCH":
            return patch_body({"op": "replace", "path": "displayName",
                               "value": tag("probe")})
        if tpl.endswith(".search"):
            return {"schemas": [URN_SEARCH], "count": 1}
        if tpl == "/Bulk":
            return {"schemas": [URN_BULKREQ], "Operations": []}
        return None

    def test_every_documented_operation_is_answered(self):
        """Probe each documented operation: it answers one of its
        documented 2xx (501 where that is all it documents), never 404."""
        for tpl, item in self.doc["paths"].items():
            for m in METHODS:
                op = item.get(m)
                if op is None:
                    continue
                method = m.upper()
                uid = self.new_user()["id"]
                gid = self.new_group([uid])["id"]
                path = self.concrete(tpl, uid, gid)
                base = tpl != "/healthz"
                with self.subTest(method=method, path=tpl):
                    resp = self.request(method, path,
                                        self.probe_body(method, tpl),
                                        base=base)
                    ok = sorted(c for c in op["responses"]
                                if c.startswith("2")) or ["501"]
                    self.assertIn(str(resp.status), ok,
                                  "%s %s: expected %s, got %r"
                                  % (method, tpl, "/".join(ok), resp))
                    if base:
                        self.check(resp, method, path)

    def test_undocumented_methods_are_refused(self):
        """A method the document does not list answers 404, 405 or 501
        with a SCIM error: nothing is served that is not documented. A
        405 (and the 501 to OPTIONS) carries Allow, listing exactly the
        documented methods (RFC 9110 §15.5.6), HEAD with GET."""
        uid = self.new_user()["id"]
        gid = self.new_group()["id"]
        paths = [self.concrete(t, uid, gid) for t in self.doc["paths"]
                 if t != "/healthz"]
        paths += ["/", "/Foo", "/Users/%s/x" % uid, "/Schemas/a/b",
                  "/ResourceTypes/User/x", "/Bulk/x", "/Me/x"]
        for path in paths:
            for method in PROBE_METHODS:
                if self.documented(method, path) is not None:
                    continue
                if method == "HEAD" and \
                        self.documented("GET", path) is not None:
                    continue    # test_head_is_get_without_body
                with self.subTest(method=method, path=path):
                    resp = self.request(method, path)
                    self.assertIn(resp.status, (404, 405, 501),
                                  "%s %s is not documented but answered %r"
                                  % (method, path, resp))
                    tpl = self.template_of(path)
                    if resp.status == 405 or (resp.status == 501 and
                                              tpl != "/Me"):
                        self.assertIsNotNone(tpl, path)
                        want = {m.upper() for m in self.doc["paths"][tpl]
                                if m in METHODS}
                        if "GET" in want:
                            want.add("HEAD")
                        allow = resp.header("Allow") or ""
                        self.assertEqual(
                            {x.strip() for x in allow.split(",")}, want,
                            "%s %s: Allow %r" % (method, path, allow))
                    if resp.status == 501:
                        self.assertTrue(method == "OPTIONS" or
                                        tpl == "/Me", "%s %s: %r"
                                        % (method, path, resp))
                    if method != "HEAD":
                        errs = self.validator.errors(
                            resp.json, {"$ref": "#/components/schemas/Error"})
                        self.assertEqual(errs, [], "%s %s: %r"
                                         % (method, path, resp))
        # Outside /scim/v2 only /healthz exists.
        for path in ("/", "/scim", "/scim/v2x/Users", "/health"):
            resp = self.request("GET", path, base=False)
            self.assertEqual(resp.status, 404, "%s: %r" % (path, resp))

    def test_head_is_get_without_body(self):
        """HEAD answers as GET does (RFC 9110 §9.3.2), without the body
        but with its Content-Length, on every documented GET."""
        uid = self.new_user()["id"]
        gid = self.new_group()["id"]
        for tpl in self.doc["paths"]:
            if tpl == "/healthz":
                continue
            path = self.concrete(tpl, uid, gid)
            if self.documented("GET", path) is None:
                continue
            with self.subTest(path=path):
                get = self.request("GET", path)
                head = self.request("HEAD", path)
                self.assertEqual(head.status, get.status, path)
                self.assertEqual(head.raw, b"", path)
                self.assertEqual(head.header("Content-Length"),
                                 str(len(get.raw)), path)
                self.assertEqual(head.header("Content-Type"),
                                 get.header("Content-Type"), path)
                self.assertEqual(head.header("ETag"), get.header("ETag"),
                                 path)

    # ---- 3. real requests -----------------------------------------------------

    def test_user_lifecycle(self):
        u = self.new_user()
        uid = u["id"]
        self.assertEqual(u["name"]["givenName"], "Ada")
        r = self.call("GET", "/Users/" + uid, expect=200)
        etag = r.header("ETag")
        self.assertEqual(etag, r.json["meta"]["version"])
        self.call("GET", "/Users/" + uid, expect=304,
                  headers={"If-None-Match": etag})
        self.call("GET", "/Users/%s%s" % (uid, qs(attributes="userName")),
                  expect=200)
        self.call("GET", "/Users/%s%s" % (
            uid, qs(excludedAttributes="emails,name")), expect=200)
        # Okta/Entra's first request: match by userName.
        r = self.call("GET", "/Users" + qs(
            filter='userName eq "%s"' % u["userName"]), expect=200)
        self.assertEqual([x["id"] for x in r.json["Resources"]], [uid])
        self.call("GET", "/Users" + qs(
            filter='userName eq "nobody-%s"' % tag()), expect=200)
        self.call("GET", "/Users" + qs(
            filter='%s:employmentStatus eq "active"' % URN_ELIG,
            sortBy="userName", sortOrder="descending", startIndex=1,
            count=5), expect=200)
        # Entra-style PATCH: capitalised op, boolean as a string.
        body = patch_body({"op": "Replace", "path": "active",
                           "value": "False"},
                          {"op": "Add", "value": {
                              "name.familyName": "Byron",
                              URN_ENT + ":department": "Math"}})
        self.check_request_body("PATCH", "/Users/" + uid, body)
        r = self.call("PATCH", "/Users/" + uid, body, expect=200)
        self.assertIs(r.json["active"], False)
        put = {"schemas": [URN_USER, URN_ELIG], "userName": u["userName"],
               "active": True,
               URN_ELIG: {"employmentStatus": "terminated",
                          "terminationDate": "2026-11-30"}}
        self.check_request_body("PUT", "/Users/" + uid, put)
        r = self.call("PUT", "/Users/" + uid, put, expect=200,
                      headers={"If-Match": r.header("ETag")})
        self.call("DELETE", "/Users/" + uid, expect=204,
                  headers={"If-Match": r.header("ETag")})
        self.call("GET", "/Users/" + uid, expect=404)

    def test_list_pagination(self):
        for _ in range(3):
            self.new_user()
        r = self.call("GET", "/Users?cursor&count=2", expect=200)
        self.assertNotIn("startIndex", r.json)
        self.assertIn("nextCursor", r.json)
        self.call("GET", "/Users" + qs(cursor=r.json["nextCursor"],
                                       count=2), expect=200)
        self.call("GET", "/Users" + qs(count=0), expect=200)
        self.call("GET", "/Users" + qs(count=5000, startIndex=-3), expect=200)
        self.call("GET", "/Users" + qs(attributes="userName,emails.value"),
                  expect=200)

    def test_group_lifecycle(self):
        a, b = self.new_user()["id"], self.new_user()["id"]
        g = self.new_group([a])
        gid = g["id"]
        r = self.call("GET", "/Groups/" + gid, expect=200)
        self.assertEqual([m["value"] for m in r.json["members"]], [a])
        # The user's groups are derived from membership.
        r = self.call("GET", "/Users/" + a, expect=200)
        self.assertEqual([x["value"] for x in r.json["groups"]], [gid])
        self.call("GET", "/Groups" + qs(
            filter='displayName eq "%s"' % g["displayName"],
            excludedAttributes="members"), expect=200)
        body = patch_body({"op": "add", "path": "members",
                           "value": [{"value": b, "display": "B"}]})
        self.check_request_body("PATCH", "/Groups/" + gid, body)
        r = self.call("PATCH", "/Groups/" + gid, body, expect=204)
        body = patch_body({"op": "remove",
                           "path": 'members[value eq "%s"]' % a},
                          {"op": "replace",
                           "value": {"id": gid, "displayName": tag("ren")}})
        self.call("PATCH", "/Groups/%s%s" % (gid, qs(attributes="members")),
                  body, expect=200,
                  headers={"If-Match": r.header("ETag")})
        put = {"schemas": [URN_GROUP], "displayName": tag("put"),
               "members": [{"value": a, "type": "User"}]}
        self.check_request_body("PUT", "/Groups/" + gid, put)
        self.call("PUT", "/Groups/" + gid, put, expect=200)
        self.call("DELETE", "/Groups/" + gid, expect=204)
        self.call("DELETE", "/Groups/" + gid, expect=404)

    def test_searches(self):
        u = self.new_user()
        self.new_group([u["id"]])
        body = {"schemas": [URN_SEARCH],
                "filter": 'userName eq "%s"' % u["userName"],
                "attributes": ["userName", "emails"], "startIndex": 1,
                "count": 10}
        self.check_request_body("POST", "/Users/.search", body)
        r = self.call("POST", "/Users/.search", body, expect=200)
        self.assertEqual(r.json["totalResults"], 1)
        self.call("POST", "/Groups/.search", {
            "schemas": [URN_SEARCH], "filter": "displayName pr",
            "excludedAttributes": ["members"]}, expect=200)
        r = self.call("POST", "/.search", {"schemas": [URN_SEARCH],
                                           "count": 1000}, expect=200)
        types = {x["meta"]["resourceType"] for x in r.json["Resources"]}
        self.assertEqual(types, {"User", "Group"})
        self.call("POST", "/.search", {"schemas": [URN_SEARCH],
                                       "cursor": "", "count": 1}, expect=200)
        self.call("POST", "/Users/.search", {"sortOrder": "sideways"},
                  expect=400)
        self.call("POST", "/.search", {"filter": "nosuch eq 1"}, expect=400)

    def test_bulk(self):
        victim = self.new_user()["id"]
        name = tag("bulk") + "@example.com"
        body = {"schemas": [URN_BULKREQ], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u1",
             "data": {"schemas": [URN_USER], "userName": name}},
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": {"schemas": [URN_GROUP], "displayName": tag("bg"),
                      "members": [{"value": "bulkId:u1"}]}},
            {"method": "PATCH", "path": "/Users/bulkId:u1",
             "data": patch_body({"op": "replace", "path": "active",
                                 "value": False})},
            {"method": "PATCH", "path": "/Groups/bulkId:g1",
             "data": patch_body({"op": "replace", "path": "displayName",
                                 "value": tag("bg2")})},
            {"method": "PUT", "path": "/Users/bulkId:u1",
             "data": {"schemas": [URN_USER], "userName": name}},
            {"method": "DELETE", "path": "/Users/" + victim},
            {"method": "POST", "path": "/Users", "bulkId": "dup",
             "data": {"schemas": [URN_USER], "userName": name}},
            {"method": "DELETE", "path": "/Users/" + victim,
             "version": 'W/"1"'},
        ]}
        self.check_request_body("POST", "/Bulk", body)
        r = self.call("POST", "/Bulk", body, expect=200)
        self.assertEqual([o["status"] for o in r.json["Operations"]],
                         ["201", "201", "200", "204", "200", "204", "409",
                          "404"])
        r = self.call("POST", "/Bulk", {
            "schemas": [URN_BULKREQ], "failOnErrors": 1, "Operations": [
                {"method": "GET", "path": "/Users"},
                {"method": "DELETE", "path": "/Users/x"}]}, expect=200)
        self.assertEqual(len(r.json["Operations"]), 1)
        self.call("POST", "/Bulk", {"schemas": [URN_BULKREQ]}, expect=400)
        self.call("POST", "/Bulk", {"Operations": [], "failOnErrors": 0},
                  expect=400)
        ops = [{"method": "DELETE", "path": "/Users/x"}] * 1001
        self.call("POST", "/Bulk", {"schemas": [URN_BULKREQ],
                                    "Operations": ops}, expect=413)

    def test_discovery(self):
        r = self.call("GET", "/ServiceProviderConfig", token=None,
                      expect=200)
        self.assertTrue(r.json["bulk"]["supported"])
        r = self.call("GET", "/ResourceTypes", token=None, expect=200)
        self.assertEqual(r.json["totalResults"], 2)
        for name in ("User", "Group", "user"):
            self.call("GET", "/ResourceTypes/" + name, token=None,
                      expect=200)
        self.call("GET", "/ResourceTypes/Users", token=None, expect=404)
        r = self.call("GET", "/Schemas", token=None, expect=200)
        urns = sorted(x["id"] for x in r.json["Resources"])
        documented = deref(self.doc, self.doc["paths"]["/Schemas/{urn}"]
                           ["get"]["parameters"][0])["schema"]["enum"]
        self.assertEqual(urns, sorted(documented))
        for urn in urns:
            self.call("GET", "/Schemas/" + urn, token=None, expect=200)
        self.call("GET", "/Schemas/urn:nope", token=None, expect=404)
        self.call("GET", "/Schemas" + qs(filter='id eq "x"'), token=None,
                  expect=403)
        self.call("GET", "/ResourceTypes/User" + qs(filter="x"), token=None,
                  expect=403)
        # With a token they answer the same.
        self.call("GET", "/ServiceProviderConfig", expect=200)
        resp = self.request("GET", "/healthz", base=False, token=None)
        self.check(resp, "GET", "/healthz", 200)

    def test_error_cases(self):
        u = self.new_user()
        uid = u["id"]
        # Bad filter.
        r = self.call("GET", "/Users" + qs(filter="userName eq"), expect=400)
        self.assertEqual(r.json["scimType"], "invalidFilter")
        r = self.call("GET", "/Users" + qs(filter="nosuch eq 1"), expect=400)
        self.call("GET", "/Users" + qs(sortBy="nosuch"), expect=400)
        self.call("GET", "/Users" + qs(count="ten"), expect=400)
        r = self.call("GET", "/Users?cursor=garbage", expect=400)
        self.assertEqual(r.json["scimType"], "invalidCursor")
        # Tokens.
        r = self.call("GET", "/Users", token=None, expect=401)
        r = self.call("GET", "/Users/" + uid, token="rstd_" + "A" * 43,
                      expect=401)
        self.assertIn("invalid_token", r.header("WWW-Authenticate"))
        r = self.call("POST", "/Bulk", {"Operations": []},
                      token=self.admin_token, expect=403)
        self.assertIn("insufficient_scope", r.header("WWW-Authenticate"))
        # Unknown id; another tenant's id.
        self.call("GET", "/Users/no-such-id", expect=404)
        self.call("GET", "/Users/" + uid, token=self.token_b, expect=404)
        self.call("PATCH", "/Groups/no-such-id", patch_body(
            {"op": "add", "path": "members", "value": [{"value": uid}]}),
            expect=404)
        # Bad JSON, wrong shapes.
        r = self.call("POST", "/Users", '{"schemas": [', expect=400)
        self.assertEqual(r.json["scimType"], "invalidSyntax")
        self.call("POST", "/Users", {"userName": tag()}, expect=400)
        self.call("POST", "/Users", "", expect=400)
        self.call("POST", "/Groups", {"schemas": [URN_GROUP],
                                      "displayName": "x",
                                      "members": [{"value": "nobody"}]},
                  expect=400)
        self.call("PATCH", "/Users/" + uid, {"Operations": []}, expect=400)
        r = self.call("PATCH", "/Users/" + uid,
                      patch_body({"op": "remove"}), expect=400)
        self.assertEqual(r.json["scimType"], "noTarget")
        self.call("PATCH", "/Users/" + uid, patch_body(
            {"op": "replace", "path": "nosuch", "value": 1}), expect=400)
        self.call("PUT", "/Users/" + uid, {
            "schemas": [URN_USER], "userName": u["userName"],
            URN_ELIG: {"hireDate": "2026-02-30"}}, expect=400)
        # Preconditions.
        self.call("PUT", "/Users/" + uid, {
            "schemas": [URN_USER], "userName": u["userName"]},
            headers={"If-Match": 'W/"999"'}, expect=412)
        self.call("DELETE", "/Users/" + uid,
                  headers={"If-Match": 'W/"999"'}, expect=412)
        # Uniqueness.
        r = self.call("POST", "/Users", {"schemas": [URN_USER],
                                         "userName": u["userName"].upper()},
                      expect=409)
        self.assertEqual(r.json["scimType"], "uniqueness")
        # Media type and size.
        self.call("POST", "/Users", json.dumps({
            "schemas": [URN_USER], "userName": tag()}),
            headers={"Content-Type": "text/plain"}, expect=415)
        self.call("POST", "/Users", {"schemas": [URN_USER],
                                     "userName": tag()},
                  headers={"Content-Type": "application/json; charset=utf-8"},
                  expect=201)
        big = {"schemas": [URN_USER], "userName": tag(),
               "title": "x" * (1024 * 1024)}
        self.call("POST", "/Users", big, expect=413)
        # /Me.
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.call(method, "/Me", expect=501)
        self.call("GET", "/Me", token=None, expect=401)

    def test_rate_limit(self):
        """A tenant with a bucket of 2 at 1/s: the third request is 429."""
        seen = []
        for _ in range(6):
            r = self.call("GET", "/Groups", token=self.slow_token)
            seen.append(r.status)
            if r.status == 429:
                self.assertGreaterEqual(int(r.header("Retry-After")), 1)
                break
        self.assertIn(429, seen, "no 429 from a 2-request bucket: %s" % seen)


if __name__ == "__main__":
    unittest.main()
