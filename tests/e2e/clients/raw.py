#!/usr/bin/env python3
"""Sends raw bytes to an MQTT server and reports what comes back.

usage: raw.py PORT HEX [HEX...]

Sends each HEX chunk in turn (pausing 0.2 s after each to collect the answer), then reads
until the server closes the connection or 3 s pass. Prints one JSON object:
  {"received_hex": "...", "closed": true|false, "reset": true|false}
"closed" is true when the server closed the connection (EOF or reset) within the time.
"""
import json
import socket
import sys
import time


def main():
    port, chunks = int(sys.argv[1]), [bytes.fromhex(h) for h in sys.argv[2:]]
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    received, closed, reset = b"", False, False

    def read_for(seconds):
        nonlocal received, closed, reset
        deadline = time.time() + seconds
        while not closed and time.time() < deadline:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed = reset = True
                break
            if not data:
                closed = True
            received += data

    for c in chunks:
        try:
            s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            closed = reset = True
            break
        read_for(0.2)
    read_for(3)
    s.close()
    print(json.dumps({"received_hex": received.hex(), "closed": closed, "reset": reset}))


if __name__ == "__main__":
    main()
