#!/usr/bin/env python3
"""A peer that accepts TCP connections and closes each at once, as a TQE with every
slot taken does. The client's next writes then meet a reset connection.

usage: closing_server.py PORTFILE [LIFETIME_SECONDS]
Listens on a free loopback port, writes it to PORTFILE, stops by itself (default 30 s).
"""
import os
import socket
import sys
import threading

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Timer(float(sys.argv[2]) if len(sys.argv) > 2 else 30, lambda: os._exit(0)).start()
while True:
    c, _ = s.accept()
    c.close()
