"""Loopback-only ICE, for `microturn dev` and tests on one machine.

aioice leaves 127.0.0.1 out of the host candidates it gathers, so a browser that is told to
use loopback (`--allow-loopback-in-peer-connection`) and a server on the same machine would
find no pair to connect. aiortc has no public option for this, so the one place where
microturn touches ICE internals is here: `aioice.ice.get_host_addresses` (a module-level
function that `Connection.gather_candidates` looks up at call time) is wrapped so that it also
returns 127.0.0.1.

This is process-wide and must never be enabled by `serve`: a production server advertising
127.0.0.1 would hand remote browsers a useless candidate. `Settings.loopback_ice` guards it.
"""

from __future__ import annotations

import aioice.ice

LOOPBACK_V4 = "127.0.0.1"
_original_get_host_addresses = aioice.ice.get_host_addresses


def _with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = list(_original_get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
    if use_ipv4 and LOOPBACK_V4 not in addresses:
        # Loopback first: on one machine it is the pair that always works.
        addresses.insert(0, LOOPBACK_V4)
    return addresses


def enable_loopback_host_candidates() -> None:
    """Offer 127.0.0.1 as an ICE host candidate from now on (idempotent, process-wide)."""
    aioice.ice.get_host_addresses = _with_loopback


def disable_loopback_host_candidates() -> None:
    """Back to aioice's own behaviour (for tests that check the default)."""
    aioice.ice.get_host_addresses = _original_get_host_addresses


def loopback_host_candidates_enabled() -> bool:
    return aioice.ice.get_host_addresses is _with_loopback
