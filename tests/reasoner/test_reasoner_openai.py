"""The `openai` backend against a local server that speaks the chat-completions wire protocol
(streaming server-sent events: `data: {chunk}` lines and a final `data: [DONE]`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import grpc
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from microturn.reasoner import ContextItem, ReasonerError, ReasonerRequest
from microturn.runtime.reasoner.backends.openai import OpenAIBackend
from microturn.runtime.reasoner.launch import ReasonerProcess, free_port
from microturn.runtime.reasoner.protos import reasoner_pb2 as pb
from microturn.runtime.reasoner.protos import reasoner_pb2_grpc
from microturn.runtime.reasoner.settings import ReasonerSettings

KEY = "sk-test-123"


def chat_app(seen: list) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        body = await request.json()
        seen.append(body)
        question = body["messages"][-1]["content"]
        reply = "NOTHING" if "quiet" in question else "Nine times six is fifty four, not fifty six."

        async def events():
            yield ": keep-alive\n\n"
            first = {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
                     "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
            yield f"data: {json.dumps(first)}\n\n"
            for word in reply.split(" "):
                if "slow" in question:
                    await asyncio.sleep(0.3)
                piece = word if word == reply.split(" ")[0] else " " + word
                chunk = {"id": "c1", "object": "chat.completion.chunk", "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield f"data: {json.dumps({'id': 'c1', 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def chat_server():
    seen: list = []
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(chat_app(seen), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(5)


def request(question: str) -> ReasonerRequest:
    history = [ContextItem("s", "transcript.final", {"role": "user", "text": "nine times six is fifty six"}, 4000)]
    return ReasonerRequest("r", "s", question, {"topic": "times tables"}, media_ms=4200, now_ms=4300,
                           history=history)


async def test_streams_a_reply_into_one_interjection(chat_server):
    base_url, seen = chat_server
    backend = OpenAIBackend(ReasonerSettings(base_url=base_url, api_key=KEY, model="tiny-tutor"))
    try:
        (ij,) = [ij async for ij in backend.answer(request("is the user right?"))]
        assert ij.text == "Nine times six is fifty four, not fifty six."
        assert ij.anchor_ms == 4200 and ij.source == "openai:tiny-tutor"
        body = seen[-1]
        assert body["stream"] is True and body["model"] == "tiny-tutor"
        prompt = body["messages"][-1]["content"]
        assert "nine times six is fifty six" in prompt and "times tables" in prompt
        assert [ij async for ij in backend.answer(request("stay quiet unless needed"))] == []
    finally:
        await backend.close()


async def test_http_errors_become_reasoner_errors(chat_server):
    base_url, _ = chat_server
    backend = OpenAIBackend(ReasonerSettings(base_url=base_url, api_key="wrong"))
    with pytest.raises(ReasonerError) as info:
        [ij async for ij in backend.answer(request("hello"))]
    assert info.value.code == "UNAUTHENTICATED" and "401" in str(info.value)
    await backend.close()
    unreachable = OpenAIBackend(ReasonerSettings(base_url=f"http://127.0.0.1:{free_port()}/v1"))
    with pytest.raises(ReasonerError) as info:
        [ij async for ij in unreachable.answer(request("hello"))]
    assert info.value.code == "UNAVAILABLE"
    await unreachable.close()


async def test_reasoner_process_with_openai_backend(chat_server, tmp_path):
    """`microturn reasoner --backend openai` configured only through the environment."""
    base_url, _ = chat_server
    proc = ReasonerProcess(backend="openai", log=open(tmp_path / "openai.log", "w"), env={
        "MICROTURN_REASONER_BASE_URL": base_url, "MICROTURN_REASONER_API_KEY": KEY})
    proc.start()
    try:
        await proc.wait_healthy()
        async with grpc.aio.insecure_channel(proc.address) as ch:
            stub = reasoner_pb2_grpc.ReasonerStub(ch)
            slow = asyncio.ensure_future(stub.Ask(pb.AskRequest(question="slow one", timeout_ms=800)))
            fast = await stub.Ask(pb.AskRequest(session_id="s", question="is that right?", media_ms=10))
            assert fast.interjections[0].text.startswith("Nine times six") and not slow.done()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await slow
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        proc.stop()
