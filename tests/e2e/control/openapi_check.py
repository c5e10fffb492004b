#!/usr/bin/env python3
"""Keeps api/openapi.yaml true against a running egcontrol (tests/e2e/test_control_openapi.sh).

1. The document itself: YAML, `openapi: 3.0.x`, every $ref resolves, unique operationIds, path
   parameters declared, only schema keywords this checker validates, the route table of
   api/README.md, and the conventions every operation follows (401, 413, 400 on names, 405).
2. A table of cases drives every (path template, method, status) the document lists, 500 aside:
   each case is optional setup requests, then one request and the status (and error code) it must
   get. Every response, setup ones included, is checked against the document: its status must be
   documented for the operation, its body must match the schema (a validator for the subset of JSON
   Schema the document uses), and its documented headers (ETag, Allow, WWW-Authenticate) must be
   there. Statuses 400/401/405/413 that hold for whole families of operations (bad names, missing
   token, unsupported methods, oversized bodies) are generated from the document.
3. GET /metrics: egcontrol's request counters, by route template, method and status, must show
   exactly the documented triples this checker produced, and the same counts.
A fake broker receives the snapshots egcontrol pushes; they must match the Snapshot schema.

Output: one `ok - ...` / `not ok - ...` line per check (reasons on `# ` lines): the document checks,
one line per documented route and method, "no undocumented responses", and a few more.
Standard library and PyYAML only.
"""
import argparse
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

import yaml

METHODS = ("get", "put", "post", "patch", "delete")
ITEM_ALLOW = "GET, PUT, PATCH, DELETE"
UNSUPPORTED_TAG = "Unsupported methods"
BIG_BODY = 300 * 1024  # over the 256 KiB default of maxBodyBytes


# ------------------------------------------------------------------ output

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def line(self, good, name, reasons=()):
        if good:
            self.passed += 1
            print("ok - " + name)
        else:
            self.failed += 1
            print("not ok - " + name)
            for r in list(reasons)[:40]:
                for sub in str(r).splitlines() or [""]:
                    print("# " + sub)
        sys.stdout.flush()


# ------------------------------------------------------------------ the document

class StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a mapping key given twice (PyYAML keeps the last one silently)."""


def _strict_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, "duplicate key %r" % (key,), key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def resolve_pointer(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError("only local references are used: " + ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise KeyError(ref)
        node = node[part]
    return node


def walk_refs(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from walk_refs(v, where + "/" + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, "%s/%d" % (where, i))


SCHEMA_KEYWORDS = {
    # validated here
    "$ref", "type", "nullable", "enum", "properties", "required", "additionalProperties", "items",
    "minItems", "maxItems", "uniqueItems", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "allOf", "oneOf", "anyOf", "readOnly",
    # annotations
    "description", "example", "default", "format", "title",
}


def walk_schemas(schema, where):
    """(where, schema) for a schema and every schema nested in it."""
    if not isinstance(schema, dict):
        return
    yield where, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from walk_schemas(sub, where + "/properties/" + name)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from walk_schemas(schema[key], where + "/" + key)
    for key in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from walk_schemas(sub, "%s/%s/%d" % (where, key, i))


def all_schemas(doc):
    for name, s in doc.get("components", {}).get("schemas", {}).items():
        yield from walk_schemas(s, "#/components/schemas/" + name)

    def media(content, where):
        for mt, m in (content or {}).items():
            if "schema" in m:
                yield from walk_schemas(m["schema"], where + "/" + mt + "/schema")

    comps = doc.get("components", {})
    for name, r in comps.get("responses", {}).items():
        yield from media(r.get("content"), "#/components/responses/" + name)
        for h, hv in (r.get("headers") or {}).items():
            if "schema" in hv:
                yield from walk_schemas(hv["schema"], "#/components/responses/%s/headers/%s" % (name, h))
    for name, r in comps.get("requestBodies", {}).items():
        yield from media(r.get("content"), "#/components/requestBodies/" + name)
    for name, p in comps.get("parameters", {}).items():
        yield from walk_schemas(p.get("schema"), "#/components/parameters/%s/schema" % name)
    for name, h in comps.get("headers", {}).items():
        yield from walk_schemas(h.get("schema"), "#/components/headers/%s/schema" % name)
    for path, item in doc.get("paths", {}).items():
        for m in METHODS:
            op = item.get(m)
            if not op:
                continue
            for st, r in op.get("responses", {}).items():
                if "$ref" not in r:
                    yield from media(r.get("content"), "#/paths/%s/%s/responses/%s" % (path, m, st))
            rb = op.get("requestBody")
            if rb and "$ref" not in rb:
                yield from media(rb.get("content"), "#/paths/%s/%s/requestBody" % (path, m))


class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.paths = doc["paths"]
        # Templates as regexes, literal segments first so that /snapshot is not a {name}.
        self.matchers = []
        for tmpl in self.paths:
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(tmpl)) + "$"
            self.matchers.append((tmpl.count("{"), re.compile(rx), tmpl))
        self.matchers.sort(key=lambda m: (m[0], m[2]))

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = resolve_pointer(self.doc, node["$ref"])
        return node

    def template_of(self, path):
        for _, rx, tmpl in self.matchers:
            if rx.match(path):
                return tmpl
        return None

    def op(self, tmpl, method):
        return (self.paths.get(tmpl) or {}).get(method.lower())

    def response(self, tmpl, method, status):
        op = self.op(tmpl, method)
        if not op:
            return None
        r = op.get("responses", {}).get(str(status))
        return self.deref(r) if r is not None else None

    def operations(self):
        for tmpl, item in self.paths.items():
            for m in METHODS:
                if m in item:
                    yield tmpl, m.upper(), item[m]

    def documented_triples(self, include_500=False):
        out = set()
        for tmpl, m, op in self.operations():
            for st in op.get("responses", {}):
                if st == "default":
                    continue
                # 500 and /readyz's 503 need a failing database: documented, not driven.
                if st in ("500", "503") and not include_500:
                    continue
                out.add((tmpl, m, int(st)))
        return out

    def supported(self, tmpl):
        item = self.paths[tmpl]
        return [m.upper() for m in ("get", "put", "patch", "delete", "post")
                if m in item and UNSUPPORTED_TAG not in (item[m].get("tags") or [])]

    def params(self, tmpl, method):
        out = {}
        item = self.paths[tmpl]
        for p in (item.get("parameters") or []) + (item[method.lower()].get("parameters") or []):
            p = self.deref(p)
            out[(p["in"], p["name"])] = p
        return out


# ------------------------------------------------------------------ JSON Schema subset

JSON_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class Validator:
    """type, nullable, enum, properties, required, additionalProperties, items, min/maxItems,
    uniqueItems, minimum/maximum, min/maxLength, pattern, allOf/oneOf/anyOf, $ref, readOnly.
    mode "request": readOnly members are not required (OpenAPI 3.0 semantics)."""

    def __init__(self, spec):
        self.spec = spec

    def errors(self, schema, value, where="$", mode="response"):
        out = []
        self._check(schema, value, where, mode, out)
        return out

    def _check(self, schema, v, where, mode, out):
        schema = self.spec.deref(schema)
        if not isinstance(schema, dict):
            return
        for sub in schema.get("allOf", []):
            self._check(sub, v, where, mode, out)
        if "oneOf" in schema or "anyOf" in schema:
            key = "oneOf" if "oneOf" in schema else "anyOf"
            results = [self.errors(sub, v, where, mode) for sub in schema[key]]
            good = sum(1 for r in results if not r)
            if (key == "oneOf" and good != 1) or (key == "anyOf" and good == 0):
                detail = "; ".join("[%d] %s" % (i, r[0]) for i, r in enumerate(results) if r)
                out.append("%s: matches %d of the %s alternatives (%s)" % (where, good, key, detail))
        if v is None and schema.get("nullable"):
            return
        t = schema.get("type")
        if t and not JSON_TYPES[t](v):
            out.append("%s: %s is not of type %s" % (where, json.dumps(v)[:80], t))
            return
        if "enum" in schema and v not in schema["enum"]:
            out.append("%s: %s is not one of %s" % (where, json.dumps(v)[:80], schema["enum"]))
        if isinstance(v, str):
            if "minLength" in schema and len(v) < schema["minLength"]:
                out.append("%s: shorter than %d" % (where, schema["minLength"]))
            if "maxLength" in schema and len(v) > schema["maxLength"]:
                out.append("%s: longer than %d" % (where, schema["maxLength"]))
            if "pattern" in schema and not re.search(schema["pattern"], v):
                out.append("%s: %r does not match %s" % (where, v[:80], schema["pattern"]))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if "minimum" in schema and v < schema["minimum"]:
                out.append("%s: %s < minimum %s" % (where, v, schema["minimum"]))
            if "maximum" in schema and v > schema["maximum"]:
                out.append("%s: %s > maximum %s" % (where, v, schema["maximum"]))
        if isinstance(v, list):
            if "minItems" in schema and len(v) < schema["minItems"]:
                out.append("%s: fewer than %d items" % (where, schema["minItems"]))
            if "maxItems" in schema and len(v) > schema["maxItems"]:
                out.append("%s: more than %d items" % (where, schema["maxItems"]))
            if schema.get("uniqueItems"):
                seen = [json.dumps(x, sort_keys=True) for x in v]
                if len(seen) != len(set(seen)):
                    out.append("%s: items are not unique" % where)
            if "items" in schema:
                for i, x in enumerate(v):
                    self._check(schema["items"], x, "%s[%d]" % (where, i), mode, out)
        if isinstance(v, dict):
            props = schema.get("properties") or {}
            for name in schema.get("required", []):
                if name in v:
                    continue
                if mode == "request" and self.spec.deref(props.get(name, {})).get("readOnly"):
                    continue
                out.append("%s: required member %r is missing" % (where, name))
            for name, x in v.items():
                if name in props:
                    self._check(props[name], x, where + "." + name, mode, out)
                elif schema.get("additionalProperties") is False:
                    out.append("%s: member %r is not allowed" % (where, name))
                elif isinstance(schema.get("additionalProperties"), dict):
                    self._check(schema["additionalProperties"], x, where + "." + name, mode, out)


# ------------------------------------------------------------------ HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self._json = None

    @property
    def json(self):
        if self._json is None and self.body:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                self._json = None
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())

    def code(self):
        j = self.json
        return j.get("error", {}).get("code") if isinstance(j, dict) else None


def http_request(port, method, target, headers, body=None, content_length=None, timeout=10):
    """One request on a fresh connection (Connection: close); content_length without a body
    announces an oversized body that is never sent."""
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1:%d" % port, "Connection: close"]
    for k, v in headers.items():
        lines.append("%s: %s" % (k, v))
    if content_length is not None:
        lines.append("Content-Length: %d" % content_length)
        body = b""
    elif body is not None:
        lines.append("Content-Length: %d" % len(body))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    status = int(head_lines[0].split()[1])
    hdrs = {}
    for h in head_lines[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if "content-length" in hdrs:
        rest = rest[:int(hdrs["content-length"])]
    return Response(status, hdrs, rest)


# ------------------------------------------------------------------ cases

class Case:
    """One request and the status it must get. path: concrete, or a callable of ctx; body: dict
    (sent as JSON), str/bytes (sent as is), None, or a callable of ctx; headers values may be
    callables of ctx. auth: "ok", "none" or "wrong". save: {ctx key: callable(resp)}.
    check: callable(resp, ctx) returning a list of problems. setup: cases run first.
    schema_rejects: the body breaks a rule the request schema expresses (range, enum, pattern,
    required, unknown member...), so the document's request schema must refuse it too."""

    def __init__(self, name, method, path, status, body=None, code=None, headers=None, auth="ok",
                 setup=(), save=None, check=None, big=False, schema_rejects=False):
        self.name, self.method, self.path, self.status = name, method, path, status
        self.body, self.code, self.headers, self.auth = body, code, headers or {}, auth
        self.setup, self.save, self.check, self.big = list(setup), save or {}, check, big
        self.schema_rejects = schema_rejects


