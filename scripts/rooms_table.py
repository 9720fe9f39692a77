"""The targets of one policy across suites heard in different rooms, side by side.

    microturn eval synth --out runs/h3_snr10 --items 12 --seed 4 --voices heldout --snr-db 10
    microturn eval run --data runs/h3_snr10 --out runs/out_snr10 --no-plots   # model + st-800
    python scripts/rooms_table.py clean=runs/out_clean snr10=runs/out_snr10 [--policy model]

Each NAME=RUN is an `eval run` output folder holding one folder per policy (or the output of a
run of one policy, `--policy model`); the table has one
column per room (the same seed and voices make the same scenes, so the columns differ only in
what the microphone heard). docs/eval.md ("Heard in a worse room") has what it printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from microturn.runtime.eval.targets import comparison


def summaries(runs: list[str], policy: str) -> dict[str, dict]:
    out = {}
    for spec in runs:
        name, _, folder = spec.partition("=")
        if not folder:
            raise SystemExit(f"expected NAME=RUN, got {spec!r}")
        results = Path(folder) / policy / "results.json"
        if not results.is_file() and (Path(folder) / "results.json").is_file():
            results = Path(folder) / "results.json"   # a run of that one policy
        if not results.is_file():
            raise SystemExit(f"{results} not found: was {policy!r} run there?")
        out[name] = json.loads(results.read_text())["summary"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", metavar="NAME=RUN")
    ap.add_argument("--policy", action="append", help="policy folder(s) to tabulate (default: model, silence-timeout-800)")
    args = ap.parse_args()
    for policy in args.policy or ["model", "silence-timeout-800"]:
        print(f"\n{policy}\n")
        print(comparison(summaries(args.runs, policy)))


if __name__ == "__main__":
    main()
