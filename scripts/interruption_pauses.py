"""Open loop: how soon would the agent's voice pause for each interruption, with and without a
timbre check? Over a `train data --split eval` set, the fallback heuristic of the shipped
`decisions.json` (optionally with other `voice_timbre` settings, or other decision options
given as `KEY=VALUE[,KEY=VALUE]`) runs over each episode's
microphone; an interruption (a user turn that starts while the agent talks) pauses the voice at
the first tick where near-field speech has gone on `hold_speech_ms`, before the recorded agent
stops.

    python scripts/interruption_pauses.py runs/val77ep 1.2 1.0
    python scripts/interruption_pauses.py runs/val77ep voice_joint=true voice_joint=true,voice_timbre=1.4

docs/training.md ("Timbre check") has what it printed. "none" is the check off.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from microturn.checkpoints import SHIPPED
from microturn.runtime.engine.policy import MICRO_TURN_MS
from microturn.runtime.eval.episodes import StreamedEpisodes
from microturn.runtime.model.policy import decision_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="a data set written by `microturn train data --split eval`")
    ap.add_argument("settings", nargs="*", help="voice_timbre settings, or KEY=VALUE[,KEY=VALUE] decision options,"
                    " to compare (besides no timbre check)")
    ap.add_argument("--checkpoint", default=str(SHIPPED))
    args = ap.parse_args()
    episodes = StreamedEpisodes(args.data, args.checkpoint, progress=False)
    shipped = decision_options(args.checkpoint, {})
    for setting in [None] + args.settings:
        if setting is None or "=" not in setting:
            d = dataclasses.replace(shipped, voice_timbre=None if setting is None else float(setting))
        else:
            d = dataclasses.replace(shipped, **{k: json.loads(v) for k, v in (kv.split("=") for kv in setting.split(","))})
        latencies = []
        for e, gate in zip(episodes.chosen, episodes.gate_traces(d)):
            speaking = episodes._speaking(e)
            for turn in episodes.timelines[e].user_turns:
                if not any(a.start <= turn.start < a.end for a in episodes.timelines[e].agent_turns()):
                    continue
                first = turn.start // MICRO_TURN_MS
                paused = [k for k in range(first, min(len(speaking), first + 15))
                          if speaking[k] and gate.going_on_ms[k] >= d.hold_speech_ms and gate.near[k] is not False]
                latencies.append((paused[0] + 1) * MICRO_TURN_MS - turn.start if paused else None)
        heard = np.array([x for x in latencies if x is not None])
        p50, p90, worst = np.percentile(heard, [50, 90, 100])
        print(f"{'voice_timbre ' if setting is None or '=' not in setting else ''}{setting}: {len(heard)} of {len(latencies)} interruptions paused for; "
              f"onset -> pause p50 {p50:.0f} ms, p90 {p90:.0f} ms, max {worst:.0f} ms; "
              f"later than 600 ms: {int((heard > 600).sum())}", flush=True)


if __name__ == "__main__":
    main()
