"""Helpers for the interaction-model tests: small configs, seeded models."""

from __future__ import annotations

import dataclasses

import torch

from microturn.runtime.model.config import get_config
from microturn.runtime.model.transformer import InteractionModel


def small_config(**changes):
    """`tiny` with a short window so eviction happens within a few steps."""
    return dataclasses.replace(get_config("tiny"), name="test", **changes)


def make_model(config=None, ops=None, seed: int = 0) -> InteractionModel:
    torch.manual_seed(seed)
    return InteractionModel(config or get_config("tiny"), ops=ops).eval()

