#!/usr/bin/env python3
"""A fake egbroker snapshot endpoint for the egcontrol end-to-end tests (stdlib only).

    fake_broker.py --port P --token TOKEN --log FILE [--port-file FILE]

POST /snapshots with `Authorization: Bearer TOKEN`: the body (JSON with "namespace" and
"version") is appended to FILE as one line {"auth": "ok", "snapshot": {...}} and answered
200 {"appliedVersion": version}. A wrong or missing token is logged as {"auth": "bad", ...}
and answered 401. Test controls (no token): GET /_ctl?delay=SECONDS&status=CODE sets a delay
before each answer and the status to answer (200 by default; anything else is a refusal,
logged with "refused": true).
"""
import argparse
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"delay": 0.0, "status": 200}
lock = threading.Lock()


def make_handler(token, log):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, doc):
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path != "/_ctl":
                return self.answer(404, {"error": "no such path"})
            q = urllib.parse.parse_qs(u.query)
            with lock:
                if "delay" in q:
                    state["delay"] = float(q["delay"][0])
                if "status" in q:
                    state["status"] = int(q["status"][0])
                self.answer(200, dict(state))

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n)
            if self.path != "/snapshots":
                return self.answer(404, {"error": "no such path"})
            rec = {"t": time.time(), "contentType": self.headers.get("Content-Type")}
            try:
                snap = json.loads(raw)
            except ValueError:
                snap = {"unparsable": raw[:200].decode("utf-8", "replace")}
            rec["snapshot"] = snap
            with lock:
                delay, status = state["delay"], state["status"]
            if delay:
                time.sleep(delay)
            if self.headers.get("Authorization") != "Bearer " + token:
                rec["auth"] = "bad"
                rec["authorization"] = self.headers.get("Authorization")
                status = 401
            else:
                rec["auth"] = "ok"
                if status != 200:
                    rec["refused"] = True
            with lock:
                with open(log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if status == 200:
                self.answer(200, {"appliedVersion": snap.get("version")})
            else:
                self.answer(status, {"error": "refused by the test"})

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file")
    a = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(a.token, a.log))
    srv.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


main()
