"""The official FD-bench folder layout, read as-is from small fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from microturn.runtime.eval.layout import LayoutError, discover, read_item

OFFICIAL = Path(__file__).parent / "fixtures" / "official"


def test_every_official_task_is_recognised():
    items, problems = discover(OFFICIAL)
    by_task = {it.task: it for it in items}
    assert sorted(by_task) == sorted([
        "v1/pause_handling", "v1/smooth_turn_taking", "v1/user_interruption", "v1/backchannel",
        "v1.5/user_interruption", "v1.5/user_backchannel", "v1.5/talking_to_other", "v1.5/background_speech"])
    assert by_task["v1/pause_handling"].event == (1.25, 2.5)
    assert by_task["v1/smooth_turn_taking"].event == (3.0, 5.5)
    intr = by_task["v1/user_interruption"]
    assert intr.event == (6.1, 7.4) and intr.text == "wait, what about dogs" and intr.context == "tell me about cats"
    v15 = by_task["v1.5/user_backchannel"]
    assert v15.event == (2.0, 2.75) and v15.text == "uh huh" and v15.context == "hello there"
    assert v15.version == "v1.5" and v15.clean_input_wav.is_file()
    assert all(it.truth is None for it in items)   # official items carry no truth.json


def test_unreadable_folders_are_reported_not_fatal():
    items, problems = discover(OFFICIAL)
    assert len(items) == 8
    assert len(problems) == 2
    assert any("no_json" in p and "none of pause.json" in p for p in problems)
    assert any("bad_timestamp" in p and "[start_s, end_s]" in p for p in problems)


def test_missing_input_and_bad_json_raise_clear_errors(tmp_path):
    with pytest.raises(LayoutError, match="no input.wav"):
        read_item(tmp_path)
    item = tmp_path / "pause_item"
    shutil.copytree(OFFICIAL / "v1" / "candor_pause_handling" / "1", item)
    (item / "pause.json").write_text("{oops")
    with pytest.raises(LayoutError, match="cannot read JSON"):
        read_item(item)
    with pytest.raises(LayoutError, match="not a directory"):
        discover(tmp_path / "nope")
