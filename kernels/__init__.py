"""Triton kernels (MoE, batch-invariant ops) with pure-torch references beside them.

Importable with torch + triton alone (the lent GPU machines have nothing else).
"""
