"""`microturn model`: interaction model configs and checkpoints.

    microturn model info --config tiny [--json]     parameter counts, tokens per micro-turn
    microturn model init --config tiny --out DIR    a randomly initialised checkpoint
"""

from __future__ import annotations

import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("model", help="interaction model configs and checkpoints: info, init")
    actions = p.add_subparsers(dest="model_action", metavar="ACTION")
    info = actions.add_parser("info", help="total/active parameters and tokens per micro-turn of a config")
    info.add_argument("--config", default="tiny", help="config name (tiny, gpu-1b, tml-small) [tiny]")
    info.add_argument("--json", action="store_true", help="print JSON")
    init = actions.add_parser("init", help="write a randomly initialised checkpoint (safetensors + config.json)")
    init.add_argument("--config", default="tiny", help="config name [tiny]")
    init.add_argument("--out", required=True, help="checkpoint folder to write")
    init.add_argument("--seed", type=int, default=0, help="random seed [0]")
    p.set_defaults(func=run)


def run(args) -> int:
    from microturn.runtime.model.config import describe, get_config

    action = getattr(args, "model_action", None)
    if action is None:
        print("usage: microturn model {info,init} --config NAME ...", file=sys.stderr)
        return 2
    try:
        config = get_config(args.config)
    except ValueError as exc:
        print(f"microturn model: {exc}", file=sys.stderr)
        return 2
    if action == "info":
        info = describe(config)
        if args.json:
            print(json.dumps(info, indent=2))
        else:
            print(f"{info['config']}: {info['total_params']:,} parameters, {info['active_params']:,} active per token, "
                  f"{info['tokens_per_micro_turn']} tokens per micro-turn, window {info['kv_window_turns']} micro-turns")
        return 0
    if config.name == "tml-small":
        print("microturn model init: tml-small is a parameter-count card, never instantiated", file=sys.stderr)
        return 2
    import torch

    from microturn.runtime.model.checkpoint import save_checkpoint
    from microturn.runtime.model.transformer import InteractionModel

    torch.manual_seed(args.seed)
    weights = save_checkpoint(InteractionModel(config), args.out)
    print(f"wrote {weights} and its config.json ({config.name})")
    return 0
