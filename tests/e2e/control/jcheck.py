#!/usr/bin/env python3
"""JSON assertions for the egcontrol end-to-end tests (stdlib only).

    jcheck.py FILE ASSERTION...

Each ASSERTION is PATH OP VALUE where PATH is dotted with [i] indexes
(`properties.topicTemplates[0]`, `value[-1].name`; `.` alone is the document) and OP is
  =   equals: strings compare raw, anything else as compact JSON (`=1`, `=[]`, `=null`);
      `=<absent>` holds when the path does not exist
  ~   the value (raw string, or compact JSON) matches the Python regex (re.search)
  #=  the array/object/string has that length
  @=  the object's keys, sorted and joined with commas (`settings@=a,b,c`)
  :type  the value has the JSON type (`:string`, `:integer`, `:object`, `:array`, ...)
Exit 0 if all hold; else 1, printing each failure and the start of the document.

    jcheck.py --get FILE PATH...   prints each value (raw string or compact JSON), one a line;
                                   PATH# prints the length
    jcheck.py --serve              reads requests from stdin, one a line: the arguments above
                                   separated by tabs (backslash, tab and newline escaped
                                   as \\\\, \\t, \\n); answers with the output, then `__END__ RC`
                                   (saves a Python start per check)
"""
import json
import re
import sys

ABSENT = object()


def walk(doc, path):
    if path in (".", ""):
        return doc
    cur = doc
    for part in re.findall(r"[^.\[\]]+|\[-?\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(cur, list) or not -len(cur) <= i < len(cur):
                return ABSENT
            cur = cur[i]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return ABSENT
            cur = cur[part]
    return cur


def show(v):
    if v is ABSENT:
        return "<absent>"
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), sort_keys=False)


def typename(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(v), "?")


def check(doc, a):
    m = re.match(r"^(.*?)(#=|@=|=|~|:(?=[a-z]+$))(.*)$", a, re.S)
    if not m:
        return "bad assertion %r" % a
    path, op, want = m.groups()
    v = walk(doc, path)
    if op == "=":
        if want == "<absent>":
            ok = v is ABSENT
        elif v is ABSENT:
            ok = False
        elif isinstance(v, str):
            ok = v == want
        else:
            try:
                ok = v == json.loads(want) and typename(v) == typename(json.loads(want))
            except ValueError:
                ok = False
    elif op == "~":
        ok = v is not ABSENT and re.search(want, show(v)) is not None
    elif op == "@=":
        ok = isinstance(v, dict) and ",".join(sorted(v)) == want
        if isinstance(v, dict):
            v = ",".join(sorted(v))
    elif op == "#=":
        ok = isinstance(v, (list, dict, str)) and len(v) == int(want)
    else:
        ok = v is not ABSENT and typename(v) == want
    if ok:
        return None
    got = show(v)
    if len(got) > 300:
        got = got[:300] + "..."
    return "%s: want %s%s, got %s" % (path, op if op != "=" else "", want, got)


def main(args):
    get = args and args[0] == "--get"
    if get:
        args = args[1:]
    path, asserts = args[0], args[1:]
    text = open(path, "rb").read().decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError as e:
        if get:
            for _ in asserts:
                print("<absent>")
            return 1
        print("body is not JSON (%s): %s" % (e, text[:300]))
        return 1
    if get:
        for p in asserts:
            if p.endswith("#"):  # the length
                v = walk(doc, p[:-1])
                print(len(v) if isinstance(v, (list, dict, str)) else "<absent>")
            else:
                print(show(walk(doc, p)))
        return 0
    fails = [f for f in (check(doc, a) for a in asserts) if f]
    for f in fails:
        print(f)
    if fails:
        print("body: " + text[:400])
    return 1 if fails else 0


def unescape(field):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), field)


def serve():
    for line in sys.stdin:
        args = [unescape(f) for f in line.rstrip("\n").split("\t")]
        try:
            rc = main(args)
        except Exception as e:  # a bad request must not end the server
            print("jcheck error: %r" % e)
            rc = 2
        print("__END__ %d" % rc, flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--serve":
    serve()
else:
    sys.exit(main(sys.argv[1:]))
