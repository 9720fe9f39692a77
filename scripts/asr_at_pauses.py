"""What the recogniser hears at a user's mid-turn pause: for each item of an `eval synth` task
folder, stream the input to pocketsphinx in 20 ms pieces (as the engine feeds it) up to 100 ms
into the pause (truth.json's first event) and print the last hypotheses and the final words.

    python scripts/asr_at_pauses.py SUITE/v1/synthetic_pause_handling [--grammar]

--grammar uses the default app's JSGF grammar (what `microturn dev` runs); without it, the
general English LM. docs/training.md has what it printed on the held-out suite.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from microturn.runtime.apps import load_app
from microturn.runtime.speech.sphinx import SAMPLE_RATE, PocketsphinxASR
from microturn.runtime.speech.wav import read_wav

PIECE = SAMPLE_RATE // 50   # 20 ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task_dir", type=Path)
    ap.add_argument("--grammar", action="store_true", help="the default app's grammar, not the general LM")
    ap.add_argument("--items", type=int, default=12)
    args = ap.parse_args()
    asr = PocketsphinxASR(load_app().asr_grammar if args.grammar else None)
    for item in sorted(p for p in args.task_dir.iterdir() if p.is_dir())[: args.items]:
        truth = json.loads((item / "truth.json").read_text())
        pause_at = truth["event"][0]
        audio, _ = read_wav(item / "input.wav")
        stream, last, changes = asr.stream(), "", []
        for k in range(0, int((pause_at + 0.1) * SAMPLE_RATE), PIECE):
            hyp = stream.feed(audio[k:k + PIECE].astype(np.float32))
            if hyp != last:
                changes.append(f"{k / SAMPLE_RATE - pause_at:+.2f}s {hyp!r}")
                last = hyp
        print(f"{item.name} pause {truth.get('pause_s')} s | {' | '.join(changes[-2:])} | final: {stream.finish().text!r}")


if __name__ == "__main__":
    main()
