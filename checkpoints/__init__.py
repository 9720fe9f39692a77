"""Checkpoints that ship with microturn (`microturn.checkpoints`).

`SHIPPED` is the trained interaction model the `model` floor policy loads when no checkpoint is
named: the default policy of `dev`, `serve` and `eval run`. Its card (`CARD.md` in the folder)
gives the data recipe, the exact commands and the held-out results. The folder is package data,
so a wheel install carries it too.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_NAME = "tiny-floor-v3"
SHIPPED = Path(__file__).resolve().parent / SHIPPED_NAME
