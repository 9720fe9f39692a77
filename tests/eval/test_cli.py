"""`microturn eval` argument handling: bad input gets a clear message and exit code 2."""

from __future__ import annotations

from pathlib import Path

from microturn.runtime.cli import main

OFFICIAL = Path(__file__).parent / "fixtures" / "official"


def test_unknown_policy_is_refused_with_the_known_names(tmp_path, capsys):
    assert main(["eval", "run", "--data", str(OFFICIAL), "--policy", "nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown policy ['nope']" in err and "floor-holder" in err and "silence-timeout-500" in err


def test_missing_data_folder_and_bad_synth_args(tmp_path, capsys):
    assert main(["eval", "score", "--data", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["eval", "synth", "--out", str(tmp_path), "--tasks", "v9/nothing"]) == 2
    assert "unknown task" in capsys.readouterr().err


def test_score_without_outputs_lists_what_it_skipped(capsys):
    assert main(["eval", "score", "--data", str(OFFICIAL)]) == 0
    out = capsys.readouterr().out
    assert "0 items" in out and out.count("no output.wav to score") == 8 and "bad_timestamp" in out


def test_bad_app_or_policy_option_fails_once_before_any_item(tmp_path, capsys):
    args = ["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path), "--policy", "floor-holder"]
    assert main(args + ["--app", str(tmp_path / "missing.py")]) == 2
    assert "missing.py" in capsys.readouterr().err
    assert main(args + ["--checkpoint", "x.safetensors"]) == 2      # no policy given takes a checkpoint
    assert "checkpoint" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())                              # nothing was run or written


def test_a_checkpoint_goes_only_to_the_policies_that_take_one(tmp_path, monkeypatch, capsys):
    """`--policy model,silence-timeout-800 --checkpoint X`: the model gets X, the baseline is
    built without it (it used to get it too, and fail with a TypeError)."""
    from microturn.runtime.eval import runner
    from microturn.runtime.model.checkpoint import save_checkpoint
    from microturn.runtime.model.config import get_config
    from microturn.runtime.model.transformer import InteractionModel

    ckpt = save_checkpoint(InteractionModel(get_config("tiny")), tmp_path / "ckpt")
    built = {}

    def fake_run_suite(data, out, options, **kwargs):  # build the policy as a worker would; run nothing
        built[options.policy] = runner._make_policy(options)
        return [], []

    monkeypatch.setattr(runner, "run_suite", fake_run_suite)
    code = main(["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path / "runs"),
                 "--policy", "model,silence-timeout-800", "--checkpoint", str(ckpt), "--no-plots"])
    assert code == 0, capsys.readouterr().err
    assert sorted(built) == ["model", "silence-timeout-800"]
    assert runner.policy_kwargs("model", str(ckpt)) == {"checkpoint": str(ckpt)}
    assert runner.policy_kwargs("silence-timeout-800", str(ckpt)) == {}
    # the model really loaded X: a missing checkpoint fails the run up front, naming it
    assert main(["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path / "runs2"),
                 "--policy", "model,silence-timeout-800", "--checkpoint", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_by_default_the_shipped_model_runs_beside_the_800_ms_timeout(tmp_path, monkeypatch, capsys):
    """No --policy, no --checkpoint: the runtime's default (the model on the shipped checkpoint,
    named by its path) and `silence-timeout-800`, each in its own folder, one table."""
    from microturn.checkpoints import SHIPPED
    from microturn.runtime.eval import runner

    seen = []

    def fake_run_suite(data, out, options, **kwargs):
        seen.append((options.policy, options.checkpoint))
        runner._make_policy(options)
        return [], []

    monkeypatch.setattr(runner, "run_suite", fake_run_suite)
    assert main(["eval", "run", "--data", str(OFFICIAL), "--out", str(tmp_path), "--no-plots"]) == 0, \
        capsys.readouterr().err
    assert [policy for policy, _ in seen] == ["model", "silence-timeout-800"]
    assert seen[0][1] == str(SHIPPED)
    assert {p.name for p in tmp_path.iterdir()} >= {"model", "silence-timeout-800", "table.md"}


def test_several_policies_get_bootstrap_intervals_in_table_md(tmp_path, monkeypatch, capsys):
    """The comparison says how sure it is: intervals from paired resamples of the items."""
    from microturn.runtime.eval import runner

    # a stand-in for running the suite: each policy's per-item outcomes, as run_suite returns them
    outcomes = {"floor-holder": ["continue"] * 10 + ["stop"] * 2, "always-yield": ["stop"] * 12}

    def fake_run_suite(data, out, options, **kwargs):
        return [{"item": f"bc{i}", "task": "v1.5/user_backchannel", "behaviour_proxy": k}
                for i, k in enumerate(outcomes[options.policy])], []

    monkeypatch.setattr(runner, "run_suite", fake_run_suite)
    args = ["eval", "run", "--data", str(OFFICIAL), "--policy", "floor-holder,always-yield", "--no-plots"]
    assert main(args + ["--out", str(tmp_path / "a"), "--bootstrap", "200"]) == 0
    table = (tmp_path / "a" / "table.md").read_text()
    assert "How sure" in table and "200 paired draws" in table
    rows = [line for line in table.splitlines() if line.startswith("| backchannels ridden through")]
    cells = [c.strip() for c in rows[-1].split("|")[3:5]]            # the interval row: one cell a policy
    lo, hi = map(float, cells[0].split("-"))
    assert 0.5 < lo < 10 / 12 < hi <= 1.0                              # floor-holder's 10 of 12, resampled
    assert cells[1] == "0.00-0.00"                                     # always-yield rides through none
    assert main(args + ["--out", str(tmp_path / "b"), "--bootstrap", "0"]) == 0
    assert "How sure" not in (tmp_path / "b" / "table.md").read_text()
    assert main(args + ["--out", str(tmp_path / "c"), "--bootstrap", "-1"]) == 2
    assert "--bootstrap -1" in capsys.readouterr().err
