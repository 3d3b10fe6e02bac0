"""Inline SVG charts rendered on the server: pool gauge, efficient frontier, what-if frontier,
metric chart."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from itertools import pairwise
from typing import Any

from markupsafe import Markup

from api.web.views import millions, number
from projections.knockon import BudgetOptimum
from projections.rows import Ledger, Plan, Recommendation, ScorecardCard


def _d(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _f(value: Decimal) -> str:
    return f"{float(value):.1f}"


def pool_gauge(ledger: Ledger) -> Markup:
    """The pool as one bar: committed, then available; the part of available that awaits a
    second approval is marked inside it (it is not committed until the second approval, and
    other approvals may still use it). Under the bar, a bracket spans all of available; the
    legend is an HTML list, so it wraps instead of colliding."""
    pool = _d(ledger.amount)
    scale = pool or Decimal(1)
    committed = _d(ledger.net_committed or ledger.committed)
    available = _d(ledger.available)
    pending = min(_d(ledger.pending_second_approval), available)
    free = available - pending
    width = Decimal(600)
    parts = [("committed", committed, "Committed"),
             ("pending", pending, "Awaiting a second approval (part of available)"),
             ("free", free, "Available, not awaiting approval")]
    x, bars = Decimal(0), []
    for css, amount, label in parts:
        w = width * amount / scale
        bars.append(f'<rect class="g-{css}" data-part="{css}" x="{_f(x)}" y="0" '
                    f'width="{_f(w)}" height="28"><title>{escape(label)}: {millions(amount)}'
                    f'</title></rect>')
        x += w
    left = width * committed / scale
    bracket = (f'<path class="g-bracket" data-part="available" d="M{_f(left)},32 v6 '
               f'H{_f(left + width * available / scale)} v-6"><title>Available: '
               f'{millions(available)}</title></path>')
    title = (f"Pool {millions(pool)}: committed {millions(committed)}, available "
             f"{millions(available)}, of which {millions(pending)} awaits a second approval")
    legend = "".join(
        f'<li data-part="{css}"><span class="swatch g-{css}" aria-hidden="true"></span>'
        f'{escape(label)} {millions(amount)}</li>' for css, amount, label in parts)
    legend += ('<li data-part="available"><span class="swatch g-bracket" aria-hidden="true">'
               f'</span>Available {millions(available)} (pool minus committed)</li>')
    return Markup(f'<svg class="chart gauge" viewBox="0 0 600 40" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  + "".join(bars) + bracket + '</svg><ul class="legend gauge-legend">'
                  + legend + "</ul>")


def _mark(plan: Plan | None) -> tuple[Decimal, Decimal]:
    return (_d(plan.total_cost), _d(plan.total_value)) if plan else (Decimal(0), Decimal(0))


# The plotted charts (frontier, what-if, scorecard; decisions 262-264) have no viewBox: their
# x and y are percentages of the plot area, so the browser never scales them and their text
# is drawn at its CSS size (12 px) at every width. The stylesheet's padding around the plot
# area is where the axis labels go (`overflow: visible`); the `height` attribute is the
# chart's whole height, padding included (app.css, "plotted charts").


def _pct(share: Decimal) -> str:
    """A share (0 to 1) of the plot area's width or height as an SVG percentage."""
    return f"{float(share) * 100:.2f}%"


def _segments(css: str, points: list[tuple[str, str]]) -> str:
    """A line through the points, one segment each (a polyline takes no percentages)."""
    return "".join(f'<line class="{css}" x1="{a[0]}" y1="{a[1]}" x2="{b[0]}" y2="{b[1]}"/>'
                   for a, b in pairwise(points))


def _plotted(css: str, height: int, title: str, body: str) -> str:
    return (f'<svg class="{css}" height="{height}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>{body}</svg>')


