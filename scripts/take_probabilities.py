"""What the model thinks after the user stops: P(SPEAK) at every micro-turn of the silence after
each turn end and inside each mid-turn pause of an `eval synth` suite, open loop (the clip
streamed through the checkpoint as the live policy steps it; no engine, no fallbacks), and the
AUC of the two at the first decision 200 ms into the silence (where the labels first say SPEAK).

    python scripts/take_probabilities.py SUITE CHECKPOINT [--traces]

docs/training.md has what it printed for the shipped checkpoint on the held-out suite.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from microturn.runtime.engine.policy import SAMPLES_PER_TURN, TurnInput
from microturn.runtime.eval.separability import SPEAK, auc
from microturn.runtime.model.policy import make_model_policy
from microturn.runtime.speech.wav import read_wav

TASKS = {"pause": "v1/synthetic_pause_handling", "turn": "v1/synthetic_turn_taking"}


def p_speak(policy, wav: Path, sid: str) -> np.ndarray:
    audio, _ = read_wav(wav)
    audio = np.asarray(audio, np.float32).reshape(-1)
    policy.open(sid)
    out = []
    for k in range(len(audio) // SAMPLES_PER_TURN):
        turn = TurnInput(session_id=sid, media_ms=200 * (k + 1),
                         audio=audio[k * SAMPLES_PER_TURN:(k + 1) * SAMPLES_PER_TURN])
        floor, _ = policy.sessions.step([sid], policy._inputs([turn]))
        out.append(float(torch.softmax(floor[0].float(), -1)[SPEAK]))
    policy.close(sid)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("checkpoint")
    ap.add_argument("--traces", action="store_true", help="print every item's P(SPEAK) through the silence")
    args = ap.parse_args()
    policy = make_model_policy(checkpoint=args.checkpoint)
    first: dict[str, list[float]] = {"pause": [], "turn": []}
    for kind, task in TASKS.items():
        for item in sorted((args.suite / task).iterdir()):
            truth = json.loads((item / "truth.json").read_text())
            probs = p_speak(policy, item / "input.wav", f"{kind}-{item.name}")
            start_ms = truth["event"][0] * 1000
            stop_ms = truth["event"][1] * 1000 if kind == "pause" else start_ms + 1400
            times = 200 * (np.arange(len(probs)) + 1)
            inside = (times > start_ms) & (times <= stop_ms)
            silence, trace = (times[inside] - start_ms).astype(int), probs[inside]
            at = np.flatnonzero(silence >= 200)
            if len(at):
                first[kind].append(float(trace[at[0]]))
            if args.traces:
                pairs = " ".join(f"{s}:{p:.2f}" for s, p in zip(silence, trace))
                print(f"{kind} {item.name} {truth['segments'][0]['voice']} {truth.get('pause_s', '')} | {pairs}")
    t, p = first["turn"], first["pause"]
    print(f"first decision >= 200 ms into the silence: P(SPEAK) turn ends mean {np.mean(t):.3f} (n={len(t)}), "
          f"pauses mean {np.mean(p):.3f} (n={len(p)}), AUC {auc(t, p):.3f}")


if __name__ == "__main__":
    main()
