"""The training loop: `microturn train --config tiny --data DIR --out PATH`.

Loss per micro-turn: cross-entropy of the floor-action head against the constructed label,
weighted by label group (rare decisions such as YIELD, BACKCHANNEL and taking the floor would
otherwise drown in LISTEN and keep-talking SPEAK; see `batches.weight_groups`),
plus a smaller cross-entropy of the text head (NONE everywhere, the backchannel word at a
BACKCHANNEL decision). Inputs go through the model's own feature path (batches.py) and its
forward pass over whole crops (ops.py), the same weights the streaming step uses.

Time-budgeted and resumable: the budget (`minutes`) counts across runs. PATH is a checkpoint
folder the model package loads (`model.safetensors` + `config.json`), plus `trainer.pt`
(optimizer, step, time spent, random states) for resuming; both are written every
`checkpoint_every_s` seconds and at the end, replacing files atomically. The learning rate
follows the fraction of the budget spent (warm-up, then cosine), so a resumed run continues the
same schedule.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from microturn.runtime.model.checkpoint import load_model, save_checkpoint
from microturn.runtime.model.config import FLOOR_ACTIONS, TEXT_VOCAB, ModelConfig, get_config
from microturn.runtime.model.transformer import InteractionModel
from microturn.runtime.train.batches import GROUPS, Batch, TrainingSet, weight_groups
from microturn.runtime.train.ops import TrainingOps, forward_training

TRAINER_STATE = "trainer.pt"


@dataclass(frozen=True)
class TrainOptions:
    """How `microturn train` trains (defaults are the shipped recipe)."""

    config: str = "tiny"
    minutes: float = 25.0            # total training time, across resumed runs
    seed: int = 0
    batch_size: int = 16
    lr: float = 3e-3
    warmup_fraction: float = 0.03
    weight_decay: float = 0.01
    text_loss_weight: float = 0.2
    class_weight_power: float = 0.5  # class weight = frequency ** -power (0 = unweighted)
    # Extra factors on some groups' weights, after the frequency weighting. A weight is a
    # decision threshold: with TAKE weighted 4-5x LISTEN the model took the floor whenever a
    # silence was ~20% likely to be a turn end, i.e. in every mid-turn pause; with YIELD at
    # 4x CONTINUE it stopped for user backchannels. These pull both back towards even odds.
    group_weight_scale: tuple[tuple[str, float], ...] = (("TAKE", 0.4), ("YIELD", 0.6))
    checkpoint_every_s: float = 60.0
    validation_batches: int = 8
    threads: int = 0                 # torch threads; 0 = all cores
    # "cpu" (the shipped recipe) or a torch device such as "cuda": the crops are still cut on
    # the CPU, the forward and backward passes run there. The checkpoint is written for the CPU.
    device: str = "cpu"
    progress: bool = True
    max_steps: int = 0               # stop after this many steps in total (0 = time only); tests
    eval_data: str | None = None     # a `--split eval` data set: also report held-out results
    # Start from this checkpoint's weights instead of a random draw (a fine-tune: a fresh
    # optimizer and schedule over `minutes`, which count this run only). Its config must have the
    # requested shapes. None: from scratch.
    init: str | None = None


def class_weights(counts: np.ndarray, power: float,
                  scale: tuple[tuple[str, float], ...] = ()) -> torch.Tensor:
    freq = np.maximum(counts.astype(np.float64), 1.0) / max(counts.sum(), 1)
    w = freq ** -power
    for group, factor in scale:
        if group not in GROUPS:
            raise ValueError(f"unknown label group {group!r} in group_weight_scale; groups: {GROUPS}")
        w[GROUPS.index(group)] *= factor
    w = w / (w * freq).sum()  # the expected weight of a label is 1
    return torch.tensor(w, dtype=torch.float32)


def batch_loss(model: InteractionModel, batch: Batch, weights: torch.Tensor, text_weight: float):
    """Weighted floor loss (weights per `weight_groups` group, normalised like cross_entropy's
    `weight=`) plus text loss; returns (total, floor loss, floor logits)."""
    floor, text = forward_training(model, batch.inputs)
    w = weights[weight_groups(batch.labels, batch.inputs.flags[..., 0])].reshape(-1)
    per_turn = F.cross_entropy(floor.reshape(-1, len(FLOOR_ACTIONS)), batch.labels.reshape(-1), reduction="none")
    floor_loss = (per_turn * w).sum() / w.sum()
    text_loss = F.cross_entropy(text.reshape(-1, TEXT_VOCAB), batch.text_target.reshape(-1))
    return floor_loss + text_weight * text_loss, floor_loss, floor


def lr_at(options: TrainOptions, fraction: float) -> float:
    if fraction < options.warmup_fraction:
        return options.lr * max(fraction / options.warmup_fraction, 0.01)
    progress = (fraction - options.warmup_fraction) / max(1.0 - options.warmup_fraction, 1e-9)
    return options.lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


@torch.no_grad()
def evaluate(model: InteractionModel, data: TrainingSet, options: TrainOptions, weights: torch.Tensor,
             prefix: str = "val", validation: bool = True) -> dict:
    """Floor loss and per-action recall on a fixed set of crops (the held-back episodes, or
    with validation=False any episode: for a held-out data set)."""
    rng = np.random.default_rng(12345)
    losses, hits, totals = [], np.zeros(len(GROUPS)), np.zeros(len(GROUPS))
    model.eval()
    for _ in range(options.validation_batches):
        batch = data.batch(rng, options.batch_size, validation=validation)
        _, floor_loss, floor = batch_loss(model, batch.to(weights.device), weights, options.text_loss_weight)
        losses.append(float(floor_loss))
        pred = floor.argmax(-1).reshape(-1).cpu().numpy()
        gold = batch.labels.reshape(-1).numpy()
        group = weight_groups(gold, batch.inputs.flags[..., 0].reshape(-1).numpy())
        np.add.at(totals, group, 1)
        np.add.at(hits, group[pred == gold], 1)
    model.train()
    recall = {a: (round(float(hits[i] / totals[i]), 3) if totals[i] else None) for i, a in enumerate(GROUPS)}
    return {f"{prefix}_floor_loss": round(float(np.mean(losses)), 4), f"{prefix}_recall": recall}


def _save(model, optimizer, out: Path, state: dict) -> None:
    tmp = out.with_name(out.name + ".saving")
    save_checkpoint(model, tmp)
    torch.save({"optimizer": optimizer.state_dict(), **state}, tmp / TRAINER_STATE)
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(tmp.iterdir()):
        os.replace(f, out / f.name)  # each file is replaced whole; a crash leaves the last good one
    tmp.rmdir()


def train(data_dir: Path, out: Path, options: TrainOptions = TrainOptions(),
          model_config: ModelConfig | None = None) -> dict:
    """Train (or resume training) into the checkpoint folder `out`; returns a summary.
    `model_config` replaces the named config (small shapes for tests)."""
    config = model_config or get_config(options.config)
    threads = torch.get_num_threads()
    if options.threads:
        torch.set_num_threads(options.threads)
    try:
        return _train(data_dir, out, options, config)
    finally:
        torch.set_num_threads(threads)  # a process-wide setting: leave it as we found it


def training_device(name: str) -> torch.device:
    """The torch device for `TrainOptions.device`, with a clear error when it is not there."""
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"unknown training device {name!r} (try cpu or cuda): {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"training device {name!r} asked for, but torch sees no CUDA device here")
    return device


def _train(data_dir: Path, out: Path, options: TrainOptions, config: ModelConfig) -> dict:
    device = training_device(options.device)
    data = TrainingSet(data_dir, config, progress=options.progress)
    weights = class_weights(data.group_counts(), options.class_weight_power, options.group_weight_scale).to(device)
    state_file = out / TRAINER_STATE
    if state_file.exists():
        saved = torch.load(state_file, weights_only=False)
        model = load_model(out, ops=TrainingOps()).to(device).train()
        if model.config != config:
            raise ValueError(f"{out} holds a run of config {model.config.name!r} with other shapes "
                             f"than the requested {config.name!r}; choose a new --out")
        rng = np.random.default_rng()
        rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])
        step, spent, history = saved["step"], saved["seconds"], saved["history"]
    elif out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not a training run of ours (no {TRAINER_STATE}); choose a new --out")
    else:
        torch.manual_seed(options.seed)
        if options.init:
            model = load_model(Path(options.init), ops=TrainingOps()).to(device).train()
            if model.config != config:
                raise ValueError(f"--init {options.init} is config {model.config.name!r}, whose shapes differ "
                                 f"from the requested {config.name!r}")
        else:
            model = InteractionModel(config, ops=TrainingOps()).to(device).train()
        rng = np.random.default_rng(options.seed)
        initial = evaluate(model, data, options, weights)["val_floor_loss"]
        step, spent, history = 0, 0.0, []
        saved = {"initial_val_floor_loss": initial}
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    if state_file.exists():
        optimizer.load_state_dict(saved["optimizer"])
    budget = options.minutes * 60.0
    resumed_at = step

    def snapshot() -> dict:
        return {"step": step, "seconds": spent, "history": history, "options": asdict(options),
                "initial_val_floor_loss": saved["initial_val_floor_loss"],
                "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}

    from tqdm import tqdm

    bar = tqdm(total=round(budget), initial=int(min(spent, budget)), unit="s", desc="training",
               disable=not options.progress)
    last_save, ema = time.perf_counter(), None
    try:
        while spent < budget and not (options.max_steps and step >= options.max_steps):
            t0 = time.perf_counter()
            for g in optimizer.param_groups:
                g["lr"] = lr_at(options, spent / budget)
            batch = data.batch(rng, options.batch_size).to(device)
            loss, floor_loss, _ = batch_loss(model, batch, weights, options.text_loss_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            value = floor_loss.item()
            ema = value if ema is None else 0.95 * ema + 0.05 * value
            history.append(round(value, 4))
            dt = time.perf_counter() - t0
            spent += dt
            bar.update(int(min(spent, budget)) - bar.n)  # whole seconds: "233/1620 s", not a float
            bar.set_postfix(step=step, loss=f"{ema:.3f}")
            if time.perf_counter() - last_save > options.checkpoint_every_s:
                _save(model, optimizer, out, snapshot())
                last_save = time.perf_counter()
    finally:
        bar.close()
        _save(model, optimizer, out, snapshot())  # also on Ctrl-C: resume picks up from here
    result = {"checkpoint": str(out), "config": config.name, "init": options.init, "device": str(device), "steps": step,
              "steps_this_run": step - resumed_at, "train_seconds": round(spent, 1),
              "first_loss": round(float(np.mean(history[:10])), 4) if history else None,
              "last_loss": round(float(np.mean(history[-10:])), 4) if history else None,
              "data_hours": data.manifest["hours"],
              "initial_val_floor_loss": saved["initial_val_floor_loss"],
              "class_weights": {g: round(float(w), 3) for g, w in zip(GROUPS, weights)}}
    result.update(evaluate(model, data, options, weights))
    if options.eval_data:
        held_out = TrainingSet(options.eval_data, config)
        result.update(evaluate(model, held_out, options, weights, prefix="heldout", validation=False))
    return result
