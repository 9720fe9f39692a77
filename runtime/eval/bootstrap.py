"""How sure a comparison on a suite is: bootstrap intervals over its items.

A suite of 12 items a task decides a rate in steps of 1/12 and a median by one or two items, so
two policies (or two checkpoints, or two seeds of one recipe) that differ by a few points may
not differ at all. `eval run` with several policies therefore also reports, per policy, an
interval for each harness target and for the sum of relative misses, and how often each policy's
sum is below the first policy's, from the same resampled items.

The resampling is *paired* and *stratified*: each draw picks, per task, that task's item names
with replacement, and every policy is scored on the same picks (every policy ran the same
items), so the spread is that of the items, not of who drew which. Items a policy failed on
(errors) drop out of that policy's draw, as they drop out of its summary. The open-loop episode
targets are not resampled here: they come from another data set (`eval episodes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from microturn.runtime.eval import targets
from microturn.runtime.eval.score import summarize


@dataclass(frozen=True)
class BootstrapOptions:
    """draws: resamples (500 takes a few seconds for seven policies on 96 items).
    level: the central share of the draws an interval covers (0.9: the 5th to 95th percentile).
    seed: of the resampling, so a report is reproducible."""

    draws: int = 500
    level: float = 0.9
    seed: int = 0


def _by_task(results: list[dict]) -> dict[str, dict[str, dict]]:
    tasks: dict[str, dict[str, dict]] = {}
    for r in results:
        tasks.setdefault(r["task"], {})[r["item"]] = r
    return tasks


def bootstrap(by_policy: dict[str, list[dict]], options: BootstrapOptions | None = None) -> dict[str, Any]:
    """Per policy: {"targets": {metric key: [lo, hi]}, "sum": [lo, hi], "beats_first": share}.

    `by_policy`: each policy's per-item results (as `run_suite` returns them), in report order;
    "beats_first" is the share of draws in which the policy's sum of relative misses is strictly
    below the first policy's (None for the first itself)."""
    o = options or BootstrapOptions()
    if o.draws < 1 or not 0 < o.level < 1:
        raise ValueError(f"bootstrap: draws must be >= 1 and level in (0, 1), got {o.draws}, {o.level}")
    names = list(by_policy)
    if not names:
        return {}
    indexed = {p: _by_task(rs) for p, rs in by_policy.items()}
    item_names = {task: sorted({n for p in names for n in indexed[p].get(task, {})})
                  for task in sorted({t for p in names for t in indexed[p]})}
    rng = np.random.default_rng(o.seed)
    values: dict[str, dict[str, list[float]]] = {p: {} for p in names}
    sums = {p: np.zeros(o.draws) for p in names}
    for d in range(o.draws):
        picks = {task: [items[i] for i in rng.integers(len(items), size=len(items))]
                 for task, items in item_names.items()}
        for p in names:
            drawn = []
            for task, chosen in picks.items():
                mine = indexed[p].get(task, {})
                drawn.extend(mine[n] for n in chosen if n in mine)  # a repeat counts again
            summary = summarize(drawn)
            sums[p][d] = targets.shortfall(summary)
            for t in targets.TARGETS:
                v = summary.get(t.task, {}).get(t.metric)
                if v is not None:
                    values[p].setdefault(_key(t), []).append(float(v))
    lo_q, hi_q = (1 - o.level) / 2 * 100, (1 + o.level) / 2 * 100
    out: dict[str, Any] = {}
    for p in names:
        out[p] = {
            "targets": {k: [round(float(np.percentile(v, lo_q)), 4), round(float(np.percentile(v, hi_q)), 4)]
                        for k, v in values[p].items()},
            "sum": [round(float(np.percentile(sums[p], lo_q)), 3), round(float(np.percentile(sums[p], hi_q)), 3)],
            "beats_first": None if p == names[0] else round(float(np.mean(sums[p] < sums[names[0]])), 3),
        }
    return {"draws": o.draws, "level": o.level, "seed": o.seed, "policies": out}


def _key(t: targets.Target) -> str:
    return f"{t.task} {t.metric}"


def table(report: dict[str, Any]) -> str:
    """Markdown: each harness target's interval per policy, the sum's, and the paired share."""
    pols = report["policies"]
    names = list(pols)
    pct = f"{report['level'] * 100:g}%"
    lines = [f"| {pct} interval ({report['draws']} paired draws over items) | bound | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for t in targets.TARGETS:
        cells = []
        for n in names:
            iv = pols[n]["targets"].get(_key(t))
            cells.append("-" if iv is None else f"{iv[0]:.2f}-{iv[1]:.2f}")
        lines.append(f"| {t.what} | {t.describe()} | " + " | ".join(cells) + " |")
    lines.append("| sum of relative misses | 0 | " + " | ".join(f"{pols[n]['sum'][0]:.2f}-{pols[n]['sum'][1]:.2f}"
                                                               for n in names) + " |")
    lines.append(f"| sum below {names[0]}'s, share of draws | | "
                 + " | ".join("-" if pols[n]["beats_first"] is None else f"{pols[n]['beats_first']:.2f}"
                              for n in names) + " |")
    return "\n".join(lines)
