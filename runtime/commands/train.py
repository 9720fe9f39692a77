"""`microturn train`: training data and training of the interaction model.

    microturn train data --out DIR [--hours H] [--seed S] [--workers N] [--split train|eval]
                         [--snr-db LO,HI] [--user-rt60 LO,HI]
    microturn train --config tiny --data DIR --out PATH [--minutes M] [--seed S]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="training data and training of the interaction model",
                              description="Train the interaction model on data made by `train data`.")
    p.add_argument("--config", default="tiny", help="model config name (default: tiny)")
    p.add_argument("--data", help="a data directory written by `microturn train data`")
    p.add_argument("--out", help="checkpoint path to write (and to resume from)")
    p.add_argument("--minutes", type=float, default=25.0, help="training time budget (default 25)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16, help="crops per step (default 16)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 3e-3)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    p.add_argument("--device", default="cpu",
                   help="where the forward and backward passes run: cpu (default, the shipped recipe) or cuda")
    p.add_argument("--group-weight", action="append", default=[], metavar="GROUP=FACTOR",
                   help="scale one label group's loss weight, replacing the default factor for it "
                        "(defaults: TAKE=0.4, YIELD=0.6; groups: see train/loop.py); repeatable")
    p.add_argument("--init", metavar="CHECKPOINT",
                   help="fine-tune: start from this checkpoint folder's weights (fresh optimizer and schedule; "
                        "--minutes counts this run only)")
    p.add_argument("--eval-data", help="a `train data --split eval` directory: report held-out results too")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)
    sub = p.add_subparsers(dest="train_command", metavar="data")
    d = sub.add_parser("data", help="generate synthetic two-party conversations with labels",
                       description="Synthetic conversations from eSpeak NG with per-micro-turn "
                                   "floor-action labels; see docs/training.md.")
    d.add_argument("--out", dest="data_out", metavar="DIR", required=True, help="output directory")
    d.add_argument("--hours", type=float, default=1.0, help="hours of audio (default 1)")
    d.add_argument("--seed", dest="data_seed", metavar="SEED", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel worker processes (default: all cores)")
    d.add_argument("--split", choices=["train", "eval"], default="train",
                   help="train, or eval: held-out voices and templates only (default train)")
    d.add_argument("--shard-minutes", type=float, default=10.0, help="audio per shard (default 10)")
    d.add_argument("--yield-delay-ms", type=int, default=300,
                   help="label YIELD this long after an interruption starts (default 300)")
    d.add_argument("--late-answer-share", type=float, default=0.12,
                   help="share of the agent's answers started 0.6-2.4 s late, the silence before "
                        "them labelled SPEAK (default 0.12)")
    d.add_argument("--snr-db", type=_range, default=(12.0, 60.0), metavar="LO,HI",
                   help="the user's speech over steady noise, drawn per episode from LO..HI dB (default 12,60)")
    d.add_argument("--user-rt60", type=_range, default=(0.1, 0.6), metavar="LO,HI",
                   help="reverberation time of the user's room, drawn from LO..HI s (default 0.1,0.6)")
    d.add_argument("--overwrite", action="store_true", help="replace an existing data set in --out")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=run_data)


def run_data(args) -> int:
    from microturn.runtime.train.dataset import DataOptions, generate
    from microturn.runtime.train.labels import LabelOptions
    from microturn.runtime.train.mix import AcousticRanges

    out = Path(args.data_out)
    if (out / "manifest.json").exists() and not args.overwrite:
        print(f"microturn train data: {out} already holds a data set (manifest.json); "
              "pass --overwrite to replace it", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("microturn train data: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        options = DataOptions(hours=args.hours, seed=args.data_seed, split=args.split,
                              shard_minutes=args.shard_minutes,
                              labels=LabelOptions(yield_delay_ms=args.yield_delay_ms,
                                                  late_answer_share=args.late_answer_share),
                              acoustics=AcousticRanges(snr_db=args.snr_db, user_rt60_s=args.user_rt60))
    except ValueError as exc:
        print(f"microturn train data: {exc}", file=sys.stderr)
        return 2
    workers = min(args.workers, options.n_shards)
    try:
        manifest = generate(out, options, workers=workers, progress=not args.quiet)
    except OSError as exc:  # e.g. --out is a file, or the disk is full
        print(f"microturn train data: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    minutes = manifest["generation_seconds"] / 60
    rate = manifest["hours"] / minutes if minutes > 0 else float("inf")
    print(json.dumps({
        "out": str(out), "split": manifest["split"], "hours": manifest["hours"],
        "episodes": manifest["episodes"], "shards": len(manifest["shards"]),
        "generation_seconds": manifest["generation_seconds"], "workers": workers,
        "hours_per_minute": round(rate, 2), "label_counts": manifest["label_counts"],
    }, indent=1))
    return 0


def run_train(args) -> int:
    if not args.data or not args.out:
        print("microturn train: --data DIR and --out PATH are required "
              "(or use `microturn train data` to make data)", file=sys.stderr)
        return 2
    try:
        from microturn.runtime.train.loop import TrainOptions, train
    except ImportError as exc:
        print(f"microturn train: the training loop is not available yet ({exc})", file=sys.stderr)
        return 2
    if args.minutes <= 0 or args.batch_size < 1 or args.lr <= 0:
        print("microturn train: --minutes, --batch-size and --lr must be positive", file=sys.stderr)
        return 2
    try:
        scale = _group_weights(args.group_weight)
    except ValueError as exc:
        print(f"microturn train: {exc}", file=sys.stderr)
        return 2
    options = TrainOptions(config=args.config, minutes=args.minutes, seed=args.seed,
                           batch_size=args.batch_size, lr=args.lr, threads=args.threads, device=args.device,
                           progress=not args.quiet, eval_data=args.eval_data,
                           group_weight_scale=scale, init=args.init)
    try:
        result = train(Path(args.data), Path(args.out), options)
    except (ValueError, FileNotFoundError) as exc:
        print(f"microturn train: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


def _group_weights(pairs: list[str]) -> tuple[tuple[str, float], ...]:
    """`["TAKE=1.0"]` -> the default group factors with TAKE replaced."""
    from microturn.runtime.train.loop import GROUPS, TrainOptions

    scale = dict(TrainOptions.group_weight_scale)
    for pair in pairs:
        group, sep, value = pair.partition("=")
        if not sep or group not in GROUPS:
            raise ValueError(f"--group-weight {pair!r}: expected GROUP=FACTOR with GROUP one of {', '.join(GROUPS)}")
        try:
            factor = float(value)
        except ValueError:
            raise ValueError(f"--group-weight {pair!r}: {value!r} is not a number") from None
        if factor <= 0:
            raise ValueError(f"--group-weight {pair!r}: the factor must be positive")
        scale[group] = factor
    return tuple(scale.items())


def _range(text: str) -> tuple[float, float]:
    """argparse type for "LO,HI" (two numbers, LO <= HI)."""
    import argparse

    parts = text.split(",")
    try:
        lo, hi = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI (two numbers), got {text!r}") from None
    if lo > hi:
        raise argparse.ArgumentTypeError(f"LO must not exceed HI, got {text!r}")
    return lo, hi
