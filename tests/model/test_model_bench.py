"""`microturn bench step` runs and reports what it promises (no timing is asserted)."""

from __future__ import annotations

import json

from microturn.runtime.cli import main


def test_bench_step_reports_both_modes_per_session_count(tmp_path, capsys):
    out = tmp_path / "step.json"
    assert main(["bench", "step", "--json", "--sessions", "1,3", "--steps", "2", "--warmup", "1",
                 "--skip-moe", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["bench"] == "step" and report["step"]["config"] == "tiny"
    assert [r["sessions"] for r in report["step"]["results"]] == [1, 3]
    for row in report["step"]["results"]:
        for mode in ("free", "invariant"):
            assert row[mode]["n"] == 2 and row[mode]["p50"] > 0 and row[mode]["p99"] >= row[mode]["p50"]
    assert json.loads(capsys.readouterr().out)["step"] == report["step"]
