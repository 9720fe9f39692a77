"""`microturn bench KIND [--json]`: benchmarks that print a JSON report.

Speed and memory goals are measured here, never asserted in tests. Kinds live in
`microturn.runtime.bench.<kind>`; each report records the machine and versions.
"""

from __future__ import annotations

import importlib
import json
import sys

KINDS = {
    "latency": "browser on loopback: end of question to first answer audio, barge-in stop",
    "step": "interaction-model micro-turn step time; MoE kernels against a torch loop",
    "reasoner": "interjection round trip through the reasoner service; delivery delay",
}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks with JSON output: " + ", ".join(KINDS))
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    for kind, help_text in KINDS.items():
        kp = kinds.add_parser(kind, help=help_text)
        kp.add_argument("--json", action="store_true", help="print only the JSON report")
        kp.add_argument("--out", help="also write the JSON report to this file")
        try:
            importlib.import_module(f"microturn.runtime.bench.{kind}").add_arguments(kp)
        except ModuleNotFoundError as exc:
            if exc.name != f"microturn.runtime.bench.{kind}":
                raise
        kp.set_defaults(func=run)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run(args) -> int:
    try:
        module = importlib.import_module(f"microturn.runtime.bench.{args.kind}")
    except ModuleNotFoundError as exc:
        if exc.name != f"microturn.runtime.bench.{args.kind}":
            raise
        print(f"microturn bench {args.kind}: not implemented yet", file=sys.stderr)
        return 2
    from microturn.runtime.bench.common import machine_info

    report = {"bench": args.kind, "machine": machine_info(), **module.run(args)}
    text = json.dumps(report, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0
