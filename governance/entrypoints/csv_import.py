"""CSV company files (docs/company-file.md, "CSV"): validate every row, then build a CompanyFile.

Just over 400 lines: one parser per CSV file of the set, each a screen, and the writer that
is its inverse (kept beside it so the two cannot drift).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import CxgovError, InvalidInput
from domain.policy import DEFAULT_CONFIDENCE_TIERS
from domain.values import ImpactClaim, check_summary, require_code
from governance.entrypoints.company import (
    CompanyFile,
    ImpactIn,
    InitiativeIn,
    MetricIn,
    ObservationsIn,
    OperationalMetricIn,
    PeriodIn,
    PnlIn,
    PolicyIn,
    ReadingIn,
    ScenarioIn,
    observation_chunks,
    policy_terms,
)

#: The files of a CSV company, in load order; company.csv and initiatives.csv are required.
FILES = ("company.csv", "pnls.csv", "scenarios.csv", "metrics.csv", "operational_metrics.csv",
         "policy.csv", "initiatives.csv", "impacts.csv", "observations.csv")
REQUIRED = frozenset({"company.csv", "initiatives.csv"})
LIST_SEPARATOR = ";"
#: Readings per batch (one event): larger groups are split as batch_key.2, .3 ...
OBSERVATION_CHUNK = 1000
MAX_REPORTED = 200


@dataclass(frozen=True)
class RowError:
    """One bad row: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class CsvImportError(Exception):
    """The CSV files have bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:MAX_REPORTED])
        more = len(errors) - MAX_REPORTED
        super().__init__(f"{len(errors)} bad row(s), nothing imported:\n{shown}"
                         + (f"\n... and {more} more" if more > 0 else ""))


@dataclass
class _Collector:
    errors: list[RowError] = field(default_factory=list)

    def add(self, file: str, line: int, reason: str) -> None:
        self.errors.append(RowError(file, line, reason))


Row = tuple[int, dict[str, str]]
M = TypeVar("M", bound=BaseModel)


def csv_files(paths: Iterable[Path]) -> dict[str, Path]:
    """Map known file names to paths, from a folder or a set of .csv files."""
    found: dict[str, Path] = {}
    for path in paths:
        candidates = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name not in FILES:
                raise CsvImportError([RowError(candidate.name, 0, "unknown file name; expected "
                                               f"one of {', '.join(FILES)}")])
            found[candidate.name] = candidate
    missing = sorted(REQUIRED - set(found))
    if missing:
        raise CsvImportError([RowError(name, 0, "required file is missing") for name in missing])
    return found


def _rows(path: Path, file: str, errors: _Collector) -> list[Row]:
    """Data rows with their line numbers (the header is line 1); blank cells become absent."""
    rows: list[Row] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if not header:
            errors.add(file, 1, "empty file: a header row is required")
            return rows
        for record in reader:
            line = reader.line_num
            if None in record:
                errors.add(file, line, "more cells than header columns")
                continue
            rows.append((line, {k.strip(): (v or "").strip() for k, v in record.items()
                                if k and (v or "").strip()}))
    return rows


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _model(cls: type[M], data: dict[str, Any], file: str, line: int,
           errors: _Collector) -> M | None:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        for problem in exc.errors(include_url=False):
            where = ".".join(str(p) for p in problem["loc"]) or "row"
            errors.add(file, line, f"{where}: {problem['msg']}")
        return None


def _bool(value: str | None) -> bool | str:
    lowered = (value or "false").lower()
    if lowered in {"true", "yes", "1", "y"}:
        return True
    if lowered in {"false", "no", "0", "n"}:
        return False
    return value or ""


def parse_csv_company(paths: Iterable[Path]) -> CompanyFile:
    """Validate every row of every file, then return the company; raise CsvImportError."""
    files = csv_files(paths)
    errors = _Collector()
    rows = {name: _rows(path, name, errors) for name, path in files.items()}
    company = _build(rows, errors)
    if errors.errors or company is None:
        raise CsvImportError(sorted(errors.errors, key=lambda e: (FILES.index(e.file)
                                                                  if e.file in FILES else 99,
                                                                  e.line)))
    return company


def _unique(file: str, items: list[tuple[int, Any]], errors: _Collector) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for line, item in items:
        if item.code in seen:
            errors.add(file, line, f"duplicate code {item.code}")
        seen[item.code] = item
    return seen


def _build(rows: dict[str, list[Row]], errors: _Collector) -> CompanyFile | None:
    """Every per-row and cross-file check; None when the header file is unusable."""
    head = rows.get("company.csv", [])
    if len(head) != 1:
        errors.add("company.csv", 2, f"expected exactly one data row, found {len(head)}")
        return None
    line, top = head[0]
    period = _model(PeriodIn, {"code": top.get("period"), "opex_total": top.get("opex_total"),
                               **({"cap_percent": top["cap_percent"]}
                                  if "cap_percent" in top else {})},
                    "company.csv", line, errors)
    for key in ("company", "currency"):
        if key not in top:
            errors.add("company.csv", line, f"{key}: required")
    pnls = [(n, p) for n, r in rows.get("pnls.csv", [])
            if (p := _model(PnlIn, {**r, "owners": _split(r.get("owners"))}, "pnls.csv", n,
                            errors))]
    scenarios = [(n, s) for n, r in rows.get("scenarios.csv", [])
                 if (s := _model(ScenarioIn, r, "scenarios.csv", n, errors))]
    metrics = [(n, m) for n, r in rows.get("metrics.csv", [])
               if (m := _model(MetricIn, r, "metrics.csv", n, errors))]
    pnl_codes = _unique("pnls.csv", pnls, errors)
    scenario_codes = _unique("scenarios.csv", scenarios, errors)
    metric_codes = _unique("metrics.csv", metrics, errors)
    for n, s in scenarios:
        if s.pnl and s.pnl not in pnl_codes:
            errors.add("scenarios.csv", n, f"pnl {s.pnl} is not in pnls.csv")
    for n, m in metrics:
        if m.pnl and m.pnl not in pnl_codes:
            errors.add("metrics.csv", n, f"pnl {m.pnl} is not in pnls.csv")
        if m.scenario and m.scenario not in scenario_codes:
            errors.add("metrics.csv", n, f"scenario {m.scenario} is not in scenarios.csv")
    metrics = _operational(rows.get("operational_metrics.csv", []), metrics, errors)
    policy = _policy(rows.get("policy.csv", []), errors)
    impacts = _impacts(rows.get("impacts.csv", []), metric_codes, errors)
    tiers = set((policy.confidence_tiers if policy and policy.confidence_tiers
                 else DEFAULT_CONFIDENCE_TIERS).values())
    initiatives = _initiatives(rows.get("initiatives.csv", []), impacts, errors,
                               pnls=pnl_codes, scenarios=scenario_codes, tiers=tiers)
    known = {i.code for i in initiatives if i.code}
    for code, (n, _claims) in impacts.items():
        if code not in known:
            errors.add("impacts.csv", n, f"initiative {code} is not in initiatives.csv")
    observations = _observations(rows.get("observations.csv", []), metric_codes, errors)
    if period is None:
        return None
    company = CompanyFile(company=top.get("company", ""), currency=top.get("currency", ""),
                          period=period, pnls=[p for _, p in pnls],
                          scenarios=[s for _, s in scenarios], metrics=[m for _, m in metrics],
                          policy=policy, initiatives=initiatives, observations=observations,
                          cx_sponsor=top.get("cx_sponsor", "cx.architect"))
    try:
        policy_terms(company)
    except CxgovError as exc:
        errors.add("policy.csv" if policy else "metrics.csv", 0, f"policy: {exc.message}")
    return None if errors.errors else company


def _operational(rows: list[Row], metrics: list[tuple[int, MetricIn]],
                 errors: _Collector) -> list[tuple[int, MetricIn]]:
    """operational_metrics.csv (issue 15): one row per operational metric, `metric` naming
    the customer success metric it serves; a metric's rows are its mapping, in file order."""
    found: dict[str, list[OperationalMetricIn]] = {}
    codes = {m.code for _, m in metrics}
    for n, r in rows:
        code = r.pop("metric", "")
        if code not in codes:
            errors.add("operational_metrics.csv", n,
                       f"metric {code} is not in metrics.csv" if code else "metric: required")
            continue
        item = _model(OperationalMetricIn, r, "operational_metrics.csv", n, errors)
        if item is not None:
            found.setdefault(code, []).append(item)
    return [(n, m.model_copy(update={"operational_metrics": found[m.code]})
             if m.code in found else m) for n, m in metrics]


