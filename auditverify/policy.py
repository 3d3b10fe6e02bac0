"""The auditor's verification policy (issue 18, part 4): what a history must show beyond being
internally consistent. Each unmet requirement is an error finding with a position."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from auditverify.encoding import micros
from auditverify.model import Finding, Report

_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds from '90', '90s', '15m', '2h' or '7d'."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 3600, 90m, 2h, 7d)")
    return int(found.group(1)) * _UNIT[found.group(2)]


@dataclass(frozen=True)
class Policy:
    """What the auditor requires: anchoring through a position, a number of valid checkpoints,
    a newest checkpoint no older than a duration."""

    anchored_through: int | None = None
    min_checkpoints: int | None = None
    max_age_s: int | None = None

    def check(self, report: Report, now: datetime | None = None) -> Report:
        """The report plus an error for each requirement the history does not meet."""
        findings: list[Finding] = []
        after = report.anchored_through + 1
        if self.anchored_through is not None and report.anchored_through < self.anchored_through:
            findings.append(Finding(
                "policy_anchored_through", after,
                f"signed checkpoints anchor the history through position "
                f"{report.anchored_through}, not through {self.anchored_through} as required: "
                "later rows (or the checkpoints over them) are missing", tamper="truncated"))
        if self.min_checkpoints is not None and report.valid_checkpoints < self.min_checkpoints:
            findings.append(Finding(
                "policy_min_checkpoints", after,
                f"{report.valid_checkpoints} valid checkpoint(s), {self.min_checkpoints} "
                "required: checkpoints were deleted or never issued", tamper="deleted"))
        if self.max_age_s is not None:
            moment = micros(now or datetime.now(UTC))
            newest = report.newest_checkpoint_at_us
            if newest is None or moment - newest > self.max_age_s * 1_000_000:
                age = "no valid checkpoint" if newest is None else (
                    f"the newest valid checkpoint is {(moment - newest) // 1_000_000} s old")
                findings.append(Finding(
                    "policy_max_age", after,
                    f"{age}; at most {self.max_age_s} s required: newer checkpoints were "
                    "deleted, or the service stopped signing", tamper="truncated"))
        return report.with_findings(findings) if findings else report
