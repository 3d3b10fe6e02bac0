""""You said, we did" (projections/feed.py): what was delivered per metric and what changed
since, in plain language, live and as of any position; the JSON Feed and Atom forms."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.values import Reading
from governance.app import Governance
from governance.stores.readside import in_memory
from projections import feed
from projections.documents import Changes
from projections.query import ReadModels
from projections.rows import SaidDidStory
from tests.builders import CX_CHIEF, INGESTER, RB_OWNER, World

A = "{http://www.w3.org/2005/Atom}"


def month(year: int, number: int, value: str, n: int = 200) -> Reading:
    """A monthly reading dated at midnight on the 28th."""
    return Reading(Decimal(value), datetime(year, number, 28, tzinfo=UTC), n)


@pytest.fixture
def world(gov: Governance) -> World:
    """M1 (hours, decrease) read monthly from January to June 2026; I01 approved and
    delivered on 2026-03-31, I02 approved and still in flight, I03 submitted (undecided)."""
    w = World(gov)
    gov.record_observations(INGESTER, metric="M1", batch_key="h1", source="crm", readings=[
        month(2026, m, v) for m, v in enumerate(["118", "117", "116", "96", "88", "80.45"], 1)])
    one = w.submit("I01", title="Digital ID & <e-signature>", cost_m="6",
                   impacts=(("M1", "48", "0.7"),))
    two = w.submit("I02", title="Instant debit card", cost_m="3", impacts=(("M1", "96", "0.6"),))
    w.submit("I03", title="Secret branch tablets", cost_m="4", impacts=(("M1", "72", "0.3"),))
    for initiative in (one, two):
        gov.decide(CX_CHIEF, initiative_id=initiative, outcome="approve", rationale="funded")
    gov.report_delivery(RB_OWNER, initiative_id=one, delivered_on=date(2026, 3, 31))
    return w


def stories(models: ReadModels, **at: object) -> dict[str, SaidDidStory]:
    return {s.metric: s for s in models.you_said_we_did(**at)}


def test_a_delivery_is_told_with_the_metric_before_and_now_in_plain_language(
        world: World) -> None:
    m1 = stories(in_memory(world.gov).read_models())["M1"]

    assert [d.code for d in m1.deliveries] == ["I01"]  # not the approved I02, not I03
    assert (m1.before, m1.now, m1.change, m1.verdict) == ("116", "80.45", "-35.55", "better")
    assert m1.before_source == "reading" and m1.first_delivered_on == "2026-03-31"
    assert m1.sentence == (
        "You said: \u201cUsable account within a day\u201d. We did: I01 Digital ID & "
        "<e-signature> (delivered 2026-03-31). Since then: median hours to first transaction "
        "went from 116.0 hours to 80.5 hours, better for customers.")
    assert m1.scenario == "S1" and m1.scenario_name == "Open an account"
    assert m1.updated == "2026-06-28T00:00:00+00:00"


def test_an_undecided_or_unfinished_initiative_never_appears(world: World) -> None:
    models = in_memory(world.gov).read_models()
    text = json.dumps([s.model_dump() for s in models.you_said_we_did()])
    assert "I01" in text
    assert "Secret branch tablets" not in text and "I03" not in text  # undecided
    assert "Instant debit card" not in text and "I02" not in text  # approved, in flight


def test_a_metric_without_a_delivery_tells_nothing(world: World) -> None:
    m2 = stories(in_memory(world.gov).read_models())["M2"]
    assert (m2.deliveries, m2.sentence, m2.verdict, m2.before) == ([], None, None, None)


def test_without_a_reading_before_delivery_the_baseline_is_the_before(gov: Governance) -> None:
    w = World(gov)
    done = w.submit("I01", cost_m="2", impacts=(("M2", "80", "0.5"),), scenario=None)
    gov.decide(CX_CHIEF, initiative_id=done, outcome="approve", rationale="funded")
    gov.report_delivery(RB_OWNER, initiative_id=done, delivered_on=date(2026, 2, 1))
    models = in_memory(gov).read_models()
    assert stories(models)["M2"].sentence.endswith(  # type: ignore[union-attr]
        "Since then: no reading of first contact resolution since delivery yet.")
    gov.record_observations(INGESTER, metric="M2", batch_key="b", source="crm",
                            readings=[month(2026, 4, "66", 900)])
    m2 = stories(models)["M2"]
    assert (m2.before_source, m2.before, m2.now, m2.verdict) == (
        "baseline", "68", "66", "worse")  # an increase metric that fell
    assert m2.sentence.endswith(  # type: ignore[union-attr]
        "first contact resolution went from the baseline of 68.0% to 66.0%, worse for "
        "customers.")


def test_as_of_a_position_before_the_delivery_tells_nothing_and_live_equals_replayed(
        world: World) -> None:
    models = in_memory(world.gov).read_models()
    delivered = world.gov.position()
    world.gov.record_observations(INGESTER, metric="M1", batch_key="h2", source="crm",
                                  readings=[month(2026, 7, "70")])
    assert stories(models, as_of=delivered - 1)["M1"].deliveries == []
    then = stories(models, as_of=delivered)["M1"]
    assert then.now == "80.45"
    live = models.you_said_we_did()
    assert stories(models)["M1"].now == "70"
    assert models.you_said_we_did(as_of=world.gov.position()) == live


def test_the_json_feed_has_one_item_per_delivery_with_the_required_fields(
        world: World) -> None:
    told = in_memory(world.gov).read_models().you_said_we_did()
    document = feed.json_feed(told, home_page_url="https://cx.example.com/ysd",
                              feed_url="https://cx.example.com/feed.json")
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] and document["feed_url"] == "https://cx.example.com/feed.json"
    (item,) = document["items"]
    assert item["id"] == f"urn:cxgov:you-said-we-did:{world.gov.initiative_id('FY2027', 'I01')}:M1"
    assert item["content_text"].startswith("You said: \u201cUsable account within a day\u201d")
    assert (item["date_published"], item["date_modified"]) == (
        "2026-03-31T00:00:00Z", "2026-06-28T00:00:00Z")
    assert item["url"] == "https://cx.example.com/ysd#M1"
    assert item["_cxgov"]["verdict"] == "better" and item["tags"][:2] == ["M1", "S1"]
    json.dumps(document)  # plain JSON: no Decimal, no datetime


def test_the_atom_feed_parses_and_has_the_elements_rfc_4287_requires(world: World) -> None:
    told = in_memory(world.gov).read_models().you_said_we_did()
    body = feed.atom_feed(told, title="Harborview: you said, we did",
                          self_url="https://cx.example.com/feed.atom")
    root = ET.fromstring(body)
    assert root.tag == f"{A}feed"
    for required in ("id", "title", "updated", "author/" + A + "name"):
        assert root.find(A + required) is not None, required
    assert root.find(f"{A}updated").text == "2026-06-28T00:00:00Z"  # type: ignore[union-attr]
    assert root.find(f"{A}link[@rel='self']").get("href") == (  # type: ignore[union-attr]
        "https://cx.example.com/feed.atom")
    (entry,) = root.findall(f"{A}entry")
    for required in ("id", "title", "updated", "published", "content"):
        assert entry.find(A + required) is not None, required
    title = entry.find(f"{A}title").text  # type: ignore[union-attr]
    assert title == ("You said \u201cUsable account within a day\u201d: we did I01 Digital ID "
                     "& <e-signature>")  # escaped in the XML, intact when parsed
    assert b"&lt;e-signature&gt;" in body and b"<e-signature>" not in body
    assert {c.get("term") for c in entry.findall(f"{A}category")} == {"M1", "S1"}


def test_an_empty_feed_is_valid_and_deterministic(gov: Governance) -> None:
    World(gov)
    told = in_memory(gov).read_models().you_said_we_did()
    root = ET.fromstring(feed.atom_feed(told))
    assert root.findall(f"{A}entry") == []
    assert root.find(f"{A}updated").text == "1970-01-01T00:00:00Z"  # type: ignore[union-attr]
    assert feed.json_feed(told)["items"] == []


def test_a_story_is_rendered_again_only_when_something_it_reads_changes(world: World) -> None:
    models = in_memory(world.gov).read_models()
    state = models.state_at(models.position())
    delivered = str(world.gov.initiative_id("FY2027", "I01"))
    in_flight = str(world.gov.initiative_id("FY2027", "I02"))

    def touched(*scopes: str) -> set[str]:
        return feed.touched(state, Changes.of(scopes))

    assert touched(f"initiative:{in_flight}", "period:FY2027") == set()
    assert touched(f"initiative:{delivered}") == {"M1"}
    assert touched("metric:M2") == {"M2"}
    assert touched("directory") == touched("metrics") == {"M1", "M2"}
    assert feed.touched(state, None) == {"M1", "M2"}