def _policy(rows: list[Row], errors: _Collector) -> PolicyIn | None:
    if not rows:
        return None
    if len(rows) > 1:
        errors.add("policy.csv", rows[1][0], "expected one data row")
    n, r = rows[0]
    return _model(PolicyIn, r, "policy.csv", n, errors)


def _impacts(rows: list[Row], metrics: dict[str, Any],
             errors: _Collector) -> dict[str, tuple[int, list[ImpactIn]]]:
    found: dict[str, tuple[int, list[ImpactIn]]] = {}
    for n, r in rows:
        code = r.pop("initiative", "")
        if not code:
            errors.add("impacts.csv", n, "initiative: required")
            continue
        claim = _model(ImpactIn, r, "impacts.csv", n, errors)
        if claim is None:
            continue
        if claim.metric not in metrics:
            errors.add("impacts.csv", n, f"metric {claim.metric} is not in metrics.csv")
            continue
        try:
            ImpactClaim(claim.metric, claim.expected_value, claim.reach)
        except CxgovError as exc:
            errors.add("impacts.csv", n, exc.message)
            continue
        found.setdefault(code, (n, []))[1].append(claim)
    return found


def _initiatives(rows: list[Row], impacts: dict[str, tuple[int, list[ImpactIn]]],
                 errors: _Collector, *, pnls: dict[str, Any], scenarios: dict[str, Any],
                 tiers: set[Decimal]) -> list[InitiativeIn]:
    found: list[InitiativeIn] = []
    codes: set[str] = set()
    for n, r in rows:
        data: dict[str, Any] = {
            **r, "touchpoints": _split(r.get("touchpoints")),
            "functional_areas": _split(r.get("functional_areas")),
            "dependencies": _split(r.get("dependencies")),
            "mandatory": _bool(r.get("mandatory")),
            "expected_impacts": impacts.get(r.get("code", ""), (0, []))[1]}
        item = _model(InitiativeIn, data, "initiatives.csv", n, errors)
        if item is None:
            continue
        reasons = []
        if item.code and item.code in codes:
            reasons.append(f"duplicate code {item.code}")
        if item.kind == "pnl" and item.pnl not in pnls:
            reasons.append(f"pnl {item.pnl} is not in pnls.csv")
        if item.kind != "pnl" and item.pnl:
            reasons.append(f"a {item.kind} initiative has no pnl")
        if item.scenario and item.scenario not in scenarios:
            reasons.append(f"scenario {item.scenario} is not in scenarios.csv")
        if item.confidence not in tiers:
            reasons.append(f"confidence {item.confidence} is not one of the policy's tiers "
                           f"{', '.join(sorted(str(t) for t in tiers))}")
        reasons += [f"dependency {d} is not an earlier initiative"
                    for d in item.dependencies if d not in codes]
        try:
            item.amount()
        except CxgovError as exc:
            reasons.append(exc.message)
        for reason in reasons:
            errors.add("initiatives.csv", n, reason)
        if item.code:
            codes.add(item.code)
        found.append(item)
    return found


