"""microturn: full-duplex voice agents over WebRTC.

What agent developers import lives here (`Agent`, `tool`, `Session`, ...). Names are loaded
lazily so that `import microturn.kernels` on a bare GPU machine needs only torch and triton.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (filled in as the SDK grows)
_EXPORTS: dict[str, str] = {}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'microturn' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
