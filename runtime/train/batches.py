"""Training batches from a `microturn train data` directory, through the model's own inputs.

Audio goes through the model package's feature path (`features.audio_levels`: dMel levels per
40 ms frame), exactly as the live policy computes them, once per shard; the levels are cached
beside the shard (`shard-NNNNN.dmel-<mels>x<levels>[-f0].npy`, -f0 with pitch) so later runs skip the work. The
TURN flags are built in the order `model.policy.turn_flags` uses (a test checks they agree).

A batch is B random crops of `window_turns` consecutive micro-turns (the streaming window), so
every context length the live model meets, from an empty cache to a full window, is trained.
The agent's own backchannel word is the text head's target at its BACKCHANNEL decision and
comes back as AGENT_TEXT input one micro-turn later, as the live policy feeds it.
Episodes whose index is a multiple of `VALIDATION_EVERY` are kept out for validation.

Video: live whiteboard and camera sessions send a frame every micro-turn, so half of the
episodes get synthetic whiteboard frames (random strokes on a light canvas, from a fixed bank)
with a little per-turn sensor noise; the picture changes exactly at the episode's visual events
(`video_changed`), and stays put otherwise. The other half have no video, like audio-only calls.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from microturn.runtime.model.config import N_FLAGS, ModelConfig
from microturn.runtime.model.features import SAMPLE_RATE, TurnTensors, audio_levels, video_patches
from microturn.runtime.model.layout import NONE_BYTE
from microturn.runtime.train.dataset import FORMAT, SAMPLES_PER_TURN

VALIDATION_EVERY = 25
_FEATURE_CHUNK = 2048  # micro-turns per feature batch (bounded memory)
FRAME_BANK = 64        # distinct synthetic whiteboard pictures
VIDEO_NOISE = 0.02     # per-turn sensor noise on patch values in [-1, 1]


def whiteboard_bank(config: ModelConfig, n: int = FRAME_BANK, seed: int = 0) -> torch.Tensor:
    """[n, P, P, patch*patch*3] patches of synthetic whiteboard pictures (strokes on a canvas)."""
    rng = np.random.default_rng(seed)
    side = 64
    frames = []
    for _ in range(n):
        canvas = np.empty((side, side, 3), np.uint8)
        canvas[:] = rng.integers(200, 256, 3)  # light, slightly tinted board
        for _ in range(int(rng.integers(1, 7))):
            colour = rng.integers(0, 160, 3)
            (x0, y0), (x1, y1) = rng.integers(0, side, (2, 2))
            width = int(rng.integers(1, 4))
            for f in np.linspace(0.0, 1.0, 2 * side):
                x, y = int(x0 + f * (x1 - x0)), int(y0 + f * (y1 - y0))
                canvas[max(y - width, 0): y + width, max(x - width, 0): x + width] = colour
        frames.append(video_patches(canvas, config))
    return torch.stack(frames)


SPEAK = 2  # FLOOR_ACTIONS.index("SPEAK")
GROUPS = ("LISTEN", "BACKCHANNEL", "SPEAK", "CONTINUE", "YIELD", "INTERJECT", "TAKE")


def weight_groups(labels, agent_speaking):
    """Label groups for loss weighting and recall: the floor actions, except that SPEAK while
    the agent is silent (taking the floor: rare, and what latency is made of) is its own group
    TAKE, apart from SPEAK while talking (keeping the floor: frequent and easy)."""
    take = (labels == SPEAK) & (agent_speaking == 0)
    return labels + take * (len(GROUPS) - 1 - SPEAK)


def turn_flags_array(agent_state: np.ndarray, video_changed: np.ndarray, timer_due: np.ndarray) -> np.ndarray:
    """float32 [n, N_FLAGS]: agent speaking, video changed, timer due, interjection pending,
    urgent interjection pending (the data has no interjections yet: 0)."""
    flags = np.zeros((len(agent_state), N_FLAGS), np.float32)
    flags[:, 0] = agent_state != 0
    flags[:, 1] = video_changed != 0
    flags[:, 2] = timer_due != 0
    return flags


def dmel_levels(audio_int16: np.ndarray, config: ModelConfig) -> np.ndarray:
    """uint8 [n, 5, audio_bins] dMel (and pitch) levels of whole micro-turns of int16 audio."""
    n = len(audio_int16) // SAMPLES_PER_TURN
    turns = audio_int16[: n * SAMPLES_PER_TURN].reshape(n, SAMPLES_PER_TURN)
    out = np.empty((n, 5, config.audio_bins), np.uint8)
    with torch.no_grad():
        for i in range(0, n, _FEATURE_CHUNK):
            chunk = torch.from_numpy(turns[i: i + _FEATURE_CHUNK].astype(np.float32) / 32768.0)
            out[i: i + len(chunk)] = audio_levels(chunk, config.n_mels, config.audio_levels, config.pitch_bins).numpy()
    return out


@dataclass
class Batch:
    inputs: TurnTensors
    labels: torch.Tensor       # int64 [B, L] floor-action index
    text_target: torch.Tensor  # int64 [B, L, text_out] byte ids, NONE_BYTE where silent

    def to(self, device) -> "Batch":
        return Batch(self.inputs.to(device), self.labels.to(device), self.text_target.to(device))


class TrainingSet:
    """All shards of a data directory, as per-micro-turn arrays plus episode boundaries."""

    def __init__(self, data_dir: str | Path, config: ModelConfig, progress: bool = False,
                 video_share: float = 0.5):
        self.dir = Path(data_dir)
        self.config = config
        manifest_path = self.dir / "manifest.json"
        if not manifest_path.exists():
            raise FileNotFoundError(f"{self.dir} has no manifest.json (make data with `microturn train data`)")
        self.manifest = json.loads(manifest_path.read_text())
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{manifest_path}: format {self.manifest.get('format')!r}, expected {FORMAT!r}")
        if self.manifest.get("sample_rate") != SAMPLE_RATE:
            raise ValueError(f"{manifest_path}: sample rate {self.manifest.get('sample_rate')} != {SAMPLE_RATE}")
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("dmel", "labels", "flags", "text")}
        bounds, base = [], 0
        from tqdm import tqdm

        for shard in tqdm(self.manifest["shards"], desc="features", unit="shard", disable=not progress):
            path = self.dir / shard["file"]
            with np.load(path) as z:
                dmel = self._dmel(path, z)
                parts["dmel"].append(dmel)
                parts["labels"].append(z["labels"].astype(np.int64))
                parts["flags"].append(turn_flags_array(z["agent_state"], z["video_changed"], z["timer_due"]))
                parts["text"].append(z["agent_text"])
                offsets = z["episode_turns"]
            bounds += [(base + int(a), base + int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
            base += int(offsets[-1])
        self.bounds = bounds  # [(first, end)) global micro-turn indices of every episode
        self.dmel = np.concatenate(parts["dmel"])
        self.labels = np.concatenate(parts["labels"])
        self.flags = np.concatenate(parts["flags"])
        self.text = np.concatenate(parts["text"])
        # per micro-turn: which episode, whether it has video, which picture it shows
        self.episode = np.zeros(len(self.labels), np.int64)
        frame = np.zeros(len(self.labels), np.int64)
        video_changed = self.flags[:, 1] > 0
        for e, (lo, hi) in enumerate(bounds):
            self.episode[lo:hi] = e
            frame[lo:hi] = np.cumsum(video_changed[lo:hi])
        self.has_video = (self.episode * 2654435761 % 1000) < 1000 * video_share
        self.picture = (self.episode * 7919 + frame) % FRAME_BANK
        self.bank = whiteboard_bank(config)
        length = config.window_turns
        usable = [(i, b) for i, b in enumerate(bounds) if b[1] - b[0] >= length]
        if not usable:
            raise ValueError(f"no episode in {self.dir} is at least {length} micro-turns long")
        self.train_episodes = [b for i, b in usable if i % VALIDATION_EVERY != VALIDATION_EVERY - 1]
        self.val_episodes = [b for i, b in usable if i % VALIDATION_EVERY == VALIDATION_EVERY - 1]
        if not self.train_episodes:
            self.train_episodes = self.val_episodes
        if not self.val_episodes:
            self.val_episodes = self.train_episodes[-1:]

    def _dmel(self, shard_path: Path, z) -> np.ndarray:
        c = self.config
        pitch = "-f0" if c.pitch_bins else ""
        cache = shard_path.with_name(f"{shard_path.stem}.dmel-{c.n_mels}x{c.audio_levels}{pitch}.npy")
        if cache.exists():
            try:
                levels = np.load(cache)
            except (OSError, ValueError):  # cut short (a crash while writing): compute it again
                levels = None
            if levels is not None and len(levels) == len(z["labels"]):
                return levels
        levels = dmel_levels(z["audio"], c)
        # Written under a private name, then renamed into place: two trainings started together
        # on one data set both write the cache, and one read the other's half-written file
        # ("could only read 262016 elements") before this.
        tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npy")
        try:
            np.save(tmp, levels)
            os.replace(tmp, cache)
        except OSError:  # a read-only data set: keep the features in memory only
            tmp.unlink(missing_ok=True)
        return levels

    def group_counts(self) -> np.ndarray:
        return np.bincount(weight_groups(self.labels, self.flags[:, 0]), minlength=len(GROUPS))

    def batch(self, rng: np.random.Generator, size: int, validation: bool = False) -> Batch:
        episodes = self.val_episodes if validation else self.train_episodes
        starts = []
        for _ in range(size):
            lo, hi = episodes[int(rng.integers(len(episodes)))]
            starts.append((int(rng.integers(lo, hi - self.config.window_turns + 1)), lo))
        return self.crops(starts)

    def crops(self, starts: list[tuple[int, int]]) -> Batch:
        """Crops of window_turns micro-turns; each start comes with its episode's first turn."""
        length = self.config.window_turns
        idx = np.stack([np.arange(s, s + length) for s, _ in starts])         # [B, L]
        return self.turns(idx, np.array([lo for _, lo in starts]))

    def turns(self, idx: np.ndarray, first: np.ndarray) -> Batch:
        """The micro-turns `idx` [B, L] (global indices; row b's episode starts at `first[b]`)
        as model inputs, labels and text targets (a streaming evaluation takes L = 1)."""
        c = self.config
        b, length = idx.shape
        text_ids = self._text_ids(self.text[idx])                               # [B, L, text_out]
        # AGENT_TEXT input = what the text head wrote one micro-turn earlier (none at episode start)
        prev = idx - 1
        first = np.asarray(first)[:, None]
        agent_in = self._text_ids(self.text[np.maximum(prev, 0)])
        agent_in[prev < first] = NONE_BYTE
        present = torch.from_numpy(self.has_video[idx])
        video = self.bank[torch.from_numpy(self.picture[idx])]
        video = (video + VIDEO_NOISE * torch.randn(video.shape)).clamp(-1, 1) * present[..., None, None, None]
        inputs = TurnTensors(
            audio=torch.from_numpy(self.dmel[idx].astype(np.int64)),
            video=video,
            video_present=present,
            user_bytes=torch.full((b, length, c.text_in), NONE_BYTE, dtype=torch.long),
            agent_bytes=torch.from_numpy(agent_in),
            flags=torch.from_numpy(self.flags[idx]),
        )
        return Batch(inputs, torch.from_numpy(self.labels[idx]), torch.from_numpy(text_ids))

    def _text_ids(self, raw: np.ndarray) -> np.ndarray:
        """uint8 [..., TEXT_WIDTH] zero-padded bytes -> int64 [..., text_out] ids (NONE pad)."""
        width = self.config.text_out
        ids = raw[..., :width].astype(np.int64)
        if ids.shape[-1] < width:
            pad = np.zeros(ids.shape[:-1] + (width - ids.shape[-1],), np.int64)
            ids = np.concatenate([ids, pad], axis=-1)
        ids[ids == 0] = NONE_BYTE
        return ids