def _observations(rows: list[Row], metrics: dict[str, Any],
                  errors: _Collector) -> list[ObservationsIn]:
    groups: dict[tuple[str, str], tuple[str, list[ReadingIn]]] = {}
    for n, r in rows:
        metric, batch_key = r.pop("metric", ""), r.pop("batch_key", "")
        source = r.pop("source", "csv import")
        reasons = [f"{k}: required" for k, v in (("metric", metric), ("batch_key", batch_key))
                   if not v]
        if metric and metric not in metrics:
            reasons.append(f"metric {metric} is not in metrics.csv")
        if batch_key:
            try:  # room for the ".N" suffix of a split batch
                require_code(batch_key + ".99", field="batch_key")
            except CxgovError:
                reasons.append("batch_key must be 1-37 letters, digits, '-', '_' or '.'")
        for reason in reasons:
            errors.add("observations.csv", n, reason)
        reading = _model(ReadingIn, r, "observations.csv", n, errors)
        if reading is None or reasons:
            continue
        try:
            check_summary(reading.reading())
        except InvalidInput as exc:  # named by its column, as the type errors are
            errors.add("observations.csv", n, f"{exc.field}: {exc.message}")
            continue
        groups.setdefault((metric, batch_key), (source, []))[1].append(reading)
    batches: list[ObservationsIn] = []
    for (metric, key), (source, readings) in groups.items():
        for part, start in enumerate(range(0, len(readings), OBSERVATION_CHUNK), start=1):
            batches.append(ObservationsIn(
                metric=metric, batch_key=key if part == 1 else f"{key}.{part}", source=source,
                readings=readings[start:start + OBSERVATION_CHUNK]))
    return batches


