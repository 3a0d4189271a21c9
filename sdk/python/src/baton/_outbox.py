"""Results waiting for their Ack (R2, R3, R4)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from .v1 import task_pb2, worker_pb2


@dataclass
class OutboxEntry:
    result: worker_pb2.Result
    #: The task the result is for, for events and logs.
    task: task_pb2.Task
    #: True once sent on the current connection.
    sent: bool = False


class Outbox:
    """A result is kept until the server answers it, however many connections that
    takes: resent once per new connection (R3), never twice on the same one, and
    forgotten after an Ack either way, since a refused result must not be resent (R4).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], OutboxEntry] = {}
        self._empty = asyncio.Event()
        self._empty.set()

    def __len__(self) -> int:
        return len(self._entries)

    def has(self, task_id: str, lease_id: str) -> bool:
        return (task_id, lease_id) in self._entries

    def put(self, result: worker_pb2.Result, task: task_pb2.Task) -> bool:
        """Keeps the first result for a lease: an attempt has exactly one outcome."""
        key = (result.task_id, result.lease_id)
        if key in self._entries:
            return False
        self._entries[key] = OutboxEntry(result, task)
        self._empty.clear()
        return True

    def flush(self, send: Callable[[worker_pb2.Result], bool]) -> int:
        """Sends every entry not yet sent on this connection, oldest first; ``send``
        returns False when the connection cannot take it."""
        n = 0
        for entry in list(self._entries.values()):
            if entry.sent:
                continue
            if not send(entry.result):
                break
            entry.sent = True
            n += 1
        return n

    def connection_lost(self) -> None:
        """Everything unacknowledged goes out again on the next connection (R3)."""
        for entry in self._entries.values():
            entry.sent = False

    def take(self, task_id: str, lease_id: str) -> OutboxEntry | None:
        """Removes the entry an Ack answers (accepted or not, R4) or whose lease is lost (B2)."""
        entry = self._entries.pop((task_id, lease_id), None)
        if not self._entries:
            self._empty.set()
        return entry

    def entries(self) -> list[OutboxEntry]:
        return list(self._entries.values())

    async def wait_empty(self) -> None:
        await self._empty.wait()
