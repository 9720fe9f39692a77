"""The interaction model's targets (issue 6), read off an evaluation summary.

Each target names the task and metric of `score.summarize` it is judged by. Where the harness
measures something close to, but not exactly, what the target says, the note says how; what the
harness does not measure at all is listed in `NOT_MEASURED`, so a report never implies it.
An *optional* target (the prompt tasks, added after suites that lack them were made) is judged
only when the suite has its task at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    task: str
    metric: str
    at_most: float | None = None
    at_least: float | None = None
    what: str = ""
    optional: bool = False   # judged only when the summary has the task (suites made before it lack it)

    def applies(self, summary: dict[str, dict[str, Any]]) -> bool:
        return not self.optional or self.task in summary

    @property
    def bound(self) -> float:
        return self.at_most if self.at_most is not None else self.at_least

    def shortfall(self, value: float | None) -> float:
        """How far `value` misses, relative to the bound (0 when met; 1 when unmeasured)."""
        if value is None:
            return 1.0
        if self.at_most is not None:
            return max(0.0, value - self.at_most) / max(self.at_most, 1e-9)
        return max(0.0, self.at_least - value) / max(self.at_least, 1e-9)

    def describe(self) -> str:
        return f"{'<=' if self.at_most is not None else '>='} {self.bound:g}"


TARGETS: tuple[Target, ...] = (
    Target("v1/pause_handling", "TOR_truth_short", at_most=0.15,
           what="pause take-over, pauses <= 1.2 s (longer ones meet the required 1.2 s answer fallback)"),
    Target("v1/smooth_turn_taking", "TOR", at_least=0.95, what="turn take-over"),
    Target("v1/smooth_turn_taking", "latency_truth_median", at_most=0.35,
           what="turn-taking latency, s (median over take-overs, end of question -> agent audio)"),
    Target("v1/user_interruption", "TOR", at_least=0.95, what="v1 interruptions answered"),
    Target("v1/user_interruption", "stop_latency_truth_median", at_most=0.45,
           what="v1 stop after interruption onset, s (median)"),
    Target("v1.5/user_interruption", "respond_rate_proxy", at_least=0.95, what="v1.5 interruptions yielded to*"),
    Target("v1.5/user_interruption", "stop_latency_truth_median", at_most=0.45,
           what="v1.5 stop after interruption onset, s (median)"),
    Target("v1.5/user_backchannel", "continue_rate_proxy", at_least=0.80, what="backchannels ridden through*"),
    Target("v1.5/talking_to_other", "continue_rate_proxy", at_least=0.90,
           what="side talk ridden through* (v1.5 'others': degraded, not only full-band)"),
    Target("mt/board_change", "prompt_within_two_turns_rate", at_least=0.95, optional=True,
           what="whiteboard changes in silence voiced within two micro-turns (closed loop)"),
    Target("mt/timer_due", "prompt_within_two_turns_rate", at_least=0.95, optional=True,
           what="due timers voiced within two micro-turns (closed loop)"),
)

# Measured open loop on held-out generator episodes by `microturn eval episodes` (see
# eval/episodes.py), not by the FD-bench-style items: a summary from `eval run` has no
# "episodes" task, and these rows then say where to measure them.
EPISODE_TARGETS: tuple[Target, ...] = (
    Target("episodes", "no_false_yield_rate", at_least=0.98, what="agent turns without a false yield (open loop)"),
    Target("episodes", "false_starts_per_min", at_most=3.0, what="false starts per minute (open loop)"),
    Target("episodes", "monologue_bc_per_min", at_least=2.0, what="backchannels per minute in monologues (open loop)"),
    Target("episodes", "prompt_within_two_turns_rate", at_least=0.95,
           what="visual and timer prompts: the model's SPEAK within two micro-turns (open loop)"),
)
ALL_TARGETS = TARGETS + EPISODE_TARGETS


def check(summary: dict[str, dict[str, Any]], targets: tuple[Target, ...] = ALL_TARGETS) -> list[dict[str, Any]]:
    """One row per target: its value in `summary`, the bound, and whether it is met (None for an
    optional target whose task the suite lacks)."""
    rows = []
    for t in targets:
        value = summary.get(t.task, {}).get(t.metric)
        met = (value is not None and t.shortfall(value) == 0.0) if t.applies(summary) else None  # None: not judged
        rows.append({"task": t.task, "metric": t.metric, "what": t.what, "target": t.describe(),
                     "value": value, "met": met})
    return rows


def shortfall(summary: dict[str, dict[str, Any]], tasks: list[str] | None = None) -> float:
    """Sum of relative misses over the targets of `tasks` (all when None): 0 = all met."""
    return sum(t.shortfall(summary.get(t.task, {}).get(t.metric))
               for t in TARGETS if (tasks is None or t.task in tasks) and t.applies(summary))


def table(summary: dict[str, dict[str, Any]]) -> str:
    """Markdown: target, value, met (targets of tasks the summary lacks: where to measure them)."""
    lines = ["| target | task / metric | bound | value | met |", "|---|---|---|---|---|"]
    for t, r in zip(ALL_TARGETS, check(summary)):
        if r["task"] == "episodes" and "episodes" not in summary:
            lines.append(f"| {r['what']} | `microturn eval episodes` {r['metric']} | {r['target']} | | n/a |")
            continue
        if not t.applies(summary):
            lines.append(f"| {r['what']} | {r['task']} {r['metric']} (no such items: `eval synth --tasks "
                         f"{r['task']}`) | {r['target']} | | n/a |")
            continue
        value = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        lines.append(f"| {r['what']} | {r['task']} {r['metric']} | {r['target']} | {value} | "
                     f"{'yes' if r['met'] else 'NO'} |")
    return "\n".join(lines)


def comparison(by_policy: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown: one row per harness target, one column per policy (x = missed), and each
    policy's sum of relative misses (`shortfall`, harness targets only) as the last row. The
    open-loop episode targets get rows too when some policy was measured on episodes
    (`eval run --episodes`; "-" for the others)."""
    names = list(by_policy)
    lines = ["| target | bound | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    measured_on_episodes = any("episodes" in by_policy[n] for n in names)
    for t in TARGETS + (EPISODE_TARGETS if measured_on_episodes else ()):
        if not any(t.applies(by_policy[n]) for n in names):
            continue
        cells = []
        for name in names:
            v = by_policy[name].get(t.task, {}).get(t.metric)
            cells.append("-" if v is None else f"{v:.2f}" + ("" if t.shortfall(v) == 0 else " x"))
        lines.append(f"| {t.what} | {t.describe()} | " + " | ".join(cells) + " |")
    lines.append("| sum of relative misses (harness targets) | 0 | " + " | ".join(f"{shortfall(by_policy[n]):.2f}" for n in names) + " |")
    return "\n".join(lines)
