"""Full-Duplex-Bench's folder layout, read as-is.

An *item* is a folder holding `input.wav`. What task it belongs to follows from the files
beside it, exactly as the official data ships:
- v1: `pause.json` (pause handling), `turn_taking.json` (smooth turn-taking), `interrupt.json`
  (user interruption); v1 backchannel items (ICC) carry only audio, so a folder whose path names
  "backchannel" and has no metadata is one.
- v1.5: `metadata.json` (+ `clean_input.wav`); the task comes from the folder names on the way
  (user_interruption, user_backchannel / backchannel, talking_to_other(s), background_speech).
Our synthesized items also carry `truth.json` (every constructed boundary), which names the task
explicitly; official items simply lack it. A system's answer sits beside the input as
`output.wav` (v1.5 also `clean_output.wav`).
This project's own prompt tasks (`mt/...`, folder `microturn/`) carry `prompt.json`: a
whiteboard change or a due timer at a marked time (eval/prompts.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from microturn.runtime.eval.prompts import KIND_TASKS

TASKS = [
    "v1/pause_handling",
    "v1/smooth_turn_taking",
    "v1/user_interruption",
    "v1/backchannel",
    "v1.5/user_interruption",
    "v1.5/user_backchannel",
    "v1.5/talking_to_other",
    "v1.5/background_speech",
    "mt/board_change",     # not FD-bench: the agent speaks up on a whiteboard change (eval/prompts.py)
    "mt/timer_due",        # ... and on a timer falling due
]
LIVE_TASK = "live/session"   # a recorded live conversation (`microturn dev --record`), not an FD-bench task


class LayoutError(ValueError):
    """An item folder that cannot be read; the message names the file and the problem."""


@dataclass
class Item:
    path: Path
    task: str                                  # one of TASKS
    event: tuple[float, float] | None = None   # the marked span: pause / turn point / interruption / overlap
    text: str = ""                             # what the user says in the event (interrupt / current turn)
    context: str = ""                          # v1 interrupt "context", v1.5 "context_text"
    truth: dict[str, Any] | None = None        # our truth.json, when present
    raw: Any = field(default=None, repr=False)  # the parsed official json

    @property
    def version(self) -> str:
        return self.task.split("/")[0]

    @property
    def name(self) -> str:
        return f"{self.task}/{self.path.name}"

    @property
    def input_wav(self) -> Path:
        return self.path / "input.wav"

    @property
    def clean_input_wav(self) -> Path:
        return self.path / "clean_input.wav"

    @property
    def output_wav(self) -> Path:
        return self.path / "output.wav"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LayoutError(f"{path}: cannot read JSON ({exc})") from None


def _span(value: Any, where: Path) -> tuple[float, float]:
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)):
        raise LayoutError(f"{where}: timestamp must be [start_s, end_s], got {value!r}")
    start, end = float(value[0]), float(value[1])
    if end < start:
        raise LayoutError(f"{where}: timestamp ends before it starts: {value!r}")
    return start, end


def _v15_task(parts: list[str]) -> str | None:
    for part in reversed(parts):
        p = part.lower()
        if "interrupt" in p:
            return "v1.5/user_interruption"
        if "backchannel" in p:
            return "v1.5/user_backchannel"
        if "other" in p:
            return "v1.5/talking_to_other"
        if "background" in p:
            return "v1.5/background_speech"
    return None


def read_item(folder: Path) -> Item:
    """Parse one item folder. Raises LayoutError when it is not a recognisable FD-bench item."""
    folder = Path(folder)
    if not (folder / "input.wav").is_file():
        raise LayoutError(f"{folder}: no input.wav")
    truth = _load_json(folder / "truth.json") if (folder / "truth.json").is_file() else None
    parts = list(folder.parts)

    if (folder / "metadata.json").is_file():
        meta = _load_json(folder / "metadata.json")
        if not isinstance(meta, dict):
            raise LayoutError(f"{folder / 'metadata.json'}: expected an object")
        task = (truth or {}).get("task") or _v15_task(parts)
        if task is None:
            raise LayoutError(f"{folder}: v1.5 item, but no folder on its path names the task")
        ts = meta.get("timestamps") or meta.get("timestamp")
        return Item(folder, task, _span(ts, folder / "metadata.json") if ts is not None else None,
                    text=str(meta.get("current_turn_text", "")), context=str(meta.get("context_text", "")),
                    truth=truth, raw=meta)

    if (folder / "prompt.json").is_file():
        path = folder / "prompt.json"
        data = _load_json(path)
        if not (isinstance(data, list) and data and isinstance(data[0], dict)):
            raise LayoutError(f"{path}: expected a non-empty list of objects")
        kind = data[0].get("kind")
        if kind not in KIND_TASKS:
            raise LayoutError(f"{path}: kind must be one of {sorted(KIND_TASKS)}, got {kind!r}")
        return Item(folder, KIND_TASKS[kind], _span(data[0].get("timestamp"), path), truth=truth, raw=data)

    for fname, task in (("pause.json", "v1/pause_handling"), ("turn_taking.json", "v1/smooth_turn_taking"),
                        ("interrupt.json", "v1/user_interruption")):
        path = folder / fname
        if path.is_file():
            data = _load_json(path)
            if not (isinstance(data, list) and data and isinstance(data[0], dict)):
                raise LayoutError(f"{path}: expected a non-empty list of objects")
            first = data[0]
            return Item(folder, task, _span(first.get("timestamp"), path),
                        text=str(first.get("interrupt", first.get("text", ""))),
                        context=str(first.get("context", "")), truth=truth, raw=data)

    if truth and truth.get("task") == LIVE_TASK:
        return Item(folder, LIVE_TASK, None, truth=truth)
    if truth and truth.get("task") == "v1/backchannel" or any("backchannel" in p.lower() for p in parts[-3:]):
        return Item(folder, "v1/backchannel", None, truth=truth)
    raise LayoutError(f"{folder}: input.wav but none of pause.json, turn_taking.json, interrupt.json, metadata.json, "
                      "prompt.json")


def discover(root: Path) -> tuple[list[Item], list[str]]:
    """Every item under `root` (sorted by path), and a message per folder that could not be read."""
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(f"{root}: not a directory")
    items, problems = [], []
    for wav in sorted(root.rglob("input.wav")):
        try:
            items.append(read_item(wav.parent))
        except LayoutError as exc:
            problems.append(str(exc))
    return items, problems
