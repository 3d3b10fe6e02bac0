"""Dashboard forms for the loop's acts (issue 14): acknowledge or resolve a signal (with a
note, optionally in an open review of its period), open a review of a period, close one with
its minutes. The same commands as the API's; done, a redirect (303) to the page showing the
result; refused, the same page again with the refusal by its field and the input kept (nothing
written)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from api.deps import services
from api.errors import status_for
from api.web.csrf import PostUser
from api.web.loop_pages import review_page, reviews_page, signals_page
from domain.errors import CxgovError, InvalidInput

router = APIRouter(include_in_schema=False)
SignalKey = Annotated[str, PathParam(max_length=200)]
Act = Annotated[str, PathParam(pattern="^(acknowledge|resolve)$")]
Short = Annotated[str, Form(max_length=40)]
NoteText = Annotated[str, Form(max_length=4000)]
MinutesText = Annotated[str, Form(max_length=20000)]
TitleText = Annotated[str, Form(max_length=200)]


def _to(path: str, anchor: str, **query: Any) -> RedirectResponse:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(f"{path}?{urlencode(kept)}#{anchor}", status_code=303)


def _refusal(exc: CxgovError, default_field: str) -> dict[str, Any]:
    return {"status": status_for(exc.code),
            "form_error": {"message": exc.message, "code": exc.code,
                           "field": exc.details.get("field") or default_field}}


def _review_id(text: str) -> UUID | None:
    text = text.strip()
    if not text:
        return None
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(f"review must be a review's id, got {text!r}",
                           field="review") from None


@router.post("/dashboard/signals/{key}/{act}")
def answer_signal(request: Request, key: SignalKey, act: Act, who: PostUser,
                  note: NoteText = "", review: Short = "", period: Short = "",
                  show: Short = "active") -> Response:
    """Acknowledge or resolve a signal; back to the inbox with the result or the refusal."""
    gov = services(request).gov
    command = gov.acknowledge_signal if act == "acknowledge" else gov.resolve_signal
    try:
        result = command(who, key=key, note=note, review=_review_id(review))
    except CxgovError as exc:
        return signals_page(request, who, period=period or None, as_of=None,
                            show="all" if show == "all" else "active",
                            **_refusal(exc, "note"),
                            kept={"key": key, "act": act, "note": note, "review": review})
    return _to("/dashboard/signals", f"s-{key}", period=period, show=show,
               min_position=result.position,
               done=("acknowledged " if act == "acknowledge" else "resolved ") + key)


@router.post("/dashboard/reviews")
def open_review(request: Request, who: PostUser, period: Short = "",
                title: TitleText = "", at: Short = "") -> Response:
    """Open a review of a period (CX executive); on success, the new review's page."""
    try:
        result = services(request).gov.open_review(who, period=period.strip(), title=title)
    except CxgovError as exc:
        return reviews_page(request, who, period=at or None, as_of=None,
                            **_refusal(exc, "period"),
                            kept={"period": period, "title": title})
    return _to(f"/dashboard/reviews/{result.id}", "review-items",
               min_position=result.position, done="review opened")


@router.post("/dashboard/reviews/{review_id}/close")
def close_review(request: Request, review_id: UUID, who: PostUser,
                 minutes: MinutesText = "") -> Response:
    """Close a review with its minutes (CX executive); back to it, closed, or the refusal."""
    try:
        result = services(request).gov.close_review(who, review_id=review_id, minutes=minutes)
    except CxgovError as exc:
        return review_page(request, review_id, who, period=None, as_of=None,
                           **_refusal(exc, "minutes"), kept={"minutes": minutes})
    return _to(f"/dashboard/reviews/{review_id}", "minutes", min_position=result.position,
               done="review closed")
