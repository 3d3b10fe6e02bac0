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
- text with nothing visible in it: only whitespace, zero-width and other blank characters.

Accepted text is NFC-normalised and stripped of surrounding whitespace, so the same words
typed on two keyboards are the same stored string.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from domain.errors import InvalidInput

#: Bidirectional embeddings, overrides and isolates: they reorder what a reader sees.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Letters and symbols that render as nothing (besides whitespace and format characters).
BLANK_LOOKALIKES: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u034f")
#: Control characters a multi-line field may hold.
LINE_CONTROLS: Final = frozenset("\t\n\r")


def _visible(ch: str) -> bool:
    if ch.isspace() or ch in BLANK_LOOKALIKES:
        return False
    return unicodedata.category(ch) not in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn", "Me")


def problem_with(value: str, *, multiline: bool = False) -> str | None:
    """Why this text is refused, or None when it is acceptable (before normalising)."""
    for index, ch in enumerate(value):
        point = ord(ch)
        if 0xD800 <= point <= 0xDFFF:
            return f"contains a lone surrogate (U+{point:04X}) at character {index}"
        if ch in ("\ufffe", "\uffff"):
            return f"contains the noncharacter U+{point:04X} at character {index}"
        if ch in BIDI_CONTROLS:
            return (f"contains the bidirectional control U+{point:04X} at character {index}, "
                    "which reorders displayed text")
        if unicodedata.category(ch) == "Cc" and not (multiline and ch in LINE_CONTROLS):
            return f"contains the control character U+{point:04X} at character {index}"
    return None


def clean_text(value: object, *, field: str, max_length: int, required: bool = True,
               multiline: bool = False) -> str:
    """The NFC-normalised, stripped text; raise InvalidInput naming the field otherwise.

    `required=False` lets an empty (or all-whitespace) value through as "", but never a
    value made only of invisible characters: that is a mistake or a disguise.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    reason = problem_with(value, multiline=multiline)
    if reason is not None:
        raise InvalidInput(f"{field} {reason}", field=field)
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} must not be empty", field=field)
        return ""
    if not any(_visible(ch) for ch in text):
        raise InvalidInput(f"{field} has no visible character", field=field)
    if len(text) > max_length:
        raise InvalidInput(f"{field} is longer than {max_length} characters", field=field)
    return text


def optional_text(value: str | None, *, field: str, max_length: int,
                  multiline: bool = True) -> str:
    """Free text that may be empty (a note, a description): "" for None or blank."""
    if value is None:
        return ""
    return clean_text(value, field=field, max_length=max_length, required=False,
                      multiline=multiline)
