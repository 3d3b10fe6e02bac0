"""Pydantic field types shared by every way in (API bodies, the company file, CSV rows).

They apply the domain's rules (domain.text for free text, domain.values for observation
times) at parse time, so a bad value is refused as a field error before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from domain.errors import InvalidInput
from domain.text import clean_text
from domain.values import check_observed_at

_TEXT_RULE = ("Free text: no control characters{lines}, no bidirectional overrides, at least "
              "one visible character; stored NFC-normalised and trimmed.")


def _clean(max_length: int, *, required: bool = True,
           multiline: bool = False) -> AfterValidator:
    """The domain's one text rule (domain.text) as a pydantic check: a 422 naming the field."""

    def clean(value: str) -> str:
        try:
            return clean_text(value, field="text", max_length=max_length, required=required,
                              multiline=multiline)
        except InvalidInput as exc:
            raise ValueError(exc.message.removeprefix("text ")) from None

    return AfterValidator(clean)


def _rule(*, multiline: bool) -> str:
    return _TEXT_RULE.format(lines=" (tab and line breaks allowed)" if multiline else "")


Text = Annotated[str, Field(min_length=1, max_length=200, description=_rule(multiline=False)),
                 _clean(200)]
LongText = Annotated[str, Field(max_length=4000, description=_rule(multiline=True)),
                     _clean(4000, required=False, multiline=True)]
Reason = Annotated[str, Field(min_length=1, max_length=2000, description=_rule(multiline=True)),
                   _clean(2000, multiline=True)]
OptionalReason = Annotated[str, Field(max_length=2000, description=_rule(multiline=True)),
                           _clean(2000, required=False, multiline=True)]
Label = Annotated[str, Field(min_length=1, max_length=80, description=_rule(multiline=False)),
                  _clean(80)]
Unit = Annotated[str, Field(min_length=1, max_length=40, description=_rule(multiline=False)),
                 _clean(40)]
Source = Label
Cohort = Label


def _observed(value: datetime) -> datetime:
    try:
        check_observed_at(value, now=datetime.now(UTC))
    except InvalidInput as exc:
        raise ValueError(exc.message.removeprefix("observed_at ")) from None
    return value


#: When something was observed: with a zone, after 1970, not later than a day from now.
Observed = Annotated[AwareDatetime, AfterValidator(_observed)]


def _not_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


#: A count read from a file (CSV cells are text: "40" is read as 40; a boolean is refused).
Count = Annotated[int, BeforeValidator(_not_boolean), Field(ge=0, le=10**12)]
