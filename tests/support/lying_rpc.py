#!/usr/bin/env python3
"""An adversary's RPC for tests: forwards every GET to a real node's CometBFT-style RPC,
but answers abci_query path "/params" with the node's parameters altered (fee_base
raised), as a lying node or a man in the middle would. Each forwarded request line is
appended to --log, so a test can tell whether anything was broadcast through it.

usage: lying_rpc.py --upstream URL --port PORT --log FILE [--fee-base N]
Stops by itself after --lifetime seconds (default 120).
"""
import argparse
import base64
import http.server
import json
import threading
import urllib.request


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def set_uint_field(msg, field, value):
    """Re-encodes a protobuf message with varint field `field` set to `value`, keeping
    field order (fields are ascending in canonical encodings)."""
    out, i, done = bytearray(), 0, False
    while i < len(msg):
        key, j = read_varint(msg, i)
        num, wt = key >> 3, key & 7
        if num > field and not done:
            out += varint(field << 3) + varint(value)
            done = True
        if wt == 0:
            _, k = read_varint(msg, j)
        elif wt == 2:
            ln, k = read_varint(msg, j)
            k += ln
        else:
            raise ValueError("unexpected wire type")
        if num == field:
            out += varint(field << 3) + varint(value)
            done = True
        else:
            out += msg[i:k]
        i = k
    if not done:
        out += varint(field << 3) + varint(value)
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--fee-base", type=int, default=250_000_000)  # 2.5 coins
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(a.log, "a") as f:
                f.write(self.path + "\n")
            with urllib.request.urlopen(a.upstream + self.path, timeout=10) as r:
                body = r.read()
            if self.path.startswith("/abci_query") and "%22/params%22" in self.path:
                doc = json.loads(body)
                resp = doc["result"]["response"]
                params = base64.b64decode(resp["value"])
                resp["value"] = base64.b64encode(set_uint_field(params, 2, a.fee_base)).decode()
                body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    threading.Timer(a.lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
