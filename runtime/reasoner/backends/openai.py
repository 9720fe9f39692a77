"""The `openai` backend: any OpenAI-compatible chat-completions endpoint, streamed over httpx.

The reply streams as server-sent events (`data: {json chunk}` lines, ending with
`data: [DONE]`); the text deltas are joined into one interjection. The model is told to answer
`NOTHING` when it has nothing worth saying, which yields no interjection. Base URL, key and
model come from `ReasonerSettings` (env `MICROTURN_REASONER_BASE_URL`, `_API_KEY`, `_MODEL`).
It only answers explicit requests: calling a hosted model on every transcript delta would be
slow and costly, so `observe` stays quiet.
"""

from __future__ import annotations

import json

import httpx

from microturn.reasoner import ReasonerBackend, ReasonerError, ReasonerRequest
from microturn.runtime.reasoner.settings import ReasonerSettings

SYSTEM_PROMPT = (
    "You are the background reasoner of a live voice agent. You see what was said so far and "
    "one question. Reply with one or two short sentences the agent can say aloud, or exactly "
    "NOTHING if there is nothing worth saying."
)
_HTTP_CODES = {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


def _prompt(request: ReasonerRequest) -> str:
    lines = [f"[{item.media_ms} ms] {item.kind} {item.role or ''}: {item.text or json.dumps(item.payload)}"
             for item in request.history[-20:]]
    parts = ["Conversation so far:", *lines] if lines else []
    if request.context:
        parts.append(f"Context: {json.dumps(request.context)}")
    parts.append(f"Question: {request.question}")
    return "\n".join(parts)


async def _stream_text(response: httpx.Response) -> str:
    """Join the `choices[0].delta.content` pieces of an SSE chat-completions stream."""
    pieces: list[str] = []
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, `: keep-alive` comments, `event:` lines
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
            choices = chunk.get("choices") or []  # a final usage chunk may carry none
            delta = (choices[0].get("delta") or {}) if choices else {}
        except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
            raise ReasonerError("INTERNAL", f"malformed stream chunk from the model: {data[:200]!r}") from None
        if isinstance(delta.get("content"), str):
            pieces.append(delta["content"])
    return "".join(pieces).strip()


class OpenAIBackend(ReasonerBackend):
    name = "openai"

    def __init__(self, settings: ReasonerSettings | None = None):
        self.settings = settings or ReasonerSettings()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        headers = {"Authorization": f"Bearer {self.settings.api_key}"} if self.settings.api_key else {}
        # the service enforces each request's deadline; httpx only needs to not hang forever
        self._client = httpx.AsyncClient(base_url=self.settings.base_url.rstrip("/"), headers=headers,
                                         timeout=httpx.Timeout(60.0, connect=5.0))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def answer(self, request: ReasonerRequest):
        if self._client is None:
            await self.start()
        body = {
            "model": self.settings.model,
            "stream": True,
            "max_tokens": self.settings.max_tokens,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": _prompt(request)}],
        }
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    detail = (await response.aread()).decode(errors="replace")[:300]
                    code = _HTTP_CODES.get(response.status_code, "UNAVAILABLE")
                    raise ReasonerError(code, f"chat completions answered {response.status_code}: {detail}")
                text = await _stream_text(response)
        except httpx.HTTPError as exc:
            raise ReasonerError("UNAVAILABLE", f"chat completions endpoint unreachable: {exc}") from None
        if text and text.upper().rstrip(".") != "NOTHING":
            yield request.interjection(text, reason="model answer", source=f"{self.name}:{self.settings.model}")
