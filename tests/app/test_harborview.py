"""The demo company through the governance commands equals the published expectation."""

from __future__ import annotations

import json
from decimal import Decimal

from domain.scoring import display
from governance.app import Governance
from governance.entrypoints.company import import_company, load_company_file
from tests.builders import harborview_path


def test_harborview_ranks_scores_and_funds_exactly_as_published(gov: Governance) -> None:
    path = harborview_path()
    expected = json.loads(path.read_text())["expected"]
    import_company(gov, load_company_file(path))

    assessment = gov.assess("FY2027")

    assert [e.code for e in assessment.entries] == expected["ranking"]
    for e in assessment.entries:
        published = expected["scores"][e.code]
        assert str(display(e.scored.cip)) == published["cip"], e.code
        assert str(display(e.scored.score)) == published["score"], e.code
    assert assessment.recommended_total == Decimal(expected["greedy_funded_musd"]) * 1_000_000
    assert [e.code for e in assessment.entries if e.recommended] == expected["ranking"][:22]


def test_harborview_zero_impact_initiatives_are_not_recommended(gov: Governance) -> None:
    import_company(gov, load_company_file(harborview_path()))
    reasons = {e.code: e.reason_code for e in gov.assess("FY2027").entries}
    assert reasons["I28"] == reasons["I30"] == "zero_value"