def S(method, path, status, body=None, **kw):
    """A setup request (same as a case, named after itself)."""
    return Case("setup %s %s" % (method, path if isinstance(path, str) else "..."), method, path, status,
                body=body, **kw)


class Runner:
    def __init__(self, spec, port, token):
        self.spec = spec
        self.validator = Validator(spec)
        self.port = port
        self.token = token
        self.ctx = {}
        self.covered = {}        # (tmpl, METHOD, status) -> number of good requests
        self.sent = {}           # (route, METHOD, status) -> requests sent
        self.problems = {}       # (tmpl, METHOD) -> [problem]
        self.unrouted = []       # problems of requests that match no template
        self.undocumented = []   # responses whose status is not documented

    def problem(self, key, text):
        self.problems.setdefault(key, []).append(text)

    def _value(self, v):
        return v(self.ctx) if callable(v) else v

    def send(self, case):
        path = self._value(case.path)
        body = self._value(case.body)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        headers = {k: self._value(v) for k, v in case.headers.items()}
        if case.auth == "ok":
            headers["Authorization"] = "Bearer " + self.token
        elif case.auth == "wrong":
            headers["Authorization"] = "Bearer not-the-token-" + "x" * 20
        if body is not None and case.method in ("PUT", "PATCH", "POST"):
            headers.setdefault("Content-Type", "application/json")
        # An oversized body is sent whole: egcontrol reads and discards it before its 413, as
        # HTTP asks of a client that does not wait for "100 Continue".
        resp = http_request(self.port, case.method, path, headers, b" " * BIG_BODY if case.big else body)
        route_path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        tmpl = self.spec.template_of(route_path)
        key3 = (tmpl or "other", case.method, resp.status)
        self.sent[key3] = self.sent.get(key3, 0) + 1
        return tmpl, path, body, resp

    def run(self, case):
        for s in case.setup:
            self.run(s)
        try:
            tmpl, path, body, resp = self.send(case)
        except (OSError, ValueError, IndexError) as e:  # refused, reset, or not HTTP: egcontrol is gone?
            path = self._value(case.path) if not callable(case.path) else "(computed)"
            tmpl = self.spec.template_of(urllib.parse.urlsplit(path).path)
            text = "%s [%s %s]: no HTTP response: %s" % (case.name, case.method, path, e)
            if tmpl:
                self.problem((tmpl, case.method), text)
            else:
                self.unrouted.append(text)
            return None
        where = "%s [%s %s]" % (case.name, case.method, path)
        bad = []
        if resp.status != case.status:
            bad.append("%s: status %d, expected %d; body %s" % (where, resp.status, case.status, resp.body[:300]))
        elif case.code and resp.code() != case.code:
            bad.append("%s: error code %s, expected %s; body %s" % (where, resp.code(), case.code, resp.body[:300]))
        if tmpl is None:
            # Only the "no such route" case goes here: the generic error shape.
            errs = self.validator.errors({"$ref": "#/components/schemas/Error"}, resp.json)
            bad += ["%s: %s" % (where, e) for e in errs]
            self.unrouted += bad
            return resp
        key = (tmpl, case.method)
        documented = self.spec.response(tmpl, case.method, resp.status)
        if documented is None:
            self.undocumented.append("%s %s -> %d (%s)" % (case.method, tmpl, resp.status, where))
            bad.append("%s: status %d is not documented for %s %s" % (where, resp.status, case.method, tmpl))
        else:
            bad += ["%s: %s" % (where, e) for e in self.check_response(tmpl, case.method, resp, documented)]
            # The request schema against the service, both ways: a body a PUT accepted must
            # satisfy it (the document is not stricter than the service), and a body refused for
            # a rule the schema expresses must break it (the document is not looser).
            if case.method == "PUT" and body and (resp.status in (200, 201) or case.schema_rejects):
                rb = self.spec.deref(self.spec.op(tmpl, "PUT").get("requestBody"))
                schema = rb["content"]["application/json"]["schema"]
                try:
                    errs = self.validator.errors(schema, json.loads(body), "request", mode="request")
                except ValueError:
                    errs = ["the body is not JSON"]
                if resp.status in (200, 201):
                    bad += ["%s: accepted request body breaks the request schema: %s" % (where, e) for e in errs]
                elif not errs:
                    bad.append("%s: the request schema accepts this body, the service refuses it (%s)" %
                               (where, resp.code()))
        if case.check and not bad:
            bad += ["%s: %s" % (where, e) for e in case.check(resp, self.ctx)]
        for k, fn in case.save.items():
            self.ctx[k] = fn(resp)
        if bad:
            for b in bad:
                self.problem(key, b)
        elif resp.status == case.status:
            k3 = (tmpl, case.method, resp.status)
            self.covered[k3] = self.covered.get(k3, 0) + 1
        return resp

    def check_response(self, tmpl, method, resp, documented):
        bad = []
        content = documented.get("content")
        if not content:
            if resp.body:
                bad.append("status %d documents no body, got %r" % (resp.status, resp.body[:100]))
        else:
            ctype = (resp.header("content-type") or "").split(";")[0].strip()
            if ctype not in content:
                bad.append("Content-Type %r is not documented (%s)" % (ctype, ", ".join(content)))
            elif ctype == "application/json":
                if resp.json is None:
                    bad.append("body is not JSON: %r" % resp.body[:200])
                else:
                    bad += self.validator.errors(content[ctype]["schema"], resp.json)
            else:
                schema = content[ctype].get("schema", {})
                if schema.get("type") == "string" and not resp.body.decode("utf-8", "replace"):
                    bad.append("empty %s body" % ctype)
        for name, h in (documented.get("headers") or {}).items():
            h = self.spec.deref(h)
            value = resp.header(name)
            if value is None:
                if h.get("required"):
                    bad.append("header %s is missing" % name)
                continue
            bad += ["header %s: %s" % (name, e) for e in self.validator.errors(h.get("schema", {}), value)]
        if resp.status == 405:
            want = ", ".join(self.spec.supported(tmpl))
            if resp.header("allow") != want:
                bad.append("Allow: %r, expected %r (the supported methods of the path)" % (resp.header("allow"), want))
        return bad


