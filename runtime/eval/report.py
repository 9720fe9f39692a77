"""Turning results into words: the terminal summary table and the baseline comparison table."""

from __future__ import annotations

from typing import Any

# (task, metric, heading, better) for the one-line-per-policy comparison in docs/eval.md
HEADLINE: list[tuple[str, str, str, str]] = [
    ("v1/pause_handling", "TOR", "pause TOR", "low"),
    ("v1/pause_handling", "TOR_truth", "pause TOR truth", "low"),
    ("v1/pause_handling", "TOR_truth_short", "pause<=1.2s TOR truth", "low"),
    ("v1/smooth_turn_taking", "TOR", "turn TOR", "high"),
    ("v1/smooth_turn_taking", "latency", "turn lat s", "low"),
    ("v1/smooth_turn_taking", "latency_truth_median", "turn lat truth p50 s", "low"),
    ("v1/user_interruption", "TOR", "intr TOR", "high"),
    ("v1/user_interruption", "latency", "intr lat s", "low"),
    ("v1/user_interruption", "keyword_proxy", "intr kw*", "high"),
    ("v1/user_interruption", "stop_latency_truth", "intr stop s", "low"),
    ("v1/backchannel", "TOR", "bc TOR", "low"),
    ("v1.5/user_interruption", "stop_latency_truth", "v1.5 intr stop s", "low"),
    ("v1.5/user_interruption", "response_latency_truth", "v1.5 intr resp s", "low"),
    ("v1.5/user_interruption", "respond_rate_proxy", "v1.5 intr respond*", "high"),
    ("v1.5/user_backchannel", "continue_rate_proxy", "v1.5 bc cont*", "high"),
    ("v1.5/talking_to_other", "continue_rate_proxy", "others cont*", "high"),
    ("v1.5/background_speech", "continue_rate_proxy", "bg cont*", "high"),
    ("mt/board_change", "prompt_within_two_turns_rate", "board prompt <=0.4s", "high"),
    ("mt/timer_due", "prompt_within_two_turns_rate", "timer prompt <=0.4s", "high"),
]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def summary_table(summary: dict[str, dict[str, Any]]) -> str:
    """One row per task, one column per metric that task has."""
    lines = []
    for task, metrics in summary.items():
        cells = "  ".join(f"{k}={fmt(v)}" for k, v in metrics.items())
        lines.append(f"{task:<26} {cells}")
    return "\n".join(lines)


def comparison_table(by_policy: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Markdown: one row per policy, the headline metric of every task as columns."""
    head = "| policy | " + " | ".join(f"{h} ({'↓' if b == 'low' else '↑'})" for _, _, h, b in HEADLINE) + " |"
    sep = "|---|" + "---|" * len(HEADLINE)
    rows = [head, sep]
    for policy, summary in by_policy.items():
        cells = [fmt(summary.get(task, {}).get(metric)) for task, metric, _, _ in HEADLINE]
        rows.append(f"| {policy} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
