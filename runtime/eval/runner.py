"""`microturn eval run`: drive the real engine over every item, frame-synchronously, then score.

Each item's `input.wav` goes through `engine.offline.run_offline`: the same floor policy, ASR,
agent hooks, TTS and interjection delivery code as a live session, on a virtual clock, with no
network and no browser. What comes back is written into `--out`, mirroring the item's folder
under `--data`:
- `output.wav`: the agent's audio, 16 kHz, time-aligned with and exactly as long as the input;
- `clean_output.wav` for v1.5 items: the same run on `clean_input.wav` (overlap removed);
- `events.jsonl` (engine events with media_ms) and `decisions.jsonl` (one per micro-turn);
- copies of the input files, so `eval score --data OUT` works on the output folder alone;
- `timeline.png`, and `score.json` with every metric of the item.
Items run in parallel worker processes (spawned: each builds its own speech providers), with a
progress bar; one item's failure is recorded and the others go on.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from microturn.runtime.eval.layout import Item, discover, read_item

SR = 16_000
INPUT_FILES = ("input.wav", "clean_input.wav", "pause.json", "turn_taking.json", "interrupt.json",
               "metadata.json", "prompt.json", "truth.json")


@dataclass
class RunOptions:
    """What `eval run` drives. `app` is a load_app spec (default: the arithmetic example);
    `checkpoint` is handed to the policy factory when it takes one (the `model` policy needs
    one; the others ignore it)."""

    policy: str
    app: str | None = None
    checkpoint: str | None = None
    clean_outputs: bool = True      # also run clean_input.wav for v1.5 items
    plots: bool = True
    policy_options: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ inside a worker process

_WORKER: dict[str, Any] = {}


def _worker_init(options: RunOptions) -> None:
    from microturn.runtime.engine.services import default_speech_services
    from microturn.runtime.eval.detectors import SpeechDetector

    _WORKER["options"] = options
    _WORKER["speech"] = default_speech_services()
    _WORKER["detector"] = SpeechDetector()


def _make_agent(spec: str | None):
    """The app's Agent class (or instance); None = the default app (examples/arithmetic.py)."""
    from microturn.runtime.apps import load_app

    return load_app(spec)


def _make_policy(options: RunOptions):
    from microturn.runtime.engine.policy import make_policy

    return make_policy(options.policy, **policy_kwargs(options.policy, options.checkpoint, options.policy_options))


