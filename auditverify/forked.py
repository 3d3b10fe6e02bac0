"""The forked helper process of Verifier.feed_many with workers=2 (decisions 157, 213, 288).

The helper is a fork of the verifier: it checks the last part of a row list entirely (every
rule feed_many checks, in order) as if the history before the part were clean and ended
where the part's first row says it did, and answers with the state that part leaves (a
Part), or None if it found anything at all. The verifier checks the first part meanwhile,
then takes the helper's state only if its own, at the boundary, is what the helper assumed;
otherwise it checks the second part itself, so every finding is still made in order by one
process (decision 288).

`Helper.fork` runs any work so: a bundle's second half, read from the file by the helper
itself (auditverify/bundle.py, decision 290).
"""

from __future__ import annotations

import functools
import multiprocessing
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from auditverify.model import Row, SealRow


@dataclass(frozen=True)
class Part:
    """What checking rows[k:] from a clean boundary left, with nothing found.

    The boundary the helper assumed: the chain's head was (`start`, `head`), every entry up
    to `start` sealed, the last seal at `start` (so nothing pending), and each aggregate's
    version just before its `firsts` one. Counts (`count`, `seals` and `seen`'s) are the
    part's own, to add to the verifier's."""

    start: int
    head: bytes
    entry: bytes  # the entry hash at its last position
    count: int  # every position in start + 1 .. start + count holds a chain entry
    pending: array[int]  # chain entries after the part's last seal
    sealed_through: int  # the part's last seal's position (start if it has none)
    seals: int
    by_mac: int
    by_signature: int
    last_seal: tuple[int, SealRow, array[int], int, bool] | None
    seen: dict[int, tuple[bytes, int]]
    firsts: dict[str, int]  # each aggregate's first version in the part
    versions: dict[str, int]  # its last
    last_at: dict[str, int]  # and where that was


#: The helper's work: the part's rows, to its answer (None: check them in the verifier)
Check = Callable[[list[Row]], Any]


class Helper:
    """A forked process running a Check over part of a row list (the rows are shared with it
    by the fork, not copied through a pipe); its answer comes back pickled."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self._process, self._connection = process, connection

    @classmethod
    def start(cls, rows: list[Row], check: Check) -> Helper | None:
        """Fork the helper to run `check(rows)`, or None where fork is not available (then:
        one process)."""
        return cls.fork(functools.partial(check, rows))

    @classmethod
    def fork(cls, work: Callable[[], Any]) -> Helper | None:
        """Fork a helper to run `work()` (anything it needs is shared by the fork), or None
        where fork is not available."""
        try:
            context = multiprocessing.get_context("fork")
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=helper_main, args=(work, send), daemon=True)
            process.start()
        except (ValueError, OSError):
            return None
        send.close()
        return cls(process, receive)

    def answer(self) -> Any:
        """What the helper's work returned, or None if it failed or cannot be read."""
        try:
            return self._connection.recv()
        except Exception:  # EOF, a broken pipe, an unreadable answer
            return None

    def result(self) -> Part | None:
        """The helper's Part, or None if it found anything or failed."""
        answer = self.answer()
        return answer if isinstance(answer, Part) else None

    def stop(self) -> None:
        """Close the pipe and make sure the helper is gone."""
        self._connection.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join()


def helper_main(work: Callable[[], Any], send: Connection) -> None:
    try:
        answer = work()
    except Exception:  # the verifier does the work itself, and meets it there
        answer = None
    send.send(answer)
    send.close()
