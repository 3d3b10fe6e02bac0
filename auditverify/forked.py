"""The forked helper process of Verifier.feed_many with workers=2 (decisions 157, 213): it
recomputes the entry hashes and authenticates the seals of part of a row list, and answers
with one byte per row; the verifier checks everything else, in order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from auditverify.encoding import chain_hash
from auditverify.model import Row, SealRow

#: How a seal is authenticated: the signature checked, or the MAC under a disclosed key
Authenticate = Callable[[int, SealRow], bool]


def prechecked(rows: Sequence[Row], authentic: Authenticate) -> bytes:
    """One byte per row: bit 1 if its chain entry's stored hash matches its stored fields
    (hashed with its own stored prev_position and prev_hash), bit 2 if its seal is
    authentic (Verifier._authentic: its MAC under a disclosed epoch key, else its
    signature). 0 for anything that cannot be checked."""
    out = bytearray(len(rows))
    for index, row in enumerate(rows):
        event, chain, seal = row.event, row.chain, row.seal
        try:
            if event is not None and chain is not None and chain_hash(
                    chain.prev_hash, chain.prev_position, row.position, event.originator_id,
                    event.originator_version, event.topic, event.state,
                    chain.recorded_at_us) == chain.entry_hash:
                out[index] |= 1
            if seal is not None and authentic(row.position, seal):
                out[index] |= 2
        except Exception:  # left unconfirmed: checked again in order
            continue
    return bytes(out)


class Helper:
    """A forked process running prechecked over part of a row list (the rows are shared
    with it by the fork, not copied through a pipe); its answer comes back as bytes."""

    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self._process, self._connection = process, connection

    @classmethod
    def start(cls, rows: list[Row], authentic: Authenticate) -> Helper | None:
        """Fork the helper, or None where fork is not available (then: one process)."""
        try:
            context = multiprocessing.get_context("fork")
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=helper_main, args=(rows, authentic, send),
                                      daemon=True)
            process.start()
        except (ValueError, OSError):
            return None
        send.close()
        return cls(process, receive)

    def result(self, expected: int) -> bytes | None:
        """The helper's answer, or None if it failed (then every row is checked here)."""
        try:
            answer = self._connection.recv_bytes()
        except (EOFError, OSError):
            return None
        return answer if len(answer) == expected else None

    def stop(self) -> None:
        """Close the pipe and make sure the helper is gone."""
        self._connection.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join()


def helper_main(rows: list[Row], authentic: Authenticate, send: Connection) -> None:
    send.send_bytes(prechecked(rows, authentic))
    send.close()
