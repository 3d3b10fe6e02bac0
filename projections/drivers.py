"""Key drivers of a customer success metric (issue 15, part 4): which operational metrics move
the outcome, and how sure we are.

The outcome is a metric's monthly points (projections/state.py `MetricState.series`, one
series per cohort; "" is the whole). Its drivers are register metrics: by default the
operational metrics mapped to it (projections/departments_fold.py) whose `source` names a
metric as `metric:<CODE>`; or the codes a caller names (an employee-experience metric
such as employee satisfaction, `kind` "employee", to ask whether it leads customer
satisfaction). A named driver may carry its own lead, `CODE@k` (k months; e.g. `STAFF@1`:
last month's staff satisfaction), else it leads by `lag`. One observation is a (cohort,
month) where the outcome has a point and every driver has one in the same cohort its lead
earlier. The fit is domain/drivers.py's OLS with 95% intervals; a driver
"moves the outcome" when its interval excludes zero (p < 0.05). The significant drivers'
standardised coefficients give proposed scoring weights, a proposal only: adopting a policy
stays the CX executive's explicit, versioned decision (preview with POST
/v1/scoring-policy/preview; adopt with PUT /v1/scoring-policy).

Computed when asked from the fold's core, so it reads live or as of any position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from domain.drivers import FitRefused, ols, proposed_weights, shown
from domain.errors import InvalidInput
from projections.rows import DecimalText, ReadRow

if TYPE_CHECKING:
    from projections.state import PortfolioState

SOURCE_PREFIX = "metric:"
MOST_LAG = 12
ALPHA = 0.05


class DriverTerm(ReadRow):
    """One driver's coefficient: the outcome's change per unit of the driver."""

    metric: str = Field(description="The driver's metric code ('intercept' for the constant).")
    name: str = Field(default="", description="The term as named: the code, with '@k' when it "
                                              "leads by its own k months.")
    lag_months: int = Field(default=0, description="Months by which this driver leads the "
                                                   "outcome.")
    kind: str | None = Field(default=None, description="Whose experience the driver "
                                                       "measures: 'customer' or 'employee' "
                                                       "(None for the intercept).")
    operational_metric: str | None = Field(description="The mapped operational metric it "
                                                       "measures, if any.")
    department: str | None
    estimate: DecimalText
    std_error: DecimalText
    t: DecimalText
    p_value: DecimalText
    lower: DecimalText = Field(description="95% confidence interval, lower end.")
    upper: DecimalText = Field(description="95% confidence interval, upper end.")
    standardized: DecimalText | None = Field(description="estimate * sd(driver) / "
                                                         "sd(outcome): the drivers on one scale.")
    moves_outcome: bool = Field(description="The 95% interval excludes zero (p < 0.05).")
    word: str = Field(description="'moves it up', 'moves it down' or 'not distinguishable "
                                  "from noise'.")


class DriverAnalysis(ReadRow):
    """A key-driver analysis of one outcome metric over months and cohorts."""

    metric: str
    drivers: list[str]
    lag_months: int
    segment: str | None = Field(description="The one cohort analysed; None: every cohort.")
    observations: int
    cohorts: list[str]
    months: list[str]
    df_resid: int | None
    r_squared: DecimalText | None
    adj_r_squared: DecimalText | None
    terms: list[DriverTerm]
    proposed_weights: dict[str, int] = Field(description=(
        "A proposal: whole policy points summing to 100 over the significant drivers, in "
        "proportion to their absolute standardised coefficients, keyed by metric code. "
        "Preview them with POST /v1/scoring-policy/preview; adopting stays an explicit "
        "CX-executive decision."))
    refused: str | None = Field(description="Why no fit was made (too few observations, "
                                            "constant or collinear drivers), else None.")


def mapped_drivers(state: PortfolioState, code: str) -> list[tuple[str, dict[str, str]]]:
    """The metric's operational metrics whose source names a register metric."""
    out = []
    for item in state.metrics[code].operational_metrics:
        source = item.get("source", "").strip()
        if source.lower().startswith(SOURCE_PREFIX):
            named = source[len(SOURCE_PREFIX):].strip()
            if named in state.metrics and named != code:
                out.append((named, item))
    return out