def frontier_chart(rec: Recommendation | None) -> Markup:
    """Value (CIP) against cost: the efficient frontier, greedy and optimal marked; the key
    under it is HTML, so it wraps on a phone."""
    points = [(_d(p.cost_used), _d(p.value)) for p in (rec.frontier if rec else [])]
    marks = [_mark(rec.greedy if rec else None), _mark(rec.optimal if rec else None)]
    xs = [p[0] for p in points + marks] or [Decimal(1)]
    ys = [p[1] for p in points + marks] or [Decimal(1)]
    xmax, ymax = max(xs) or Decimal(1), max(ys) or Decimal(1)

    def at(cost: Decimal, value: Decimal) -> tuple[str, str]:
        return _pct(cost / xmax), _pct(1 - value / ymax)

    dots = "".join(f'<circle class="f-point" cx="{at(c, v)[0]}" cy="{at(c, v)[1]}" r="3">'
                   f'<title>{millions(c)} buys {number(v)} CIP</title></circle>'
                   for c, v in points)
    gx, gy = at(*marks[0])
    ox, oy = at(*marks[1])
    axis = ('<line class="axis" x1="0" y1="100%" x2="100%" y2="100%"/>'
            '<line class="axis" x1="0" y1="0" x2="0" y2="100%"/>'
            '<text x="0" y="100%" dy="16">$0</text>'
            f'<text x="100%" y="100%" dy="16" text-anchor="end">{millions(xmax)}</text>'
            '<text class="axis-title" x="50%" y="100%" dy="34" text-anchor="middle">cost used'
            f'</text><text x="0" y="0" dx="-6" dy="4" text-anchor="end">{number(ymax, 0)}'
            '</text><text x="0" y="100%" dx="-6" dy="4" text-anchor="end">0</text>'
            '<text class="axis-title" x="0" y="0" dy="-12">value (CIP)</text>')
    title = (f"Efficient frontier: greedy {millions(marks[0][0])} for {number(marks[0][1])} "
             f"CIP, optimal {millions(marks[1][0])} for {number(marks[1][1])} CIP")
    body = (f'{axis}{_segments("f-line", [at(c, v) for c, v in sorted(points)])}{dots}'
            f'<circle class="f-optimal" cx="{ox}" cy="{oy}" r="9"><title>optimal: '
            f'{millions(marks[1][0])}, {number(marks[1][1])} CIP</title></circle>'
            f'<rect class="f-greedy" x="{gx}" y="{gy}" width="10" height="10" '
            f'transform="translate(-5 -5)"><title>greedy: {millions(marks[0][0])}, '
            f'{number(marks[0][1])} CIP</title></rect>')
    key = ('<ul class="legend frontier-legend"><li><span class="swatch f-swatch-line" '
           'aria-hidden="true"></span>best value for each budget</li><li><span '
           'class="swatch f-swatch-greedy" aria-hidden="true"></span>greedy</li><li><span '
           'class="swatch f-swatch-optimal" aria-hidden="true"></span>optimal</li></ul>')
    return Markup(_plotted("chart frontier", 300, title, body) + key)


def ticks(top: Decimal, count: int = 4) -> list[Decimal]:
    """Round scale marks from 0 to about `top`."""
    if top <= 0:
        return [Decimal(0)]
    raw = top / count
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal("0.1")
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [step * k for k in range(int(top / step) + 1)]


def _anchor(share: Decimal) -> str:
    """A label's anchor at a share of the width: kept inside the chart near either edge."""
    return "start" if share < Decimal("0.2") else "end" if share > Decimal("0.8") else "middle"