def command_count(company: CompanyFile) -> int:
    """How many governance commands importing the company takes (for a progress bar)."""
    return (2 + len(company.pnls) + len(company.scenarios) + len(company.metrics)
            + sum(1 for m in company.metrics if m.operational_metrics)
            + len(company.initiatives) + len(observation_chunks(company.observations)))


def import_csv(paths: list[Path]) -> None:
    """`cxgov import` for CSV: validate everything, then load with a progress bar."""
    import typer

    from governance.entrypoints.common import fail, runtime
    from governance.entrypoints.company import import_company

    try:
        company = parse_csv_company(paths)
    except CsvImportError as exc:
        raise fail(str(exc)) from None
    with runtime() as rt, typer.progressbar(length=command_count(company),
                                            label=f"importing {company.company}",
                                            file=sys.stderr) as bar:
        try:
            report = import_company(rt.app, company, lambda _label: bar.update(1),
                                    issuer=rt.settings.jwt_issuer)
        except CxgovError as exc:
            raise fail(f"[{exc.code}] {exc.message}") from None
    typer.echo(f"imported {company.company}: {report.commands} commands, log positions "
               f"{report.first_position}..{report.last_position}, {report.events} events in "
               f"{report.seconds:.3f} s")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _write(path: Path, header: list[str], rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in header})


def write_csv_company(company: CompanyFile, folder: Path) -> list[Path]:
    """Write a company as the CSV file set (the inverse of parse_csv_company)."""
    folder.mkdir(parents=True, exist_ok=True)
    top = {"company": company.company, "currency": company.currency,
           "period": company.period.code, "opex_total": company.period.opex_total,
           "cap_percent": company.period.cap_percent, "cx_sponsor": company.cx_sponsor}
    _write(folder / "company.csv", list(top), [top])
    _write(folder / "pnls.csv", ["code", "name", "opex", "owners"],
           (p.model_dump() for p in company.pnls))
    _write(folder / "scenarios.csv", ["code", "name", "pnl", "description"],
           (s.model_dump() for s in company.scenarios))
    _write(folder / "metrics.csv",
           [f for f in MetricIn.model_fields if f != "operational_metrics"],
           (m.model_dump() for m in company.metrics))
    _write(folder / "operational_metrics.csv", ["metric", *OperationalMetricIn.model_fields],
           ({"metric": m.code, **o.model_dump()} for m in company.metrics
            for o in m.operational_metrics))
    if company.policy is not None:
        _write(folder / "policy.csv", ["four_eyes_threshold", "cost_unit", "min_sample_size",
                                       "rationale"], [company.policy.model_dump()])
    fields_ = [f for f in InitiativeIn.model_fields if f != "expected_impacts"]
    _write(folder / "initiatives.csv", fields_, (i.model_dump() for i in company.initiatives))
    _write(folder / "impacts.csv", ["initiative", "metric", "expected_value", "reach"],
           ({"initiative": i.code, **c.model_dump()} for i in company.initiatives
            for c in i.expected_impacts))
    _write(folder / "observations.csv", ["metric", "batch_key", "source",
                                         *ReadingIn.model_fields],
           ({"metric": b.metric, "batch_key": b.batch_key, "source": b.source,
             **r.model_dump()} for b in company.observations for r in b.readings))
    return sorted(folder.glob("*.csv"))
