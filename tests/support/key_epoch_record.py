#!/usr/bin/env python3
"""Prints the chain's record of one key epoch (docs/key-epochs.md) as a node's RPC
answers it: "START_HEIGHT COMMITMENT_HEX". Exit 1 if there is no such record.

usage: key_epoch_record.py RPC_PORT EPOCH
"""
import base64
import json
import sys
import urllib.request


def fields(b):
    """The KeyEpoch message's fields: 1 epoch, 2 start_height (varints), 3 commitment."""
    i, out = 0, {}
    while i < len(b):
        tag = b[i]
        i += 1
        if tag & 7 == 0:
            x = s = 0
            while True:
                c = b[i]
                i += 1
                x |= (c & 0x7F) << s
                s += 7
                if c < 0x80:
                    break
            out[tag >> 3] = x
        else:
            n = b[i]
            i += 1
            out[tag >> 3] = b[i:i + n].hex()
            i += n
    return out


def main():
    port, epoch = int(sys.argv[1]), int(sys.argv[2])
    url = 'http://127.0.0.1:%d/abci_query?path="/key_epoch/%d"' % (port, epoch)
    value = json.load(urllib.request.urlopen(url, timeout=5))["result"]["response"].get("value")
    if not value:
        sys.exit(1)
    f = fields(base64.b64decode(value))
    print(f.get(2, 0), f.get(3, ""))


if __name__ == "__main__":
    main()
