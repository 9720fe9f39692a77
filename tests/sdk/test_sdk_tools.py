"""@tool: schema from signature + docstring, validation, and the one dispatcher."""

from __future__ import annotations

import asyncio

import pytest

from microturn import Agent, Interjection, ToolDispatcher, ToolError, tool
from microturn.session import Session


class Calc(Agent):
    @tool
    def multiply(self, a: int, b: int = 2) -> int:
        """Multiply two integers.

        Args:
            a: the first factor
            b: the second factor,
                two when left out
        Returns:
            the product
        """
        return a * b

    @tool
    async def explode(self) -> None:
        """Always fails."""
        raise RuntimeError("boom")

    @tool(background=True, priority="when_idle")
    async def slow_fact(self, topic: str) -> str:
        """Look something up slowly."""
        await asyncio.sleep(0)
        return f"a fact about {topic}"

    @tool
    def whoami(self, session) -> str:
        """Which session called."""
        return session.session_id


def test_schema_comes_from_signature_and_docstring():
    schema = Calc.multiply.schema
    assert schema["name"] == "multiply"
    assert schema["description"] == "Multiply two integers."
    params = schema["parameters"]
    assert params["required"] == ["a"]
    assert params["properties"]["a"] == {"type": "integer", "description": "the first factor"}
    assert params["properties"]["b"]["default"] == 2
    assert params["properties"]["b"]["description"] == "the second factor, two when left out"
    assert params["additionalProperties"] is False
    # `session` is injected, never part of the schema
    assert Calc.whoami.schema["parameters"].get("properties", {}) == {}


async def test_dispatcher_validates_and_never_raises():
    tools = Calc().tools
    assert tools.names == ["explode", "multiply", "slow_fact", "whoami"]
    ok = await tools.call("multiply", {"a": 7, "b": 8})
    assert ok.ok and ok.result == 56
    bad_type = await tools.call("multiply", {"a": "seven"})
    assert not bad_type.ok and "invalid arguments for multiply" in bad_type.error and "a:" in bad_type.error
    missing = await tools.call("multiply", {})
    assert not missing.ok and "a: Field required" in missing.error
    extra = await tools.call("multiply", {"a": 1, "c": 3})
    assert not extra.ok and "c:" in extra.error
    not_a_dict = await tools.call("multiply", [1, 2])
    assert not not_a_dict.ok and "must be an object" in not_a_dict.error
    unknown = await tools.call("divide", {"a": 1})
    assert not unknown.ok and "unknown tool 'divide'" in unknown.error and "multiply" in unknown.error
    failing = await tools.call("explode", {})
    assert not failing.ok and "RuntimeError: boom" in failing.error
    assert (await tools.call("slow_fact", {"topic": "x"})).error.startswith("background tool slow_fact needs a session")


async def test_calling_a_tool_from_agent_code_goes_through_the_dispatcher():
    agent = Calc()
    assert await agent.multiply(7, 8) == 56
    assert await agent.multiply(a=3) == 6
    with pytest.raises(ToolError, match="invalid arguments"):
        await agent.multiply("x")
    with pytest.raises(ToolError, match="given twice"):
        await agent.multiply(1, a=2)


async def test_background_tool_result_becomes_an_interjection():
    sent: list[dict] = []
    session = Session("s1", sent.append)
    session.media_ms = 1200
    agent = Calc()
    result = await agent.tools.call("slow_fact", {"topic": "owls"}, session=session)
    assert result.ok and result.background and result.result == {"status": "running"}
    for _ in range(5):
        await asyncio.sleep(0)
    offers = [m for m in sent if m["kind"] == "offer_interjection"]
    assert len(offers) == 1
    inj = Interjection.from_dict(offers[0]["interjection"])
    assert inj.text == "a fact about owls" and inj.priority == "when_idle"
    assert inj.session_id == "s1" and inj.anchor_ms == 1200 and inj.expires_ms == 1200 + 30_000
    assert inj.source == "tool:slow_fact"
    whoami = await agent.tools.call("whoami", {}, session=session)
    assert whoami.result == "s1"


def test_plain_functions_can_be_tools_too():
    @tool
    def shout(text: str) -> str:
        """Upper-case some text."""
        return text.upper()

    dispatcher = ToolDispatcher([shout])
    result = asyncio.run(dispatcher.call("shout", {"text": "hi"}))
    assert result.ok and result.result == "HI"
    with pytest.raises(TypeError):
        ToolDispatcher([lambda: None])  # not a tool
