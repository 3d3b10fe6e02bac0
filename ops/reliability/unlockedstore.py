"""DELIBERATELY BROKEN persistence (the tailing drill's negative control only): the library's
PostgreSQL recorder without the events table lock, so transactions that drew notification ids
can commit out of id order, and with the same 5-50 ms pauses before commit as slowstore.

`PERSISTENCE_MODULE=ops.reliability.unlockedstore` is set by the negative control and nowhere
else. Readers that tail "after the last position seen" must be caught skipping events here.
"""

from __future__ import annotations

from eventsourcing import postgres as es_postgres
from psycopg import Cursor
from psycopg.rows import DictRow

from ops.reliability.slowstore import Holding


class UnlockedRecorder(Holding):
    """Inserts without the table lock (the bug), pausing before commit now and then."""

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        return  # the bug: ids are drawn in one order and committed in another


class Factory(es_postgres.PostgresFactory):
    """The PostgreSQL factory with the unlocked recorder."""

    application_recorder_class = UnlockedRecorder
