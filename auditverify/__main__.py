"""Entry point of `python -m auditverify`."""

from __future__ import annotations

from auditverify.cli import main

raise SystemExit(main())
