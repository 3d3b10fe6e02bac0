"""The one text rule (domain.text), and that every way in applies it: API, company file, CSV."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema_rs
import pytest

from domain.errors import InvalidInput
from domain.text import clean_text, optional_text, text_pattern
from domain.values import check_observed_at
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import parse_company
from governance.entrypoints.csv_import import CsvImportError, parse_csv_company, write_csv_company

REFUSED = {
    "nul": "a\x00b", "bell": "a\x07b", "escape": "\x1b[2J", "c1": "a\x85b",
    "lone_surrogate": "a\ud800b", "noncharacter": "a\uffffb",
    "right_to_left_override": "abc\u202edcb", "left_to_right_embedding": "a\u202ab",
    "isolate": "a\u2066b\u2069", "zero_width_only": "\u200b\u200d\u2060\ufeff",
    "blank_lookalikes": "\u3164 \u2800", "blank_after_trim": "  \t ",
}
ACCEPTED = {
    "plain": ("Instant card issuing", "Instant card issuing"),
    "trimmed": ("  spaced  ", "spaced"),
    "nfc": ("Cafe\u0301", "Caf\u00e9"),
    "hebrew_with_mark": ("\u05e9\u05dc\u05d5\u05dd\u200f 2027",) * 2,
    "arabic": ("\u0645\u0631\u062d\u0628\u0627", "\u0645\u0631\u062d\u0628\u0627"),
    "emoji_with_joiner": ("team \U0001f469\u200d\U0001f4bb", "team \U0001f469\u200d\U0001f4bb"),
    "chinese": ("\u5feb\u901f\u5f00\u5361", "\u5feb\u901f\u5f00\u5361"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_hostile_text_is_refused_naming_the_field(kind: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_text(REFUSED[kind], field="title", max_length=200)
    assert caught.value.details["field"] == "title"
    assert caught.value.message.startswith("title ")


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_ordinary_text_of_any_script_is_kept_normalised(kind: str) -> None:
    given, stored = ACCEPTED[kind]
    assert clean_text(given, field="title", max_length=200) == stored


def test_multiline_fields_keep_line_breaks_and_tabs_but_one_line_fields_do_not() -> None:
    assert optional_text("line one\n\tline two\r\n", field="note", max_length=100) == \
        "line one\n\tline two"
    with pytest.raises(InvalidInput):
        clean_text("line one\nline two", field="title", max_length=100)


def test_optional_text_may_be_empty_but_never_blank() -> None:
    assert optional_text(None, field="note", max_length=10) == ""
    assert optional_text("", field="note", max_length=10) == ""
    for blank in ("   ", "\n", "\u200b"):
        with pytest.raises(InvalidInput):
            optional_text(blank, field="note", max_length=10)


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("required", [False, True])
def test_the_openapi_pattern_states_exactly_the_rule(required: bool, multiline: bool) -> None:
    """The pattern the OpenAPI document carries accepts exactly what clean_text accepts, on
    every Basic Multilingual Plane character alone and framed by visible letters (lone
    surrogates aside: no JSON string a schema describes holds one, and both refuse them)."""
    pattern = re.compile(text_pattern(required=required, multiline=multiline))
    scalars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    samples = ["", *scalars, *(f"a{ch}b" for ch in scalars)]
    for sample in samples:
        try:
            clean_text(sample, field="f", max_length=None, required=required,
                       multiline=multiline)
            accepted = True
        except InvalidInput:
            accepted = False
        # Python's `$` also matches before a final newline; ECMA's does not: use fullmatch
        assert accepted == bool(pattern.fullmatch(sample)), (required, multiline, repr(sample))
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": pattern.pattern})
    assert validator.is_valid("a b") and not validator.is_valid("a\x00b")


def test_length_counts_the_normalised_text() -> None:
    assert clean_text("e\u0301" * 3, field="t", max_length=3) == "\u00e9" * 3
    with pytest.raises(InvalidInput):
        clean_text("x" * 4, field="t", max_length=3)


def test_observation_times_must_lie_between_1970_and_a_day_from_now() -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    check_observed_at(now + timedelta(hours=23), now=now)
    check_observed_at(datetime(1970, 1, 1, tzinfo=UTC), now=now)
    for bad in (now + timedelta(days=2), datetime(9999, 1, 1, tzinfo=UTC),
                datetime(1, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, tzinfo=UTC),
                datetime(2026, 1, 1)):
        with pytest.raises(InvalidInput) as caught:
            check_observed_at(bad, now=now)
        assert caught.value.details["field"] == "observed_at"


def test_the_company_file_applies_the_rule() -> None:
    raw = json.loads(bundled_company().model_dump_json())
    raw["initiatives"][3]["title"] = "evil\u0000title"
    with pytest.raises(InvalidInput) as caught:
        parse_company(json.dumps(raw))
    assert "initiatives.3.title" in caught.value.message
    assert "U+0000" in caught.value.message


def test_a_csv_row_with_a_bidi_override_is_named_by_line(tmp_path: Path) -> None:
    write_csv_company(bundled_company(), tmp_path)
    path = tmp_path / "initiatives.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[5][rows[0].index("title")] = "refund \u202etxt.exe"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with pytest.raises(CsvImportError) as caught:
        parse_csv_company([tmp_path])
    first = caught.value.errors[0]
    assert (first.file, first.line) == ("initiatives.csv", 6)
    assert "U+202E" in first.reason
