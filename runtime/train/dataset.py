"""Write a training (or held-out evaluation) data set: sharded .npz files plus a manifest.

Layout of DIR:
- `manifest.json`: format, split, seed, options, label vocabulary, the held-out voices and
  templates, what each shard holds, label counts, generation time.
- `shard-NNNNN.npz`: the episodes of one shard, concatenated:
  `audio` int16 16 kHz; `labels` int8, `agent_state` uint8, `video_changed` uint8,
  `timer_due` uint8 (one per 200 ms micro-turn), `agent_text` uint8 [n, 8] (the word the
  agent backchannels with, at its BACKCHANNEL decision; 0-padded UTF-8, all 0 elsewhere);
  `episode_turns` int64 offsets into the
  per-micro-turn arrays (episode e is turns [episode_turns[e], episode_turns[e+1]), audio
  samples 3200 times those). Every episode is a whole number of micro-turns.
- `shard-NNNNN.json`: per episode: its timeline (the truth the labels came from) and metadata
  (voices, templates, scenes, acoustics).

Shard i is generated from its own seed (`seed`, `split`, i), so the output is identical for a
seed whatever the number of workers, and shards can be made in any order in parallel.

Why every shard gets a fresh process: eSpeak NG keeps hidden state between syntheses inside
its C library (e.g. the phase of its pitch flutter), which `espeak_ng_SetRandSeed` does not
reset, so the same sentence with the same seed comes out a few samples different the second
time. Its output *is* a pure function of the sequence of syntheses since the library was
loaded, so a shard made as the first work of a new process is reproducible.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from microturn.runtime.train import templates as tpl
from microturn.runtime.train import voices
from microturn.runtime.train.labels import ACTIONS, LabelOptions, label_timeline
from microturn.runtime.train.mix import AcousticRanges
from microturn.runtime.train.timeline import MICRO_TURN_MS, Timeline

FORMAT = "microturn-train-data/1"
SAMPLES_PER_TURN = 16_000 * MICRO_TURN_MS // 1000
TEXT_WIDTH = 8  # bytes stored per micro-turn for the agent's backchannel word
_SPLIT_CODE = {"train": 1, "eval": 2}


@dataclass(frozen=True)
class DataOptions:
    """What `microturn train data` makes."""

    hours: float = 1.0                 # total audio to generate
    seed: int = 0
    split: str = "train"               # "train", or "eval" (held-out voices and templates only)
    shard_minutes: float = 10.0        # audio per shard file
    episode_seconds: tuple[float, float] = (30.0, 90.0)  # each episode's target length
    labels: LabelOptions = field(default_factory=LabelOptions)
    acoustics: AcousticRanges = field(default_factory=AcousticRanges)  # the user's noise and room

    def __post_init__(self) -> None:
        if self.split not in _SPLIT_CODE:
            raise ValueError(f"split must be 'train' or 'eval', got {self.split!r}")
        if not self.hours > 0:
            raise ValueError(f"hours must be positive, got {self.hours}")
        if not self.shard_minutes > 0:
            raise ValueError(f"shard_minutes must be positive, got {self.shard_minutes}")

    @property
    def n_shards(self) -> int:
        return max(1, int(np.ceil(self.hours * 60 / self.shard_minutes)))

    def shard_seconds(self, i: int) -> float:
        total = self.hours * 3600
        per = self.shard_minutes * 60
        return min(per, total - i * per)


def pattern_of(template_id: str) -> str:
    """"statement/17/3/2" -> "statement/17": the unit that is held out."""
    return "/".join(template_id.split("/")[:2])


def held_out() -> dict:
    return {
        "voice_variants": list(voices.variants("eval")),
        "templates": [f"{fam}/{i}" for fam in tpl.HELD_OUT_FAMILIES for i in range(len(tpl.FAMILIES[fam]))
                      if tpl.is_held_out(fam, i)],
    }


def agent_text(timeline: Timeline) -> np.ndarray:
    """uint8 [n, TEXT_WIDTH]: the agent's backchannel word at the decision that starts it."""
    out = np.zeros((timeline.n_turns, TEXT_WIDTH), np.uint8)
    for a in timeline.agent:
        k = a.start // MICRO_TURN_MS - 1
        if a.kind == "backchannel" and a.text and 0 <= k < len(out):
            word = a.text.encode("utf-8")[:TEXT_WIDTH]
            out[k, : len(word)] = np.frombuffer(word, np.uint8)
    return out


def shard_rng(options: DataOptions, index: int) -> np.random.Generator:
    return np.random.default_rng([options.seed, _SPLIT_CODE[options.split], index])


