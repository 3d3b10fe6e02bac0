"""`cxgov ranking|recommendation|ledger|scorecard PERIOD [--as-of X] [--json]`; `cxgov scorecard
PERIOD --by channel [--metric CODE]` drills down by segment."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read
from projections.query import ReadModels
from projections.segments import DIMENSIONS, metric_segments

views = typer.Typer()

M = Decimal(1_000_000)
AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="A log position, or an ISO 8601 UTC time: show the state as it was then.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Period = Annotated[str, typer.Argument(help="Fiscal period code, e.g. FY2027.")]


def _emit(payload: Any, as_json: bool, text: Callable[[], str]) -> None:
    typer.echo(json.dumps(payload, indent=2) if as_json else text())


def _m(value: Any) -> str:
    return f"{Decimal(value) / M:.1f}"


def render_ranking(rows: list[dict[str, Any]], ledger: dict[str, Any] | None, *,
                   period: str) -> str:
    """A readable table with the cut line drawn under the last entry above it."""
    if not rows or ledger is None:
        return f"{period}: nothing to rank yet (no period, policy or initiatives)"
    cut = rows[0]["cut_line_rank"]
    lines = [
        f"{period} ranking (policy v{rows[0]['policy_version']}), "
        f"costs in {ledger['currency']} millions",
        f"{'rank':>4}  {'code':<5} {'title':<52} {'CIP':>6} {'score':>6} {'cost':>7}  funded",
    ]
    for r in rows:
        mark = "approved" if r["funded"] else ("yes" if r["recommended"] else "")
        lines.append(f"{r['rank']:>4}  {r['code']:<5} {r['title'][:52]:<52} "
                     f"{r['cip_display']:>6} {r['score_display']:>6} {_m(r['cost']):>7}  {mark}")
        if r["rank"] == cut:
            lines.append("      " + "-" * 30 + " cut line " + "-" * 41)
    above = sum(Decimal(r["cost"]) for r in rows if r["above_cut_line"])
    lines.append(f"funded or recommended: {_m(above)} of {_m(ledger['amount'])} "
                 f"{ledger['currency']} millions (committed {_m(ledger['net_committed'])})")
    return "\n".join(lines)


def render_recommendation(rec: dict[str, Any]) -> str:
    """Greedy and optimal side by side, the frontier, and why each item is unfunded."""
    if not rec:
        return "no such period"
    g, o = rec["greedy"], rec["optimal"]
    lines = [f"{rec['period']}: {_m(rec['available'])} {rec['currency']} millions available",
             f"  greedy : CIP {Decimal(g['total_value']):.2f} for {_m(g['total_cost'])} M "
             f"({len(g['keys'])} initiatives)"]
    if o:
        lines.append(f"  optimal: CIP {Decimal(o['total_value']):.2f} for "
                     f"{_m(o['total_cost'])} M ({len(o['keys'])} initiatives); greedy leaves "
                     f"{Decimal(rec['value_left_by_greedy']):.2f} CIP on the table")
    else:
        lines.append(f"  optimal: not computable: {rec['problem']}")
    lines.append("  efficient frontier (budget M -> best CIP): " + ", ".join(
        f"{Decimal(p['budget']) / M:.0f}->{Decimal(p['value']):.1f}" for p in rec["frontier"]))
    for u in rec["unfunded"]:
        extra = (f"; +{_m(u['extra_budget'])} M would fund it"
                 if u["extra_budget"] is not None else "")
        lines.append(f"  #{u['rank']:<3} {u['code']:<5} {u['reason']}{extra}")
    flagged = [c for c in rec["overclaims"] if c["overclaimed"]]
    if flagged:
        lines.append("  overlapping claims (benefits may be double counted): " + ", ".join(
            f"{c['metric']} {Decimal(c['claimed_gap_share']):.2f}" for c in flagged))
    return "\n".join(lines)


def render_ledger(row: dict[str, Any]) -> str:
    """Pool, commitments and breakdowns."""
    out = [f"{row['period']} pool {_m(row['amount'])} M {row['currency']} "
           f"({row['cap_percent']}% of OpEx {_m(row['opex_total'])} M)",
           f"  committed {_m(row['committed'])} M, released {_m(row['released'])} M, "
           f"available {_m(row['available'])} M, pending second approval "
           f"{_m(row['pending_second_approval'])} M",
           f"  spent {_m(row.get('spent', 0))} M, unspent {_m(row.get('unspent', 0))} M"
           + (f", over plan: {', '.join(row['over_plan'])}" if row.get("over_plan") else "")]
    for label in ("by_pnl", "by_kind", "by_touchpoint", "by_functional_area",
                  "spent_by_pnl", "spent_by_kind", "released_by_pnl", "released_by_kind"):
        if label not in row:
            continue
        items = ", ".join(f"{k} {_m(v)}" for k, v in row[label].items())
        out.append(f"  {label.replace('_', ' ')}: {items or '-'}")
    return "\n".join(out)


def render_scorecard(cards: list[dict[str, Any]]) -> str:
    """One line per metric."""
    def fmt(v: Any) -> str:
        return "-" if v is None else f"{Decimal(v):.2f}"

    out = [f"{'metric':<6} {'status':<6} {'baseline':>9} {'current':>9} {'target':>9} "
           f"{'progress':>9} {'expected':>9}  {'trend (issue 15)':<40} customer phrasing"]
    for c in cards:
        out.append(f"{c['metric']:<6} {c['status']:<6} {fmt(c['baseline']):>9} "
                   f"{fmt(c['current']):>9} {fmt(c['target']):>9} {fmt(c['progress']):>9} "
                   f"{fmt(c['expected_progress']):>9}  {trend_text(c):<40} "
                   f"{c['customer_phrasing']}")
        out.append(f"{'':<6} {card_details(c)}")
    return "\n".join(out)


def card_details(card: dict[str, Any]) -> str:
    """The card's second line: whose experience, the latest reading's 95% interval, the share
    meeting the customer's threshold, the XmR limits and a pilot's difference-in-differences."""
    def one(v: Any) -> str:
        return f"{Decimal(v):.1f}"

    def share(v: Any) -> str:
        return f"{Decimal(v) * 100:.1f}%"

    parts = [f"{card.get('kind') or 'customer'} metric"]
    interval = card.get("interval") or next(iter(card.get("intervals") or []), None)
    if interval:
        of = f" ({interval['of']})" if interval.get("of") else ""
        parts.append(f"95% interval {one(interval['low'])} - {one(interval['high'])}{of}")
    met = card.get("threshold_share")
    if met:
        around = (f" ({share(met['low'])} - {share(met['high'])})"
                  if met.get("low") is not None else "")
        parts.append(f"meeting the threshold {share(met['share'])}{around}")
    spc = card.get("spc")
    if spc:
        parts.append(f"XmR limits {one(spc['lower'])} - {one(spc['upper'])}")
    did = card.get("did")
    if did:
        parts.append(f"pilot vs control {one(did['effect'])} (pilot {one(did['treated_before'])}"
                     f" -> {one(did['treated_after'])}, control {one(did['control_before'])}"
                     f" -> {one(did['control_after'])})")
    return "; ".join(parts)


def trend_text(card: dict[str, Any]) -> str:
    """The card's trend word and what decided it: the change's p-value or the chart's rule."""
    word = card["trend_word"]
    if word is None:
        return "-"
    change, spc = card["change"], card["spc"]
    if card["trend_basis"] == "control chart" and spc and spc["latest_signals"]:
        return f"{word} (SPC: {spc['latest_signals'][0]})"
    if change:
        return f"{word} (p={float(change['p_value']):.3g})"
    return str(word)


