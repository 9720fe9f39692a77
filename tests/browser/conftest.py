"""Browser end-to-end fixtures: one real `microturn dev` server process for the module."""

from __future__ import annotations

import pytest

from microturn.runtime.bench.browser import DevServer, chromium_available


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    if not chromium_available():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (run `make system-packages` as root)")
    log = tmp_path_factory.mktemp("dev") / "dev.log"
    with DevServer(log_path=log) as server:
        yield server
