"""Reading the broker's GET /metrics in the ops tests (metrics_cases.py, quota_cases.py): sample
names as /metrics writes them, and exact counter deltas."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "enforcement"))

from enfutil import check, metrics  # noqa: E402


def series(name, ns="ns1", **labels):
    """The text of one sample's name and labels, as /metrics writes them."""
    parts = [f'namespace="{ns}"'] + [f'{k}="{v}"' for k, v in labels.items()]
    return "egbroker_%s{%s}" % (name, ",".join(parts))


def closed(reason, ns="ns1"):
    return series("connections_closed_total", ns, disconnection_reason=reason)


def expect_deltas(before, want, timeout=5.0, must_exist=False):
    """Waits until every series in `want` moved by its delta from `before`, then checks that
    each moved by exactly that (a counter still growing past it shows up too). must_exist: also
    that each is written, 0 included (sparse families, such as failures by reason code, are not)."""
    deadline = time.time() + timeout
    while True:
        after = metrics()
        got = {s: after.get(s, 0) - before.get(s, 0) for s in want}
        if got == want or time.time() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.3)  # anything late would land now
    after = metrics()
    bad = [f"{s}: {before.get(s, 0)} -> {after.get(s, 0)}, delta {after.get(s, 0) - before.get(s, 0)}, want {d}"
           for s, d in want.items() if after.get(s, 0) - before.get(s, 0) != d]
    if must_exist:
        bad += [f"{s}: no such series" for s in want if s not in after]
    check(not bad, "\n".join(bad))
    return after
