"""The runtime's HTTP API (FastAPI): the page, rooms, joins, health and metrics.

    GET  /                          the browser client (in dev mode with a token for the default room)
    POST /v1/rooms                  create a room and mint a join token for it
    POST /v1/rooms/{room}/join      SDP offer + join token -> SDP answer + session id
    GET  /healthz                   liveness, with the number of live sessions
    GET  /metrics                   Prometheus exposition

Every refusal is a JSON body `{"error": CODE, "message": TEXT}` with a fitting status, and a
bad request never disturbs the sessions that are already live.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from microturn import __version__
from microturn.runtime import metrics
from microturn.runtime.engine.ports import EnginePort
from microturn.runtime.rtc.loopback import enable_loopback_host_candidates
from microturn.runtime.rtc.peer import PeerSession, accept_offer
from microturn.runtime.rtc.sdp import SdpError
from microturn.runtime.settings import Settings
from microturn.runtime.tokens import TokenError, mint_token, verify_token

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
ROOM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ROOM_NAME_RULE = "1-64 characters: letters, digits, '_', '.', '-', starting with a letter or digit"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ErrorBody(BaseModel):
    error: str = Field(description="machine-readable code, e.g. expired_token, bad_sdp")
    message: str


class CreateRoomRequest(BaseModel):
    room: str | None = Field(default=None, description="room name; a random one when omitted")
    identity: str = Field(default="guest", min_length=1, max_length=128, description="who the token admits")
    ttl_s: int | None = Field(default=None, gt=0, le=7 * 24 * 3600, description="token lifetime (default from settings)")


class CreateRoomResponse(BaseModel):
    room: str
    identity: str
    token: str
    expires_in_s: int
    join_url: str = Field(description="path of the page that joins this room with this token")


class JoinRequest(BaseModel):
    sdp: str = Field(description="the browser's SDP offer, with every ICE candidate gathered")
    type: str = Field(description="must be 'offer'")
    token: str | None = Field(default=None, description="join token for this room")


class JoinResponse(BaseModel):
    sdp: str
    type: str
    session_id: str


class Health(BaseModel):
    status: str
    version: str
    live_sessions: int


def create_app(settings: Settings, engine: EnginePort) -> FastAPI:
    """Build the HTTP app around an engine. Starts and stops the engine with the app when it can."""
    if settings.loopback_ice:
        enable_loopback_host_candidates()
    peers: dict[str, PeerSession] = {}
    rooms: set[str] = {settings.default_room}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if hasattr(engine, "start"):
            await engine.start()
        try:
            yield
        finally:
            for peer in list(peers.values()):
                await peer.close("server shutting down")
            if hasattr(engine, "stop"):
                await engine.stop()

    app = FastAPI(title="microturn runtime", version=__version__, lifespan=lifespan,
                  responses={400: {"model": ErrorBody}})
    app.state.settings = settings
    app.state.engine = engine
    app.state.peers = peers
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"error": "invalid_request", "message": problems}, status_code=400)

    def refuse(status: int, code: str, message: str) -> ApiError:
        metrics.JOIN_FAILURES.labels(reason=code).inc()
        return ApiError(status, code, message)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        config = {"room": settings.default_room, "token": None}
        if settings.dev_mode:
            config["token"] = mint_token(settings.secret, settings.default_room, "dev-user", settings.token_ttl_s)
        html = (WEB_DIR / "index.html").read_text()
        # json.dumps output cannot close the script element: '<' is escaped below.
        blob = json.dumps(config).replace("<", "\\u003c")
        return HTMLResponse(html.replace("/*MICROTURN_CONFIG*/null", blob), headers={"Cache-Control": "no-store"})

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok", version=__version__, live_sessions=len(peers))

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        stats = getattr(engine, "stats", None)
        if stats is not None:
            metrics.sync_engine_stats(stats)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

    @app.post("/v1/rooms", response_model=CreateRoomResponse, status_code=201,
              responses={401: {"model": ErrorBody}})
    async def create_room(body: CreateRoomRequest, authorization: str | None = Header(default=None)):
        """Create a room and mint a join token. Needs `Authorization: Bearer <secret>` unless in dev mode."""
        if not settings.dev_mode:
            presented = (authorization or "").removeprefix("Bearer ").strip()
            if not presented or not hmac.compare_digest(presented.encode(), settings.secret.encode()):
                raise ApiError(401, "unauthorized", "creating rooms needs 'Authorization: Bearer <server secret>'")
        room = body.room or f"room-{secrets.token_hex(4)}"
        if not ROOM_NAME.match(room):
            raise ApiError(400, "bad_room_name", f"room name must be {ROOM_NAME_RULE}")
        rooms.add(room)
        ttl = body.ttl_s or settings.token_ttl_s
        token = mint_token(settings.secret, room, body.identity, ttl)
        return CreateRoomResponse(room=room, identity=body.identity, token=token, expires_in_s=ttl,
                                  join_url=f"/?room={room}&token={token}")

    @app.post("/v1/rooms/{room}/join", response_model=JoinResponse,
              responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 413: {"model": ErrorBody},
                         503: {"model": ErrorBody}})
    async def join(room: str, body: JoinRequest) -> JoinResponse:
        """Answer a WebRTC offer: the peer joins `room` as the identity in its token."""
        try:
            grant = verify_token(settings.secret, body.token, room)
        except TokenError as exc:
            raise refuse(exc.status, exc.reason, str(exc)) from None
        if len(body.sdp.encode()) > settings.max_sdp_bytes:
            raise refuse(413, "sdp_too_large", f"the SDP offer exceeds {settings.max_sdp_bytes} bytes")
        if len(peers) >= settings.max_sessions:
            raise refuse(503, "server_full", f"the server already holds {settings.max_sessions} sessions")
        try:
            answer, peer = await accept_offer(
                engine, room=room, identity=grant.identity, sdp=body.sdp, sdp_type=body.type,
                connect_timeout_s=settings.ice_timeout_s, media_timeout_s=settings.media_timeout_s,
                on_released=lambda p: peers.pop(p.session_id, None),
            )
        except SdpError as exc:
            raise refuse(400, "bad_sdp", str(exc)) from None
        except Exception as exc:  # the engine could not open a session: say so, keep serving
            log.exception("join to room %s failed", room)
            raise refuse(500, "session_failed", f"the session could not be started: {type(exc).__name__}") from None
        peers[peer.session_id] = peer
        rooms.add(room)
        return JoinResponse(sdp=answer.sdp, type=answer.type, session_id=peer.session_id)

    return app