# ------------------------------------------------------------------ the table

def etag_of(resp):
    return resp.header("etag")


def expect(cond_fn, text):
    """check= helper: a predicate of (resp, ctx) and the problem to report when it is false."""
    def check(resp, ctx):
        try:
            return [] if cond_fn(resp, ctx) else [text]
        except Exception as e:  # a wrong shape is a failed check, not a crash
            return ["%s (%s: %s)" % (text, type(e).__name__, e)]
    return check


def build_cases(spec, cert_pem, quotas, brokers):
    C = Case
    cases = []
    add = cases.append
    thumb = "ab" * 32

    def ns_put(ns, status=201, body=None):
        return S("PUT", "/namespaces/" + ns, status, body if body is not None else {})

    # ---------------- operational routes
    add(C("health without a token", "GET", "/healthz", 200, auth="none",
          check=expect(lambda r, c: r.json["status"] == "ok", "status is not ok")))
    add(C("health ignores a wrong token", "GET", "/healthz", 200, auth="wrong"))
    add(C("readiness without a token", "GET", "/readyz", 200, auth="none",
          check=expect(lambda r, c: r.json == {"status": "ready", "missing": []}, "not ready")))
    add(C("readiness ignores a wrong token", "GET", "/readyz", 200, auth="wrong"))
    add(C("metrics", "GET", "/metrics", 200,
          check=expect(lambda r, c: b"egcontrol_change_sequence" in r.body, "no egcontrol_change_sequence")))
    add(C("no such route", "GET", "/namespaces/demo/widgets", 404, code="NotFound"))
    add(C("no such route (top level)", "GET", "/nothing-here", 404, code="NotFound"))

    # ---------------- the demo namespace: every kind of resource, for lists and the snapshot
    demo_ns = {"properties": {"topicSpacesConfiguration": {
        "state": "Enabled", "maximumSessionExpiryInHours": 2, "maximumClientSessionsPerAuthenticationName": 3,
        "clientAuthentication": {"alternativeAuthenticationNameSources": ["ClientCertificateSubject",
                                                                          "ClientCertificateDns"]}}},
        "sku": {"name": "Standard", "capacity": 2}, "location": "westeurope", "tags": {"env": "test"}}
    D = "/namespaces/demo"
    add(C("create the demo namespace", "PUT", D, 201, body=demo_ns,
          check=expect(lambda r, c: r.json["properties"]["topicSpacesConfiguration"]["hostname"] == "demo.localhost",
                       "hostname is not demo.localhost")))
    add(C("CA certificate", "PUT", D + "/caCertificates/dev-ca", 201,
          body={"properties": {"encodedCertificate": cert_pem, "description": "test CA"}}))
    add(C("client with attributes", "PUT", D + "/clients/device1", 201,
          body={"name": "device1", "properties": {"authenticationName": "device1", "state": "Enabled",
                                                  "attributes": {"type": "sensor", "floor": 3, "zones": ["north", "east"]},
                                                  "description": "first device"}}))
    add(C("client with ThumbprintMatch (stored upper-case)", "PUT", D + "/clients/device2", 201,
          body={"properties": {"clientCertificateAuthentication": {
              "validationScheme": "ThumbprintMatch", "allowedThumbprints": [thumb]}}},
          check=expect(lambda r, c: r.json["properties"]["clientCertificateAuthentication"]["allowedThumbprints"]
                       == [thumb.upper()], "thumbprint not stored upper-case")))
    add(C("client group", "PUT", D + "/clientGroups/sensors", 201,
          body={"properties": {"query": "attributes.type = 'sensor' AND attributes.floor <= 3",
                               "description": "sensors"}}))
    add(C("topic space", "PUT", D + "/topicSpaces/alerts", 201,
          body={"properties": {"topicTemplates": ["alerts/#", "devices/${client.authenticationName}/+"]}}))
    add(C("permission binding", "PUT", D + "/permissionBindings/alerts-pub", 201,
          body={"properties": {"clientGroupName": "sensors", "topicSpaceName": "alerts", "permission": "Publisher"}}))
    add(C("permission binding to $all", "PUT", D + "/permissionBindings/all-sub", 201,
          body={"properties": {"clientGroupName": "$all", "topicSpaceName": "alerts", "permission": "Subscriber"}}))
    add(C("built-in $all group readable", "GET", D + "/clientGroups/$all", 200))
    add(C("Content-Type is not checked", "PUT", "/namespaces/demo/clientGroups/plain-ct", 201,
          headers={"Content-Type": "text/plain"}, body={"properties": {"query": "authenticationName = 'x'"}}))
    add(C("delete it again", "DELETE", "/namespaces/demo/clientGroups/plain-ct", 204))

    def snapshot_ok(r, c):
        j = r.json
        return (j["namespace"] == "demo" and len(j["clients"]) == 2 and len(j["caCertificates"]) == 1
                and [g["name"] for g in j["clientGroups"]] == ["$all", "sensors"]
                and j["settings"]["throughputUnits"] == 2 and len(j["permissionBindings"]) == 2)
    add(C("snapshot of a populated namespace", "GET", D + "/snapshot", 200,
          check=expect(snapshot_ok, "snapshot content does not reflect the namespace")))
    add(C("snapshot of a missing namespace", "GET", "/namespaces/nowhere/snapshot", 404, code="NotFound"))

    # ---------------- 400s of every kind (PUT), in the demo namespace
    bad_puts = [
        ("body not JSON", D + "/clients/x1", "{not json", "InvalidJson"),
        ("body a JSON array", D + "/clients/x1", "[1, 2]", "InvalidJson"),
        ("empty body", D + "/clients/x1", None, "InvalidJson"),
        ("unknown field", D + "/clients/x1", {"properties": {"colour": "red"}}, "UnknownField"),
        ("unknown top-level field", D, {"properties": {}, "extra": 1}, "UnknownField"),
        ("name differs from the path", D + "/clients/x1", {"name": "x2"}, "InvalidProperty"),
        ("session expiry out of range", D,
         {"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 9}}}, "InvalidProperty"),
        ("sessions per name out of range", D,
         {"properties": {"topicSpacesConfiguration": {"maximumClientSessionsPerAuthenticationName": 0}}},
         "InvalidProperty"),
        ("state not in the enum", D, {"properties": {"topicSpacesConfiguration": {"state": "On"}}}, "InvalidProperty"),
        ("duplicate name source", D, {"properties": {"topicSpacesConfiguration": {"clientAuthentication": {
            "alternativeAuthenticationNameSources": ["ClientCertificateUri", "ClientCertificateUri"]}}}},
         "InvalidProperty"),
        ("sku capacity out of range", D, {"sku": {"name": "Standard", "capacity": 41}}, "InvalidProperty"),
        ("tag not a string", D, {"tags": {"env": 1}}, "InvalidProperty"),
        ("thumbprint not 64 hex digits", D + "/clients/x1", {"properties": {"clientCertificateAuthentication": {
            "validationScheme": "ThumbprintMatch", "allowedThumbprints": ["xyz"]}}}, "InvalidThumbprint"),
        ("ThumbprintMatch without thumbprints", D + "/clients/x1", {"properties": {
            "clientCertificateAuthentication": {"validationScheme": "ThumbprintMatch"}}}, "InvalidProperty"),
        ("thumbprints with another scheme", D + "/clients/x1", {"properties": {"clientCertificateAuthentication": {
            "validationScheme": "DnsMatchesAuthenticationName", "allowedThumbprints": [thumb]}}}, "InvalidProperty"),
        ("three thumbprints", D + "/clients/x1", {"properties": {"clientCertificateAuthentication": {
            "validationScheme": "ThumbprintMatch", "allowedThumbprints": ["a" * 64, "b" * 64, "c" * 64]}}},
         "InvalidProperty"),
        ("attribute name with '-'", D + "/clients/x1", {"properties": {"attributes": {"a-b": "x"}}}, "InvalidProperty"),
        ("attribute array of integers", D + "/clients/x1", {"properties": {"attributes": {"a": [1]}}}, "InvalidProperty"),
        ("description over 256 characters", D + "/clients/x1", {"properties": {"description": "d" * 257}},
         "InvalidProperty"),
        ("empty authenticationName", D + "/clients/x1", {"properties": {"authenticationName": ""}}, "InvalidProperty"),
        ("client state not in the enum", D + "/clients/x1", {"properties": {"state": "Off"}}, "InvalidProperty"),
        ("query that does not parse", D + "/clientGroups/broken", {"properties": {"query": "attributes.type = "}},
         "InvalidQuery"),
        ("client group without query", D + "/clientGroups/broken", {"properties": {}}, "InvalidProperty"),
        ("query over 2048 bytes", D + "/clientGroups/broken",
         {"properties": {"query": "attributes.a = '" + "q" * 2100 + "'"}}, "InvalidProperty"),
        ("writing $all", D + "/clientGroups/$all", {"properties": {"query": "attributes.a = 'b'"}},
         "ReadOnlyResource"),
        ("topic template not a filter", D + "/topicSpaces/broken", {"properties": {"topicTemplates": ["a/#/b"]}},
         "InvalidTopicTemplate"),
        ("topic template with an unknown variable", D + "/topicSpaces/broken",
         {"properties": {"topicTemplates": ["a/${client.colour}"]}}, "InvalidTopicTemplate"),
        ("no topic templates", D + "/topicSpaces/broken", {"properties": {"topicTemplates": []}}, "InvalidProperty"),
        ("repeated topic template", D + "/topicSpaces/broken", {"properties": {"topicTemplates": ["a", "a"]}},
         "InvalidProperty"),
        ("eleven topic templates", D + "/topicSpaces/broken",
         {"properties": {"topicTemplates": ["t/%d" % i for i in range(11)]}}, "InvalidProperty"),
        ("binding to a missing group", D + "/permissionBindings/broken", {"properties": {
            "clientGroupName": "nope-group", "topicSpaceName": "alerts", "permission": "Publisher"}},
         "ReferenceNotFound"),
        ("binding to a missing topic space", D + "/permissionBindings/broken", {"properties": {
            "clientGroupName": "sensors", "topicSpaceName": "nope-space", "permission": "Publisher"}},
         "ReferenceNotFound"),
        ("permission not in the enum", D + "/permissionBindings/broken", {"properties": {
            "clientGroupName": "sensors", "topicSpaceName": "alerts", "permission": "Owner"}}, "InvalidProperty"),
        ("binding without permission", D + "/permissionBindings/broken", {"properties": {
            "clientGroupName": "sensors", "topicSpaceName": "alerts"}}, "InvalidProperty"),
        ("certificate not PEM", D + "/caCertificates/broken", {"properties": {"encodedCertificate": "hello"}},
         "InvalidCertificate"),
        ("two certificates", D + "/caCertificates/broken",
         {"properties": {"encodedCertificate": cert_pem + "\n" + cert_pem}}, "InvalidCertificate"),
        ("certificate missing", D + "/caCertificates/broken", {"properties": {}}, "InvalidProperty"),
    ]
    # Rules the request schema expresses too: it must refuse these bodies (Runner.run checks).
    expressible = {
        "body a JSON array", "unknown field", "unknown top-level field", "session expiry out of range",
        "sessions per name out of range", "state not in the enum", "duplicate name source",
        "sku capacity out of range", "tag not a string", "thumbprint not 64 hex digits", "three thumbprints",
        "attribute array of integers", "description over 256 characters", "empty authenticationName",
        "client state not in the enum", "client group without query", "query over 2048 bytes",
        "no topic templates", "repeated topic template", "eleven topic templates", "permission not in the enum",
        "binding without permission", "certificate not PEM", "certificate missing",
    }
    for name, path, body, code in bad_puts:
        add(C("400 " + name, "PUT", path, 400, body=body, code=code, schema_rejects=name in expressible))
    add(C("400 PATCH writing $all", "PATCH", D + "/clientGroups/$all", 400, body={}, code="ReadOnlyResource"))
    add(C("400 DELETE of $all", "DELETE", D + "/clientGroups/$all", 400, code="ReadOnlyResource"))
    add(C("400 PATCH making a namespace invalid", "PATCH", D, 400,
          body={"properties": {"topicSpacesConfiguration": {"maximumSessionExpiryInHours": 0}}}, code="InvalidProperty"))
    add(C("400 PATCH changing authenticationName", "PATCH", D + "/clients/device1", 400,
          body={"properties": {"authenticationName": "other"}}, code="InvalidProperty"))
    add(C("400 PATCH removing a required property", "PATCH", D + "/topicSpaces/alerts", 400,
          body={"properties": {"topicTemplates": None}}, code="InvalidProperty"))
    add(C("400 PATCH with a dangling reference", "PATCH", D + "/permissionBindings/alerts-pub", 400,
          body={"properties": {"topicSpaceName": "nope-space"}}, code="ReferenceNotFound"))
    add(C("400 PATCH of a CA certificate with a bad PEM", "PATCH", D + "/caCertificates/dev-ca", 400,
          body={"properties": {"encodedCertificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}},
          code="InvalidCertificate"))
    add(C("400 PATCH body not JSON", "PATCH", D + "/clients/device1", 400, body="{", code="InvalidJson"))

    # ---------------- 409s
    add(C("409 authentication name in use (case-insensitive)", "PUT", D + "/clients/device9", 409,
          body={"properties": {"authenticationName": "DEVICE1"}}, code="AuthenticationNameInUse"))
    add(C("409 deleting a client group a binding uses", "DELETE", D + "/clientGroups/sensors", 409,
          code="ResourceInUse"))
    add(C("409 deleting a topic space a binding uses", "DELETE", D + "/topicSpaces/alerts", 409,
          code="ResourceInUse"))
    # Quotas (egcontrol runs with small ones, see the test script): fill each kind of the demo namespace.
    fills = {
        "clients": lambda i: {"properties": {"attributes": {"n": i}}},
        "clientGroups": lambda i: {"properties": {"query": "attributes.n = %d" % i}},
        "topicSpaces": lambda i: {"properties": {"topicTemplates": ["fill/%d/#" % i]}},
        "permissionBindings": lambda i: {"properties": {"clientGroupName": "$all", "topicSpaceName": "alerts",
                                                        "permission": "Subscriber"}},
        "caCertificates": lambda i: {"properties": {"encodedCertificate": cert_pem}},
    }
    present = {"clients": 2, "clientGroups": 1, "topicSpaces": 1, "permissionBindings": 2, "caCertificates": 1}
    for coll, body in fills.items():
        setup = [S("PUT", "%s/%s/fill-%d" % (D, coll, i), 201, body(i)) for i in range(quotas[coll] - present[coll])]
        add(C("409 quota of %s (%d)" % (coll, quotas[coll]), "PUT", "%s/%s/one-more" % (D, coll), 409,
              body=body(99), code="QuotaExceeded", setup=setup))

    # ---------------- lists and paging
    def page_check(n_expected_total, coll_path):
        def check(resp, ctx):
            problems = []
            names, url, pages = [], None, 0
            r = resp
            while True:
                pages += 1
                names += [x["name"] for x in r.json["value"]]
                link = r.json.get("nextLink")
                if not link:
                    break
                u = urllib.parse.urlsplit(link)
                if u.path != coll_path:
                    problems.append("nextLink %s does not point at %s" % (link, coll_path))
                    break
                url = u.path + "?" + u.query
                r = ctx["runner"].run(Case("next page", "GET", url, 200))
                if r is None or r.status != 200 or pages > 50:
                    problems.append("following nextLink failed")
                    break
            if names != sorted(names) or len(names) != len(set(names)):
                problems.append("pages not sorted by name or repeating: %s" % names)
            if n_expected_total is not None and len(names) != n_expected_total:
                problems.append("%d items over %d pages, expected %d" % (len(names), pages, n_expected_total))
            return problems
        return check

    lists = [("clients", quotas["clients"]), ("clientGroups", quotas["clientGroups"] + 1),
             ("topicSpaces", quotas["topicSpaces"]), ("permissionBindings", quotas["permissionBindings"]),
             ("caCertificates", quotas["caCertificates"])]
    for coll, total in lists:
        p = "%s/%s" % (D, coll)
        add(C("list %s a page of one at a time" % coll, "GET", p + "?$top=1", 200, check=page_check(total, p)))
        add(C("list %s, api-version ignored" % coll, "GET", p + "?api-version=2025-02-15-preview", 200,
              check=expect(lambda r, c, t=total: len(r.json["value"]) == t and "nextLink" not in r.json,
                           "default page does not hold everything")))
        add(C("list %s in a missing namespace" % coll, "GET", "/namespaces/nowhere/" + coll, 404, code="NotFound"))
        add(C("list %s with $top=0" % coll, "GET", p + "?$top=0", 400, code="InvalidQueryParameter"))
    add(C("list namespaces", "GET", "/namespaces", 200,
          check=expect(lambda r, c: "demo" in [x["name"] for x in r.json["value"]], "demo not listed")))
    for q in ("$top=0", "$top=1001", "$top=abc", "$top=", "$skipToken=", "$skipToken=" + "s" * 201, "colour=red"):
        add(C("list namespaces ?%s" % q, "GET", "/namespaces?" + q, 400, code="InvalidQueryParameter"))
    add(C("list namespaces $top=1000", "GET", "/namespaces?$top=1000", 200))

    # ---------------- the lifecycle of every kind: 201/200/204/404/412, ETags
    thumbs2 = ["cd" * 32, "ef" * 32]
    kinds = [
        # (collection, name, body, patch, patched(resp) check, dependencies)
        ("clients", "life:client.1", {"properties": {"attributes": {"type": "sensor"}}},
         {"properties": {"state": "Disabled", "attributes": {"type": None, "room": "b2"}}},
         lambda p: p["state"] == "Disabled" and p["attributes"] == {"room": "b2"}, []),
        ("clientGroups", "life-group", {"properties": {"query": "attributes.type = 'sensor'"}},
         {"properties": {"description": "patched"}},
         lambda p: p["description"] == "patched" and p["query"] == "attributes.type = 'sensor'", []),
        ("topicSpaces", "life-space", {"properties": {"topicTemplates": ["a/#"]}},
         {"properties": {"topicTemplates": ["b/+", "c/${client.attributes.room}/#"]}},
         lambda p: p["topicTemplates"] == ["b/+", "c/${client.attributes.room}/#"], []),
        ("permissionBindings", "life-binding", {"properties": {"clientGroupName": "$all", "topicSpaceName": "space-a",
                                                               "permission": "Publisher"}},
         {"properties": {"permission": "Subscriber", "description": "patched"}},
         lambda p: p["permission"] == "Subscriber",
         [("topicSpaces/space-a", {"properties": {"topicTemplates": ["x/#"]}})]),
        ("caCertificates", "life-ca", {"properties": {"encodedCertificate": cert_pem}},
         {"properties": {"description": "patched"}}, lambda p: p["description"] == "patched", []),
    ]
    for coll, name, body, patch, patched, deps in kinds:
        ns = "life-" + coll.lower()[:10]
        base = "/namespaces/%s/%s" % (ns, coll)
        item = "%s/%s" % (base, urllib.parse.quote(name, safe=":"))
        add(C("%s: PUT in a missing namespace" % coll, "PUT", "/namespaces/nowhere/%s/%s" % (coll, name), 404,
              body=body, code="NotFound",
              setup=[ns_put(ns)] + [S("PUT", "/namespaces/%s/%s" % (ns, d), 201, b) for d, b in deps]))
        add(C("%s: GET in a missing namespace" % coll, "GET", "/namespaces/nowhere/%s/%s" % (coll, name), 404,
              code="NotFound"))
        lifecycle(add, coll, item, body, patch, patched)
        add(C("%s: list after delete" % coll, "GET", base, 200,
              check=expect(lambda r, c, n=name: n not in [x["name"] for x in r.json["value"]], "deleted item listed")))
    # The namespace itself; deleting it pushes a tombstone and the snapshot is gone.
    lifecycle(add, "namespaces", "/namespaces/life-ns", {"properties": {}, "tags": {"a": "b"}},
              {"tags": None, "sku": {"capacity": 4}},
              None, setup_children=True)
    add(C("snapshot of a deleted namespace", "GET", "/namespaces/life-ns/snapshot", 404, code="NotFound"))
    add(C("sub-resource of a deleted namespace", "GET", "/namespaces/life-ns/clients/c1", 404, code="NotFound"))

    # ---------------- brokers: one up (the fake broker), one down
    def brokers_ok(r, c):
        got = {b["name"]: b for b in r.json["value"]}
        return set(got) == {b["name"] for b in brokers} and all(b["namespaces"] for b in got.values())
    add(C("brokers", "GET", "/brokers", 200,
          check=expect(brokers_ok, "GET /brokers does not list both configured brokers with namespaces")))

    # ---------------- 409 namespaces quota: fill up to it (last: it blocks new namespaces)
    def fill_namespaces(ctx):
        r = ctx["runner"]
        listed = r.run(Case("count namespaces", "GET", "/namespaces?$top=1000", 200))
        have = len(listed.json["value"]) if listed is not None and listed.status == 200 else 0
        for i in range(quotas["namespaces"] - have):
            r.run(S("PUT", "/namespaces/fill-ns-%02d" % i, 201, {}))
        return "/namespaces/over-quota"
    add(C("409 quota of namespaces (%d)" % quotas["namespaces"], "PUT", fill_namespaces, 409, body={},
          code="QuotaExceeded"))
    add(C("quota reached: an existing namespace can still be replaced", "PUT", D, 200, body=demo_ns))
    return cases


def lifecycle(add, coll, item, body, patch, patched, setup_children=False):
    """201/200/204/404/412 and ETags on one item path."""
    C = Case
    tag = coll
    get_etag = {"etag": etag_of}
    add(C("%s: GET before create" % tag, "GET", item, 404, code="NotFound"))
    add(C("%s: PATCH before create" % tag, "PATCH", item, 404, body=patch, code="NotFound"))
    add(C("%s: DELETE before create" % tag, "DELETE", item, 404, code="NotFound"))
    add(C("%s: PUT with If-Match of a missing resource" % tag, "PUT", item, 412, body=body,
          headers={"If-Match": "*"}, code="PreconditionFailed"))
    add(C("%s: create with If-None-Match: *" % tag, "PUT", item, 201, body=body,
          headers={"If-None-Match": "*"}, save=get_etag))
    add(C("%s: create again with If-None-Match: *" % tag, "PUT", item, 412, body=body,
          headers={"If-None-Match": "*"}, code="PreconditionFailed"))
    add(C("%s: replace" % tag, "PUT", item, 200, body=body, save={"etag2": etag_of},
          check=expect(lambda r, c: r.header("etag") != c["etag"], "ETag did not change on replace")))
    add(C("%s: GET" % tag, "GET", item, 200, save={"got": lambda r: r.json},
          check=expect(lambda r, c: r.header("etag") == c["etag2"], "GET ETag differs from the last write's")))
    add(C("%s: send the GET result back (read-only fields ignored)" % tag, "PUT", item, 200,
          body=lambda c: c["got"], headers={"If-Match": lambda c: c["etag2"]}, save={"etag3": etag_of}))
    add(C("%s: PUT with a stale If-Match" % tag, "PUT", item, 412, body=body,
          headers={"If-Match": lambda c: c["etag"]}, code="PreconditionFailed"))
    add(C("%s: PATCH with a stale If-Match" % tag, "PATCH", item, 412, body=patch,
          headers={"If-Match": lambda c: c["etag"]}, code="PreconditionFailed"))
    add(C("%s: PATCH" % tag, "PATCH", item, 200, body=patch,
          headers={"If-Match": lambda c: c["etag3"], "Content-Type": "application/merge-patch+json"},
          check=expect(lambda r, c: patched is None or patched(r.json["properties"]), "patch not applied")))
    if setup_children:
        add(C("%s: a client in it" % tag, "PUT", item + "/clients/c1", 201, body={}))
    add(C("%s: DELETE with a stale If-Match" % tag, "DELETE", item, 412,
          headers={"If-Match": lambda c: c["etag"]}, code="PreconditionFailed"))
    add(C("%s: DELETE" % tag, "DELETE", item, 204, headers={"If-Match": "*"}))
    add(C("%s: GET after DELETE" % tag, "GET", item, 404, code="NotFound"))
    add(C("%s: DELETE again" % tag, "DELETE", item, 404, code="NotFound"))


def generic_cases(spec):
    """400 (bad names), 401, 405 and 413 for every operation that documents them."""
    cases = []
    sample = {"ns": "gen-ns", "name": "gen-name"}
    bad_values = {"ns": "x~", "name": "bad~name"}
    for tmpl, method, op in spec.operations():
        statuses = set(int(s) for s in op["responses"] if s != "default")
        path = tmpl.format(**sample)
        body = None if method in ("GET", "DELETE") else {}
        label = "%s %s" % (method, tmpl)
        public = op.get("security") == []
        if 401 in statuses:
            auth = "none" if UNSUPPORTED_TAG in (op.get("tags") or []) else "wrong"
            cases.append(Case("%s: no valid token" % label, method, path, 401, body=body, code="Unauthorized",
                              auth=auth))
        if 413 in statuses:
            cases.append(Case("%s: body over the limit" % label, method, path, 413, code="PayloadTooLarge",
                              auth="none" if public else "ok", big=True))
        if 405 in statuses:
            cases.append(Case("%s: not supported" % label, method, path, 405, body=body, code="MethodNotAllowed",
                              auth="none" if public else "ok"))
        if 400 in statuses:
            params = re.findall(r"\{(\w+)\}", tmpl)
            for p in params:
                values = dict(sample)
                values[p] = bad_values[p]
                cases.append(Case("%s: invalid {%s}" % (label, p), method, tmpl.format(**values), 400, body=body,
                                  code="InvalidResourceName"))
            if not params and UNSUPPORTED_TAG in (op.get("tags") or []):
                cases.append(Case("%s: unknown query parameter" % label, method, path + "?colour=red", 400,
                                  body=body, code="InvalidQueryParameter"))
    # Name rules at their edges, on GET (answers 404 when valid and absent).
    edges = [
        ("/namespaces/abc", 404), ("/namespaces/ab", 400), ("/namespaces/" + "n" * 50, 404),
        ("/namespaces/" + "n" * 51, 400), ("/namespaces/demo/clients/a", 404),
        ("/namespaces/demo/clients/a:b.c_d-e", 404), ("/namespaces/demo/clients/" + "c" * 128, 404),
        ("/namespaces/demo/clients/" + "c" * 129, 400), ("/namespaces/demo/clients/a%20b", 400),
        ("/namespaces/demo/topicSpaces/a_b", 400), ("/namespaces/demo/caCertificates/a.b", 400),
        ("/namespaces/demo/permissionBindings/ab", 400), ("/namespaces/demo/clientGroups/$al", 400),
    ]
    for path, status in edges:
        cases.append(Case("name rule: GET %s" % path, "GET", path, status,
                          code="InvalidResourceName" if status == 400 else "NotFound"))
    return cases


# ------------------------------------------------------------------ fake broker

class FakeBroker:
    def __init__(self, port, token):
        self.token = token
        self.pushes = []   # (namespace, document)
        self.problems = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                if self.path != "/snapshots":
                    outer.problems.append("push to %s, not /snapshots" % self.path)
                if self.headers.get("Authorization") != "Bearer " + outer.token:
                    outer.problems.append("push without the broker's bearer token")
                try:
                    doc = json.loads(body)
                except ValueError:
                    outer.problems.append("push body is not JSON: %r" % body[:100])
                    doc = {}
                outer.pushes.append(doc)
                out = json.dumps({"appliedVersion": doc.get("version", 0)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ README route table

def readme_routes(text):
    """{path template: set of methods} from the "Routes" table of api/README.md."""
    routes = {}
    section = text.split("## Routes", 1)[1].split("\n## ", 1)[0]
    previous = None
    for line in section.splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$", line)
        if not m:
            continue
        path, desc = m.group(1), m.group(2)
        if desc.strip() == "same":
            desc = previous
        previous = desc
        methods = [x for x in re.findall(r"`([A-Z]+)`", desc) if x in ("GET", "PUT", "PATCH", "DELETE", "POST")]
        opt = re.match(r"^(.*)\[(/\{\w+\})\]$", path)
        if opt:
            base, item = opt.group(1), opt.group(1) + opt.group(2)
            routes[base] = {"GET"} if "list" in desc else set()
            routes[item] = set(methods)
        else:
            routes[path] = set(methods) | ({"GET"} if "(list)" in desc else set())
    return routes


# ------------------------------------------------------------------ main

def static_checks(doc, spec, readme, report):
    ok = isinstance(doc, dict) and re.match(r"^3\.0\.\d+$", str(doc.get("openapi", "")))
    report.line(bool(ok), "openapi.yaml parses (YAML, no duplicate keys) and declares openapi 3.0.x (%s)" % (doc or {}).get("openapi"))
    if not ok:
        return False
    bad = []
    n = 0
    for where, ref in walk_refs(doc):
        n += 1
        try:
            resolve_pointer(doc, ref)
        except KeyError:
            bad.append("%s: $ref %s does not resolve" % (where, ref))
    report.line(not bad, "every $ref resolves (%d)" % n, bad)
    if bad:
        return False

    bad = []
    ids = {}
    for tmpl, m, op in spec.operations():
        oid = op.get("operationId")
        if not oid:
            bad.append("%s %s has no operationId" % (m, tmpl))
        elif oid in ids:
            bad.append("operationId %s repeated (%s %s, %s)" % (oid, m, tmpl, ids[oid]))
        ids[oid] = "%s %s" % (m, tmpl)
        declared = {name for (loc, name) in spec.params(tmpl, m) if loc == "path"}
        used = set(re.findall(r"\{(\w+)\}", tmpl))
        if declared != used:
            bad.append("%s %s: path parameters declared %s, used %s" % (m, tmpl, sorted(declared), sorted(used)))
        if not op.get("responses"):
            bad.append("%s %s has no responses" % (m, tmpl))
    report.line(not bad, "operationIds unique, path parameters declared (%d operations)" % len(ids), bad)

    bad = []
    count = 0
    for where, s in all_schemas(doc):
        count += 1
        unknown = set(s) - SCHEMA_KEYWORDS
        if unknown:
            bad.append("%s: keywords %s are not checked by this test" % (where, sorted(unknown)))
        if "$ref" in s and len(s) > 1:
            bad.append("%s: members beside $ref are ignored in OpenAPI 3.0" % where)
        if s.get("nullable") and "type" not in s:
            bad.append("%s: nullable without type has no effect in OpenAPI 3.0.3" % where)
    report.line(not bad, "schemas use only keywords this test validates (%d schemas)" % count, bad)

    # README routes, both ways.
    want = readme_routes(readme)
    have = {tmpl: set(spec.supported(tmpl)) for tmpl in spec.paths}
    bad = []
    for path in sorted(set(want) | set(have)):
        if want.get(path) != have.get(path):
            bad.append("%s: README %s, openapi.yaml %s" % (path, sorted(want.get(path, [])),
                                                             sorted(have.get(path, []))))
    report.line(not bad, "paths and methods equal api/README.md's route table (%d paths)" % len(want), bad)

    # Conventions.
    bad = []
    for tmpl, m, op in spec.operations():
        st = set(op["responses"])
        public = op.get("security") == []
        unsupported = UNSUPPORTED_TAG in (op.get("tags") or [])
        if "413" not in st:
            bad.append("%s %s: no 413" % (m, tmpl))
        if public != (tmpl in ("/healthz", "/readyz")):
            bad.append("%s %s: security %s" % (m, tmpl, op.get("security")))
        if ("401" in st) == public:
            bad.append("%s %s: 401 %s but security %s" % (m, tmpl, "documented" if "401" in st else "missing",
                                                           op.get("security")))
        if "{" in tmpl and "400" not in st:
            bad.append("%s %s: a name in the path but no 400" % (m, tmpl))
        if unsupported != ("405" in st):
            bad.append("%s %s: 405 must be documented exactly on unsupported methods" % (m, tmpl))
        for code in ("200", "201"):
            r = spec.response(tmpl, m, int(code))
            is_item = tmpl.count("{") == 2 or tmpl == "/namespaces/{ns}"
            if r and is_item and "ETag" not in (r.get("headers") or {}):
                bad.append("%s %s %s: no ETag header" % (m, tmpl, code))
        if m in ("PUT", "PATCH", "DELETE") and not unsupported:
            names = {name for (loc, name) in spec.params(tmpl, m) if loc == "header"}
            if "If-Match" not in names or (m == "PUT" and "If-None-Match" not in names):
                bad.append("%s %s: If-Match / If-None-Match not declared" % (m, tmpl))
        if m == "GET" and not tmpl.endswith("}") and tmpl.startswith("/namespaces") and not tmpl.endswith("snapshot"):
            names = {name for (loc, name) in spec.params(tmpl, m) if loc == "query"}
            if not {"$top", "$skipToken"} <= names:
                bad.append("%s %s: a list without $top / $skipToken" % (m, tmpl))
    for tmpl in spec.paths:
        methods = set(m for m in METHODS if m in spec.paths[tmpl])
        if methods != set(METHODS):
            bad.append("%s: methods %s; each of %s must be documented (supported, or 405)" %
                       (tmpl, sorted(methods), list(METHODS)))
    if doc.get("security") != [{"bearerAuth": []}] or \
            doc.get("components", {}).get("securitySchemes", {}).get("bearerAuth", {}).get("scheme") != "bearer":
        bad.append("global security is not bearerAuth (http bearer)")
    report.line(not bad, "conventions: 401/413/400/405, ETag, If-Match, paging parameters, bearerAuth", bad)
    return True


def parse_metrics(text):
    out = {}
    rx = re.compile(r'^egcontrol_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\} (\d+)$')
    for line in text.splitlines():
        m = rx.match(line)
        if m:
            out[(m.group(2), m.group(1), int(m.group(3)))] = int(m.group(4))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--config", required=True, help="egcontrol's config file (quotas, brokers)")
    ap.add_argument("--ca-pem", required=True)
    ap.add_argument("--fake-broker-port", type=int, required=True)
    ap.add_argument("--fake-broker-token", required=True)
    args = ap.parse_args()
    report = Report()

    try:
        with open(args.spec) as f:
            doc = yaml.load(f, Loader=StrictLoader)
    except (OSError, yaml.YAMLError) as e:
        report.line(False, "openapi.yaml parses (YAML, no duplicate keys)", [str(e)])
        return 1
    spec = Spec(doc)
    with open(args.readme) as f:
        readme = f.read()
    if not static_checks(doc, spec, readme, report):
        return 1

    with open(args.token_file) as f:
        token = f.readline().strip()
    with open(args.config) as f:
        config = json.load(f)
    quotas = config["quotas"]
    with open(args.ca_pem) as f:
        cert_pem = f.read()
    broker = FakeBroker(args.fake_broker_port, args.fake_broker_token)

    runner = Runner(spec, args.port, token)
    runner.ctx["runner"] = runner
    cases = build_cases(spec, cert_pem, quotas, config["brokers"]) + generic_cases(spec)
    started = time.time()
    # The fake broker gets its pushes while the cases run; GET /brokers must show them, so wait
    # for the first acknowledged push before the brokers case.
    for case in cases:
        if case.path == "/brokers":
            deadline = time.time() + 10
            while time.time() < deadline and not broker.pushes:
                time.sleep(0.05)
        try:
            runner.run(case)
        except Exception as e:  # a case built on an earlier one that failed: report, go on
            runner.unrouted.append("%s: %s: %s" % (case.name, type(e).__name__, e))

    # Pushed snapshots: the documented schema, versions growing per namespace, the tombstone.
    deadline = time.time() + 10
    while time.time() < deadline and not any(p.get("deleted") for p in broker.pushes):
        time.sleep(0.05)
    broker.stop()
    val = runner.validator
    bad = list(broker.problems)
    last = {}
    for i, p in enumerate(broker.pushes):
        bad += ["push %d (%s): %s" % (i, p.get("namespace"), e)
                for e in val.errors({"$ref": "#/components/schemas/Snapshot"}, p)]
        ns, v = p.get("namespace"), p.get("version", 0)
        if ns in last and v <= last[ns]:
            bad.append("push %d: namespace %s version %s after %s" % (i, ns, v, last[ns]))
        last[ns] = v
    if not any(p.get("deleted") and p.get("namespace") == "life-ns" for p in broker.pushes):
        bad.append("no tombstone pushed for the deleted namespace life-ns")
    if not any(not p.get("deleted") and p.get("namespace") == "demo" and p.get("clients") for p in broker.pushes):
        bad.append("no snapshot of demo with its clients pushed")
    report.line(not bad, "%d pushed snapshots match the Snapshot schema, versions grow, tombstone sent" %
                len(broker.pushes), bad)

    # /metrics, both ways.
    try:
        text = http_request(args.port, "GET", "/metrics", {"Authorization": "Bearer " + token}).body.decode()
    except (OSError, ValueError, IndexError) as e:
        report.line(False, "GET /metrics at the end", [str(e)])
        text = ""
    counted = parse_metrics(text)
    documented = spec.documented_triples()
    documented_all = spec.documented_triples(include_500=True)
    observed = {k for k in counted if k[0] != "other"}

    for tmpl, m, op in spec.operations():
        want = sorted(s for (t, mm, s) in documented if t == tmpl and mm == m)
        missing_cases = [s for s in want if not runner.covered.get((tmpl, m, s))]
        missing_metrics = [s for s in want if (tmpl, m, s) not in counted]
        problems = runner.problems.get((tmpl, m), [])
        reasons = []
        if missing_cases:
            reasons.append("statuses no passing case produced: %s" % missing_cases)
        if missing_metrics:
            reasons.append("statuses /metrics never counted: %s" % missing_metrics)
        reasons += problems
        report.line(not reasons, "%s %s: %s driven, responses match the document" %
                    (m, tmpl, " ".join(str(s) for s in want)), reasons)

    bad = ["/metrics counted %s %s -> %d, not documented" % (m, t, s)
           for (t, m, s) in sorted(observed - documented_all)]
    bad += runner.undocumented
    report.line(not bad, "no undocumented responses (%d route/method/status triples counted)" % len(observed), bad)

    bad = []
    for k in sorted(set(counted) | set(runner.sent)):
        if counted.get(k, 0) != runner.sent.get(k, 0):
            bad.append("%s %s -> %d: /metrics %d, requests sent %d" % (k[1], k[0], k[2], counted.get(k, 0),
                                                                       runner.sent.get(k, 0)))
    report.line(not bad, "request counters in /metrics equal the requests sent (%d requests)" %
                sum(runner.sent.values()), bad)
    report.line(not runner.unrouted, "paths matching no route: 404 NotFound, counted as route \"other\"",
                runner.unrouted)

    # The metric families GET /metrics documents, with the two brokers of the configuration.
    families = [r"^egcontrol_change_sequence \d+$",
                r'^egcontrol_snapshot_pushes_total\{broker="fake",result="ok"\} [1-9]\d*$',
                r'^egcontrol_snapshot_pushes_total\{broker="down",result="error"\} [1-9]\d*$',
                r'^egcontrol_broker_applied_version\{broker="fake",namespace="demo"\} [1-9]\d*$']
    bad = ["no line matches %s" % f for f in families if not re.search(f, text, re.M)]
    report.line(not bad, "GET /metrics has the documented families (change sequence, pushes, applied versions)", bad)
    print("# %d cases, %d requests in %.1f s; %d documented route/method/status triples (500 aside: %d)" %
          (len(cases), sum(runner.sent.values()), time.time() - started, len(documented_all), len(documented)))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
