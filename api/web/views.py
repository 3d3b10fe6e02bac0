"""What every page shares: templates, formatting, the period and the as-of position."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.deps import Services, services
from governance.principal import AUDITOR, CX_EXEC, FINANCE, PNL_OWNER, Principal
from governance.read_access import PortfolioReader, read_as
from projections.query import AsOfOutOfRange

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
MILLION = Decimal(1_000_000)
BLANK = "\u2013"  # an en dash for missing values


def money(value: Any, currency: str = "USD") -> str:
    """$118,800,000 style; blanks for missing values."""
    amount = _decimal(value)
    if amount is None:
        return BLANK
    sign = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{amount:,.0f}"


def millions(value: Any) -> str:
    """$118.8M style."""
    amount = _decimal(value)
    return BLANK if amount is None else f"${amount / MILLION:,.1f}M"


def number(value: Any, places: int = 2) -> str:
    """A decimal rounded for display only."""
    amount = _decimal(value)
    return BLANK if amount is None else f"{amount:,.{places}f}"


def percent(value: Any, places: int = 0) -> str:
    """A fraction (0..1) as a percentage."""
    amount = _decimal(value)
    return BLANK if amount is None else f"{amount * 100:,.{places}f}%"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


for _name, _fn in {"money": money, "millions": millions, "number": number,
                   "percent": percent}.items():
    templates.env.filters[_name] = _fn


def audit_status(request: Request) -> Any:
    """The store's live verification status, for the audit page (`api/web/audit_status.py`)."""
    from api.web.audit_status import status_of  # it reads the store; only the audit page asks

    return status_of(request)


templates.env.globals["audit_status"] = audit_status


@dataclass
class Page:
    """One request's view of the read models: who, which period, as of which position.

    `snapshot` is the read models as `who` may read them (`governance.read_access`): every
    page and form reads through it, so none can show what the read rule hides."""

    request: Request
    who: Principal
    services: Services
    as_of: str | None
    snapshot: PortfolioReader
    period: str | None
    periods: list[str]
    newest: int
    as_of_error: str | None = None
    notice: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def historical(self) -> bool:
        """True when the page shows the past (actions are disabled)."""
        return self.as_of is not None

    def url(self, path: str, **params: Any) -> str:
        """A dashboard link that keeps the period and the as-of position."""
        query = {"period": self.period, "as_of": self.as_of, **params}
        kept = {k: v for k, v in query.items() if v not in (None, "")}
        return f"{path}?{urlencode(kept)}" if kept else path

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The template with the page and its helpers."""
        return templates.TemplateResponse(self.request, template, {
            "page": self, "who": self.who, "roles": roles_of(self.who), **context},
            status_code=status)


class PageNotFound(Exception):
    """A dashboard address that names nothing (an unknown period): the 404 page says which."""

    def __init__(self, what: str, *, choices: list[str] | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.choices = choices or []


def roles_of(who: Principal) -> dict[str, bool]:
    """Which parts of the dashboard the principal uses."""
    return {"exec": who.has(CX_EXEC), "owner": who.has(PNL_OWNER, CX_EXEC),
            "audit": who.has(AUDITOR, CX_EXEC), "finance": who.has(FINANCE),
            "reads": who.has(AUDITOR, CX_EXEC, FINANCE, PNL_OWNER)}


def open_page(request: Request, who: Principal, *, period: str | None = None,
              as_of: str | None = None, min_position: int | None = None,
              strict_period: bool = True) -> Page:
    """Resolve the as-of value (an invalid one shows the present with an error) and the
    period: none given is the newest open one; an unknown one is a 404 page naming it
    (`strict_period`), or the newest open one for a form that validates it itself."""
    s = services(request)
    models = s.models
    error = None
    as_of = (as_of or "").strip() or None
    try:
        snapshot = read_as(who, models.snapshot(as_of=as_of, min_position=min_position))
    except AsOfOutOfRange as exc:
        error, as_of = str(exc), None
        snapshot = read_as(who, models.snapshot())
    ledgers = snapshot.ledgers()
    periods = [row.period for row in ledgers]
    period = (period or "").strip() or None
    if period is not None and period not in periods and strict_period:
        when = f" as of log position {snapshot.position}" if as_of is not None else ""
        raise PageNotFound(f"There is no period {period}{when}.", choices=periods)
    if period not in periods:
        open_ones = [r.period for r in ledgers if not r.closed]
        choices = open_ones or periods
        period = choices[-1] if choices else None
    return Page(request=request, who=who, services=s, as_of=as_of, snapshot=snapshot,
                period=period, periods=periods, newest=models.log.max_position(),
                as_of_error=error)
