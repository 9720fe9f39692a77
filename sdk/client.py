"""`RuntimeClient`: a small httpx client for a microturn runtime's HTTP API.

    from microturn import RuntimeClient

    with RuntimeClient("http://127.0.0.1:8080", secret=os.environ["MICROTURN_SECRET"]) as rt:
        room = rt.create_room("lab", identity="ada")
        print(room.join_url)          # open this in a browser to join as ada
        print(rt.health())

`secret` is the server's signing secret; it is needed to create rooms on a `serve` runtime
(a `dev` runtime accepts room creation without it). Errors from the server are raised as
`RuntimeApiError` with the server's machine-readable code and its message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx


class RuntimeApiError(Exception):
    """The runtime refused a request; `code` is its machine-readable error (e.g. `unauthorized`)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Room:
    room: str
    identity: str
    token: str
    expires_in_s: int
    join_url: str  # absolute URL of the page that joins this room with this token


class RuntimeClient:
    """Synchronous client; use as a context manager or call `close()`."""

    def __init__(self, base_url: str, *, secret: str | None = None, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None):
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)

    def __enter__(self) -> "RuntimeClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _check(self, resp: httpx.Response) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.is_error:
            raise RuntimeApiError(resp.status_code, str(body.get("error", "http_error")),
                                  str(body.get("message", resp.text[:200])))
        return body

    def health(self) -> dict:
        """`GET /healthz`: status, version, live sessions."""
        return self._check(self._http.get("/healthz"))

    def create_room(self, room: str | None = None, *, identity: str = "guest", ttl_s: int | None = None) -> Room:
        """Create a room (a random name when `room` is None) and mint a join token for `identity`."""
        body = {"room": room, "identity": identity}
        if ttl_s is not None:
            body["ttl_s"] = ttl_s
        data = self._check(self._http.post("/v1/rooms", json=body))
        return Room(room=data["room"], identity=data["identity"], token=data["token"],
                    expires_in_s=data["expires_in_s"], join_url=self.join_url(data["room"], data["token"]))

    def join_url(self, room: str, token: str, *, autojoin: bool = True, camera: bool = False) -> str:
        """The page URL that joins `room` with `token` (by itself when `autojoin`)."""
        return page_url(self.base_url, room, token, autojoin=autojoin, camera=camera)


def page_url(base_url: str, room: str, token: str, *, autojoin: bool = True, camera: bool = False) -> str:
    query = {"room": room, "token": token}
    if autojoin:
        query["autojoin"] = "1"
    if camera:
        query["camera"] = "1"
    return f"{base_url.rstrip('/')}/?{urlencode(query)}"


def mint_join_url(base_url: str, secret: str, room: str, identity: str, ttl_s: int = 3600) -> str:
    """A join URL minted locally with the server's secret, without a request to the runtime."""
    from microturn.runtime.tokens import mint_token

    return page_url(base_url, room, mint_token(secret, room, identity, ttl_s))
