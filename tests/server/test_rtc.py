"""rtc/ end to end with an aiortc client peer: media both ways, the data channel, release.

The engine is the in-test double; the server, aiortc, the codecs and ICE on loopback are real.
"""

import asyncio
import json

import numpy as np

from microturn.runtime.events import MAX_MESSAGE_BYTES
from microturn.runtime.server import create_app
from microturn.runtime.settings import Settings
from microturn.runtime.tokens import mint_token

from .doubles import ANSWER_TONE_HZ, ScriptedEngine
from .peers import ClientPeer, serving

SECRET = "rtc-test-secret-0123456789abcdef-xyz"


def make_settings(**kw) -> Settings:
    return Settings(secret=SECRET, loopback_ice=True, **kw)


async def eventually(predicate, timeout=10.0, step=0.05):
    for _ in range(int(timeout / step)):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


async def test_media_and_events_flow_both_ways_and_close_releases_everything():
    engine = ScriptedEngine()
    app = create_app(make_settings(), engine)
    async with serving(app) as base:
        client = ClientPeer()
        resp = await client.join(base, "lab", mint_token(SECRET, "lab", "ada"))
        assert resp.status_code == 200, resp.text
        session = engine.sessions[0]
        assert (session.room, session.identity, session.session_id) == ("lab", "ada", resp.json()["session_id"])

        # the event sent before the channel opened was queued, not lost
        started = await client.wait_event(lambda e: e["type"] == "session.started")
        assert started["session_id"] == session.session_id

        # inbound: the client's 440 Hz tone arrives as 16 kHz mono float32
        assert await eventually(lambda: session.samples_in >= 16000)
        heard = np.concatenate(session.audio_in)[-8000:]
        assert abs(dominant_hz(heard, 16000) - 440) < 10

        # outbound: silence while idle, then the answer tone after a user.text
        await asyncio.sleep(0.3)
        idle = np.concatenate(client.received[-10:])
        assert np.abs(idle).max() < 0.01
        client.send(json.dumps({"type": "user.text", "text": "hello"}))
        echo = await client.wait_event(lambda e: e["type"] == "transcript.final")
        assert echo["text"] == "hello"
        n = len(client.received)
        assert await eventually(lambda: len(client.received) > n + 40)
        answer = np.concatenate(client.received[n + 20:n + 40])
        assert np.sqrt(np.mean(answer ** 2)) > 0.05
        assert abs(dominant_hz(answer, 48000) - ANSWER_TONE_HZ) < 30

        assert app.state.peers and session.session_id in app.state.peers
        await client.close()
        assert await eventually(lambda: session.closed and not app.state.peers)


async def test_bad_data_channel_messages_get_error_events_and_the_session_keeps_working():
    engine = ScriptedEngine()
    async with serving(create_app(make_settings(), engine)) as base:
        client = ClientPeer(send_audio=False)
        try:
            assert (await client.join(base, "lab", mint_token(SECRET, "lab", "ada"))).status_code == 200
            await asyncio.wait_for(client.channel_open.wait(), 10)
            bad = [
                ("{not json", "bad_json"),
                (json.dumps([1, 2]), "bad_event"),
                (json.dumps({"type": "no.such"}), "unknown_type"),
                (json.dumps({"type": "user.text", "text": 5}), "bad_field"),
                (json.dumps({"type": "user.text", "text": "x" * (MAX_MESSAGE_BYTES + 10)}), "too_large"),
                (b"\xff\xfe binary junk", "bad_json"),
            ]
            for raw, code in bad:
                client.send(raw)
                err = await client.wait_event(lambda e, c=code: e["type"] == "error" and e["code"] == c)
                assert err["message"]
            client.send(json.dumps({"type": "client.ping"}))
            await client.wait_event(lambda e: e["type"] == "client.pong")
            assert engine.sessions[0].closed is False
        finally:
            await client.close()


def test_the_answer_asks_for_a_higher_opus_bitrate():
    from microturn.runtime.rtc.sdp import prefer_opus_bitrate

    bare = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96 0\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
    assert prefer_opus_bitrate(bare, 64000).split("\r\n")[3] == "a=fmtp:96 maxaveragebitrate=64000"
    with_fmtp = bare + "a=fmtp:96 minptime=10;useinbandfec=1\r\n"
    lines = prefer_opus_bitrate(with_fmtp, 64000).split("\r\n")
    assert "a=fmtp:96 minptime=10;useinbandfec=1;maxaveragebitrate=64000" in lines
    assert sum("maxaveragebitrate" in line for line in lines) == 1  # PCMU is left alone
    assert prefer_opus_bitrate(prefer_opus_bitrate(bare)) == prefer_opus_bitrate(bare)  # idempotent
