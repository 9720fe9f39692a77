"""Reasoner settings, read from the environment (prefix `MICROTURN_REASONER_`).

`MICROTURN_REASONER_ADDRESS=10.0.0.5:50061 microturn serve` points the runtime at a reasoner;
`MICROTURN_REASONER_BASE_URL` / `_API_KEY` / `_MODEL` configure the `openai` backend.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 50061


class ReasonerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MICROTURN_REASONER_", extra="ignore")

    address: str = Field(default=f"127.0.0.1:{DEFAULT_PORT}",
                         description="host:port the runtime connects to (`serve`)")
    backend: str = Field(default="local", description="`local`, `openai`, or `path.py:Class` / `module:Class`")
    request_timeout_ms: int = Field(default=5000, gt=0, description="per-request limit unless the request sets one")
    base_url: str = Field(default="https://api.openai.com/v1",
                          description="OpenAI-compatible API root; `/chat/completions` is appended")
    api_key: str = Field(default="", description="bearer token for the `openai` backend (empty: none sent)")
    model: str = Field(default="gpt-4o-mini", description="chat model name for the `openai` backend")
    max_tokens: int = Field(default=120, gt=0, description="an interjection is a sentence or two")
