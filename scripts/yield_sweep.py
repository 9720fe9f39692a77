"""Open-loop false yields for several decision settings on one streamed episode set: the
episodes go through the checkpoint once (`StreamedEpisodes`), and each setting (JSON overrides
of the checkpoint's `decisions.json`) is scored on the same probabilities, with the false
yields split by the generator's SNR bucket. The first setting with `noisy_yield_threshold` also
prints how the policy's SNR estimate (`HeuristicPolicy.speech_to_noise_db`, median over each
episode's micro-turns) reads the generator's SNR.

    python scripts/yield_sweep.py EPISODES CHECKPOINT '{}' '{"yield_threshold": 0.5}' \\
        '{"yield_threshold": 0.65, "noisy_yield_threshold": 0.5, "noisy_below_db": 25}'

docs/training.md ("A yield threshold for noisy rooms") has what it printed.
"""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np

from microturn.runtime.eval.episodes import StreamedEpisodes
from microturn.runtime.model.decisions import decision_options


def estimate_vs_truth(streamed: StreamedEpisodes, decisions) -> str:
    pairs = []
    for e, trace in zip(streamed.chosen, streamed.gate_traces(decisions)):
        known = trace.snr_db[~np.isnan(trace.snr_db)]
        pairs.append((streamed.metas[e].get("acoustics", {}).get("snr_db"), float(np.median(known)) if len(known) else None))
    pairs.sort(key=lambda p: (p[0] is None, p[0] or 0.0))
    return " ".join(f"{t if t is None else round(t)}->{'?' if m is None else round(m)}" for t, m in pairs)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    data, checkpoint, settings = argv[0], argv[1], [json.loads(a) for a in argv[2:]]
    streamed = StreamedEpisodes(data, checkpoint, progress=False)
    base = decision_options(checkpoint, {})
    shown = False
    for setting in settings:
        decisions = dataclasses.replace(base, **setting)
        result = streamed.score(decisions)
        s = result["summary"]["episodes"]
        if not shown and decisions.noisy_yield_threshold is not None:
            shown = True
            print("generator SNR -> estimated:", estimate_vs_truth(streamed, decisions))
        by_snr = {bucket: None if v["no_false_yield_rate"] is None else round(100 * (1 - v["no_false_yield_rate"]), 1)
                  for bucket, v in result["breakdown"]["snr_db"].items()}
        print(json.dumps(setting), f"false yields {s['false_yield_turns']}/{s['agent_turns']} "
              f"({s['no_false_yield_rate']:.4f}); % of agent turns by SNR {by_snr}; causes {s['false_yield_causes']}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