def driver_spec(name: str, lag: int) -> tuple[str, int]:
    """A driver as named, `CODE` or `CODE@k`: its metric code and its lead in months (k, or
    `lag`). A lead that is not a whole number within 0..MOST_LAG raises InvalidInput."""
    code, at, lead = name.partition("@")
    if not at:
        return code, lag
    if not lead.isdigit() or not 0 <= int(lead) <= MOST_LAG:
        raise InvalidInput(f"driver {name!r}: the lead after '@' must be a whole number of "
                           f"months within 0..{MOST_LAG}", field="drivers")
    return code, int(lead)


def _kind(state: PortfolioState, code: str) -> str:
    return state.metrics[code].kind


def _shift(month: str, lag: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + mon - 1 - lag
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def drivers(state: PortfolioState, code: str, *, names: list[str] | None = None,
            lag: int = 0, segment: str | None = None) -> DriverAnalysis | None:
    """The analysis of metric `code` (None: no such metric). `names` are driver metric codes
    (default: the mapped operational metrics with a `metric:` source); `lag` months (0-12)
    between a driver and the outcome; `segment` one cohort ("" the whole) or None for all.
    Unknown driver codes raise KeyError naming the first."""
    if code not in state.metrics:
        return None
    mapped = dict(mapped_drivers(state, code))
    chosen = list(dict.fromkeys(names)) if names else list(mapped)
    specs = {name: driver_spec(name, lag) for name in chosen}
    for driver, _ in specs.values():
        if driver not in state.metrics:
            raise KeyError(driver)
    outcome = state.metrics[code]
    ys: list[float] = []
    xs: list[list[float]] = []
    cohorts: set[str] = set()
    months: set[str] = set()
    for cohort, points in sorted(outcome.series.items()):
        if segment is not None and cohort != segment:
            continue
        by_driver = [({p.month: p.value for p in state.metrics[d].series.get(cohort, [])}, k)
                     for d, k in specs.values()]
        for point in points:
            row = [values.get(_shift(point.month, k)) for values, k in by_driver]
            if chosen and all(v is not None for v in row):
                ys.append(float(point.value))
                xs.append([float(v) for v in row if v is not None])
                cohorts.add(cohort)
                months.add(point.month)
    base = DriverAnalysis(metric=code, drivers=chosen, lag_months=lag, segment=segment,
                          observations=len(ys), cohorts=sorted(cohorts), months=sorted(months),
                          df_resid=None, r_squared=None, adj_r_squared=None, terms=[],
                          proposed_weights={}, refused=None)
    try:
        fit = ols(ys, xs, chosen)
    except FitRefused as exc:
        return base.model_copy(update={"refused": str(exc)})
    terms = []
    for c in fit.coefficients:
        driver, lead = specs.get(c.name, (c.name, 0))
        item = mapped.get(c.name)
        moves = c.name != "intercept" and c.p_value < ALPHA
        word = ("moves it up" if moves and c.estimate > 0 else "moves it down" if moves
                else "not distinguishable from noise")
        terms.append(DriverTerm(
            metric=driver, name=c.name, lag_months=lead,
            kind=None if c.name == "intercept" else _kind(state, driver),
            operational_metric=item["name"] if item else None,
            department=item["department"] if item else None,
            estimate=shown(c.estimate) or "0", std_error=shown(c.std_error) or "0",
            t=shown(c.t) or "0", p_value=shown(c.p_value) or "0",
            lower=shown(c.lower) or "0", upper=shown(c.upper) or "0",
            standardized=shown(c.standardized), moves_outcome=moves,
            word="intercept" if c.name == "intercept" else word))
    return base.model_copy(update={
        "df_resid": fit.df_resid, "r_squared": shown(fit.r_squared),
        "adj_r_squared": shown(fit.adj_r_squared), "terms": terms,
        "proposed_weights": _by_code(proposed_weights(fit, alpha=ALPHA), specs)})


def _by_code(weights: dict[str, int], specs: dict[str, tuple[str, int]]) -> dict[str, int]:
    """Proposed points keyed by metric code (a driver named at two leads adds its points)."""
    found: dict[str, int] = {}
    for name, points in weights.items():
        code = specs[name][0]
        found[code] = found.get(code, 0) + points
    return found
