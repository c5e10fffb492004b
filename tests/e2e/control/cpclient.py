#!/usr/bin/env python3
"""Load and consistency drivers for the egcontrol end-to-end tests (stdlib only).

    cpclient.py rmw    --port P --token-file F --path /namespaces/ns/clients/c [--threads 8 --cycles 25]
        Each thread does CYCLES read-modify-write increments of properties.attributes.counter with
        If-Match, retrying on 412. Prints {"final": N, "retries412": R, "errors": [...]}.
    cpclient.py create --port P --token-file F --ns NS --prefix PFX --count N [--threads T]
                       [--acked FILE] [--width W] [--start S]
        PUTs clients PFX{i:0W} over keep-alive connections; appends each acknowledged (2xx) name
        to FILE at once (flushed). Stops quietly when the server goes away. Prints
        {"acked": n, "failed": [...], "seconds": s}; exit 1 if any request was refused.
    cpclient.py burst  --port P --token-file F --path /namespaces/ns/clients/c --count N
        N PATCHes of properties.attributes.burst = 1..N, one after the other on one keep-alive
        connection (a burst faster than curl can make). Prints {"statuses": [distinct codes]}.
    cpclient.py page   --port P --token-file F --path /namespaces/ns/clients [--top N] [--names FILE]
        Follows nextLink to the end. Prints {"pages": [sizes], "names": count, "sorted": bool,
        "duplicates": [...], "missing": [...], "unexpected": [...], "problems": [...]};
        with --names, the listed names must be exactly those of FILE (one a line). Exit 1 on any
        problem.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def request(conn, method, path, token, body=None, headers=None):
    h = {"Authorization": "Bearer " + token}
    if headers:
        h.update(headers)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    raw = r.read()
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = None
    return r.status, r.getheader("ETag"), doc


def cmd_rmw(a, token):
    retries = [0]
    errors = []
    lock = threading.Lock()

    def worker():
        conn = connect(a.port)
        done = 0
        attempts = 0
        while done < a.cycles and attempts < a.cycles * 200:
            attempts += 1
            try:
                st, etag, doc = request(conn, "GET", a.path, token)
                if st != 200 or not etag:
                    with lock:
                        errors.append("GET %s -> %s" % (a.path, st))
                    return
                props = doc["properties"]
                attrs = props.get("attributes", {})
                attrs["counter"] = attrs.get("counter", 0) + 1
                body = {"properties": {"attributes": attrs}}
                st, _, doc = request(conn, "PATCH", a.path, token, body, {"If-Match": etag})
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append("connection: %r" % e)
                conn = connect(a.port)
                continue
            if st == 200:
                done += 1
            elif st == 412:
                with lock:
                    retries[0] += 1
            else:
                with lock:
                    errors.append("PATCH -> %s %s" % (st, doc))
                return
        if done < a.cycles:
            with lock:
                errors.append("thread gave up after %d attempts, %d done" % (attempts, done))

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    st, _, doc = request(connect(a.port), "GET", a.path, token)
    final = doc["properties"].get("attributes", {}).get("counter") if st == 200 else None
    print(json.dumps({"final": final, "retries412": retries[0], "errors": errors[:10]}))
    return 0 if not errors else 1


def cmd_create(a, token):
    acked = open(a.acked, "a") if a.acked else None
    lock = threading.Lock()
    failed = []
    count = [0]
    stop = threading.Event()
    names = ["%s%0*d" % (a.prefix, a.width, i) for i in range(a.start, a.start + a.count)]
    chunks = [names[i::a.threads] for i in range(a.threads)]

    def worker(chunk):
        conn = connect(a.port)
        for name in chunk:
            if stop.is_set():
                return
            path = "/namespaces/%s/clients/%s" % (a.ns, name)
            try:
                st, _, doc = request(conn, "PUT", path, token, {"properties": {"attributes": {"n": name}}})
            except (OSError, http.client.HTTPException):
                stop.set()  # the server is gone (killed): stop without complaint
                return
            with lock:
                if 200 <= st < 300:
                    count[0] += 1
                    if acked:
                        acked.write(name + "\n")
                        acked.flush()
                else:
                    failed.append("%s -> %s %s" % (name, st, doc))

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"acked": count[0], "failed": failed[:10], "seconds": round(time.time() - t0, 2)}))
    return 1 if failed else 0


def cmd_burst(a, token):
    conn = connect(a.port)
    statuses = set()
    for i in range(1, a.count + 1):
        st, _, _ = request(conn, "PATCH", a.path, token, {"properties": {"attributes": {"burst": i}}})
        statuses.add(st)
    print(json.dumps({"statuses": sorted(statuses)}))
    return 0 if statuses == {200} else 1


def cmd_page(a, token):
    conn = connect(a.port)
    path = a.path + ("?$top=%d" % a.top if a.top else "")
    pages, names, problems = [], [], []
    base = "http://127.0.0.1:%d" % a.port
    while path and len(pages) < 100000:
        st, _, doc = request(conn, "GET", path, token)
        if st != 200:
            problems.append("GET %s -> %s %s" % (path, st, doc))
            break
        page = doc.get("value", [])
        pages.append(len(page))
        names += [item["name"] for item in page]
        link = doc.get("nextLink")
        if link is None:
            path = None
        else:
            if not link.startswith(base + "/"):
                problems.append("nextLink is not an absolute URL of this server: %s" % link)
                break
            if not page:
                problems.append("an empty page with a nextLink")
                break
            u = urllib.parse.urlsplit(link)
            path = u.path + ("?" + u.query if u.query else "")
    seen, dups = set(), []
    for n in names:
        if n in seen:
            dups.append(n)
        seen.add(n)
    out = {"pages": pages, "names": len(names), "sorted": names == sorted(names), "duplicates": dups[:10]}
    if a.names:
        want = set(l.strip() for l in open(a.names) if l.strip())
        out["missing"] = sorted(want - seen)[:10]
        out["missing_count"] = len(want - seen)
        out["unexpected"] = sorted(seen - want)[:10]
        if out["missing"] or out["unexpected"]:
            problems.append("names differ from the expected ones")
    if not out["sorted"]:
        problems.append("not sorted by name")
    if dups:
        problems.append("duplicates")
    out["problems"] = problems
    print(json.dumps(out))
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["rmw", "create", "burst", "page"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--path")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--cycles", type=int, default=25)
    p.add_argument("--ns")
    p.add_argument("--prefix", default="c")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--width", type=int, default=5)
    p.add_argument("--acked")
    p.add_argument("--top", type=int, default=0)
    p.add_argument("--names")
    a = p.parse_args()
    token = open(a.token_file).readline().strip()
    return {"rmw": cmd_rmw, "create": cmd_create, "burst": cmd_burst, "page": cmd_page}[a.cmd](a, token)


sys.exit(main())
