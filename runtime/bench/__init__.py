"""Benchmarks behind `microturn bench KIND`: one module per kind, each with
`add_arguments(parser)` and `run(args) -> dict` (the JSON report). `common.py` records the
machine and versions in every report."""
