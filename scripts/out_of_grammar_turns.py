"""Turn-taking items whose questions the default app's grammar cannot parse ("is it going to
rain this afternoon"), spoken by held-out voices: what the default policy does with speech
made for another app, as any recording not made for `examples/arithmetic.py` is.

    python scripts/out_of_grammar_turns.py runs/general [seed]
    microturn eval run --data runs/general --policy model,silence-timeout-800 --out runs/rg --no-plots
    microturn eval run --data runs/general --policy model --policy-option turn_words_wait=false ...
    microturn eval run --data runs/general --policy model --app examples/greeter.py ...  # no grammar

The turn-end word check calls all of these "not a whole request", and with `turn_words_wait`
(shipped on) the model does not take the turn on them: the 1.2 s fallback answers. Writes OUT in
the suite layout with one task (v1 smooth turn-taking: question, then 4 s). Each item is made in
a fresh process, as `eval synth` makes them, so a seed gives the same bytes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
from pathlib import Path

QUESTIONS = (
    "could you tell me how long it takes to boil an egg", "what time does the library open on sundays",
    "do you know a good place to eat near the station", "how far is it from here to the airport",
    "can you remind me what we talked about yesterday", "what should I bring to the picnic tomorrow",
    "is it going to rain this afternoon", "how do I change the batteries in this remote",
    "which train goes to the city centre", "what is the best way to learn a new language",
    "why is the sky blue during the day", "where did I leave my keys this morning",
)


def make_item(job: tuple[int, int, str]) -> str:
    import numpy as np

    from microturn.runtime.eval import synth
    from microturn.runtime.speech.wav import write_wav

    index, seed, out = job
    rng = np.random.default_rng([seed, index])
    voices = synth.held_out_voices()
    voice = voices[int(rng.integers(len(voices)))]
    question = QUESTIONS[index]
    sc = synth.Scene(rng)
    seg = sc.say(synth.LEAD_IN_S, question, voice)
    duration = round(seg["end"] + 4.0, 4)
    folder = Path(out) / "v1/synthetic_turn_taking" / f"{index:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    write_wav(folder / "input.wav", sc.render(duration, int(rng.integers(2**31))), synth.SR)
    (folder / "turn_taking.json").write_text(json.dumps([{"text": question, "timestamp": [seg["end"], duration]}]))
    (folder / "truth.json").write_text(json.dumps(
        {"task": "v1/smooth_turn_taking", "seed": seed, "index": index, "voices": "heldout", "duration_s": duration,
         "segments": sc.segments, "event": [seg["end"], duration], "expected": "take the turn fast"}, indent=2))
    return str(folder)


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    out, seed = argv[0], int(argv[1]) if len(argv) > 1 else 7
    with mp.get_context("spawn").Pool(2, maxtasksperchild=1) as pool:
        folders = pool.map(make_item, [(i, seed, out) for i in range(len(QUESTIONS))])
    print(f"wrote {len(folders)} items to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