def whatif_chart(rec: Recommendation | None, found: BudgetOptimum | None, committed: Decimal,
                 pool: Decimal, high: Decimal) -> Markup:
    """The efficient frontier against the pool level, the pool as it is and the chosen budget
    marked, with labelled scales ($M across, CIP up); every other $ mark is `minor` (the
    stylesheet hides those on a phone, where five would touch)."""
    points = [(committed + _d(p.budget), _d(p.value)) for p in (rec.frontier if rec else [])]
    chosen = None
    if found is not None and found.optimum is not None:
        chosen = (_d(found.budget), _d(found.optimum.total_value))
    values = [v for _, v in points] + ([chosen[1]] if chosen else [])
    ymax = max([*values, Decimal(1)]) * Decimal("1.12")  # headroom over the highest point
    xmin, xmax = committed, max(high, pool, committed + 1)

    def share(amount: Decimal) -> Decimal:
        return (amount - xmin) / (xmax - xmin)

    def y(value: Decimal) -> str:
        return _pct(1 - value / ymax)

    parts = ['<line class="axis" x1="0" y1="100%" x2="100%" y2="100%"/>',
             '<line class="axis" x1="0" y1="0" x2="0" y2="100%"/>']
    marks = ticks(xmax - xmin)
    for i, tick in enumerate(marks):
        at = xmin + tick
        minor = ' class="minor"' if i % 2 and len(marks) > 3 else ""
        parts.append(f'<g{minor}><rect class="tick" x="{_pct(share(at))}" y="100%" width="1" '
                     f'height="5"/><text x="{_pct(share(at))}" y="100%" dy="18" '
                     f'text-anchor="{_anchor(share(at))}">{escape(millions(at))}</text></g>')
    for tick in ticks(ymax)[1:]:  # 0 is the axis itself (its label would meet the $ scale)
        parts.append(f'<line class="grid-line" x1="0" y1="{y(tick)}" x2="100%" '
                     f'y2="{y(tick)}"/><text x="0" dx="-6" y="{y(tick)}" dy="4" '
                     f'text-anchor="end">{number(tick, 0)}</text>')
    parts.append('<text class="axis-title" x="50%" y="100%" dy="36" text-anchor="middle">'
                 'pool</text><text class="axis-title" x="0" y="0" dy="-26">value added (CIP)'
                 '</text>')
    line = [(_pct(share(a)), y(v)) for a, v in sorted(points)]
    parts.append(_segments("f-line", line))
    parts += [f'<circle class="f-point" cx="{_pct(share(a))}" cy="{y(v)}" r="3"><title>pool '
              f'{escape(millions(a))}: {number(v)} CIP</title></circle>' for a, v in points]
    parts.append(f'<line class="w-pool" x1="{_pct(share(pool))}" y1="0" '
                 f'x2="{_pct(share(pool))}" y2="100%"/><text class="w-label" '
                 f'x="{_pct(share(pool))}" y="0" dy="-6" text-anchor="{_anchor(share(pool))}">'
                 f'pool now {escape(millions(pool))}</text>')
    title = "Efficient frontier: value the exact optimum adds at each pool level"
    if chosen is not None:
        title += f"; at {millions(chosen[0])}: {number(chosen[1])} CIP"
        at_x = _pct(share(chosen[0]))
        parts.append(f'<line class="w-chosen" x1="{at_x}" y1="0" x2="{at_x}" y2="100%"/>'
                     f'<circle class="w-chosen-dot" cx="{at_x}" cy="{y(chosen[1])}" r="7">'
                     f'<title>chosen {escape(millions(chosen[0]))}: {number(chosen[1])} CIP'
                     f'</title></circle>')
    caption = (f'<p class="hint chart-caption">Across: the pool (committed '
               f'{escape(millions(committed))} plus what the optimum spends); up: the value '
               f'it adds.</p>')
    return Markup(_plotted("chart whatif", 300, title, "".join(parts)) + caption)


#: The statistics whose interval is drawn on the latest reading, in preference order.
CHART_INTERVALS = ("value", "nps", "mean", "median", "top_box_share")


def _month_label(month: str) -> str:
    """'2026-03' as 'Mar 2026'."""
    names = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec")
    try:
        return f"{names[int(month[5:7]) - 1]} {month[:4]}"
    except (ValueError, IndexError):
        return month


SCORECARD_HEIGHT = 170  # the scorecard chart's height in CSS px, its padding included


