"""SIGTERM: connected v5 clients get DISCONNECT 0x8B (Server shutting down), v3.1.1 clients
see the connection close, and the broker stops accepting connections. The broker's exit
status (0) is checked by test_broker_paho.sh, which started it.
EG_PORT: a broker of its own; EG_BROKER_PID: its process id.
"""
import os
import signal
import socket
import time

from pahoutil import DISCONNECT, HOST, V311, V5, Paho, Raw, check, eq, port, run_tests, test, uid

_SEEN = {}


def shutdown():
    """Connects a raw v5, a paho v5 and a paho v3.1.1 client, sends SIGTERM once, and records
    what each client saw (each test below checks one part of it)."""
    if _SEEN:
        return _SEEN
    raw = Raw()
    raw.connect("st-raw-" + uid())
    p5 = Paho("st-p5-" + uid(), V5)
    p311 = Paho("st-p311-" + uid(), V311)
    os.kill(int(os.environ["EG_BROKER_PID"]), signal.SIGTERM)
    got, closed = raw.wait_closed(5)
    _SEEN["raw"] = ([(t, bytes(b)) for t, _, b in got], closed)
    for name, c in (("p5", p5), ("p311", p311)):
        c.closed.wait(5)
        _SEEN[name] = (c.server_disconnect, c.closed.is_set())
    return _SEEN


@test("SIGTERM: a connected v5 client (raw) receives DISCONNECT 0x8B, then the connection closes")
def t_sigterm_raw():
    packets, closed = shutdown()["raw"]
    eq(packets, [(DISCONNECT, b"\x8b")], "packets before the close")
    check(closed, "connection not closed within 5 s of SIGTERM")


@test("SIGTERM: a connected v5 paho client receives DISCONNECT 0x8B")
def t_sigterm_paho_v5():
    rc, closed = shutdown()["p5"]
    eq(rc, 0x8B, "DISCONNECT reason code")
    check(closed, "connection not closed within 5 s of SIGTERM")


@test("SIGTERM: a v3.1.1 client sees the connection close without a DISCONNECT packet")
def t_sigterm_v311():
    rc, closed = shutdown()["p311"]
    check(closed, "connection not closed within 5 s of SIGTERM")
    eq(rc, None, "DISCONNECT packet to the v3.1.1 client")


@test("SIGTERM: the broker stops accepting connections")
def t_sigterm_no_accept():
    shutdown()
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            socket.create_connection((HOST, port()), timeout=1).close()
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError("connections still accepted 5 s after SIGTERM")


if __name__ == "__main__":
    run_tests()
