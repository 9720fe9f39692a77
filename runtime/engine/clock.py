"""Clocks for the engine: real time for live sessions, virtual time for tests and offline runs.

The engine only asks a clock two things: what time is it (milliseconds, monotonic) and "wake
me at t". With `RealClock` that is the event loop's monotonic clock. With `VirtualClock` time
moves only when someone advances it, so a 30 s scripted conversation runs in a fraction of a
second and the same way every time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol


class Clock(Protocol):
    #: True for wall-clock time: the engine then runs its own tick loop. A virtual clock is
    #: driven from outside (`Engine.advance`).
    realtime: bool

    def now_ms(self) -> float: ...

    async def sleep_until(self, t_ms: float) -> None: ...


class RealClock:
    """Monotonic wall-clock time in milliseconds since the clock was made."""

    realtime = True

    def __init__(self) -> None:
        self._origin: float | None = None  # set on first use, inside the running loop

    def _loop_time_ms(self) -> float:
        return asyncio.get_running_loop().time() * 1000.0

    def now_ms(self) -> float:
        now = self._loop_time_ms()
        if self._origin is None:
            self._origin = now
        return now - self._origin

    async def sleep_until(self, t_ms: float) -> None:
        delay = (t_ms - self.now_ms()) / 1000.0
        await asyncio.sleep(max(0.0, delay))


class VirtualClock:
    """Time that moves only when `advance` or `set` is called.

    Sleepers (`sleep_until`) wake in time order as the clock passes their deadline.
    """

    realtime = False

    def __init__(self, start_ms: float = 0.0) -> None:
        self._now = float(start_ms)
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = itertools.count()

    def now_ms(self) -> float:
        return self._now

    async def sleep_until(self, t_ms: float) -> None:
        if t_ms <= self._now:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t_ms, next(self._seq), fut))
        await fut

    def set(self, t_ms: float) -> None:
        """Jump to `t_ms` (never backwards) and wake every sleeper whose time has come."""
        if t_ms < self._now:
            raise ValueError(f"a virtual clock cannot go back ({t_ms} < {self._now})")
        self._now = float(t_ms)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def advance(self, ms: float) -> None:
        """Move time forward by `ms`."""
        self.set(self._now + ms)
