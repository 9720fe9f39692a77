"""How often the agent answered in the middle of an FD-bench v1 backchannel monologue, from an
`eval run` output folder's engine events.

    python scripts/monologue_answers.py RUN [RUN ...]     # e.g. runs/final/model

FD-bench's take-over rule forgives an answer the user cuts off within a second and three words,
so its backchannel TOR can read 0 while the agent starts answering in every breath. This counts
what the engine did instead: each `user.turn.ended` before the monologue's last sentence has
begun (up to 0.2 s into it: the turn ended while the user had a sentence still to say), and each
"mm-hm" the agent said
(`agent.backchannel`). docs/training.md ("Backchannels, voiced") has what it printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TASK = "v1/synthetic_backchannel"


def count(run: Path) -> dict[str, int]:
    items = answered = answers = backchannels = 0
    for folder in sorted(p for p in (run / TASK).iterdir() if p.is_dir()):
        events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines() if line.strip()]
        truth = json.loads((folder / "truth.json").read_text())  # eval run copies it beside the output
        last_start_ms = 1000 * max(s["start"] for s in truth["segments"] if s["who"] == "user")
        ended = [e for e in events if e["type"] == "user.turn.ended" and e["media_ms"] < last_start_ms + 200]
        items += 1
        answered += bool(ended)
        answers += len(ended)
        backchannels += sum(e["type"] == "agent.backchannel" for e in events)
    return {"monologues": items, "answered_mid_monologue": answered, "answers": answers, "backchannels_said": backchannels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    args = ap.parse_args()
    for run in args.runs:
        print(run, json.dumps(count(run)))


if __name__ == "__main__":
    main()
