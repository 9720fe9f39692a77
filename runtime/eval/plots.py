"""PNG pictures of an evaluation: one timeline per item and one overview per run (matplotlib Agg).

A timeline has four lanes over media time: the user's speech as constructed (truth.json) or
detected (VAD on input.wav), the agent's speech (VAD on output.wav) with its recognised words,
the policy's decisions (one tick per micro-turn that was not LISTEN), and interjections / other
engine events. The marked FD-bench span (pause, turn point, interruption, overlap) is shaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

_ACTION_COLOURS = {"SPEAK": "tab:green", "CONTINUE": "tab:olive", "YIELD": "tab:red",
                   "BACKCHANNEL": "tab:purple", "INTERJECT": "tab:orange"}


def item_timeline(result: dict[str, Any], path: Path, truth: dict | None = None,
                  user_segments: list | None = None, events: list[dict] | None = None,
                  decisions: list[dict] | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(10, 2.8))
    lanes = {"user": 3, "agent": 2, "decisions": 1, "events": 0}
    duration = result.get("duration_s", 0.0)
    if truth:
        for seg in truth.get("segments", []):
            colour = "tab:blue" if seg["who"].startswith("user") else "tab:gray"
            ax.broken_barh([(seg["start"], seg["end"] - seg["start"])], (lanes["user"] - 0.35, 0.7),
                           color=colour, alpha=0.8)
            ax.text(seg["start"], lanes["user"] + 0.4, seg["text"][:40], fontsize=6, va="bottom")
    elif user_segments:
        ax.broken_barh([(s, e - s) for s, e in user_segments], (lanes["user"] - 0.35, 0.7), color="tab:blue")
    for s, e in result.get("output_segments", []):
        ax.broken_barh([(s, e - s)], (lanes["agent"] - 0.35, 0.7), color="tab:green", alpha=0.8)
    for w, s, _e in result.get("output_words", [])[:60]:
        ax.text(s, lanes["agent"] + 0.38, w, fontsize=5, rotation=30, va="bottom")
    for d in decisions or []:
        action = d.get("action", "LISTEN")
        if action != "LISTEN":
            ax.plot([d["media_ms"] / 1000] * 2, [lanes["decisions"] - 0.3, lanes["decisions"] + 0.3],
                    color=_ACTION_COLOURS.get(action, "black"), lw=1)
    for e in events or []:
        kind = e.get("type", "")
        if kind.startswith(("interjection.", "agent.speech.", "user.barged_in", "agent.backchannel")):
            ax.plot(e["media_ms"] / 1000, lanes["events"], marker="v" if "interjection" in kind else "o",
                    ms=4, color="tab:orange" if "interjection" in kind else "tab:gray")
    event = (truth or {}).get("event")
    if event:
        ax.axvspan(event[0], event[1], color="gold", alpha=0.2, lw=0)
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_xlim(0, max(duration, 0.1))
    ax.set_ylim(-0.8, 3.9)
    ax.set_xlabel("media time (s)")
    ax.set_title(f"{result.get('item', '')}  {_headline(result)}", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _headline(r: dict) -> str:
    keys = ["take_over", "latency", "stop_latency_truth", "response_latency_truth", "behaviour_proxy_truth",
            "keyword_proxy", "backchannel_freq"]
    return "  ".join(f"{k}={r[k]}" for k in keys if r.get(k) is not None)


def overview(summary: dict[str, dict], path: Path, title: str = "") -> Path:
    """One bar per headline metric per task."""
    rows = []
    for task, s in summary.items():
        for key in ("TOR", "latency", "keyword_proxy", "stop_latency_truth", "continue_rate_proxy", "freq"):
            if s.get(key) is not None:
                rows.append((f"{task}\n{key}", float(s[key])))
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(rows)), 3.6))
    ax.bar(range(len(rows)), [v for _, v in rows], color="tab:blue")
    ax.set_xticks(range(len(rows)), [n for n, _ in rows], rotation=70, fontsize=6, ha="right")
    for i, (_, v) in enumerate(rows):
        ax.text(i, v, f"{v:.2f}", ha="center", va="bottom", fontsize=6)
    ax.set_title(title or "FD-bench-style summary (latencies in s; rates 0-1)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
