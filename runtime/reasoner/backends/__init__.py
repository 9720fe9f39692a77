"""Reasoner backends by name, plus user backends loaded from `path.py:Class` or `module:Class`."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

from microturn.reasoner import ReasonerBackend

BUILTIN = {
    "local": "microturn.runtime.reasoner.backends.local:LocalMathBackend",
    "openai": "microturn.runtime.reasoner.backends.openai:OpenAIBackend",
}


def _load_class(spec: str) -> type:
    target, _, cls_name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if target.endswith(".py") or "/" in target:
        path = Path(target)
        if not path.exists():
            raise ValueError(f"backend file {path} does not exist")
        module_spec = importlib.util.spec_from_file_location(f"_reasoner_backend_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    if cls_name:
        return getattr(module, cls_name)
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, ReasonerBackend) and obj is not ReasonerBackend and obj.__module__ == module.__name__:
            return obj
    raise ValueError(f"no ReasonerBackend subclass in {target}")


def load_backend(spec: str) -> ReasonerBackend:
    """`local`, `openai`, `path/to/file.py[:Class]` or `package.module:Class` -> an instance."""
    cls = _load_class(BUILTIN.get(spec, spec))
    if not (inspect.isclass(cls) and issubclass(cls, ReasonerBackend)):
        raise ValueError(f"{spec} is not a ReasonerBackend subclass")
    return cls()
