"""Pydantic field types shared by every way in (API bodies, the company file, CSV rows).

They apply the domain's rules (domain.text for free text, domain.values for observation
times) at parse time, so a bad value is refused as a field error before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic.fields import FieldInfo

from domain.errors import InvalidInput
from domain.text import clean_text, text_pattern
from domain.values import check_observed_at

_TEXT_RULE = ("Free text: no control characters{lines}, no bidirectional embeddings, "
              "overrides or isolates, no lone surrogates or U+FFFE/U+FFFF, and at least one "
              "visible character{empty}; stored NFC-normalised and trimmed.")


def _text(max_length: int, *, required: bool = True, multiline: bool = False) -> FieldInfo:
    """The field's limits, and the rule stated in the OpenAPI document as a pattern."""
    described = _TEXT_RULE.format(
        lines=" but tab and line breaks" if multiline else "",
        empty="" if required else " (or empty)")
    info: FieldInfo = Field(min_length=1 if required else 0, max_length=max_length,
                            description=described,
                            json_schema_extra={"pattern": text_pattern(multiline=multiline,
                                                                       required=required)})
    return info


def _clean(*, required: bool = True, multiline: bool = False) -> AfterValidator:
    """The domain's one text rule (domain.text), enforced here: a 422 naming the field.
    (The length was checked on the text as sent; the domain checks it again normalised.)"""

    def clean(value: str) -> str:
        try:
            return clean_text(value, field="text", max_length=None, required=required,
                              multiline=multiline)
        except InvalidInput as exc:
            raise ValueError(exc.message.removeprefix("text ")) from None

    return AfterValidator(clean)


Text = Annotated[str, _text(200), _clean()]
LongText = Annotated[str, _text(4000, required=False, multiline=True),
                     _clean(required=False, multiline=True)]
Reason = Annotated[str, _text(2000, multiline=True), _clean(multiline=True)]
OptionalReason = Annotated[str, _text(2000, required=False, multiline=True),
                           _clean(required=False, multiline=True)]
OptionalLine = Annotated[str, _text(200, required=False), _clean(required=False)]
Label = Annotated[str, _text(80), _clean()]
Unit = Annotated[str, _text(40), _clean()]
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


def whole_number(value: object) -> object:
    """A JSON number that is whole (12 or 12.0, as JSON Schema's `integer` has it); not
    `true`, not "12". Text is read as a number only from a CSV cell (`CsvCount`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole JSON number (not a string, not true or false)")
    return value


def _cell_number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


#: A count in a JSON body: a whole JSON number, never a boolean or a string.
Count = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(whole_number)]
#: A count read from a file, where CSV cells are text ("40" is 40; a boolean is refused).
FileCount = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_cell_number)]
