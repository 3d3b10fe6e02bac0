"""auditverify._chainloop (auditverify/_chainloop.c, decision 291): Verifier.feed_many's loop
in C. Built by setup.py where a C compiler and the Python and OpenSSL 3 headers are there."""

from collections.abc import Callable, Iterator
from typing import Any

def run(verifier: Any, rows: Iterator[Any], feed: Callable[[Any], None],
        check_seal: Callable[[int, Any, bytes], None], epochs: dict[int, Any],
        check_versions: bool, /) -> bool: ...
def configure(chain_head: bytes, row: type, event_row: type, chain_row: type,
              seal_row: type, /) -> None: ...
def sha256(data: bytes, /) -> bytes: ...
