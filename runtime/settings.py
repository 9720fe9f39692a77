"""Runtime settings, read from the environment (prefix `MICROTURN_`) or passed in directly.

One typed object that `dev`, `serve`, the server and the WebRTC layer all read, so every knob
has one name, one default and one place where it is documented. For example
`MICROTURN_SECRET=... MICROTURN_PORT=9000 microturn serve`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from microturn.runtime.engine.policy import DEFAULT_POLICY

DEFAULT_ROOM = "default"
WORKER_PORT = 50062  # the worker hub's gRPC port; `microturn worker --runtime HOST` assumes it too


class Settings(BaseSettings):
    """Everything the runtime server needs to start. Defaults suit `serve` behind a proxy."""

    model_config = SettingsConfigDict(env_prefix="MICROTURN_", extra="ignore")

    secret: str = Field(
        default="",
        description="HS256 key that signs join tokens. `serve` refuses to start without one; "
        "`dev` makes up a random one per run.",
    )
    host: str = Field(default="127.0.0.1", description="address the HTTP server binds to")
    port: int = Field(default=8080, ge=0, le=65535, description="HTTP port (0: any free port)")
    loopback_ice: bool = Field(
        default=False,
        description="offer 127.0.0.1 as an ICE host candidate. Only for `dev` and tests on one "
        "machine: a production server must advertise its real addresses only.",
    )
    policy: str = Field(
        default=DEFAULT_POLICY,
        description="floor policy name from the registry (default: `model`, the trained interaction model)",
    )
    checkpoint: str | None = Field(
        default=None,
        description="model checkpoint for `--policy model` (None: the one that ships, "
        "checkpoints/tiny-floor-v3; `random`: untrained weights, which babble)",
    )
    app: str | None = Field(
        default=None, description="agent app: a file path or `module:Class`; None: the bundled arithmetic example"
    )
    default_room: str = Field(default=DEFAULT_ROOM, description="room the dev page joins")
    token_ttl_s: int = Field(default=3600, gt=0, description="lifetime of minted join tokens")
    dev_mode: bool = Field(
        default=False,
        description="inject a token for the default room into the page so `/?autojoin=1` works",
    )
    max_sessions: int = Field(default=64, gt=0, description="live sessions beyond this are refused (503)")
    max_sdp_bytes: int = Field(default=64 * 1024, gt=0, description="larger SDP offers are refused (413)")
    media_timeout_s: float = Field(
        default=10.0, gt=0,
        description="a connected peer that sends no audio for this long has vanished and is released",
    )
    ice_timeout_s: float = Field(
        default=15.0, gt=0, description="a peer that does not connect within this is closed"
    )
    worker_host: str = Field(
        default="127.0.0.1",
        description="address the worker hub binds to (`microturn worker APP --runtime HOST:PORT` attaches "
        "there); 0.0.0.0 to take workers from other machines",
    )
    worker_port: int = Field(
        default=WORKER_PORT, ge=0, le=65535, description="gRPC port of the worker hub (0: any free port)"
    )
