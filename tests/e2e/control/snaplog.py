#!/usr/bin/env python3
"""Questions about the fake broker's log (fake_broker.py) for the egcontrol end-to-end tests.

    snaplog.py LOG latest NS          the last well-authenticated snapshot of NS (JSON), or {}
    snaplog.py LOG count NS [SINCE_VERSION]
                                      how many snapshots of NS arrived (auth ok), with version > SINCE
    snaplog.py LOG versions NS        their versions, in order of arrival (JSON list)
    snaplog.py LOG badauth            how many requests had a wrong token
    snaplog.py LOG content-types      the distinct Content-Type headers (JSON list)
"""
import json
import sys


def records(path):
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
    except FileNotFoundError:
        return


def main():
    log, what = sys.argv[1], sys.argv[2]
    recs = list(records(log))
    good = [r for r in recs if r.get("auth") == "ok" and not r.get("refused")]
    if what == "badauth":
        print(sum(1 for r in recs if r.get("auth") == "bad"))
    elif what == "content-types":
        print(json.dumps(sorted(set(str(r.get("contentType")) for r in recs))))
    else:
        ns = sys.argv[3]
        mine = [r["snapshot"] for r in good if r["snapshot"].get("namespace") == ns]
        if what == "latest":
            print(json.dumps(mine[-1] if mine else {}))
        elif what == "count":
            since = int(sys.argv[4]) if len(sys.argv) > 4 else -1
            print(sum(1 for s in mine if s.get("version", 0) > since))
        elif what == "versions":
            print(json.dumps([s.get("version") for s in mine]))
        else:
            sys.exit("unknown question " + what)


main()