def make_shard(options: DataOptions, index: int, out_dir: Path | None = None, speaker=None) -> dict:
    """Generate shard `index`; write it under `out_dir` if given. Returns its summary (and,
    without `out_dir`, its arrays under "arrays" for tests)."""
    from microturn.runtime.train.episodes import EpisodeBuilder
    from microturn.runtime.train.speaker import Speaker

    rng = shard_rng(options, index)
    builder = EpisodeBuilder(rng, speaker or Speaker(), options.split, options.labels, options.acoustics)
    audio, labels, agent_state, video, timer, texts, offsets, episodes = [], [], [], [], [], [], [0], []
    produced, goal = 0.0, options.shard_seconds(index)
    while produced < goal:
        target_s = min(float(rng.uniform(*options.episode_seconds)), max(goal - produced, 8.0))
        ep = builder.build(int(target_s * 1000))
        lab = label_timeline(ep.timeline, options.labels)
        n = ep.timeline.n_turns
        pcm = np.round(np.clip(ep.audio[: n * SAMPLES_PER_TURN], -1, 1) * 32767).astype(np.int16)
        audio.append(pcm)
        labels.append(lab.actions)
        agent_state.append(lab.agent_state)
        video.append(lab.video_changed.astype(np.uint8))
        timer.append(lab.timer_due.astype(np.uint8))
        texts.append(agent_text(ep.timeline))
        offsets.append(offsets[-1] + n)
        episodes.append({"timeline": ep.timeline.to_dict(), **ep.meta})
        produced += n * MICRO_TURN_MS / 1000
    arrays = {
        "audio": np.concatenate(audio), "labels": np.concatenate(labels),
        "agent_state": np.concatenate(agent_state), "video_changed": np.concatenate(video),
        "timer_due": np.concatenate(timer), "agent_text": np.concatenate(texts),
        "episode_turns": np.asarray(offsets, np.int64),
    }
    counts = np.bincount(arrays["labels"], minlength=len(ACTIONS))
    summary = {
        "index": index, "episodes": len(episodes), "seconds": round(produced, 1),
        "label_counts": {a.value: int(c) for a, c in zip(ACTIONS, counts)},
        "voices": sorted({v for e in episodes
                          for v in [e["voices"]["user"], e["voices"]["agent"], *e["voices"]["others"]]}),
        "templates": sorted({pattern_of(t) for e in episodes for t in e["templates"]}),
    }
    if out_dir is None:
        summary["arrays"], summary["episode_meta"] = arrays, episodes
        return summary
    name = f"shard-{index:05d}"
    np.savez(out_dir / f"{name}.npz", **arrays)
    (out_dir / f"{name}.json").write_text(json.dumps({"episodes": episodes}))
    summary["file"] = f"{name}.npz"
    return summary


def _worker(args: tuple[DataOptions, int, str | None]) -> dict:
    options, index, out_dir = args
    return make_shard(options, index, Path(out_dir) if out_dir else None)


def _fresh_pool(workers: int):
    import multiprocessing as mp

    # spawn (not fork) and one shard per process: see the module docstring.
    return mp.get_context("spawn").Pool(workers, maxtasksperchild=1)


def make_shard_isolated(options: DataOptions, index: int, out_dir: Path | None = None) -> dict:
    """`make_shard` in a fresh process, so its audio is reproducible (module docstring)."""
    with _fresh_pool(1) as pool:
        return pool.apply(_worker, ((options, index, str(out_dir) if out_dir else None),))


def generate(out_dir: str | Path, options: DataOptions, workers: int = 1, progress: bool = True) -> dict:
    """Generate every shard (in `workers` processes) and write the manifest; returns it."""
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = [(options, i, str(out)) for i in range(options.n_shards)]
    summaries = []
    bar = tqdm(total=round(options.hours * 3600), unit="s", desc=f"{options.split} audio",
               disable=not progress)
    pool = _fresh_pool(max(1, workers))
    try:
        for s in pool.imap_unordered(_worker, jobs):
            summaries.append(s)
            bar.update(min(round(s["seconds"]), bar.total - bar.n))
        pool.close()
    finally:
        bar.close()
        pool.terminate()
        pool.join()
    summaries.sort(key=lambda s: s["index"])
    elapsed = time.perf_counter() - t0
    seconds = sum(s["seconds"] for s in summaries)
    totals = {a.value: sum(s["label_counts"][a.value] for s in summaries) for a in ACTIONS}
    opts = asdict(options)
    opts["labels"]["prompt_action"] = options.labels.prompt_action.value
    manifest = {
        "format": FORMAT, "split": options.split, "seed": options.seed, "options": opts,
        "sample_rate": 16_000, "micro_turn_ms": MICRO_TURN_MS,
        "actions": [a.value for a in ACTIONS], "agent_states": ["silent", "turn", "backchannel"],
        "held_out": held_out(), "template_count": tpl.template_count(),
        "hours": round(seconds / 3600, 3), "episodes": sum(s["episodes"] for s in summaries),
        "label_counts": totals, "generation_seconds": round(elapsed, 1), "workers": workers,
        "voices_used": sorted({v for s in summaries for v in s["voices"]}),
        "templates_used": sorted({t for s in summaries for t in s["templates"]}),
        "shards": [{k: s[k] for k in ("file", "index", "episodes", "seconds", "label_counts")} for s in summaries],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest
