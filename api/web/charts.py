"""Inline SVG charts rendered on the server: pool gauge, efficient frontier, metric trend."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup

from api.web.views import millions, number
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


def frontier_chart(rec: Recommendation | None) -> Markup:
    """Value (CIP) against cost: the efficient frontier, greedy and optimal marked."""
    points = [(_d(p.cost_used), _d(p.value)) for p in (rec.frontier if rec else [])]
    marks = [_mark(rec.greedy if rec else None), _mark(rec.optimal if rec else None)]
    xs = [p[0] for p in points + marks] or [Decimal(1)]
    ys = [p[1] for p in points + marks] or [Decimal(1)]
    xmax, ymax = max(xs) or Decimal(1), max(ys) or Decimal(1)
    w, h, left, bottom = Decimal(560), Decimal(260), Decimal(60), Decimal(30)

    def at(cost: Decimal, value: Decimal) -> tuple[str, str]:
        return _f(left + w * cost / xmax), _f(h - h * value / ymax + 10)

    line = " ".join(",".join(at(c, v)) for c, v in sorted(points))
    dots = "".join(f'<circle class="f-point" cx="{at(c, v)[0]}" cy="{at(c, v)[1]}" r="3">'
                   f'<title>{millions(c)} buys {number(v)} CIP</title></circle>'
                   for c, v in points)
    gx, gy = at(*marks[0])
    ox, oy = at(*marks[1])
    axis = (f'<line class="axis" x1="{left}" y1="{h + 10}" x2="{left + w}" y2="{h + 10}"/>'
            f'<line class="axis" x1="{left}" y1="10" x2="{left}" y2="{h + 10}"/>'
            f'<text x="{left}" y="{h + bottom + 8}">$0</text>'
            f'<text x="{left + w}" y="{h + bottom + 8}" text-anchor="end">{millions(xmax)}'
            f'</text><text x="{left - 6}" y="16" text-anchor="end">{number(ymax, 0)}</text>'
            f'<text x="{left - 6}" y="{h + 10}" text-anchor="end">0</text>'
            f'<text x="{left + w / 2}" y="{h + bottom + 8}" text-anchor="middle">cost used'
            f'</text><text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
            f'text-anchor="middle">value (CIP)</text>')
    title = (f"Efficient frontier: greedy {millions(marks[0][0])} for {number(marks[0][1])} "
             f"CIP, optimal {millions(marks[1][0])} for {number(marks[1][1])} CIP")
    legend = (f'<g class="legend"><rect class="f-greedy" x="{left + 10}" y="14" width="10" '
              f'height="10"/><text x="{left + 26}" y="23">greedy</text>'
              f'<circle class="f-optimal" cx="{left + 95}" cy="19" r="6"/>'
              f'<text x="{left + 106}" y="23">optimal</text></g>')
    return Markup(
        f'<svg class="chart frontier" viewBox="0 0 640 310" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{axis}'
        f'<polyline class="f-line" points="{line}"/>{dots}'
        f'<circle class="f-optimal" cx="{ox}" cy="{oy}" r="9"><title>optimal: '
        f'{millions(marks[1][0])}, {number(marks[1][1])} CIP</title></circle>'
        f'<rect class="f-greedy" x="{float(gx) - 5:.1f}" y="{float(gy) - 5:.1f}" width="10" '
        f'height="10"><title>greedy: {millions(marks[0][0])}, {number(marks[0][1])} CIP'
        f'</title></rect>{legend}</svg>')


def trend_chart(card: ScorecardCard) -> Markup:
    """Monthly readings against baseline, target and the straight glide path between them."""
    trend = card.trend
    baseline, target = _d(card.baseline), _d(card.target)
    values = [_d(p.value) for p in trend]
    low, high = min([baseline, target, *values]), max([baseline, target, *values])
    span = (high - low) or Decimal(1)
    w, h, left = Decimal(300), Decimal(120), Decimal(8)

    def y(v: Decimal) -> str:
        return _f(Decimal(10) + h - h * (v - low) / span)

    n = max(len(values) - 1, 1)
    xs = [left + w * i / n for i in range(len(values))]
    path = " ".join(f"{_f(x)},{y(v)}" for x, v in zip(xs, values, strict=True))
    unit = escape(str(card.unit or ""))
    body = (f'<line class="t-baseline" x1="{left}" x2="{left + w}" y1="{y(baseline)}" '
            f'y2="{y(baseline)}"/><text x="{left + w + 4}" y="{y(baseline)}">baseline '
            f'{number(baseline, 1)}</text>'
            f'<line class="t-target" x1="{left}" x2="{left + w}" y1="{y(target)}" '
            f'y2="{y(target)}"/><text x="{left + w + 4}" y="{y(target)}">target '
            f'{number(target, 1)}</text>'
            f'<line class="t-glide" x1="{left}" y1="{y(baseline)}" x2="{left + w}" '
            f'y2="{y(target)}"/>')
    if values:
        body += f'<polyline class="t-line" points="{path}"/>' + "".join(
            f'<circle class="t-point" cx="{_f(x)}" cy="{y(v)}" r="3"><title>'
            f'{escape(str(p.month))}: {number(v, 1)} {unit} (n={p.sample_size})'
            f'</title></circle>' for x, v, p in zip(xs, values, trend, strict=True))
    else:
        body += (f'<text x="{left + w / 2}" y="{h / 2 + 10}" text-anchor="middle">'
                 "no readings yet</text>")
    title = (f"{card.metric} trend: {len(values)} monthly readings, baseline "
             f"{number(baseline, 1)}, target {number(target, 1)} {unit}")
    return Markup(f'<svg class="chart trend" viewBox="0 0 400 140" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>')


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
    left, top, w, h = Decimal(46), Decimal(10), Decimal(300), Decimal(120)

    def y(v: Decimal) -> str:
        return _f(top + h - h * (v - low) / span)

    n = max(len(values) - 1, 1)
    xs = [left + w * i / n for i in range(len(values))]
    unit = escape(str(card.unit or ""))
    right = left + w
    parts = [f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" '
             f'stroke="currentColor"/>'
             f'<line class="axis" x1="{left}" y1="{top + h}" x2="{right}" y2="{top + h}" '
             f'stroke="currentColor"/>']
    for i in range(5):  # the value scale
        v = low + span * i / 4
        parts.append(f'<line x1="{left - 3}" x2="{left}" y1="{y(v)}" y2="{y(v)}" '
                     f'stroke="currentColor"/><text class="y-tick" x="{left - 5}" '
                     f'y="{_f(_d(y(v)) + 3)}" text-anchor="end">{number(v, 1)}</text>')
    if values:  # the months: first, last and about every quarter between
        step = max(1, round(len(values) / 4))
        shown = sorted({*range(0, len(values), step), len(values) - 1})
        if len(shown) > 1 and shown[-1] - shown[-2] < step / 2:
            shown.pop(-2)
        for i in shown:
            parts.append(f'<line x1="{_f(xs[i])}" x2="{_f(xs[i])}" y1="{top + h}" '
                         f'y2="{top + h + 3}" stroke="currentColor"/><text class="x-tick" '
                         f'x="{_f(xs[i])}" y="{top + h + 14}" text-anchor="middle">'
                         f'{escape(_month_label(trend[i].month))}</text>')
    parts.append(f'<line class="t-baseline" x1="{left}" x2="{right}" y1="{y(baseline)}" '
                 f'y2="{y(baseline)}"/><text x="{right + 4}" y="{y(baseline)}">baseline '
                 f'{number(baseline, 1)}</text>'
                 f'<line class="t-target" x1="{left}" x2="{right}" y1="{y(target)}" '
                 f'y2="{y(target)}"/><text x="{right + 4}" y="{y(target)}">target '
                 f'{number(target, 1)}</text>'
                 f'<line class="t-glide" x1="{left}" y1="{y(baseline)}" x2="{right}" '
                 f'y2="{y(target)}"><title>glide path: baseline to target</title></line>')
    if spc is not None:
        for name, v in (("upper limit", _d(spc.upper)), ("lower limit", _d(spc.lower))):
            parts.append(f'<line class="t-limit" x1="{left}" x2="{right}" y1="{y(v)}" '
                         f'y2="{y(v)}" stroke="currentColor" stroke-dasharray="2 3" '
                         f'opacity="0.6"><title>{name} {number(v, 1)} (XmR natural process '
                         f'limit)</title></line>')
        parts.append(f'<line class="t-centre" x1="{left}" x2="{right}" '
                     f'y1="{y(_d(spc.centre))}" y2="{y(_d(spc.centre))}" '
                     f'stroke="currentColor" stroke-dasharray="1 4" opacity="0.5"><title>'
                     f'centre line {number(_d(spc.centre), 1)}</title></line>')
    if values:
        path = " ".join(f"{_f(x)},{y(v)}" for x, v in zip(xs, values, strict=True))
        parts.append(f'<polyline class="t-line" points="{path}"/>')
        signalled = {s.month: s.rule for s in spc.signals} if spc else {}
        for x, v, p in zip(xs, values, trend, strict=True):
            parts.append(f'<circle class="t-point" cx="{_f(x)}" cy="{y(v)}" r="3"><title>'
                         f'{escape(_month_label(p.month))}: {number(v, 1)} {unit} '
                         f'(n={p.sample_size})</title></circle>')
            if p.month in signalled:
                parts.append(f'<circle class="t-signal" cx="{_f(x)}" cy="{y(v)}" r="6" '
                             f'fill="none" stroke="currentColor" stroke-width="1.5"><title>'
                             f'SPC signal {escape(signalled[p.month])} in '
                             f'{escape(_month_label(p.month))}</title></circle>')
        last = xs[-1]
        if interval is not None:
            parts.append(f'<line class="t-interval" x1="{_f(last)}" x2="{_f(last)}" '
                         f'y1="{y(_d(interval.low))}" y2="{y(_d(interval.high))}" '
                         f'stroke="currentColor" stroke-width="2"><title>95% interval '
                         f'{number(_d(interval.low), 1)} to {number(_d(interval.high), 1)} '
                         f'({escape(interval.method)})</title></line>')
        change = card.change
        if change is not None:
            mark = "\u2605" if change.significant else "\u25cb"
            parts.append(f'<text class="t-change" x="{_f(last)}" '
                         f'y="{_f(_d(y(values[-1])) - 9)}" text-anchor="middle">{mark}'
                         f'<title>{escape(change.word)}: {escape(change.difference)} since '
                         f'{escape(_month_label(change.from_month))}, p={escape(change.p_value)}'
                         f'</title></text>')
    else:
        parts.append(f'<text x="{left + w / 2}" y="{h / 2 + 10}" text-anchor="middle">'
                     "no readings yet</text>")
    title = (f"{card.metric} by month: {len(values)} monthly readings"
             + (f" from {_month_label(trend[0].month)} to {_month_label(trend[-1].month)}"
                if trend else "")
             + f", baseline {number(baseline, 1)}, target {number(target, 1)} {unit}"
             + (", with control limits" if spc else "")
             + (", with the latest reading's 95% interval" if interval and values else ""))
    return Markup(f'<svg class="chart trend scorecard-chart" viewBox="0 0 440 160" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  f'{"".join(parts)}</svg>')
