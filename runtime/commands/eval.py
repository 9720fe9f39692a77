"""`microturn eval`: FD-bench-style evaluation: synth, run, score.

    microturn eval synth --out runs/suite --items 5 --seed 0
    microturn eval run --data runs/suite --out runs/default   # the shipped model beside silence-timeout-800
    microturn eval run --data runs/suite --policy silence-timeout-500 --out runs/st500
    microturn eval run --data runs/suite --policy silence-timeout-200,floor-holder --out runs/cmp   # one folder each + table
    microturn eval score --data some/fdbench/folder          # output.wav beside each input.wav
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# What `eval run` compares when no --policy is given: the runtime's default policy (the shipped
# model) and the timer baseline every comparison should show beside it.
DEFAULT_RUN_POLICIES = "model,silence-timeout-800"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="FD-bench-style evaluation: synth, run, score")
    sub = p.add_subparsers(dest="eval_command", metavar="STEP")

    s = sub.add_parser("synth", help="synthesize a stimulus suite in FD-bench's v1 / v1.5 layout")
    s.add_argument("--out", required=True, help="folder to write the suite into")
    s.add_argument("--items", type=int, default=5, help="items per task (10 tasks; default 5 = 50 items)")
    s.add_argument("--seed", type=int, default=0, help="the same seed writes the same bytes (default 0)")
    s.add_argument("--tasks", help="comma-separated subset of tasks, e.g. v1/pause_handling")
    s.add_argument("--voices", choices=["default", "heldout"], default="default",
                   help="default: six stock eSpeak voices; heldout: only voice variants that "
                        "`microturn train data` never trains on, one per accent (for judging a trained model)")
    s.add_argument("--snr-db", type=float, help="add steady noise this many dB under the user's speech "
                                                  "(default: none, the clean suite)")
    s.add_argument("--noise", default="pink", help="colour of that noise: white, pink, brown or hum (default pink)")
    s.add_argument("--rt60", type=float, metavar="SECONDS",
                   help="put every talker in one reverberant room with this reverberation time (default: dry)")
    s.set_defaults(func=run_synth)

    r = sub.add_parser("run", help="drive the engine over every input.wav, write output.wav, score")
    r.add_argument("--data", required=True, help="a suite in FD-bench layout (ours or the official one)")
    r.add_argument("--policy", default=DEFAULT_RUN_POLICIES,
                   help="floor policy name; several comma-separated = one run each (default: "
                        f"{DEFAULT_RUN_POLICIES}: the default policy beside the 800 ms timeout baseline)")
    r.add_argument("--app", help="agent app spec (file.py, file.py:Class or module:Class); default the arithmetic example")
    r.add_argument("--checkpoint", help="model checkpoint for the `model` policy (default: the shipped one)")
    r.add_argument("--policy-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option for the policy's factory, e.g. take_threshold=0.3 (repeatable; "
                        "values are JSON, else strings)")
    r.add_argument("--out", required=True, help="output folder (mirrors --data)")
    r.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    r.add_argument("--limit", type=int, help="only the first N items (smoke runs)")
    r.add_argument("--no-clean", action="store_true", help="skip clean_output.wav for v1.5 items")
    r.add_argument("--no-plots", action="store_true", help="skip the per-item timeline PNGs")
    r.add_argument("--episodes", help="a `train data --split eval` data set: the `model` policy's "
                                      "open-loop targets (false yields, false starts, monologue "
                                      "backchannels, prompts) join its table, so one command gives every target")
    r.add_argument("--bootstrap", type=int, default=500, metavar="DRAWS",
                   help="with several policies: 90%% intervals for each target and the sum of misses, "
                        "and how often each policy's sum is below the first's, from DRAWS paired "
                        "resamples of the items (default 500; 0 = off)")
    r.add_argument("--json", action="store_true", help="print only the JSON summary")
    r.set_defaults(func=run_run)

    c = sub.add_parser("score", help="score output.wav files sitting beside the inputs (any system)")
    c.add_argument("--data", required=True, help="folder in FD-bench layout holding output.wav files")
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--json", action="store_true", help="print only the JSON summary")
    c.set_defaults(func=run_score)
    t = sub.add_parser("tune", help="choose the model policy's decision thresholds on a tuning suite")
    t.add_argument("--data", required=True, help="a tuning suite (not the one you report on)")
    t.add_argument("--checkpoint", required=True, help="model checkpoint folder")
    t.add_argument("--out", required=True, help="folder for the runs, tuning.json and decisions.json")
    t.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    t.add_argument("--episodes", help="a `train data --split eval` data set: the take and yield "
                                      "thresholds also answer for false starts and false yields there")
    t.add_argument("--install", action="store_true",
                   help="also write the tuned thresholds into the checkpoint's decisions.json (the policy "
                        "reads it there), keeping the options there that the tuner does not choose")
    t.set_defaults(func=run_tune)
    e = sub.add_parser("episodes", help="open-loop event metrics of a model checkpoint on held-out "
                                        "`train data --split eval` episodes (false yields, false starts, "
                                        "monologue backchannels, prompts)")
    e.add_argument("--data", required=True, help="a data set written by `microturn train data --split eval`")
    e.add_argument("--checkpoint", help="model checkpoint folder (its decisions.json is used; default: the "
                                        "shipped checkpoints/tiny-floor-v3)")
    e.add_argument("--policy-option", action="append", default=[], metavar="KEY=VALUE",
                   help="override a decision threshold, e.g. take_threshold=0.3 (repeatable)")
    e.add_argument("--limit", type=int, help="only the first N episodes")
    e.add_argument("--out", help="also write the report (JSON) here")
    e.add_argument("--json", action="store_true", help="print only the JSON summary")
    e.set_defaults(func=run_episodes)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_synth(args) -> int:
    from microturn.runtime.eval.layout import TASKS
    from microturn.runtime.eval.room import Room
    from microturn.runtime.eval.synth import synth_suite

    tasks = args.tasks.split(",") if args.tasks else None
    unknown = [t for t in tasks or [] if t not in TASKS]
    if unknown:
        print(f"unknown task(s) {unknown}; known: {', '.join(TASKS)}", file=sys.stderr)
        return 2
    if args.items < 1:
        print("--items must be at least 1", file=sys.stderr)
        return 2
    try:
        room = Room(snr_db=args.snr_db, noise=args.noise, rt60_s=args.rt60)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    folders = synth_suite(Path(args.out), args.items, args.seed, tasks, progress=True, voices=args.voices, room=room)
    heard = "" if room.clean else f" ({', '.join(f'{k} {v}' for k, v in room.to_dict().items())})"
    print(f"wrote {len(folders)} items to {args.out}{heard} in {time.perf_counter() - t0:.1f} s")
    return 0


def _finish(results, problems, out: Path | None, title: str, as_json: bool, episodes: dict | None = None,
            separability: dict | None = None) -> dict:
    from microturn.runtime.eval import targets
    from microturn.runtime.eval.plots import overview
    from microturn.runtime.eval.report import summary_table
    from microturn.runtime.eval.score import summarize

    summary = summarize(results)
    if episodes is not None:  # `eval episodes` figures, under their own task name
        summary["episodes"] = episodes
    errors = [{"item": r["item"], "error": r["error"]} for r in results if "error" in r]
    report = {"title": title, "items": len(results), "errors": errors, "problems": problems, "summary": summary,
              "targets": targets.check(summary)}
    if separability is not None:  # threshold-free, from the same `--episodes` pass
        report["separability"] = separability
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps({**report, "results": results}, indent=1, default=str) + "\n")
        if summary:
            overview(summary, out / "overview.png", title)
    if not as_json:
        print(f"\n{title}: {len(results)} items, {len(errors)} errors")
        for e in errors:
            print(f"  ERROR {e['item']}: {e['error']}")
        for p in problems:
            print(f"  skipped: {p}")
        print(summary_table({k: v for k, v in summary.items() if k != "episodes"}))
        print("(* = proxy for a judge metric; word timings from pocketsphinx, segments from Silero VAD)")
        print("\nThe interaction model's targets (issue 6):")
        print(targets.table(summary))
        if separability is not None:
            print("\nSeparability on the episodes (AUC, whatever the thresholds; docs/eval.md):")
            print(", ".join(f"{k} {v}" for k, v in separability.items()))
    return report


def run_run(args) -> int:
    from microturn.runtime.engine.policy import policy_names
    from microturn.runtime.eval import targets
    from microturn.runtime.eval.report import comparison_table
    from microturn.runtime.eval.runner import RunOptions, policy_kwargs, run_suite

    policies = [p for p in args.policy.split(",") if p]
    known = policy_names()
    unknown = [p for p in policies if p not in known]
    if unknown:
        print(f"unknown policy {unknown}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    if not Path(args.data).is_dir():
        print(f"--data {args.data}: not a directory", file=sys.stderr)
        return 2
    if args.bootstrap < 0:
        print(f"--bootstrap {args.bootstrap}: must be 0 (off) or a number of draws", file=sys.stderr)
        return 2
    try:  # fail here, once, with a clear message, rather than in every worker
        from microturn.runtime.apps import load_app
        from microturn.runtime.engine.policy import make_policy, policy_takes
        from microturn.runtime.model.policy import resolve_checkpoint

        if args.checkpoint is None and "model" in policies:
            args.checkpoint = resolve_checkpoint(None)  # by path, so reports and workers name what ran
        load_app(args.app)
        if args.checkpoint and not any(policy_takes(p, "checkpoint") for p in policies):
            raise ValueError(f"--checkpoint {args.checkpoint}: none of the policies {policies} takes a checkpoint")
        extra = _policy_options(args.policy_option)
        for key in extra:
            if not any(policy_takes(p, key) for p in policies):
                raise ValueError(f"--policy-option {key}: none of the policies {policies} takes it")
        for policy in policies:
            make_policy(policy, **policy_kwargs(policy, args.checkpoint, extra))
        if args.episodes and "model" not in policies:
            raise ValueError("--episodes: only the `model` policy is measured on episodes (add it to --policy)")
        if args.episodes:
            _require_data_set(args.episodes, "--episodes")
    except Exception as exc:
        print(f"microturn eval run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    by_policy, reports, results_by_policy = {}, {}, {}
    for policy in policies:
        out = Path(args.out) / policy if len(policies) > 1 else Path(args.out)
        opts = RunOptions(policy=policy, app=args.app, checkpoint=args.checkpoint, policy_options=extra,
                          clean_outputs=not args.no_clean, plots=not args.no_plots)
        t0 = time.perf_counter()
        results, problems = run_suite(Path(args.data), out, opts, workers=args.workers,
                                      progress=not args.json, limit=args.limit)
        episodes, separability = (_episode_summary(args, extra) if args.episodes and policy == "model"
                                  else (None, None))
        wall = time.perf_counter() - t0
        report = _finish(results, problems, out, f"policy {policy} ({wall:.0f} s)", args.json, episodes, separability)
        report["wall_s"] = round(wall, 1)
        by_policy[policy], reports[policy] = report["summary"], report
        results_by_policy[policy] = results
    if len(policies) > 1:
        table = comparison_table(by_policy) + "\n\nIssue-6 targets:\n\n" + targets.comparison(by_policy)
        if args.bootstrap:
            from microturn.runtime.eval import bootstrap

            sure = bootstrap.bootstrap(results_by_policy, bootstrap.BootstrapOptions(draws=args.bootstrap))
            for policy, row in sure["policies"].items():
                reports[policy]["bootstrap"] = row
            table += "\n\nHow sure (items resampled within each task, the same draws for every policy):\n\n"
            table += bootstrap.table(sure)
        (Path(args.out) / "table.md").write_text(table + "\n")
        if not args.json:
            print("\n" + table)
    if args.json:
        print(json.dumps(reports if len(policies) > 1 else reports[policies[0]], indent=1, default=str))
    bad = [r for rep in reports.values() for r in rep["errors"]]
    return 1 if bad else 0


def _require_data_set(path: str, flag: str) -> None:
    """A `train data --split eval` folder, or a clear ValueError naming the flag."""
    if not (Path(path) / "manifest.json").is_file():
        raise ValueError(f"{flag} {path}: no manifest.json (make one with `microturn train data --split eval`)")


def _episode_summary(args, extra: dict) -> tuple[dict, dict]:
    """The `model` policy's open-loop figures on `--episodes` (as `eval episodes` measures them)
    and the probabilities' separability there."""
    from microturn.runtime.eval.episodes import evaluate_episodes
    from microturn.runtime.model.policy import DecisionOptions, decision_options

    known = DecisionOptions.names()
    report = evaluate_episodes(args.episodes, args.checkpoint,
                               decision_options(args.checkpoint, {k: v for k, v in extra.items() if k in known}),
                               progress=not args.json)
    return report["summary"]["episodes"], report["separability"]


