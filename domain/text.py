"""Free text that is safe to store, project and show: the one rule for every text field.

Every free-text field of every command and reading (API body, CSV row, company file, CLI)
passes through `clean_text`. It refuses what no legitimate user types and what breaks or
deceives a reader downstream, and normalises the rest:

- control characters (NUL included; PostgreSQL refuses U+0000 in `text` and `jsonb`), except
  tab and line breaks in multi-line fields;
- lone surrogates (not encodable as UTF-8) and the noncharacters U+FFFE, U+FFFF;
- bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which
  reorder the displayed text ("Trojan Source"); the plain marks U+200E, U+200F and U+061C
  stay allowed, since right-to-left writing legitimately uses them;
- text with nothing visible in it: only whitespace, format characters (zero-width space and
  joiners, soft hyphen, byte order mark ...) and blank letters (Hangul fillers, the blank
  Braille pattern). An optional field may be empty, but not blank.

Accepted text is NFC-normalised and stripped of surrounding whitespace, so the same words
typed on two keyboards are the same stored string.

The rule is two character classes, `FORBIDDEN` and `INVISIBLE`, written as regular-expression
ranges so that the OpenAPI document states the very same rule as a `pattern` (`text_pattern`);
the classes list code points explicitly (no `\\s`, no Unicode categories), because regex
engines disagree on those. Characters beyond the Basic Multilingual Plane count as visible.
Length limits apply to the normalised text, in the domain.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from domain.errors import InvalidInput

_C0_BUT_LINES: Final = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f"
_OTHER_FORBIDDEN: Final = "\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\ufffe\\uffff"
#: Refused anywhere in a one-line field (all control characters) ...
FORBIDDEN: Final = "\\x00-\\x1f" + _OTHER_FORBIDDEN
#: ... and in a multi-line one (tab, line feed and carriage return allowed).
FORBIDDEN_MULTILINE: Final = _C0_BUT_LINES + _OTHER_FORBIDDEN
#: Characters that show nothing: whitespace, format characters (category Cf of the Basic
#: Multilingual Plane, Unicode 14) and letters that render blank.
INVISIBLE: Final = (
    "\\x09-\\x0d\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
    "\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb"
    "\\u034f\\u115f\\u1160\\u17b4\\u17b5\\u3164\\uffa0\\u2800")


def text_pattern(*, multiline: bool = False, required: bool = True) -> str:
    """The rule as one regular expression (ECMA-262, Rust and Python `re` alike), for OpenAPI.

    Lone surrogates are left out: they are no Unicode scalar values, so no JSON string that
    a schema describes holds one (RFC 8259 section 8.2, I-JSON), and regex engines that work
    on scalar values (Rust's, which schema validators use) refuse a surrogate range.
    """
    forbidden = FORBIDDEN_MULTILINE if multiline else FORBIDDEN
    body = f"[^{forbidden}]*[^{forbidden}{INVISIBLE}][^{forbidden}]*"
    return f"^{body}$" if required else f"^({body})?$"


_SURROGATES: Final = "\\ud800-\\udfff"
_FORBIDDEN = re.compile(f"[{FORBIDDEN}{_SURROGATES}]")
_FORBIDDEN_MULTILINE = re.compile(f"[{FORBIDDEN_MULTILINE}{_SURROGATES}]")
_VISIBLE = re.compile(f"[^{FORBIDDEN}{_SURROGATES}{INVISIBLE}]")


def _describe(ch: str) -> str:
    point = ord(ch)
    if 0xD800 <= point <= 0xDFFF:
        return f"a lone surrogate (U+{point:04X})"
    if ch in ("\ufffe", "\uffff"):
        return f"the noncharacter U+{point:04X}"
    if 0x202A <= point <= 0x202E or 0x2066 <= point <= 0x2069:
        return f"the bidirectional control U+{point:04X}, which reorders displayed text"
    return f"the control character U+{point:04X}"


def problem_with(value: str, *, multiline: bool = False) -> str | None:
    """Why this text is refused for a forbidden character, or None."""
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if found is None:
        return None
    return f"contains {_describe(found.group())} at character {found.start()}"


def clean_text(value: object, *, field: str, max_length: int | None, required: bool = True,
               multiline: bool = False) -> str:
    """The NFC-normalised, stripped text; raise InvalidInput naming the field otherwise.

    `required=False` lets the empty string through (as ""), never a blank one. `max_length`
    counts the normalised text (None: the caller checked the length).
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if not value and not required:
        return ""
    reason = problem_with(value, multiline=multiline)
    if reason is not None:
        raise InvalidInput(f"{field} {reason}", field=field)
    if _VISIBLE.search(value) is None:
        raise InvalidInput(f"{field} has no visible character" if value
                           else f"{field} must not be empty", field=field)
    text = unicodedata.normalize("NFC", value).strip()
    if max_length is not None and len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return text


def optional_text(value: str | None, *, field: str, max_length: int,
                  multiline: bool = True) -> str:
    """Free text that may be empty (a note, a description): "" for None or ""."""
    if value is None:
        return ""
    return clean_text(value, field=field, max_length=max_length, required=False,
                      multiline=multiline)