def policy_kwargs(policy: str, checkpoint: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The options to build `policy` with: those of `extra` and `checkpoint` that the policy's
    factory takes (``--checkpoint`` and ``--policy-option`` are shared by every policy of a
    comparison run; the CLI checks that each is taken by at least one)."""
    from microturn.runtime.engine.policy import policy_takes

    kwargs = {k: v for k, v in (extra or {}).items() if policy_takes(policy, k)}
    if checkpoint and policy_takes(policy, "checkpoint"):
        kwargs["checkpoint"] = checkpoint
    return kwargs


def _decision_dict(i: int, d: Any) -> dict:
    if isinstance(d, dict):
        return d
    action = getattr(d, "action", d)
    out = {"media_ms": (i + 1) * 200, "action": getattr(action, "value", str(action))}
    for key in ("text", "interjection_id"):
        if getattr(d, key, None):
            out[key] = getattr(d, key)
    return out


def drive(audio: np.ndarray, options: RunOptions, **inputs: Any) -> tuple[np.ndarray, list[dict], list[dict]]:
    """One offline session over `audio`: (output audio as long as the input, events, decisions).
    `inputs`: what else the session sees (`video`, `timers`; eval/prompts.py)."""
    from microturn.runtime.engine.offline import run_offline

    result = run_offline(audio, policy=_make_policy(options), agent=_make_agent(options.app),
                         speech=_WORKER.get("speech"), **inputs)
    out = np.asarray(result.output_audio, np.float32)
    # the contract says same length; enforce it so a scorer never sees a misaligned file
    out = out[: len(audio)] if len(out) >= len(audio) else np.concatenate([out, np.zeros(len(audio) - len(out), np.float32)])
    decisions = [_decision_dict(i, d) for i, d in enumerate(getattr(result, "decisions", []) or [])]
    return out, list(getattr(result, "events", []) or []), decisions


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))


def run_item(args: tuple[str, str]) -> dict:
    """Run and score one item (in a worker); returns its score dict (or an error record)."""
    from microturn.runtime.eval.plots import item_timeline
    from microturn.runtime.eval.prompts import offline_inputs
    from microturn.runtime.eval.score import load_audio, score_item
    from microturn.runtime.speech.wav import write_wav

    src, dst = Path(args[0]), Path(args[1])
    options: RunOptions = _WORKER["options"]
    t0 = time.perf_counter()
    try:
        item = read_item(src)
        dst.mkdir(parents=True, exist_ok=True)
        for name in INPUT_FILES:
            if (src / name).is_file() and src != dst:
                shutil.copyfile(src / name, dst / name)
        audio = load_audio(item.input_wav)
        output, events, decisions = drive(audio, options, **offline_inputs(item))
        write_wav(dst / "output.wav", output, SR)
        _write_jsonl(dst / "events.jsonl", events)
        _write_jsonl(dst / "decisions.jsonl", decisions)
        if item.version == "v1.5" and options.clean_outputs and item.clean_input_wav.is_file():
            clean_out, _, _ = drive(load_audio(item.clean_input_wav), options)
            write_wav(dst / "clean_output.wav", clean_out, SR)
        result = score_item(item, output, _WORKER["detector"], input_audio=audio, events=events)
        result["path"] = str(dst)
        result["run_s"] = round(time.perf_counter() - t0, 2)
        (dst / "score.json").write_text(json.dumps(result, indent=1) + "\n")
        if options.plots:
            item_timeline(result, dst / "timeline.png", truth=item.truth, events=events, decisions=decisions)
        return result
    except Exception as exc:  # one broken item must not sink the suite
        return {"item": str(src), "task": "?", "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=6)}


# ------------------------------------------------------------------ the parent process

def run_suite(data: Path, out: Path, options: RunOptions, workers: int = 2, progress: bool = True,
              limit: int | None = None, tasks: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """Run every item under `data` (of `tasks`, when given) into `out`; returns (per-item
    results, layout problems)."""
    import multiprocessing as mp

    data, out = Path(data), Path(out)
    items, problems = discover(data)
    if tasks is not None:
        items = [it for it in items if it.task in tasks]
    if limit:
        items = items[:limit]
    jobs = [(str(it.path), str(out / it.path.relative_to(data))) for it in items]
    if not jobs:
        return [], problems
    ctx = mp.get_context("spawn")
    results: list[dict] = []
    with ctx.Pool(processes=max(1, min(workers, len(jobs))), initializer=_worker_init, initargs=(options,)) as pool:
        done = pool.imap_unordered(run_item, jobs)
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(jobs), desc=f"eval {options.policy}", unit="item")
        for r in done:
            results.append(r)
    results.sort(key=lambda r: r.get("item", ""))
    return results, problems


def score_suite(data: Path, progress: bool = True, workers: int = 2) -> tuple[list[dict], list[str]]:
    """Score output.wav files that already sit beside the inputs (any system's)."""
    import multiprocessing as mp

    items, problems = discover(Path(data))
    todo = [it for it in items if it.output_wav.is_file()]
    problems += [f"{it.path}: no output.wav to score" for it in items if not it.output_wav.is_file()]
    if not todo:
        return [], problems
    ctx = mp.get_context("spawn")
    with ctx.Pool(processes=max(1, min(workers, len(todo))), initializer=_score_init) as pool:
        done = pool.imap_unordered(score_one, [str(it.path) for it in todo])
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(todo), desc="score", unit="item")
        results = sorted(done, key=lambda r: r.get("item", ""))
    return results, problems


def _score_init() -> None:
    from microturn.runtime.eval.detectors import SpeechDetector

    _WORKER["detector"] = SpeechDetector()


def score_one(folder: str) -> dict:
    from microturn.runtime.eval.score import load_audio, load_events, score_item

    try:
        item: Item = read_item(Path(folder))
        audio = load_audio(item.input_wav)
        output = load_audio(item.output_wav)
        if len(output) != len(audio):  # FD-bench requires alignment; pad/trim and say so
            note = f"output.wav is {len(output) / SR:.2f}s, input {len(audio) / SR:.2f}s: aligned by pad/trim"
            output = output[: len(audio)] if len(output) > len(audio) else \
                np.concatenate([output, np.zeros(len(audio) - len(output), np.float32)])
        else:
            note = None
        result = score_item(item, output, _WORKER["detector"], input_audio=audio, events=load_events(item.path))
        if note:
            result["note"] = note
        return result
    except Exception as exc:
        return {"item": folder, "task": "?", "error": f"{type(exc).__name__}: {exc}"}
