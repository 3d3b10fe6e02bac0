"""The desk understands amounts as people type them and shows what it understood; the first
invalid field takes the focus (issue 17)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.web.amounts import money_amount, share
from governance.bootstrap import Runtime
from tests.api.test_re_decisions_dashboard import csrf_of, signed_in


@pytest.mark.parametrize(("typed", "amount"), [
    ("$2.5M", "2500000"), ("2,500,000", "2500000"), ("2.5 million", "2500000"),
    ("750k", "750000"), ("USD 3m", "3000000"), ("5000000", "5000000"),
    ("$2,000,000.50", "2000000.50")])
def test_money_as_typed(typed: str, amount: str) -> None:
    assert money_amount(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["five million", "2,5", "1,2,3", "$", "2.5X", ""])
def test_text_that_is_not_an_amount_is_left_to_the_schema(typed: str) -> None:
    assert money_amount(typed) is None


def test_shares() -> None:
    assert share("30%") == Decimal("0.3") and share("12.5 %") == Decimal("0.125")
    assert share("0.3") == Decimal("0.3") and share("x") is None


def test_the_desk_shows_what_it_understood_and_focuses_the_first_error(
        runtime: Runtime) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        token = csrf_of(client.get("/dashboard/desk").text)
        form = {"csrf": token, "action": "preview", "period": "FY2027", "kind": "pnl", "pnl": "RB",
                "title": "Queue alerts", "problem": "Customers queue without knowing how long",
                "scenario": "S1", "touchpoints": "Branch", "functional_areas": "Branch ops",
                "cost": "$2.5M", "confidence": "0.5", "impact_metric_0": "M1",
                "impact_value_0": "110", "impact_reach_0": "30%"}
        page = client.post("/dashboard/desk", data=form).text
        assert 'data-understood="cost">Understood as $2,500,000</small>' in page
        assert 'data-understood="impact_reach_0">Understood as 0.3 (30%)</small>' in page
        assert 'value="$2.5M"' in page  # the input keeps what was typed
        assert "field-error" not in page
        bad = client.post("/dashboard/desk", data={**form, "title": "", "cost": "lots"}).text
        assert 'value="lots"' in bad and 'data-field="cost"' in bad
        focused = [part.split(">", 1)[0] for part in bad.split("<input")[1:]
                   if "autofocus" in part.split(">", 1)[0]]
        assert len(focused) == 1 and 'id="title"' in focused[0]
