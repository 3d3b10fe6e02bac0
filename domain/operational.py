"""Operational metrics, with owners (issue 15, part 3): the measures a department is run by,
each mapped to the customer success metric it serves.

A customer success metric maps to one or more operational metrics; each names its data
source, its aggregation rule and the department (or function) that owns it. The mapping is
recorded whole by `CustomerSuccessMetric.OperationalMetricsMapped` (domain/metric.py); the
metric's older free-text `operational_metric` stays as its one-line label.
"""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.values import require_text

MOST_OPERATIONAL = 20  # operational metrics per customer success metric

#: The fields of one mapped operational metric and their length limits.
FIELDS: dict[str, int] = {"name": 200, "source": 200, "aggregation": 200, "department": 80}


def department_key(name: str) -> str:
    """The case-insensitive key of a department's name: one department however typed."""
    return " ".join(name.split()).casefold()


def check_operational(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """A metric's whole mapping, cleaned: at least one and at most `MOST_OPERATIONAL`
    operational metrics, each with every field as safe one-line text, no name twice
    (case-insensitive). An error names `operational_metrics.N.<field>`."""
    if not items:
        raise InvalidInput("map at least one operational metric", field="operational_metrics")
    if len(items) > MOST_OPERATIONAL:
        raise InvalidInput(f"at most {MOST_OPERATIONAL} operational metrics per metric, got "
                           f"{len(items)}", field="operational_metrics")
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            unknown = sorted(set(item) - set(FIELDS))
            if unknown:
                raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
            one = {name: require_text(item.get(name, ""), field=name, max_length=most)
                   for name, most in FIELDS.items()}
        except InvalidInput as exc:
            raise exc.within(f"operational_metrics.{index}") from None
        key = department_key(one["name"])
        if key in seen:
            raise InvalidInput(f"operational metric {one['name']!r} is named twice",
                               field=f"operational_metrics.{index}.name")
        seen.add(key)
        cleaned.append(one)
    return cleaned