def _month_ticks(count: int) -> list[int]:
    """Which months are labelled: the first, the last and one between (on a phone's card a
    label is as wide as two months), never two that touch."""
    if count <= 2:
        return list(range(count))
    return sorted({0, (count - 1) // 2, count - 1})


def scorecard_chart(card: ScorecardCard) -> Markup:
    """The scorecard's chart of a metric (issue 15, part 7): monthly readings with the months
    on the x axis and a labelled value scale on the y axis, baseline, target and the glide
    path between them, the XmR chart's natural process limits and centre line, the months a
    run rule broke (ringed), and the latest reading's 95% interval with the tested change
    from the month before (a star when significant)."""
    trend = card.trend
    baseline, target = _d(card.baseline), _d(card.target)
    values = [_d(p.value) for p in trend]
    spc = card.spc
    interval = next((i for of in CHART_INTERVALS for i in card.intervals if i.of == of), None)
    extra = [_d(spc.upper), _d(spc.lower)] if spc else []
    if interval is not None and values:
        extra += [_d(interval.low), _d(interval.high)]
    low = min([baseline, target, *values, *extra])
    high = max([baseline, target, *values, *extra])
    pad = ((high - low) or Decimal(1)) / 20
    low, high = low - pad, high + pad
    span = high - low

    def down(v: Decimal) -> Decimal:
        return 1 - (v - low) / span

    def y(v: Decimal) -> str:
        return _pct(down(v))

    n = max(len(values) - 1, 1)
    xs = [_pct(Decimal(i) / n) for i in range(len(values))]
    unit = escape(str(card.unit or ""))
    parts = ['<line class="axis" x1="0" y1="0" x2="0" y2="100%" stroke="currentColor"/>'
             '<line class="axis" x1="0" y1="100%" x2="100%" y2="100%" stroke="currentColor"/>']
    for i in range(5):  # the value scale
        v = low + span * i / 4
        parts.append(f'<line x1="-3" x2="0" y1="{y(v)}" y2="{y(v)}" stroke="currentColor"/>'
                     f'<text class="y-tick" x="0" dx="-5" y="{y(v)}" dy="4" '
                     f'text-anchor="end">{number(v, 1)}</text>')
    shown = _month_ticks(len(values))
    for i in shown:  # the months: first, last and one between
        anchor = ("start" if i == 0 and len(shown) > 1 else
                  "end" if i == len(values) - 1 and len(shown) > 1 else "middle")
        parts.append(f'<rect x="{xs[i]}" y="100%" width="1" height="3" fill="currentColor"/>'
                     f'<text class="x-tick" x="{xs[i]}" y="100%" dy="16" '
                     f'text-anchor="{anchor}">{escape(_month_label(trend[i].month))}</text>')
    parts.append(f'<line class="t-baseline" x1="0" x2="100%" y1="{y(baseline)}" '
                 f'y2="{y(baseline)}"><title>baseline {number(baseline, 1)}</title></line>'
                 f'<line class="t-target" x1="0" x2="100%" y1="{y(target)}" '
                 f'y2="{y(target)}"><title>target {number(target, 1)}</title></line>'
                 f'<line class="t-glide" x1="0" y1="{y(baseline)}" x2="100%" '
                 f'y2="{y(target)}"><title>glide path: baseline to target</title></line>')
    if spc is not None:
        for name, v in (("upper limit", _d(spc.upper)), ("lower limit", _d(spc.lower))):
            parts.append(f'<line class="t-limit" x1="0" x2="100%" y1="{y(v)}" '
                         f'y2="{y(v)}" stroke="currentColor" stroke-dasharray="2 3" '
                         f'opacity="0.6"><title>{name} {number(v, 1)} (XmR natural process '
                         f'limit)</title></line>')
        parts.append(f'<line class="t-centre" x1="0" x2="100%" '
                     f'y1="{y(_d(spc.centre))}" y2="{y(_d(spc.centre))}" '
                     f'stroke="currentColor" stroke-dasharray="1 4" opacity="0.5"><title>'
                     f'centre line {number(_d(spc.centre), 1)}</title></line>')
    if values:
        parts.append(_segments("t-line", [(x, y(v)) for x, v in zip(xs, values, strict=True)]))
        signalled = {s.month: s.rule for s in spc.signals} if spc else {}
        for x, v, p in zip(xs, values, trend, strict=True):
            parts.append(f'<circle class="t-point" cx="{x}" cy="{y(v)}" r="3"><title>'
                         f'{escape(_month_label(p.month))}: {number(v, 1)} {unit} '
                         f'(n={p.sample_size})</title></circle>')
            if p.month in signalled:
                parts.append(f'<circle class="t-signal" cx="{x}" cy="{y(v)}" r="6" '
                             f'fill="none" stroke="currentColor" stroke-width="1.5"><title>'
                             f'SPC signal {escape(signalled[p.month])} in '
                             f'{escape(_month_label(p.month))}</title></circle>')
        last = xs[-1]
        if interval is not None:
            parts.append(f'<line class="t-interval" x1="{last}" x2="{last}" '
                         f'y1="{y(_d(interval.low))}" y2="{y(_d(interval.high))}" '
                         f'stroke="currentColor" stroke-width="2"><title>95% interval '
                         f'{number(_d(interval.low), 1)} to {number(_d(interval.high), 1)} '
                         f'({escape(interval.method)})</title></line>')
        change = card.change
        if change is not None:
            mark = "\u2605" if change.significant else "\u25cb"
            parts.append(f'<text class="t-change" x="{last}" y="{y(values[-1])}" dy="-9" '
                         f'text-anchor="middle">{mark}'
                         f'<title>{escape(change.word)}: {escape(change.difference)} since '
                         f'{escape(_month_label(change.from_month))}, p={escape(change.p_value)}'
                         f'</title></text>')
    else:
        parts.append('<text x="50%" y="50%" text-anchor="middle">no readings yet</text>')
    title = (f"{card.metric} by month: {len(values)} monthly readings"
             + (f" from {_month_label(trend[0].month)} to {_month_label(trend[-1].month)}"
                if trend else "")
             + f", baseline {number(baseline, 1)}, target {number(target, 1)} {unit}"
             + (", with control limits" if spc else "")
             + (", with the latest reading's 95% interval" if interval and values else ""))
    key = (f'<ul class="legend chart-lines"><li><span class="swatch t-swatch-baseline" '
           f'aria-hidden="true"></span>baseline {number(baseline, 1)}</li><li><span '
           f'class="swatch t-swatch-target" aria-hidden="true"></span>target '
           f'{number(target, 1)}</li></ul>')
    return Markup(_plotted("chart trend scorecard-chart", SCORECARD_HEIGHT, title,
                           "".join(parts)) + key)
