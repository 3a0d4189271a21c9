"""Reconnect delays (rule N1): capped exponential growth with full jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

#: N1: the first delay is at least 100ms ...
BACKOFF_FLOOR = 0.1
#: ... and no delay is longer than 30s.
BACKOFF_CAP = 30.0


@dataclass(frozen=True)
class BackoffOptions:
    """Reconnect delay bounds, in seconds; clamped to N1's limits."""

    #: The least delay (at least 0.1s).
    floor: float = BACKOFF_FLOOR
    #: The largest delay (at most 30s).
    cap: float = BACKOFF_CAP
    #: Ceiling growth per consecutive failure.
    multiplier: float = 2.0


class Backoff:
    """Each delay is drawn uniformly from [floor, ceiling], where the ceiling is
    ``floor * multiplier**(failures + 1)`` capped at ``cap``. The floor keeps a
    fleet from hammering a server that just restarted; the full-width draw
    spreads a fleet that lost the same replica at the same moment.
    """

    def __init__(self, options: BackoffOptions | None = None, *, rand: Callable[[], float] = random.random) -> None:
        opts = options or BackoffOptions()
        self.floor = max(BACKOFF_FLOOR, opts.floor)
        self.cap = min(BACKOFF_CAP, max(self.floor, opts.cap))
        self.multiplier = max(1.0, opts.multiplier)
        self.failures = 0
        self._rand = rand

    def ceiling(self) -> float:
        """The ceiling of the next delay."""
        try:
            raw = self.floor * self.multiplier ** (self.failures + 1)
        except OverflowError:
            return self.cap
        return min(self.cap, raw)

    def next_delay(self) -> float:
        """The delay in seconds before the next attempt; each call counts one more failure."""
        ceiling = self.ceiling()
        self.failures += 1
        return self.floor + self._rand() * (ceiling - self.floor)

    def reset(self) -> None:
        """After a success (N1: a Welcome) the next delay starts small again."""
        self.failures = 0
