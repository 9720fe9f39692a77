"""Configs: computed parameter counts, the published tml-small shape, `microturn model info`."""

from __future__ import annotations

import json

import pytest

from microturn.runtime.cli import main
from microturn.runtime.model.config import CONFIGS, ModelConfig, count_params, get_config
from model_helpers import make_model


def test_computed_count_equals_instantiated_tiny():
    model = make_model()
    assert count_params(get_config("tiny"))["total"] == sum(p.numel() for p in model.parameters())


def test_tml_small_matches_published_shape_within_5_percent():
    counts = count_params(CONFIGS["tml-small"])
    assert abs(counts["total"] / 276e9 - 1) < 0.05
    assert abs(counts["active"] / 12e9 - 1) < 0.05


def test_gpu_config_is_about_one_billion():
    assert 0.9e9 < count_params(CONFIGS["gpu-1b"])["total"] < 1.1e9


def test_active_is_total_for_dense_routing():
    c = ModelConfig(n_experts=2, top_k=2)
    counts = count_params(c)
    assert counts["active"] == counts["total"]


def test_tokens_per_turn_follow_the_layout():
    c = get_config("tiny")
    names = [s["slot"] for s in c.layout.describe()]
    assert names == ["TURN", "AUDIO", "VIDEO", "USER_TEXT", "AGENT_TEXT", "ACT", "TEXT_OUT"]
    assert c.tokens_per_turn == sum(s["count"] for s in c.layout.describe())
    assert c.layout.describe()[1]["count"] == 5  # 40 ms audio frames in 200 ms


def test_invalid_config_is_a_clear_error():
    with pytest.raises(ValueError, match="n_heads must be a multiple of n_kv_heads"):
        ModelConfig(n_heads=3, n_kv_heads=2)
    with pytest.raises(ValueError, match="unknown model config 'huge'"):
        get_config("huge")


def test_model_info_json(capsys):
    assert main(["model", "info", "--config", "tml-small", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["total_params"] == count_params(CONFIGS["tml-small"])["total"]
    assert info["active_params"] == count_params(CONFIGS["tml-small"])["active"]
    assert info["tokens_per_micro_turn"] == CONFIGS["tml-small"].tokens_per_turn
