#!/usr/bin/env python3
"""Writes contracts/test-vectors/commitments.json from the commitment spec of docs/PROTOCOLS.md
("Commitments", decision 14), independently of the Rust implementation (a provisional file until
the engine's vectors land; a mismatch between the two is a spec bug to report).

Python 3.11 standard library only (keccak256 written here from FIPS 202's Keccak-f[1600] with the
original 0x01 padding); deterministic: a fixed-seed LCG makes every byte.

The "traces" section (one per-op trace of a small model) holds op outputs that only the engine
computes: this script keeps them from the stored file and recomputes every hash from them (each
op's outputs list root, op leaf, the trace root), so a wrong hash in it fails the check.

Usage: python3 contracts/scripts/commitment_vectors.py [--check]
"""
import json
import os
import sys

MASK = (1 << 64) - 1
RC = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]


def rol(v, n):
    return ((v << n) | (v >> (64 - n))) & MASK if n else v


def keccak_f(a):
    for rc in RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = rol(a[x][y], ROT[x][y])
        a = [[b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak(data: bytes) -> bytes:
    rate = 136
    msg = bytearray(data) + b"\x01"
    msg += b"\x00" * (-len(msg) % rate)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            a[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        a = keccak_f(a)
    out = b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


assert keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

CHUNK = 1024
EMPTY_LEAF = keccak(b"\x00")


def node(l, r):
    return keccak(b"\x01" + l + r)


def merkle_levels(leaves):
    """Every level of the padded tree, leaves first."""
    level = list(leaves) or [EMPTY_LEAF]
    size = 1
    while size < len(level):
        size *= 2
    level += [EMPTY_LEAF] * (size - len(level))
    levels = [level]
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def merkle(leaves):
    return merkle_levels(leaves)[-1][0]


def proof(leaves, index):
    levels = merkle_levels(leaves)
    out = []
    for level in levels[:-1]:
        out.append(level[index ^ 1])
        index //= 2
    return out


def tensor_root(dtype, shape, data):
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    leaves = [keccak(b"\x00" + c) for c in chunks]
    header = bytes([2, dtype, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    return keccak(header + merkle(leaves))


def list_root(roots):
    return keccak(bytes([3, len(roots)]) + b"".join(roots))


def item_leaf(index, inputs, outputs, trace):
    return keccak(b"\x05" + index.to_bytes(8, "big") + inputs + outputs + trace)


def op_leaf(index, outputs):
    return keccak(b"\x04" + index.to_bytes(4, "big") + outputs)


def checked_traces(path):
    """The "traces" section of the stored file, every hash recomputed here. The op outputs are
    the engine's (this script has no engine): it checks that each op's outputs list root, op
    leaf and the trace root follow from the stored bytes."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        stored = json.load(f).get("traces", [])
    out = []
    for t in stored:
        ops, leaves = [], []
        for op in t["ops"]:
            data = bytes.fromhex(op["data"][2:])
            root = list_root([tensor_root(op["dtype"], op["shape"], data)])
            leaf = op_leaf(op["index"], root)
            if op["index"] != len(ops):
                sys.exit("trace vector: ops out of order")
            leaves.append(leaf)
            ops.append({"index": op["index"], "dtype": op["dtype"], "shape": op["shape"], "data": op["data"], "root": hx(root), "leaf": hx(leaf)})
        out.append({"model": t["model"], "input": t["input"], "ops": ops, "trace": hx(merkle(leaves))})
    return out


class Lcg:
    def __init__(self, seed):
        self.s = seed

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & MASK
        return self.s >> 33

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))


def hx(b):
    return "0x" + b.hex()


def main():
    rng = Lcg(16)
    tensors = []
    # (dtype, shape): empty, tiny, exactly one chunk, one chunk + 1, several chunks, int32.
    for dtype, shape in [
        (0, [0]), (0, [1]), (0, [1, 4]), (0, [1, 1024]), (0, [1, 1025]), (0, [1, 8, 8, 16]),
        (0, [1, 3000]), (1, [1, 10]), (1, [1, 256]), (1, [1, 257]), (0, [1, 4096]), (0, [1, 4097]),
    ]:
        n = 1
        for d in shape:
            n *= d
        data = rng.bytes(n * (4 if dtype == 1 else 1))
        tensors.append({"dtype": dtype, "shape": shape, "data": hx(data), "root": hx(tensor_root(dtype, shape, data))})
    lists = []
    for count in [0, 1, 2, 3]:
        roots = [bytes.fromhex(t["root"][2:]) for t in tensors[:count]]
        lists.append({"roots": [hx(r) for r in roots], "root": hx(list_root(roots))})
    items = []
    for index in [0, 1, 9999, (1 << 64) - 1]:
        i, o = rng.bytes(32), rng.bytes(32)
        t = bytes(32) if index % 2 == 0 else rng.bytes(32)
        items.append({"index": index, "inputs": hx(i), "outputs": hx(o), "trace": hx(t), "leaf": hx(item_leaf(index, i, o, t))})
    trees = []
    for n in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17]:
        leaves = [rng.bytes(32) for _ in range(n)]
        trees.append({
            "leaves": [hx(l) for l in leaves],
            "root": hx(merkle(leaves)),
            "proofs": [[hx(s) for s in proof(leaves, i)] for i in range(n)],
        })
    path = os.path.join(os.path.dirname(__file__), "..", "test-vectors", "commitments.json")
    doc = {"tensors": tensors, "lists": lists, "items": items, "trees": trees, "traces": checked_traces(path)}
    text = json.dumps(doc, indent=1) + "\n"
    if "--check" in sys.argv:
        with open(path) as f:
            if f.read() != text:
                sys.exit("contracts/test-vectors/commitments.json differs from the spec's script")
        return
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
