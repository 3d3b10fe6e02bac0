"""Amounts as people type them (issue 17): "$2.5M", "2,500,000", "2.5 million", "750k" for
money; "30%" or "0.3" for a share. Understood values are exact decimals (never floats); text
that is not understood is passed on unchanged, so the schema's own message names the field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

SCALES = {"": Decimal(1), "k": Decimal(1_000), "thousand": Decimal(1_000),
          "m": Decimal(1_000_000), "mm": Decimal(1_000_000), "million": Decimal(1_000_000),
          "b": Decimal(1_000_000_000), "bn": Decimal(1_000_000_000),
          "billion": Decimal(1_000_000_000)}
MONEY = re.compile(r"^(?:usd|\$)?((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)"
                   r"([a-z]*?)(?:usd)?$")
SHARE = re.compile(r"^([0-9]*\.?[0-9]+)\s*(%?)$")


def money_amount(text: str) -> Decimal | None:
    """The amount "$2.5M" means (2500000), or None when the text is not an amount."""
    found = MONEY.match(text.strip().lower().replace(" ", "") if text else "")
    if found is None or found.group(2) not in SCALES:
        return None
    try:
        amount = Decimal(found.group(1).replace(",", "")) * SCALES[found.group(2)]
        # (quantize raises past the context's 28 digits: "99...9b" is not an amount either)
        return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount
    except InvalidOperation:
        return None


def share(text: str) -> Decimal | None:
    """The fraction "30%" means (0.3); a plain number is taken as given ("0.3")."""
    found = SHARE.match(text.strip() if text else "")
    if found is None:
        return None
    value = Decimal(found.group(1))
    return value / 100 if found.group(2) else value
