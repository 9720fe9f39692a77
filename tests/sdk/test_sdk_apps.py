"""load_app: file paths, path:Class, module:Class, and clear errors; the example apps."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from microturn import Agent
from microturn.runtime.apps import AppError, agent_factory, default_app_spec, load_app


def test_default_app_is_the_arithmetic_example():
    app = load_app()
    assert app.__name__ == "ArithmeticAgent" and issubclass(app, Agent)
    assert default_app_spec().endswith("examples/arithmetic.py")
    assert "seven" in app.asr_grammar and "divided by" in app.asr_grammar and app.asr_grammar.startswith("#JSGF")


def test_specs_by_path_class_and_module(tmp_path, monkeypatch):
    (tmp_path / "twoagents.py").write_text(textwrap.dedent("""
        from microturn import Agent
        class First(Agent): pass
        class Second(Agent): pass
        shared = Second()
        not_an_agent = 3
    """))
    assert load_app(str(tmp_path / "twoagents.py")).__name__ == "First"
    assert load_app(f"{tmp_path / 'twoagents.py'}:Second").__name__ == "Second"
    monkeypatch.syspath_prepend(str(tmp_path))
    instance = load_app("twoagents:shared")
    assert isinstance(instance, Agent)
    make = agent_factory(instance)
    assert make() is make() is instance
    make_cls = agent_factory(load_app("twoagents:First"))
    assert make_cls() is not make_cls()
    for spec, message in [("twoagents:not_an_agent", "not an Agent"), ("twoagents:Missing", "has no 'Missing'"),
                          ("no_such_module_xyz:App", "cannot import"), ("twoagents", "module:Class"),
                          (str(tmp_path / "missing.py"), "does not exist")]:
        with pytest.raises(AppError, match=message):
            load_app(spec)
    (tmp_path / "broken.py").write_text("raise RuntimeError('app bug')\n")
    with pytest.raises(AppError, match="app bug"):
        load_app(str(tmp_path / "broken.py"))
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(AppError, match="no Agent subclass"):
        load_app(str(tmp_path / "empty.py"))


@pytest.mark.parametrize("question, answer", [
    ("what is seven times eight", "seven times eight is fifty six"),
    ("what is twenty plus nineteen", "twenty plus nineteen is thirty nine"),
    ("what is three minus ten", "three minus ten is minus seven"),
    ("what is seven divided by two", "seven divided by two is three point five"),
    ("what is one divided by zero", "one divided by zero has no answer: you cannot divide by zero."),
    ("hello there", "sorry, I only do arithmetic. ask me something like what is seven times eight."),
])
def test_arithmetic_answers_come_from_its_tools(question, answer):
    agent = load_app()()
    assert asyncio.run(agent.answer(question)) == answer


def test_greeter_example_loads():
    app = load_app(str(Path(default_app_spec()).with_name("greeter.py")))
    assert app.__name__ == "Greeter" and app.on_session_started is not Agent.on_session_started