@views.command("ranking")
def ranking_command(period: Period, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Print a period's priority ranking with the greedy cut line."""
    rows, ledger = read(lambda rm: (rm.ranking(period, as_of=as_of),
                                    rm.ledger(period, as_of=as_of)))
    _emit({"period": period, "ranking": rows}, as_json,
          lambda: render_ranking(rows, ledger, period=period))


@views.command("recommendation")
def recommendation_command(period: Period, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Print the funding recommendation: greedy cut line, exact optimum, efficient frontier."""
    rec = read(lambda rm: rm.recommendation(period, as_of=as_of))
    _emit(rec, as_json, lambda: render_recommendation(rec))


@views.command("ledger")
def ledger_command(period: Period, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Print the pool ledger: pool, committed, released, available, and breakdowns."""
    row = read(lambda rm: rm.ledger(period, as_of=as_of))
    if row is None:
        raise fail(f"no period {period}")
    _emit(row, as_json, lambda: render_ledger(row))


def render_segments(found: list[dict[str, Any]]) -> str:
    """Each metric by one dimension: the whole first, then one line per segment."""
    def fmt(v: Any) -> str:
        return "-" if v is None else f"{Decimal(v):.1f}"

    out: list[str] = []
    for m in found:
        by = m["by"] or "segment"
        out.append(f"{m['metric']} by {by} ({m['unit']}; fewer than {m['min_sample_size']} "
                   f"responses: value only) {m['customer_phrasing']}")
        if not m["dimensions"]:
            out.append("  its readings carry no P&L, cohort, channel or region")
        out.append(f"  {by:<16} {'month':<8} {'current':>8} {'n':>6} {'95% interval':<17} "
                   f"trend")
        rows = ([m["overall"] | {"label": "(all)"}] if m["overall"] else []) + m["segments"]
        for r in rows:
            first = r["intervals"][0] if r["intervals"] else None
            span = f"{fmt(first['low'])} - {fmt(first['high'])}" if first else "-"
            trend = trend_text(r | {"spc": None}) if r["enough"] else r["note"]
            n = "-" if r["sample_size"] is None else str(r["sample_size"])
            out.append(f"  {r['label'][:16]:<16} {r['month'] or '-':<8} {fmt(r['current']):>8} "
                       f"{n:>6} {span:<17} {trend}")
    return "\n".join(out)


Metric = Annotated[str | None, typer.Option(
    "--metric", help="Only this metric's card (with --by: its segments).")]
By = Annotated[str | None, typer.Option(
    "--by", help="Drill down by segment: pnl, cohort, channel or region (each metric's "
                 "current value, interval and tested trend per segment).")]


@views.command("scorecard")
def scorecard_command(period: Period, as_of: AsOf = None, as_json: AsJson = False,
                      metric: Metric = None, by: By = None) -> None:
    """Print one card per customer success metric: current, target, progress, RAG, trend
    word, and a line of its kind, 95% interval, threshold share, XmR limits and pilot vs
    control; with --by, each metric per segment of that dimension."""
    if by is not None and by not in DIMENSIONS:
        raise fail(f"--by must be one of {', '.join(DIMENSIONS)}, got {by!r}")
    if by is None:
        cards = read(lambda rm: rm.scorecard(period, as_of=as_of))
        if metric is not None:
            cards = [c for c in cards if c["metric"] == metric]
        _emit(cards, as_json, lambda: render_scorecard(cards))
        return

    def query(rm: ReadModels) -> list[Any]:
        state = rm.core_at(as_of=as_of)
        codes = [metric] if metric is not None else sorted(state.metrics)
        return [found for code in codes if (found := metric_segments(state, code, by))]

    found = read(query)
    if metric is not None and not found:
        raise fail(f"no metric {metric}")
    _emit(found, as_json, lambda: render_segments(found))
