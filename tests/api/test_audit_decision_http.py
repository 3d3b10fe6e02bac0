"""GET /v1/audit/decisions/{id} over HTTP: the record is the log's, `log_check` says so and
that the read model and the ranking then agree with it; a tranche release is ranked asking
for its tranche, so its row of the period's ranking is not compared (issue 18, item 5)."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.test_tranches_http import top

CX = auth("cx.chief", "cx_exec")
DEPUTY = auth("cx.deputy", "cx_exec")
AUDITOR = auth("alex", "auditor")


def test_a_decision_and_a_tranche_release_are_served_from_the_log(client: TestClient) -> None:
    row = top(client)
    url = f"/v1/initiatives/{row['id']}"
    cost = Decimal(row["cost"])
    approved = client.post(
        f"{url}/decisions",
        headers=CX,
        json={
            "outcome": "approve",
            "rationale": "on plan",
            "first_tranche": str(cost / 2),
            "gates": [{"name": "pilot", "amount": str(cost / 2)}],
        },
    )
    assert approved.status_code == 201, approved.text
    position = approved.json()["position"]
    answer = client.get(f"{approved.headers['Location']}?min_position={position}", headers=AUDITOR)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["log_check"] == {
        "source": "log",
        "position": position,
        "agrees": True,
        "ranking_checked": True,
        "disagreements": [],
    }
    item = body["item"]
    assert (item["rationale"], item["initiative_code"], item["position"]) == (
        "on plan",
        row["code"],
        position,
    )
    assert item["explanation"]["entry_then"]["rank"] == item["rank"]

    released = client.post(
        f"{url}/tranche-releases",
        headers=DEPUTY,
        json={"gate": "pilot", "rationale": "the pilot worked"},
    )
    assert released.status_code == 201, released.text
    tranche = client.get(
        f"{released.headers['Location']}?min_position={released.json()['position']}",
        headers=AUDITOR,
    ).json()
    assert (tranche["log_check"]["agrees"], tranche["log_check"]["ranking_checked"]) == (
        True,
        False,
    )
    assert tranche["item"]["rationale"] == "the pilot worked"


def test_an_unknown_decision_is_not_found(client: TestClient) -> None:
    missing = client.get(
        "/v1/audit/decisions/00000000-0000-4000-8000-000000000000", headers=AUDITOR
    )
    # `decision.` codes are 422 in this API (api/errors.py PREFIXES), before the suffix rule
    assert (missing.status_code, missing.json()["code"]) == (422, "decision.not_found")