def run_tune(args) -> int:
    from microturn.runtime.eval.tune import install, tune

    if not Path(args.data).is_dir() or not Path(args.checkpoint).is_dir():
        print("--data and --checkpoint must be folders", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    episodes = None
    if args.episodes:
        from microturn.runtime.eval.episodes import StreamedEpisodes

        try:
            _require_data_set(args.episodes, "--episodes")
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        episodes = StreamedEpisodes(args.episodes, args.checkpoint)
    result = tune(Path(args.data), args.checkpoint, Path(args.out), workers=args.workers, episodes=episodes)
    print(f"chose {result['decisions']} in {time.perf_counter() - t0:.0f} s; wrote {Path(args.out) / 'decisions.json'}")
    if args.install:
        installed = install(Path(args.out), args.checkpoint)
        kept = sorted(set(installed) - set(result["decisions"]))
        print(f"installed into {args.checkpoint}" + (f" (kept its {', '.join(kept)})" if kept else ""))
    return 0


def run_episodes(args) -> int:
    from microturn.runtime.eval import targets
    from microturn.runtime.eval.episodes import evaluate_episodes
    from microturn.runtime.model.policy import DecisionOptions, decision_options, resolve_checkpoint

    try:
        args.checkpoint = args.checkpoint or resolve_checkpoint(None)
        extra = _policy_options(args.policy_option)
        unknown = sorted(set(extra) - DecisionOptions.names())
        if unknown:
            raise ValueError(f"--policy-option {unknown[0]}: not a decision option")
        _require_data_set(args.data, "--data")
        t0 = time.perf_counter()
        report = evaluate_episodes(args.data, args.checkpoint, decision_options(args.checkpoint, extra),
                                   max_episodes=args.limit, progress=not args.json)
    except (ValueError, FileNotFoundError) as exc:
        print(f"microturn eval episodes: {exc}", file=sys.stderr)
        return 2
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    report["targets"] = targets.check(report["summary"], targets.EPISODE_TARGETS)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    if args.json:
        print(json.dumps({k: report[k] for k in ("summary", "separability", "targets", "decisions", "wall_s")},
                         indent=1))
        return 0
    for key, value in report["summary"]["episodes"].items():
        print(f"{key:32s} {value}")
    print("\nseparability (threshold-free, see eval/separability.py):")
    for key, value in report["separability"].items():
        print(f"{key:32s} {value}")
    print("\n" + "\n".join(line for line in targets.table(report["summary"]).splitlines()
                            if "open loop" in line or line.startswith("|--") or line.startswith("| target")))
    print(_breakdown_table(report["breakdown"]))
    print(f"\n{report['summary']['episodes']['episodes']} episodes in {report['wall_s']} s")
    return 0


def _breakdown_table(breakdown: dict) -> str:
    """Markdown: one row per factor bucket (how the open-loop metrics move with conditions)."""
    from microturn.runtime.eval.episodes import BREAKDOWN_METRICS

    lines = ["", "| factor | bucket | episodes | " + " | ".join(BREAKDOWN_METRICS) + " |",
             "|---" * (3 + len(BREAKDOWN_METRICS)) + "|"]
    for factor, buckets in breakdown.items():
        for name, m in buckets.items():
            cells = ["-" if m[k] is None else f"{m[k]:g}" for k in BREAKDOWN_METRICS]
            lines.append(f"| {factor} | {name} | {m['episodes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_score(args) -> int:
    from microturn.runtime.eval.runner import score_suite

    data = Path(args.data)
    if not data.is_dir():
        print(f"--data {args.data}: not a directory", file=sys.stderr)
        return 2
    results, problems = score_suite(data, progress=not args.json, workers=args.workers)
    report = _finish(results, problems, None, f"scored {data}", args.json)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    return 1 if report["errors"] else 0


def _policy_options(pairs: list[str]) -> dict:
    """`["take_threshold=0.3", "name=x"]` -> `{"take_threshold": 0.3, "name": "x"}`."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--policy-option {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out

