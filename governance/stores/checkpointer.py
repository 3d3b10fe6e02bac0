"""The service's own checkpoints: periodically, and whenever a period is closed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.app import Governance
from governance.stores.integrity import issue_checkpoint

log = logging.getLogger("cxgov.checkpoints")

CLOSED_TOPIC = "cxgov.FundingPool.Closed"


@dataclass
class Checkpointer:
    """Call `tick()` often; it signs a checkpoint when one is due.

    Due means: new events since the last checkpoint this process signed, and either the
    interval has passed or a period was closed after that checkpoint.
    """

    app: Governance
    key: Ed25519PrivateKey
    interval_seconds: float
    last_position: int = 0
    last_at: float = field(default_factory=time.monotonic)

    def due(self) -> bool:
        """Whether a checkpoint should be signed now."""
        newest = self.app.position()
        if newest <= self.last_position:
            return False
        if time.monotonic() - self.last_at >= self.interval_seconds:
            return True
        closes = self.app.recorder.select_notifications(
            start=self.last_position, limit=1, topics=[CLOSED_TOPIC], inclusive_of_start=False)
        return bool(closes)

    def tick(self) -> int | None:
        """Sign a checkpoint if due; return its position."""
        if not self.due():
            return None
        checkpoint = issue_checkpoint(self.app, self.key)
        self.last_position, self.last_at = checkpoint.position, time.monotonic()
        log.info("signed checkpoint %s at position %s", checkpoint.seq, checkpoint.position)
        return checkpoint.position
