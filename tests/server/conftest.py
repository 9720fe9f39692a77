"""Server tests run on loopback: `create_app(loopback_ice=True)` turns on loopback ICE host
candidates process-wide; this puts aioice back as it was after each module."""

import pytest

from microturn.runtime.rtc import loopback


@pytest.fixture(scope="module", autouse=True)
def restore_ice_host_addresses():
    was_enabled = loopback.loopback_host_candidates_enabled()
    yield
    if was_enabled:
        loopback.enable_loopback_host_candidates()
    else:
        loopback.disable_loopback_host_candidates()
