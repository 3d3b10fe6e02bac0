"""A decision's record against the ranking then, replayed from the log (auditverify/decisions.py).

Each disagreement is a finding named after the rule, at the decision's position:

- `decision_rank_mismatch`: the recorded rank is not the initiative's rank in the ranking then;
- `decision_score_mismatch`: the recorded score or CIP is not the published model's;
- `policy_version`: the record names another policy version than the one in force then;
- `cut_line`: the recorded `cut_line_rank` is not the greedy cut line's (auditverify/cutline.py);
- `recommended_flag`: `recommended` is not what the recommendation (or the period's plan of
  record, which the record must name) says of the initiative;
- `departure_flag`: judged against the re-derived recommendation, the decision departs from it
  without a written rationale (comply or explain);
- `dependency_not_funded`: an approval (first or final) of an initiative whose dependencies
  were not all funded (approved or delivered) in the period then.

Under a policy with guardrails the cut line is the guarded walk's (decision 107). Decisions
recorded before the service enforced guardrails (decision 123) were judged by the plain walk:
a record that matches the plain walk but not the guarded one is an info note
`not_rederived` (which walk cannot be told from the log), never a false finding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from auditverify.model import Finding

if TYPE_CHECKING:
    from auditverify.decisions import Ranking


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not a whole number: {value!r}")
    return int(value)


def compare_record(
    position: int,
    name: str,
    record: dict[str, Any],
    ranking: Ranking | None,
    code: str | None,
    policy_version: int | None,
    *,
    tranche: bool,
    dependencies: tuple[str, ...] = (),
) -> list[Finding]:
    """Every rule the record breaks against `ranking` (the period ranked at the record's
    ranking position; for a tranche, with the initiative asking for the tranche)."""
    found: list[Finding] = []

    def add(kind: str, detail: str) -> None:
        found.append(Finding(kind, position, detail, tamper="rule"))

    recorded_rank = _int_or_none(record["rank"])
    entry = None if ranking is None or code is None else ranking.entry(code)
    if entry is None or recorded_rank != entry.rank:
        add(
            "decision_rank_mismatch",
            f"the decision recorded rank {recorded_rank}, but replaying the log to its "
            f"ranking position gives {None if entry is None else entry.rank}",
        )
    if ranking is None or entry is None:
        return found
    score, cip = Decimal(str(record["score"])), Decimal(str(record["cip"]))
    if (score, cip) != (entry.score, entry.cip):
        add(
            "decision_score_mismatch",
            f"the decision recorded score {score} and CIP {cip}; the published model gives "
            f"{entry.score} and {entry.cip} from the log",
        )
    version = _int_or_none(record.get("policy_version"))
    if policy_version is not None and version != policy_version:
        add(
            "policy_version",
            f"the decision names policy version {version}; version "
            f"{policy_version} was in force at its ranking position",
        )
    cut = _int_or_none(record["cut_line_rank"])
    plan = None if tranche else ranking.plan
    named = record.get("plan")
    if plan is not None:
        expected = code in plan[1]
        if named != plan[0]:
            add(
                "recommended_flag",
                f"the decision names plan of record {named!r}; the log "
                f"has {plan[0]!r} in force for the period then",
            )
    else:
        expected = entry.recommended
        if named is not None and not tranche:
            add(
                "recommended_flag",
                f"the decision names plan of record {named!r}; the log "
                "has none for the period then",
            )
    recorded = bool(record["recommended"])
    cut_line, walked = ranking.cut_line_rank, entry.recommended
    if ranking.unguarded is not None and (cut, recorded if plan is None else walked) != (
        cut_line,
        walked,
    ):
        plain_cut, plain_codes = ranking.unguarded
        if (cut, recorded if plan is None else code in plain_codes) == (
            plain_cut,
            code in plain_codes,
        ):
            found.append(
                Finding(
                    "not_rederived",
                    position,
                    "judged by the cut line without guardrails, as the service did before it "
                    "enforced them (decision 123): under the guardrails in force the cut line "
                    f"is at {cut_line} and {'recommends' if walked else 'does not recommend'} "
                    f"{code}",
                    severity="info",
                    tamper="none",
                )
            )
            cut_line, walked = plain_cut, code in plain_codes
            expected = expected if plan is not None else walked
    if cut != cut_line:
        add(
            "cut_line",
            f"the decision recorded the cut line at rank {cut}; the greedy "
            f"recommendation from {ranking.available} available"
            f"{' under the guardrails' if ranking.guardrails else ''} puts it at "
            f"{cut_line}",
        )
    if recorded != expected:
        against = f"the plan of record {plan[0]!r}" if plan else "the greedy recommendation"
        add(
            "recommended_flag",
            f"the decision recorded recommended={recorded}; {against} "
            f"{'funds' if expected else 'does not fund'} {code} (rank {entry.rank}, cut line "
            f"at {cut_line})",
        )
    approving = tranche or record["outcome"] == "approve"
    if expected != approving and not str(record.get("rationale") or "").strip():
        add(
            "departure_flag",
            f"to {'approve' if approving else record['outcome']} {code} "
            f"{'outside' if approving else 'inside'} the re-derived recommendation is a "
            "departure; it carries no written rationale (comply or explain)",
        )
    if approving and not tranche:  # an approval needs every dependency funded first
        missing = [d for d in dependencies if d not in ranking.funded]
        if missing:
            add(
                "dependency_not_funded",
                f"{code} was approved before {', '.join(missing)}, which it depends on, was funded",
            )
    return found
