"""Voice of the customer as evidence (issue 15, part 6), in memory: feedback batches (hostile
verbatims refused by field, unknown tags, retried batch keys; nothing written), citing items
behind an initiative, the ranking card's evidence count (the score unchanged), live and as of
a position."""

from __future__ import annotations

from typing import Any

from domain.errors import AlreadyExists, InvalidInput, NotFound
from governance.errors import Forbidden
from governance.stores.readside import in_memory
from tests.builders import CX_CHIEF, INGESTER, INS_OWNER, RB_OWNER, World, rejected_without_writing


def fb(verbatim: str, **tags: Any) -> dict[str, Any]:
    return {"verbatim": verbatim, "channel": "app review", "received_on": "2026-10-01", **tags}


def test_feedback_is_recorded_cited_and_counted_on_the_ranking_card(world: World) -> None:
    gov = world.gov
    models = in_memory(gov).read_models()
    i01 = world.submit("I01", impacts=(("M1", "48", "0.5"),))
    gov.record_feedback(INGESTER, batch_key="oct", source="app store", items=[
        fb("Took a week to get my card.\nUseless.", metric="M1", scenario="S1"),
        fb("Great, fast!", metric="M2", pnl="RB", cohort="new customers")])
    card = models.ranking("FY2027")[0]
    assert card.evidence == 0
    before = gov.position()
    gov.cite_feedback(RB_OWNER, initiative_id=i01, refs=["oct/1"], note="the card delay")
    gov.cite_feedback(CX_CHIEF, initiative_id=i01, refs=["oct/1", "oct/2"])
    after = models.ranking("FY2027")[0]
    assert after.evidence == 2 and after.score == card.score
    assert models.ranking("FY2027", as_of=before)[0].evidence == 0
    _, page = models.feedback(metric="M1")
    assert [(f.ref, f.cited_by, f.verbatim) for f in page.items] == [
        ("oct/1", ["FY2027/I01"], "Took a week to get my card.\nUseless.")]
    _, cited = models.feedback(cited_by=str(i01))
    assert cited.total == 2
    _, then = models.feedback(as_of=before)
    assert [f.cited_by for f in then.items] == [[], []]
    row = models.audit_events(after=gov.position() - 1, limit=1)[0]
    assert row.summary.startswith("Evidence.Cited: code=I01")


def test_refused_feedback_and_citations_write_nothing(world: World) -> None:
    gov = world.gov
    i01 = world.submit("I01", impacts=(("M1", "48", "0.5"),))
    gov.record_feedback(INGESTER, batch_key="oct", source="s", items=[fb("ok")])
    for items, field in (([fb("bad \u202e text")], "items.0.verbatim"),
                         ([fb("x" * 4001)], "items.0.verbatim"),
                         ([fb("   ")], "items.0.verbatim"),
                         ([{**fb("ok"), "received_on": "2999-01-01"}], "items.0.received_on"),
                         ([{**fb("ok"), "mood": "sad"}], "items.0.mood"),
                         ([], "items")):
        error = rejected_without_writing(gov, InvalidInput, lambda items=items: (
            gov.record_feedback(INGESTER, batch_key="nov", source="s", items=items)))
        assert isinstance(error, InvalidInput) and error.field == field
    rejected_without_writing(gov, NotFound, lambda: gov.record_feedback(
        INGESTER, batch_key="nov", source="s", items=[fb("ok", job="J9")]))
    rejected_without_writing(gov, AlreadyExists, lambda: gov.record_feedback(
        INGESTER, batch_key="oct", source="s", items=[fb("again")]))
    rejected_without_writing(gov, Forbidden, lambda: gov.record_feedback(
        RB_OWNER, batch_key="nov", source="s", items=[fb("ok")]))
    rejected_without_writing(gov, Forbidden, lambda: gov.cite_feedback(
        INS_OWNER, initiative_id=i01, refs=["oct/1"]))
    rejected_without_writing(gov, NotFound, lambda: gov.cite_feedback(
        RB_OWNER, initiative_id=i01, refs=["oct/2"]))
    rejected_without_writing(gov, InvalidInput, lambda: gov.cite_feedback(
        RB_OWNER, initiative_id=i01, refs=["oct"]))
    gov.cite_feedback(RB_OWNER, initiative_id=i01, refs=["oct/1"])
    rejected_without_writing(gov, InvalidInput, lambda: gov.cite_feedback(
        RB_OWNER, initiative_id=i01, refs=["oct/1"]))
