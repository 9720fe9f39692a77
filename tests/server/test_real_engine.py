"""Bad input against the real engine, speech providers and arithmetic agent, over aiortc.

The client peer's microphone asks a spoken question while it sends bad data-channel messages:
they get clear `error` events and the same session still answers the question;
a peer killed mid-answer is released and the server keeps serving.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import pytest_asyncio

from microturn.runtime.commands._serving import build_engine
from microturn.runtime.events import MAX_MESSAGE_BYTES
from microturn.runtime.server import create_app
from microturn.runtime.settings import Settings
from microturn.runtime.tokens import mint_token

from .peers import ClientPeer, ClipTrack, serving

SECRET = "real-engine-secret-0123456789abcdef-xyz"


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime():
    """One real engine and server for the module (loading the speech providers takes a while)."""
    settings = Settings(secret=SECRET, loopback_ice=True, media_timeout_s=1.0)
    engine = build_engine(settings)
    app = create_app(settings, engine)
    async with serving(app) as base:
        yield base, app, engine


async def eventually(predicate, timeout=10.0, step=0.05):
    for _ in range(int(timeout / step)):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


QUESTION_AT_S = 0.8


def question_clip() -> np.ndarray:
    from microturn.runtime.speech.stimuli import render_speech

    audio, _, _ = render_speech([(QUESTION_AT_S, "what is seven times eight")], sample_rate=48000)
    return audio


class AskingPeer(ClientPeer):
    """Its microphone asks "what is seven times eight" once, 0.8 s into the call."""

    def __init__(self):
        super().__init__(mic=ClipTrack(question_clip()))


async def test_bad_messages_get_errors_and_the_session_still_answers(runtime):
    base, app, engine = runtime
    client = AskingPeer()
    try:
        assert (await client.join(base, "lab", mint_token(SECRET, "lab", "ada"))).status_code == 200
        await asyncio.wait_for(client.channel_open.wait(), 10)
        for raw, code in [
            ("{oops", "bad_json"),
            (json.dumps({"type": "user.text"}), "bad_field"),
            (json.dumps({"type": "agent.speech.started", "speech_id": "x", "text": "y"}), "unknown_type"),
            ("x" * (MAX_MESSAGE_BYTES + 1), "too_large"),
        ]:
            client.send(raw)
            err = await client.wait_event(lambda e, c=code: e["type"] == "error" and e["code"] == c)
            assert err["message"]
        # invalid tool arguments: a clear failed result, not a crash
        client.send(json.dumps({"type": "tool.call", "name": "multiply", "arguments": {"a": "seven"}}))
        result = await client.wait_event(lambda e: e["type"] == "tool.result")
        assert result["ok"] is False and result["name"] == "multiply"

        n = len(client.received)
        started = await client.wait_event(lambda e: e["type"] == "agent.speech.started", timeout=15)
        assert "fifty six" in started["text"]
        assert await eventually(lambda: any(np.abs(f).max() > 0.05 for f in client.received[n:]))
    finally:
        await client.close()
    assert await eventually(lambda: not app.state.peers and not engine.sessions)


VANISHING_PEER = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {tests_dir!r})
    from server.peers import ClientPeer, ClipTrack
    from microturn.runtime.rtc.loopback import enable_loopback_host_candidates

    async def main():
        enable_loopback_host_candidates()
        from microturn.runtime.speech.stimuli import render_speech
        clip = render_speech([(0.8, "what is seven times eight")], sample_rate=48000)[0]
        client = ClientPeer(mic=ClipTrack(clip))
        resp = await client.join({base!r}, "lab", {token!r})
        assert resp.status_code == 200, resp.text
        await asyncio.wait_for(client.channel_open.wait(), 10)
        await client.wait_event(lambda e: e["type"] == "agent.speech.started", timeout=20)
        print("ANSWERING", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


async def test_a_peer_killed_mid_answer_is_released_and_the_server_keeps_serving(runtime):
    base, app, engine = runtime
    tests_dir = os.path.dirname(os.path.dirname(__file__))
    code = VANISHING_PEER.format(tests_dir=tests_dir, base=base, token=mint_token(SECRET, "lab", "ada"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.strip() == b"ANSWERING"
        assert len(engine.sessions) == 1
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert await eventually(lambda: not app.state.peers and not engine.sessions, timeout=10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # the next caller is served as usual
    client = AskingPeer()
    try:
        assert (await client.join(base, "lab", mint_token(SECRET, "lab", "bob"))).status_code == 200
        await client.wait_event(lambda e: e["type"] == "session.started")
    finally:
        await client.close()
