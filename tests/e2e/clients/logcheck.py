#!/usr/bin/env python3
"""Checks one connection in an mqtt_wire_probe JSON log.

usage: logcheck.py LOG (--client ID | --last) [--file NAME=PATH]... [--allow-errors] EXPR...

Selects the connection whose CONNECT carried client id ID (the last such one), or the last
connection opened, waits (up to 5 s) until the probe has logged it closed, then evaluates
each Python expression EXPR; every one must be true. Exit status 0 if all hold, else 1
with the reasons on stdout.

Unless --allow-errors is given, it also requires that no packet of the connection failed to
decode and that every decoded packet re-encoded to the same fields ("reencode":"ok").
Every packet the probe sent must have decoded back (always required).

Names available to the expressions:
  ins / outs      decoded packets received / sent by the probe (dicts, in order)
  errs            lines for packets that failed to decode (with "error")
  connect         the CONNECT packet (dict) or None
  pubs, out_pubs  PUBLISH packets received / sent
  of(t, lst=ins)  the packets of type t ("PUBACK", ...) in lst
  first(t, lst=ins)
  eq(actual, expected, what=None)   true, or fails with both values shown
  files: each --file NAME=PATH as NAME (parsed JSON, else a list of lines)
  sha256_file(path), json, re
"""
import hashlib
import json
import re
import sys
import time


class Failure(Exception):
    pass


def eq(actual, expected, what=None):
    if actual != expected:
        raise Failure("%sexpected %r, got %r" % (what + ": " if what else "", expected, actual))
    return True


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [json.loads(line) for line in f if line.strip()]


def select(lines, client, last):
    opened = [l["conn"] for l in lines if l.get("event") == "open"]
    if last:
        return opened[-1] if opened else None
    ids = [l["conn"] for l in lines if l.get("type") == "CONNECT" and l.get("dir") == "in"
           and l.get("client_id") == client]
    return ids[-1] if ids else None


def main(argv):
    log, args = argv[1], argv[2:]
    client, last, allow_errors, files, exprs = None, False, False, {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--client":
            client, i = args[i + 1], i + 2
        elif a == "--last":
            last, i = True, i + 1
        elif a == "--allow-errors":
            allow_errors, i = True, i + 1
        elif a == "--file":
            name, path = args[i + 1].split("=", 1)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            try:
                files[name] = json.loads(text)
            except ValueError:
                files[name] = text.splitlines()
            i += 2
        else:
            exprs.append(a)
            i += 1

    deadline = time.time() + 5
    while True:
        lines = load(log)
        conn = select(lines, client, last)
        closed = conn is not None and any(l.get("event") == "closed" and l["conn"] == conn for l in lines)
        if closed or time.time() > deadline:
            break
        time.sleep(0.1)
    if conn is None:
        print("no connection %s in the probe log" % ("at all" if last else "with client id %r" % client))
        return 1
    mine = [l for l in lines if l.get("conn") == conn and "event" not in l]
    ins = [l for l in mine if l.get("dir") == "in" and "error" not in l]
    outs = [l for l in mine if l.get("dir") == "out"]
    errs = [l for l in mine if l.get("dir") == "in" and "error" in l]

    def of(t, lst=None):
        return [p for p in (ins if lst is None else lst) if p.get("type") == t]

    def first(t, lst=None):
        found = of(t, lst)
        if not found:
            raise Failure("no %s packet" % t)
        return found[0]

    env = dict(files, ins=ins, outs=outs, errs=errs, of=of, first=first, eq=eq, json=json, re=re,
               sha256_file=sha256_file, pubs=of("PUBLISH"), out_pubs=of("PUBLISH", outs),
               connect=(of("CONNECT") or [None])[0])
    problems = []
    if not closed:
        problems.append("the probe did not log connection %s closed within 5 s" % conn)
    bad_out = [o for o in outs if "error" in o or "encode_error" in o]
    if bad_out:
        problems.append("packets sent by the probe did not decode back: %s" % json.dumps(bad_out)[:600])
    if not allow_errors:
        if errs:
            problems.append("packets failed to decode: %s" % json.dumps(errs)[:600])
        bad = [p for p in ins if p.get("reencode") != "ok"]
        if bad:
            problems.append("re-encoding changed packets: %s" % json.dumps(bad)[:900])
    for e in exprs:
        try:
            if not eval("(" + e + "\n)", env):  # parenthesised: an expression may span lines
                problems.append("false: %s" % e)
        except Failure as f:
            problems.append("%s  [in: %s]" % (f, e))
        except Exception as x:  # a missing key etc. is a failure of the check, not of the tool
            problems.append("%s: %s  [in: %s]" % (type(x).__name__, x, e))
    if problems:
        print("\n".join(problems))
        print("connection %s:" % conn)
        for l in mine[:12]:
            print("  " + json.dumps(l)[:300])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
