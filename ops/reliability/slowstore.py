"""A persistence module for the tailing drill only: some inserts hold their transaction open.

`PERSISTENCE_MODULE=ops.reliability.slowstore` is set by the drill and nowhere else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing import postgres as es_postgres
from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow

from governance.stores.integrity import IntegrityRecorder

HOLD_SHARE = 0.3  # share of inserts that wait before commit
HOLD_S = (0.005, 0.05)


class Holding(es_postgres.PostgresApplicationRecorder):
    """Pauses after the insert and before the commit now and then (mixed into a recorder)."""

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if random.random() < HOLD_SHARE:
            time.sleep(random.uniform(*HOLD_S))
        return ids


class HoldingRecorder(Holding, IntegrityRecorder):
    """The cxgov recorder, pausing after the insert and before the commit now and then."""


class Factory(es_postgres.PostgresFactory):
    """The PostgreSQL factory with the holding recorder."""

    application_recorder_class = HoldingRecorder
