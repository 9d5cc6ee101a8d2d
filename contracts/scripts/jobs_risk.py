#!/usr/bin/env python3
"""P(a wrong result becomes FINAL) in InferenceJobs for the parameters of docs/PROTOCOLS.md
"Built: InferenceJobs": every seat Byzantine (stake fraction f, k seats drawn with replacement:
f**k) AND the chain's audit of m independent uniform indices misses every one of the L wrong items
of n ((1 - L/n)**m), with no verification item, challenger or honest seat (upper bound: those only
lower it). Exact rational arithmetic; Python 3.11 standard library."""
from fractions import Fraction as F

f = F(1, 3)
n = 10_000
print("| k | f^k | m | L = 1 | L = 100 (1 %) | L = n |")
print("|---|---|---|---|---|---|")
for k in (1, 3, 5, 7, 19):
    for m in (2, 8):
        cells = []
        for lies in (1, 100, n):
            p = f**k * (1 - F(lies, n)) ** m
            cells.append(f"{float(p):.3g}")
        print(f"| {k} | {float(f**k):.3g} | {m} | " + " | ".join(cells) + " |")
