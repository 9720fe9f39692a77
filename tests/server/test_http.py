"""The HTTP API against a real uvicorn server; joins here fail before any media flows."""

import time

import httpx
import pytest

from microturn.runtime.server import create_app
from microturn.runtime.settings import Settings
from microturn.runtime.tokens import mint_token

from .doubles import ScriptedEngine
from .peers import ClientPeer, serving

SECRET = "http-test-secret-0123456789abcdef-xyz"


def settings(**kw) -> Settings:
    return Settings(secret=SECRET, loopback_ice=True, **kw)


async def test_health_metrics_page_and_openapi():
    engine = ScriptedEngine()
    async with serving(create_app(settings(dev_mode=True), engine)) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            health = (await http.get("/healthz")).json()
            assert health["status"] == "ok" and health["live_sessions"] == 0
            text = (await http.get("/metrics")).text
            for name in ("microturn_live_sessions", "microturn_step_seconds", "microturn_tick_lateness_seconds",
                         "microturn_audio_underruns_total"):
                assert name in text
            page = (await http.get("/")).text
            assert '"token": "ey' in page  # dev mode injects a token for the default room
            assert (await http.get("/static/app.js")).status_code == 200
            spec = (await http.get("/openapi.json")).json()
            assert "/v1/rooms/{room}/join" in spec["paths"]
        assert engine.started
    assert engine.stopped


async def test_page_has_no_token_outside_dev_mode():
    async with serving(create_app(settings(), ScriptedEngine())) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            assert '"token": null' in (await http.get("/")).text


async def test_create_room_needs_the_secret_outside_dev_mode():
    async with serving(create_app(settings(), ScriptedEngine())) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            refused = await http.post("/v1/rooms", json={})
            assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
            ok = await http.post("/v1/rooms", json={"room": "lab", "identity": "ada"},
                                 headers={"Authorization": f"Bearer {SECRET}"})
            assert ok.status_code == 201
            assert ok.json()["room"] == "lab" and ok.json()["token"] in ok.json()["join_url"]
            bad = await http.post("/v1/rooms", json={"room": "../etc"}, headers={"Authorization": f"Bearer {SECRET}"})
            assert bad.status_code == 400 and bad.json()["error"] == "bad_room_name"


@pytest.mark.parametrize(
    "token, status, code",
    [
        (None, 401, "missing_token"),
        ("garbage", 401, "malformed_token"),
        (mint_token("wrong-key-0123456789abcdef-0123456789", "lab", "ada"), 401, "invalid_signature"),
        (mint_token(SECRET, "lab", "ada", ttl_s=1, now=time.time() - 10), 401, "expired_token"),
        (mint_token(SECRET, "other-room", "ada"), 403, "wrong_room"),
    ],
)
async def test_bad_tokens_are_refused_with_json(token, status, code):
    engine = ScriptedEngine()
    async with serving(create_app(settings(), engine)) as base:
        client = ClientPeer()
        try:
            resp = await client.join(base, "lab", token)
        finally:
            await client.close()
        assert resp.status_code == status
        assert resp.json()["error"] == code and resp.json()["message"]
        assert engine.sessions == []  # nothing was opened for a refused join


@pytest.mark.parametrize(
    "sdp, sdp_type",
    [
        ("garbage", "offer"),
        ("", "offer"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "offer"),  # no media at all
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "offer"),
        (None, "answer"),  # a real SDP, but not an offer
    ],
)
async def test_malformed_sdp_is_a_400_and_the_server_keeps_serving(sdp, sdp_type):
    engine = ScriptedEngine()
    token = mint_token(SECRET, "lab", "ada")
    async with serving(create_app(settings(), engine)) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            if sdp is None:
                probe = ClientPeer()
                sdp = (await probe.offer())["sdp"]
                await probe.close()
            resp = await http.post("/v1/rooms/lab/join", json={"sdp": sdp, "type": sdp_type, "token": token})
            assert resp.status_code == 400
            assert resp.json()["error"] == "bad_sdp" and resp.json()["message"]
            # a body that is not even the right shape gets a JSON 400 too
            resp = await http.post("/v1/rooms/lab/join", json={"offer": 1})
            assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
            assert (await http.get("/healthz")).json()["live_sessions"] == 0
        # and a proper join still works afterwards
        client = ClientPeer()
        try:
            assert (await client.join(base, "lab", token)).status_code == 200
        finally:
            await client.close()


async def test_oversized_sdp_is_refused():
    token = mint_token(SECRET, "lab", "ada")
    async with serving(create_app(settings(max_sdp_bytes=1000), ScriptedEngine())) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            resp = await http.post("/v1/rooms/lab/join", json={"sdp": "v=0\r\n" + "a=x\r\n" * 400, "type": "offer", "token": token})
            assert resp.status_code == 413 and resp.json()["error"] == "sdp_too_large"


async def test_sdk_client_creates_rooms_whose_tokens_the_server_accepts():
    import asyncio
    from urllib.parse import parse_qs, urlparse

    from microturn import RuntimeApiError, RuntimeClient

    engine = ScriptedEngine()
    async with serving(create_app(settings(), engine)) as base:
        def sync_part():
            with RuntimeClient(base) as anonymous:
                assert anonymous.health()["status"] == "ok"
                with pytest.raises(RuntimeApiError) as info:
                    anonymous.create_room("lab")
                assert info.value.code == "unauthorized"
            with RuntimeClient(base, secret=SECRET) as rt:
                return rt.create_room("lab", identity="ada")

        room = await asyncio.to_thread(sync_part)
        query = parse_qs(urlparse(room.join_url).query)
        assert query["room"] == ["lab"] and query["autojoin"] == ["1"]
        client = ClientPeer()
        try:
            assert (await client.join(base, "lab", query["token"][0])).status_code == 200
        finally:
            await client.close()
        assert engine.sessions[0].identity == "ada"


async def test_a_full_server_refuses_more_joins_with_503():
    engine = ScriptedEngine()
    async with serving(create_app(settings(max_sessions=1), engine)) as base:
        first, second = ClientPeer(), ClientPeer()
        try:
            assert (await first.join(base, "lab", mint_token(SECRET, "lab", "ada"))).status_code == 200
            resp = await second.join(base, "lab", mint_token(SECRET, "lab", "bob"))
            assert resp.status_code == 503 and resp.json()["error"] == "server_full"
        finally:
            await first.close()
            await second.close()
        assert len(engine.sessions) == 1
