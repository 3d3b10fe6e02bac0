"""The golden company file ships in the package; tests read that copy, never ../shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import harborview_path

SHARED_COPY = Path(__file__).resolve().parents[3] / "shared" / "data" / "harborview.json"


def test_the_packaged_golden_file_holds_the_published_expectation() -> None:
    data = json.loads(harborview_path().read_text(encoding="utf-8"))
    assert harborview_path().parent.name == "data"
    assert harborview_path().parent.parent.name == "governance"
    assert len(data["expected"]["ranking"]) == len(data["initiatives"])


@pytest.mark.skipif(not SHARED_COPY.is_file(), reason="no ../shared checkout beside this one")
def test_the_packaged_golden_file_equals_the_shared_one_when_both_exist() -> None:
    assert harborview_path().read_bytes() == SHARED_COPY.read_bytes()
