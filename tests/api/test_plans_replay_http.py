"""The plans walkthrough replayed as of every position (issue 16 acceptance, audited): after
the HTTP walkthrough (two plans saved, compared, one adopted, decisions judged against it),
the comparison, each plan, the adoption and the departures register read, at every position
of the log, exactly what was true there: nothing before it was written, everything after."""

from __future__ import annotations

from fastapi.testclient import TestClient

from governance.bootstrap import Runtime
from tests.api.test_plans_walkthrough import (
    CX,
    PLANS,
    get,
)
from tests.api.test_plans_walkthrough import (
    test_two_plans_compared_one_adopted_and_decisions_judged_against_it as walkthrough,
)

NAMES = ["Value first", "Cross-P&L first"]


def test_the_comparison_and_the_adoption_replay_at_every_position(
    client: TestClient, runtime: Runtime
) -> None:
    start = runtime.app.position()
    walkthrough(client, runtime)
    end = runtime.app.position()
    audit = get(client, "/v1/audit/events", after=str(start), limit="100")["items"]
    saved = [e["position"] for e in audit if e["topic"] == "cxgov.FundingPlan.Saved"]
    (adopted,) = [e["position"] for e in audit if e["topic"] == "cxgov.PlanOfRecord.Adopted"]
    departed = next(
        e["position"]
        for e in audit
        if e["topic"] == "cxgov.Initiative.Approved" and "departure" in e["summary"]
    )
    assert saved[0] < saved[1] < adopted < departed <= end
    compared = {}
    for position in range(start, end + 1):
        answer = client.get(
            f"{PLANS}/compare", headers=CX, params={"names": NAMES, "as_of": str(position)}
        )
        if position < saved[1]:  # the second plan is not there yet: named, not found
            assert (answer.status_code, answer.json()["code"]) == (404, "plan.not_found")
            continue
        assert answer.status_code == 200, (position, answer.text)
        body = answer.json()
        assert body["position"] == position
        record = "Cross-P&L first" if position >= adopted else None
        assert body["item"]["plan_of_record"] == record, position
        assert [p["adopted"] for p in body["item"]["plans"]] == [
            name == record for name in NAMES
        ], position
        compared[position] = body["item"]
        for name in NAMES:  # each plan alone says the same as the comparison
            one = get(client, f"{PLANS}/{name.replace('&', '%26')}", as_of=str(position))
            assert one["item"]["adopted"] == (name == record), (position, name)
        departures = get(client, "/v1/audit/departures/FY2027", as_of=str(position))
        assert [d["code"] for d in departures["item"]["departures"]] == (
            ["I07"] if position >= departed else []
        ), position
    # a saved plan never changes: its selection and figures read the same at every position
    # after it was saved; only the adoption and the live portfolio around it move
    first = compared[saved[1]]["plans"]
    for position, item in compared.items():
        for then, now in zip(first, item["plans"], strict=True):
            assert (now["items"], now["cost"], now["value"], now["by_pnl"], now["by_kind"]) == (
                then["items"],
                then["cost"],
                then["value"],
                then["by_pnl"],
                then["by_kind"],
            ), position
        assert item["differences"] == compared[saved[1]]["differences"], position
    before = client.get(f"{PLANS}/Value%20first", headers=CX, params={"as_of": str(saved[0] - 1)})
    assert before.status_code == 404
