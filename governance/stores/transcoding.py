"""How value objects are written into stored events. Names are stored: never change them.

The transcodings themselves live in projections/stored.py, so that the read side decodes
stored JSON the same way without importing the application (decision 230).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import JSONTranscoder

from projections.codec import storable
from projections.stored import (
    SPARSE,
    SUSPECT,
    VALUE_OBJECTS,
    DataclassTranscoding,
    DateAsISO,
    transcodings,
)

__all__ = ["SPARSE", "VALUE_OBJECTS", "DataclassTranscoding", "DateAsISO",
           "StorableTextTranscoder", "transcodings"]


class StorableTextTranscoder(JSONTranscoder):
    """The JSON transcoder, decoding every string of a stored event as `storable` text.

    The one place where the read side meets stored text: an event an older release let in
    with a NUL (or an escaped lone surrogate) decodes with U+FFFD there, so every projection,
    rebuild and as-of read can write and show it. Stored bytes are never changed (the audit
    chain hashes them); events without such an escape take the library's decoder as is.
    """

    def decode(self, data: bytes) -> Any:
        """Decode a stored event's state."""
        if not any(suspect in data for suspect in SUSPECT):
            return super().decode(data)
        hook = self.decoder.object_hook
        assert hook is not None
        return _storable(json.loads(data.decode("utf8")), hook)


def _storable(value: Any, hook: Callable[[dict[str, Any]], Any]) -> Any:
    """Clean strings depth first and apply the object hook bottom-up, as the decoder does."""
    kind = type(value)
    if kind is str:
        return storable(value)
    if kind is list:
        return [_storable(v, hook) for v in value]
    if kind is dict:
        return hook({storable(k): _storable(v, hook) for k, v in value.items()})
    return value
