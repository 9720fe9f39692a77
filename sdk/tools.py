"""Tools: plain Python functions an agent (or the user's page, or a model) can call by name.

`@tool` turns a function or an `Agent` method into a `Tool`: its arguments are validated by a
pydantic model built from the signature, and its JSON schema (for a page or a model to see)
comes from the signature and the docstring's ``Args:`` section. Every call, whoever makes it,
goes through one `ToolDispatcher`, which never raises: a bad call comes back as a `ToolResult`
with ``ok=False`` and an error that says what was wrong.

A parameter named ``session`` is not part of the schema: the dispatcher passes the calling
`Session` in. ``@tool(background=True)`` tools return at once; their result is voiced later as
an `Interjection`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

import pydantic

log = logging.getLogger(__name__)

# The session whose hook (or data-channel call) is running now; lets `await self.my_tool(...)`
# inside a hook reach the right session without passing it around.
current_session: contextvars.ContextVar[Any] = contextvars.ContextVar("microturn_current_session", default=None)


class ToolError(Exception):
    """Raised when a tool called directly from agent code fails; the message says why."""


@dataclass
class ToolResult:
    """The outcome of one tool call: a value, or an error message. Serialisable."""

    name: str
    ok: bool
    result: Any = None
    error: str | None = None
    call_id: str = ""
    background: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ToolResult":
        return cls(**{k: data[k] for k in ("name", "ok", "result", "error", "call_id", "background") if k in data})


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (first paragraph, {argument: description}) from a Google-style
    ``Args:`` section (argument lines indented one level, continuation lines deeper)."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped and summary:
            break
        if re.fullmatch(r"\w+:", stripped):
            break
        if stripped:
            summary.append(stripped)
    arg_docs: dict[str, str] = {}
    in_args, current, arg_indent = False, None, None
    for line in lines:
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", stripped):
            in_args, current = True, None
            continue
        if not in_args:
            continue
        if not stripped:
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:  # the next section (Returns:, Raises:) ends the arguments
            in_args = False
            continue
        m = re.match(r"^(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
        if m and (arg_indent is None or indent == arg_indent):
            arg_indent, current = indent, m.group(1)
            arg_docs[current] = m.group(3)
        elif current is not None:
            arg_docs[current] = f"{arg_docs[current]} {stripped}".strip()
    return " ".join(summary), arg_docs


class Tool:
    """A validated, schema-described callable. Made by `@tool`; call it through a dispatcher."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        background: bool = False,
        priority: str = "next_pause",
        expires_after_ms: int = 30_000,
    ):
        self.fn = fn
        self.name = name or fn.__name__
        self.background = background
        self.priority = priority
        self.expires_after_ms = expires_after_ms
        summary, arg_docs = _docstring_parts(fn.__doc__)
        self.description = description or summary
        params = list(inspect.signature(fn).parameters.values())
        self.is_method = bool(params) and params[0].name == "self"
        if self.is_method:
            params = params[1:]
        self.takes_session = any(p.name == "session" for p in params)
        self._param_names = [p.name for p in params if p.name != "session"]
        field_defs: dict[str, Any] = {}
        for p in params:
            if p.name == "session":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"tool {self.name}: *args/**kwargs are not supported (every argument needs a schema)")
            annotation = Any if p.annotation is inspect.Parameter.empty else p.annotation
            default = ... if p.default is inspect.Parameter.empty else p.default
            field_defs[p.name] = (annotation, pydantic.Field(default, description=arg_docs.get(p.name)))
        self.args_model = pydantic.create_model(
            f"{self.name}_arguments", __config__=pydantic.ConfigDict(extra="forbid"), **field_defs
        )

    @property
    def schema(self) -> dict[str, Any]:
        """The tool as a JSON-schema function description: name, description, parameters."""
        params = self.args_model.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {"name": self.name, "description": self.description, "parameters": params}

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Check arguments against the schema; raises ToolError naming every problem."""
        if not isinstance(arguments, dict):
            raise ToolError(f"arguments for {self.name} must be an object, got {type(arguments).__name__}")
        try:
            model = self.args_model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in err['loc']) or 'arguments'}: {err['msg']}" for err in exc.errors()
            )
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None
        return {n: getattr(model, n) for n in self._param_names}

    def bind_positional(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        """Turn a direct Python call's positional arguments into named ones."""
        if len(args) > len(self._param_names):
            raise ToolError(f"{self.name} takes {len(self._param_names)} arguments, got {len(args)}")
        named = dict(zip(self._param_names, args))
        overlap = set(named) & set(kwargs)
        if overlap:
            raise ToolError(f"{self.name}: argument(s) given twice: {', '.join(sorted(overlap))}")
        return {**named, **kwargs}

    async def invoke(self, owner: Any, arguments: dict[str, Any], session: Any) -> Any:
        """Run the tool body on already-validated arguments (sync bodies run in a thread)."""
        kwargs = dict(arguments)
        if self.takes_session:
            kwargs["session"] = session
        call = (lambda: self.fn(owner, **kwargs)) if self.is_method else (lambda: self.fn(**kwargs))
        if inspect.iscoroutinefunction(self.fn):
            return await call()
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(None, ctx.run, call)

    def __get__(self, owner: Any, owner_type: type | None = None):
        if owner is None:
            return self
        return _BoundTool(self, owner)

    def __repr__(self) -> str:
        return f"<Tool {self.name}{' (background)' if self.background else ''}>"


