#!/usr/bin/env python3
"""An independent implementation of the app-hash tree, format 2 (docs/node.md, "App
hash"), written from the documented rules only.

  tests/smt_reference.py vector        prints the roots test_smt_vector checks
  tests/smt_reference.py corpus DIR    writes fuzz/corpus/smt_proof/ (real proofs of
                                       the tree fuzz_smt_proof.c builds)
"""
import hashlib
import os
import sys


def tagged(tag, m):
    t = tag.encode()
    return hashlib.sha256(bytes([len(t)]) + t + m).digest()


def smt_key(ns, ident):
    return tagged("veil/smt/key/v1", bytes([ns]) + ident)


def value_hash(v):
    return tagged("veil/smt/value/v1", v)


def leaf(k, vh):
    return tagged("veil/smt/leaf/v2", k + vh)


def node(left, right):
    return tagged("veil/smt/node/v2", left + right)


def bit(k, d):
    return (k[d >> 3] >> (7 - (d & 7))) & 1


ZERO = bytes(32)


def subtree(leaves, d):
    """Hash of the subtree at depth d holding `leaves` ((key, value hash) pairs)."""
    if not leaves:
        return ZERO
    if len(leaves) == 1:
        return leaf(*leaves[0])
    return node(subtree([x for x in leaves if bit(x[0], d) == 0], d + 1),
                subtree([x for x in leaves if bit(x[0], d) == 1], d + 1))


def prove(leaves, k):
    """The proof encoding for key k: bitmap || siblings [|| other key || value hash]."""
    bitmap, sibs, d, cur = bytearray(32), [], 0, leaves
    while len(cur) > 1:
        same = [x for x in cur if bit(x[0], d) == bit(k, d)]
        other = subtree([x for x in cur if bit(x[0], d) != bit(k, d)], d + 1)
        if other != ZERO:
            bitmap[d >> 3] |= 0x80 >> (d & 7)
            sibs.append(other)
        cur, d = same, d + 1
    tail = b""
    if len(cur) == 1 and cur[0][0] != k:
        tail = cur[0][0] + cur[0][1]
    return bytes(bitmap) + b"".join(sibs) + tail


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "vector":
        recs = []
        for i, v in ((1, b"a"), (2, b"b"), (3, b"c")):
            recs.append((smt_key(2, bytes([i]) * 32), value_hash(v)))
            print(len(recs), subtree(recs, 0).hex())
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "corpus":
        out = sys.argv[2]
        leaves = [(smt_key(2, bytes([i])), value_hash(bytes([i]))) for i in range(8)]
        for i in range(8):
            p = prove(leaves, leaves[i][0])
            with open(os.path.join(out, "present-%d" % i), "wb") as f:
                f.write(bytes([i << 2]) + p)
            with open(os.path.join(out, "claimed-absent-%d" % i), "wb") as f:
                f.write(bytes([(i << 2) | 1]) + p)
        p = prove(leaves, smt_key(2, bytes([0xee])))
        with open(os.path.join(out, "absent-key"), "wb") as f:
            f.write(bytes([3]) + p)
        with open(os.path.join(out, "truncated"), "wb") as f:
            f.write(bytes([0]) + p[:40])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
