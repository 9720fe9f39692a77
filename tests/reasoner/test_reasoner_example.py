"""examples/background_reasoning.py loads both as an app and as a reasoner backend, and works."""

from __future__ import annotations

from pathlib import Path

from microturn.reasoner import ContextItem, Observation, ReasonerRequest
from microturn.runtime.apps import load_app
from microturn.runtime.reasoner.backends import load_backend

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "background_reasoning.py")


async def test_example_backend_and_agent():
    assert load_app(EXAMPLE).__name__ == "EquationTutor"
    backend = load_backend(EXAMPLE)
    assert backend.name == "encouraging"
    await backend.start()
    (ij,) = [i async for i in backend.answer(ReasonerRequest("r", "s", "x equals three", {"problem": "2x+3=7"},
                                                             media_ms=5000, now_ms=5100))]
    assert ij.text == "Close! Remember: 2x + 3 = 7 gives x = 2, not x = 3." and ij.anchor_ms == 5000
    # unprompted: the problem is taken from what the agent said
    said = ContextItem("s", "transcript", {"role": "agent", "text": "solve two x plus three equals seven"}, 0)
    answer = ContextItem("s", "transcript", {"role": "user", "text": "x is five", "start_ms": 3000}, 3600)
    (ij,) = [i async for i in backend.observe(Observation(answer, 3700, [said]))]
    assert ij.anchor_ms == 3000 and "x = 2" in ij.text


def test_cli_refuses_an_unknown_backend(tmp_path, capsys):
    from microturn.runtime.cli import main

    assert main(["reasoner", "--port", "0", "--backend", str(tmp_path / "nope.py")]) == 2
    assert "cannot load backend" in capsys.readouterr().err
