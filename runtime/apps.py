"""Find the app to run: `load_app("examples/arithmetic.py")`, `load_app("pkg.mod:MyAgent")`.

An app spec is either a Python file path (the first `Agent` subclass defined in it, or the one
named after a colon: ``path.py:Class``) or an importable ``module:Class``. The named object may
be an `Agent` subclass or an instance. `agent_factory` turns either into the per-session
factory the engine wants.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, Callable

DEFAULT_APP = "examples/arithmetic.py"


class AppError(ValueError):
    """The app spec does not name a loadable agent; the message says what was wrong."""


def default_app_spec() -> str:
    """The bundled arithmetic example, located relative to the source checkout."""
    return str(Path(__file__).resolve().parent.parent / DEFAULT_APP)


def load_app(spec: str | None = None) -> Any:
    """Load an agent class (or instance) from `spec`; None means the default app."""
    from microturn.agent import Agent

    spec = spec or default_app_spec()
    path_part, _, name = spec.partition(":") if not _is_windows_drive(spec) else (spec, "", "")
    if path_part.endswith(".py") or Path(path_part).is_file():
        module = _load_file(Path(path_part))
    else:
        if not name:
            raise AppError(f"app spec {spec!r}: use a file path (app.py, app.py:Class) or module:Class")
        try:
            module = importlib.import_module(path_part)
        except ImportError as exc:
            raise AppError(f"app spec {spec!r}: cannot import {path_part!r}: {exc}") from None
    if name:
        try:
            obj = getattr(module, name)
        except AttributeError:
            raise AppError(f"app spec {spec!r}: {module.__name__} has no {name!r}") from None
        if not (isinstance(obj, Agent) or (inspect.isclass(obj) and issubclass(obj, Agent))):
            raise AppError(f"app spec {spec!r}: {name} is not an Agent subclass or instance")
        return obj
    found = [v for v in vars(module).values()
             if inspect.isclass(v) and issubclass(v, Agent) and v is not Agent and v.__module__ == module.__name__]
    if not found:
        raise AppError(f"app spec {spec!r}: no Agent subclass defined in {path_part}")
    return found[0]


def agent_factory(app: Any) -> Callable[[], Any]:
    """A class is instantiated once per session; an instance serves every session."""
    return app if inspect.isclass(app) else (lambda: app)


def _is_windows_drive(spec: str) -> bool:
    return len(spec) > 2 and spec[1] == ":" and spec[2] in "\\/"


def _load_file(path: Path):
    if not path.is_file():
        raise AppError(f"app file {str(path)!r} does not exist")
    mod_name = f"microturn_app_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise AppError(f"cannot load {path} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        raise AppError(f"app file {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module
