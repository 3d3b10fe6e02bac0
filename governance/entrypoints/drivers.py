"""`cxgov drivers CODE [--drivers A,B] [--lag N] [--segment S] [--as-of X] [--json]`: the
key-driver analysis of a customer success metric (issue 15, part 4; projections/drivers.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read
from governance.entrypoints.views import AsJson, AsOf, _emit


def render_drivers(found: dict[str, Any]) -> str:
    """Which drivers move the outcome, with each 95% interval and p-value, and the weights
    proposed (a proposal only: preview, then adopt as a new policy version)."""
    lag = f", drivers {found['lag_months']} month(s) earlier" if found["lag_months"] else ""
    segment = "every cohort" if found["segment"] is None else f"cohort {found['segment']!r}"
    lines = [f"{found['metric']}: drivers {', '.join(found['drivers']) or '-'} over "
             f"{found['observations']} observation(s) ({segment}{lag})"]
    if found["refused"]:
        lines.append(f"  no fit: {found['refused']}")
        return "\n".join(lines)
    lines.append(f"  R^2 {found['r_squared']} (adjusted {found['adj_r_squared']}), "
                 f"{found['df_resid']} residual degrees of freedom")
    for t in found["terms"]:
        if t["metric"] == "intercept":
            continue
        named = f" {t['operational_metric']} ({t['department']})" if t["department"] else ""
        named += " [employee experience]" if t.get("kind") == "employee" else ""
        lines.append(f"  {t.get('name') or t['metric']}{named}: {t['estimate']} per unit, 95% CI "
                     f"[{t['lower']}, {t['upper']}], p={t['p_value']}: {t['word']}")
    weights = found["proposed_weights"]
    lines.append("  proposed weights: " + (", ".join(f"{k} {v}" for k, v in weights.items())
                                           if weights else "none (no driver moves it)")
                 + " (a proposal: preview it; adopting is a new policy version)")
    return "\n".join(lines)


def drivers_command(
    code: Annotated[str, typer.Argument(help="The outcome metric's code, e.g. M1.")],
    drivers: Annotated[str | None, typer.Option(
        "--drivers", help="Driver metric codes, comma-separated (default: its operational "
                          "metrics whose source is 'metric:<CODE>'); CODE@k leads by its "
                          "own k months, e.g. M2,M4,M9,STAFF@1.")] = None,
    lag: Annotated[int, typer.Option("--lag", min=0, max=12,
                                     help="Months each driver without @k leads the "
                                          "outcome.")] = 0,
    segment: Annotated[str | None, typer.Option(
        "--segment", help="One cohort only ('' the whole); omitted: every cohort.")] = None,
    as_of: AsOf = None, as_json: AsJson = False,
) -> None:
    """Print a key-driver analysis: which operational metrics move a customer metric, and
    how sure we are (OLS with 95% intervals)."""
    names = [n.strip() for n in drivers.split(",") if n.strip()] if drivers else None
    found = read(lambda rm: rm.drivers(code, names=names, lag=lag, segment=segment,
                                       as_of=as_of)[1])
    if found is None:
        raise fail(f"[metric.not_found] no metric {code!r}")
    _emit(found, as_json, lambda: render_drivers(found))
