"""Jobs to be done (issue 15, part 5): the ODI opportunity score, a job's checks, and the
weights opportunities propose (whole points summing to 100, largest remainder)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.jobs import Job, opportunity, proposed_weights

D = Decimal


@pytest.mark.parametrize(("importance", "satisfaction", "score"), [
    ("8.6", "3.9", "13.3"), ("5", "9", "5"), ("10", "0", "20"), ("0", "0", "0"),
    ("7", "7", "7")])
def test_opportunity_is_importance_plus_the_unmet_part(
        importance: str, satisfaction: str, score: str) -> None:
    assert opportunity(D(importance), D(satisfaction)) == D(score)


def test_a_job_refuses_ratings_off_the_scale_and_a_metric_named_twice() -> None:
    for field, values in (("importance", (D("10.1"), D(0))), ("satisfaction", (D(5), D(-1)))):
        with pytest.raises(InvalidInput) as caught:
            Job.define(code="J1", statement="Get paid", scenario=None, metrics=[],
                       importance=values[0], satisfaction=values[1], actor="a")
        assert caught.value.field == field
    with pytest.raises(InvalidInput) as caught:
        Job.define(code="J1", statement="Get paid", scenario=None, metrics=["M1", "M1"],
                   importance=D(5), satisfaction=D(5), actor="a")
    assert caught.value.field == "metrics"
    with pytest.raises(InvalidInput) as caught:
        Job.define(code="J1", statement="\u202e", scenario=None, metrics=[],
                   importance=D(5), satisfaction=D(5), actor="a")
    assert caught.value.field == "statement"


def test_rating_records_before_and_after_and_refuses_no_change() -> None:
    job = Job.define(code="J1", statement="Get paid", scenario=None, metrics=["M4"],
                     importance=D(9), satisfaction=D(3), actor="a")
    assert job.opportunity == D(15)
    job.rate(importance=D(9), satisfaction=D(6), source="survey Q3", actor="b")
    rated = job.collect_events()[-1]
    assert isinstance(rated, Job.Rated)
    assert (rated.previous_satisfaction, rated.satisfaction) == (D(3), D(6))
    assert job.opportunity == D(12)
    with pytest.raises(InvalidInput):
        job.rate(importance=D(9), satisfaction=D(6), source="again", actor="b")


def test_proposed_weights_are_whole_points_summing_to_100() -> None:
    assert proposed_weights({}) == {}
    assert proposed_weights({"M1": [D(0)]}) == {}
    assert proposed_weights({"M1": [D(1)], "M2": [D(1)], "M3": [D(1)]}) == {
        "M1": 34, "M2": 33, "M3": 33}
    found = proposed_weights({"M1": [D("13.3")], "M2": [D("11.8"), D(5)], "M9": [D(2)]})
    assert sum(found.values()) == 100 and found["M2"] > found["M1"] > found["M9"]
