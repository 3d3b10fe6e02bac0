"""DELIBERATELY BROKEN projector (the crash drill's negative control only):
`python -m ops.reliability.broken_projector` runs the projectors like `cxgov project`, but the
audit log's view commits its tracking position in one transaction and its rows in a second,
a second later. A SIGKILL between the two leaves positions tracked but never written; the crash
drill's comparison with a rebuild must catch that.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Sequence

from eventsourcing.persistence import Tracking

from governance.bootstrap import bootstrap
from governance.stores.projectors import run_projectors
from projections.views import PostgresAuditLogView, Row

GAP_S = 1.0  # long enough that kills land in it while the projector follows new events


class TrackingFirstAuditLogView(PostgresAuditLogView):
    """The bug: tracking and rows in two transactions, tracking first."""

    def append(self, tracking: Tracking, rows: Sequence[Row]) -> None:
        """Commit the position, wait, then insert the rows (not atomic)."""
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
        time.sleep(GAP_S)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO rm_audit_log SELECT * FROM unnest(%s::bigint[], "
                "%s::timestamptz[], %s::text[], %s::uuid[], %s::bigint[], %s::text[], "
                "%s::text[], %s::jsonb[])", self._columns(rows))


def main() -> None:
    """Run until SIGTERM (the drill SIGKILLs it)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with bootstrap() as runtime:
        run_projectors(runtime.env, stop=stop, audit_view=TrackingFirstAuditLogView)


if __name__ == "__main__":
    main()
