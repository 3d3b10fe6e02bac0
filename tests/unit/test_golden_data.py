"""The golden company file ships in the package; tests read that copy, never ../shared.

The packaged copy is the shared one plus documented extensions (decision 113): every key the
shared file has, the packaged file has with the same value; the packaged file may add only the
keys named in ``EXTENSIONS``, each at the path given there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builders import harborview_path

SHARED_COPY = Path(__file__).resolve().parents[3] / "shared" / "data" / "harborview.json"

# Keys the packaged file adds to the shared one: (path of the object without list indices, key).
EXTENSIONS = {(("metrics",), "operational_metrics")}


def _departures(shared: Any, packaged: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Every place where ``packaged`` is not ``shared`` plus an allowed extension."""
    where = "/".join(path) or "(root)"
    if type(shared) is not type(packaged):
        return [f"{where}: {type(shared).__name__} became {type(packaged).__name__}"]
    if isinstance(shared, dict):
        found = [f"{where}/{key}: missing" for key in shared if key not in packaged]
        found += [
            f"{where}/{key}: added, not a documented extension"
            for key in packaged
            if key not in shared and (path, key) not in EXTENSIONS
        ]
        for key in shared.keys() & packaged.keys():
            found += _departures(shared[key], packaged[key], (*path, key))
        return found
    if isinstance(shared, list):
        if len(shared) != len(packaged):
            return [f"{where}: {len(shared)} items became {len(packaged)}"]
        found = []
        for one, other in zip(shared, packaged, strict=True):
            found += _departures(one, other, path)
        return found
    return [] if shared == packaged else [f"{where}: {shared!r} became {packaged!r}"]


def test_the_packaged_golden_file_holds_the_published_expectation() -> None:
    data = json.loads(harborview_path().read_text(encoding="utf-8"))
    assert harborview_path().parent.name == "data"
    assert harborview_path().parent.parent.name == "governance"
    assert len(data["expected"]["ranking"]) == len(data["initiatives"])


def test_the_comparison_catches_a_changed_value_and_an_undocumented_key() -> None:
    shared = {"metrics": [{"code": "M1", "target": "24"}], "expected": {"ranking": ["I1"]}}
    assert _departures(shared, json.loads(json.dumps(shared))) == []
    changed = {"metrics": [{"code": "M1", "target": "25"}], "expected": {"ranking": ["I1"]}}
    assert _departures(shared, changed) == ["metrics/target: '24' became '25'"]
    extended = {
        "metrics": [{"code": "M1", "target": "24", "operational_metrics": []}],
        "expected": {"ranking": ["I1"], "extra": 1},
    }
    assert _departures(shared, extended) == ["expected/extra: added, not a documented extension"]


@pytest.mark.skipif(not SHARED_COPY.is_file(), reason="no ../shared checkout beside this one")
def test_the_packaged_golden_file_is_the_shared_one_plus_documented_extensions() -> None:
    shared = json.loads(SHARED_COPY.read_text(encoding="utf-8"))
    packaged = json.loads(harborview_path().read_text(encoding="utf-8"))
    assert _departures(shared, packaged) == []
