"""An independent verifier of cxgov's tamper-evident history (stdlib, cryptography, psycopg).

It imports nothing from the service it audits, so an auditor can read and run it alone.
"""

from __future__ import annotations

from auditverify.bundle import BundleError, load_checkpoints, load_receipts, verify_bundle
from auditverify.keys import key_id, load_public_key, parse_public_key
from auditverify.live import verify_database
from auditverify.model import ChainRow, Checkpoint, EventRow, Finding, Receipt, Report, Row
from auditverify.verifier import Verifier, verify_rows

__all__ = [
    "BundleError",
    "ChainRow",
    "Checkpoint",
    "EventRow",
    "Finding",
    "Receipt",
    "Report",
    "Row",
    "Verifier",
    "key_id",
    "load_checkpoints",
    "load_public_key",
    "load_receipts",
    "parse_public_key",
    "verify_bundle",
    "verify_database",
    "verify_rows",
]
