"""A suite of one- and two-word commands over the agent ("stop", "wait", "hold on"), derived
from a suite's v1.5 interruption items: the same user, prompt and moment, but the interruption
replaced by a short command said by the same voice at the same level. The expected behaviour
is the interruption's: stop. A policy that pauses on overlap and resumes when a short burst of
speech is over (`DecisionOptions.hold_commit_ms`) cannot tell these from a "yeah" without the
words; this measures how often it carries on after one.

    python scripts/short_commands.py runs/heldout3 runs/commands3
    microturn eval run --data runs/commands3 --policy model --out runs/rc3 --no-plots

A third argument replaces the commands by others, separated by '|': mixed ones, for instance
("no, wait|wait, stop|no, stop|hold on, wait|no, no|stop, stop").

Reads SUITE/v1.5/user_interruption/*/truth.json; writes OUT in the suite layout with that one
task (v1.5 metrics: "interruptions yielded to" is the share of commands stopped for).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from microturn.runtime.eval.synth import SR, Scene, level_like, speak
from microturn.runtime.speech.wav import write_wav

COMMANDS = ("stop", "wait", "hold on", "no", "stop please", "one moment")
TASK, FOLDER = "v1.5/user_interruption", "v1.5/user_interruption"


def derive(item: Path, out: Path, index: int, commands: tuple[str, ...] = COMMANDS) -> None:
    truth = json.loads((item / "truth.json").read_text())
    user, overlap = truth["segments"][0], truth["segments"][-1]
    assert overlap["who"] == "user_overlap", item
    voice = (overlap["voice"], overlap["rate"], overlap["pitch"])
    text = commands[index % len(commands)]
    sc = Scene(np.random.default_rng(index))
    prompt = speak(user["text"], voice)
    sc.place(user["start"], prompt, len(prompt), who="user", text=user["text"], voice=voice[0], rate=voice[1],
             pitch=voice[2])
    command = level_like(speak(text, voice), prompt)
    seg = sc.place(overlap["start"], command, len(command), who="user_overlap", text=text, voice=voice[0],
                   rate=voice[1], pitch=voice[2])
    duration = round(seg["end"] + 3.0, 4)
    out.mkdir(parents=True, exist_ok=True)
    noise_seed = 1000 + index
    write_wav(out / "input.wav", sc.render(duration, noise_seed), SR)
    write_wav(out / "clean_input.wav", sc.render(duration, noise_seed, keep=lambda s: s["who"] == "user"), SR)
    ts = [seg["start"], seg["end"]]
    (out / "metadata.json").write_text(json.dumps(
        {"context_text": user["text"], "current_turn_text": text, "timestamps": ts}, indent=2) + "\n")
    (out / "truth.json").write_text(json.dumps(
        {**truth, "duration_s": duration, "segments": sc.segments, "event": ts, "keyword": None,
         "expected": "stop (a short command)"}, indent=2) + "\n")


def main(suite: str, out: str, commands: tuple[str, ...] = COMMANDS) -> None:
    items = sorted((Path(suite) / FOLDER).iterdir())
    if not items:
        sys.exit(f"{suite}: no {FOLDER} items")
    dest = Path(out)
    if dest.exists():
        shutil.rmtree(dest)
    for i, item in enumerate(items):
        derive(item, dest / FOLDER / item.name, i, commands)
    meta = json.loads((Path(suite) / "suite.json").read_text())
    meta.update(tasks=[TASK], folders={TASK: FOLDER}, derived_from=str(suite), commands=list(commands))
    (dest / "suite.json").write_text(json.dumps(meta, indent=1) + "\n")
    lens = [json.loads((dest / FOLDER / i.name / "truth.json").read_text())["event"] for i in items]
    print(f"{len(items)} items in {dest}; commands last {min(b - a for a, b in lens):.2f}-{max(b - a for a, b in lens):.2f} s")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], tuple(sys.argv[3].split("|")) if len(sys.argv) == 4 else COMMANDS)