class _BoundTool:
    """`agent.some_tool`: calling it goes through the agent's dispatcher, like every other call."""

    def __init__(self, tool: Tool, owner: Any):
        self.tool, self.owner = tool, owner

    @property
    def schema(self) -> dict[str, Any]:
        return self.tool.schema

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        dispatcher = getattr(self.owner, "tools", None)
        if not isinstance(dispatcher, ToolDispatcher):
            dispatcher = ToolDispatcher([self.tool], owner=self.owner)
        result = await dispatcher.call(self.tool.name, self.tool.bind_positional(args, kwargs))
        if not result.ok:
            raise ToolError(result.error)
        return result.result


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    background: bool = False,
    priority: str = "next_pause",
    expires_after_ms: int = 30_000,
):
    """Make a function (or an `Agent` method) a tool.

    Use as ``@tool`` or ``@tool(background=True, priority="when_idle")``. Arguments are
    validated from the type hints; the description is the docstring's first paragraph, and each
    argument's description comes from its line in an ``Args:`` section. A background tool
    returns at once; when it finishes, its result (a string, or an `Interjection`) is offered
    to the engine as an interjection with this `priority`, expiring `expires_after_ms` later.
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description, background=background,
                    priority=priority, expires_after_ms=expires_after_ms)

    return wrap(fn) if fn is not None else wrap


class ToolDispatcher:
    """The one place every tool call goes through: look up, validate, run, wrap the outcome."""

    def __init__(self, tools: Iterable[Tool] = (), owner: Any = None):
        self.owner = owner
        self._tools: dict[str, Tool] = {}
        self._background: set[asyncio.Task] = set()
        for t in tools:
            self.add(t)

    @classmethod
    def for_agent(cls, agent: Any) -> "ToolDispatcher":
        """Collect the `@tool` methods of an agent's class (and its bases)."""
        found: dict[str, Tool] = {}
        for klass in reversed(type(agent).__mro__):
            for value in vars(klass).values():
                if isinstance(value, Tool):
                    found[value.name] = value
        return cls(found.values(), owner=agent)

    def add(self, t: Tool) -> None:
        if not isinstance(t, Tool):
            raise TypeError(f"{t!r} is not a tool; decorate it with @tool")
        self._tools[t.name] = t

    @property
    def names(self) -> list[str]:
        return sorted(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """JSON-schema descriptions of every tool, sorted by name."""
        return [self._tools[n].schema for n in self.names]

    async def call(self, name: str, arguments: Any, *, session: Any = None, call_id: str = "") -> ToolResult:
        """Validate and run one call. Never raises: problems come back as ``ok=False``."""
        session = session if session is not None else current_session.get()
        t = self._tools.get(name) if isinstance(name, str) else None
        if t is None:
            known = ", ".join(self.names) or "none"
            return ToolResult(str(name), False, error=f"unknown tool {name!r}; known tools: {known}", call_id=call_id)
        try:
            args = t.validate(arguments)
        except ToolError as exc:
            return ToolResult(name, False, error=str(exc), call_id=call_id)
        if t.background:
            if session is None:
                return ToolResult(name, False, error=f"background tool {name} needs a session to report to",
                                  call_id=call_id)
            task = asyncio.get_running_loop().create_task(self._run_background(t, args, session, call_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return ToolResult(name, True, result={"status": "running"}, call_id=call_id, background=True)
        try:
            value = await t.invoke(self.owner, args, session)
        except Exception as exc:  # a tool bug must not take the session down
            log.warning("tool %s failed: %r", name, exc)
            return ToolResult(name, False, error=f"{name} failed: {type(exc).__name__}: {exc}", call_id=call_id)
        return ToolResult(name, True, result=value, call_id=call_id)

    async def _run_background(self, t: Tool, args: dict[str, Any], session: Any, call_id: str) -> None:
        from microturn.interjection import Interjection

        started_ms = session.media_ms
        try:
            value = await t.invoke(self.owner, args, session)
        except Exception as exc:
            log.exception("background tool %s failed", t.name)
            session.send({"type": "tool.result", "name": t.name, "ok": False, "result": None,
                          "error": f"{t.name} failed: {type(exc).__name__}: {exc}", "call_id": call_id})
            return
        now = session.media_ms
        if isinstance(value, Interjection):
            inj = value
        else:
            inj = Interjection(text=str(value), anchor_ms=started_ms, priority=t.priority,
                               reason=f"result of background tool {t.name}", source=f"tool:{t.name}")
        inj = Interjection.from_dict({
            **inj.to_dict(),
            "session_id": session.session_id,
            "created_ms": inj.created_ms or now,
            "expires_ms": inj.expires_ms or now + t.expires_after_ms,
        })
        session.offer_interjection(inj)

    async def aclose(self) -> None:
        """Cancel background tool runs still in flight (the session ended)."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
