""""You said, we did": the stories (typed), and the same as a JSON Feed 1.1 and an Atom feed.

Every initiative reader reads them whole, the same for all (docs/api-guide.md, "Who reads
what"): they are written to be published and hold delivered initiatives only, decided by
definition. Ingest service accounts read no initiatives: 403. As of any position.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import AsOf, MinPosition, PrincipalDep, ServicesDep, at
from api.routes.docs import READ
from api.schemas import JsonFeedPublic, YouSaidWeDidPublic
from governance.read_access import PortfolioReader, read_as, require_initiative_reader
from projections import feed

router = APIRouter(prefix="/v1/you-said-we-did", tags=["you said, we did"])
PATH = "/v1/you-said-we-did"
PAGE = "/dashboard/you-said-we-did"


class FeedJSONResponse(JSONResponse):
    """A JSON Feed document."""

    media_type = "application/feed+json"


class AtomResponse(Response):
    """An Atom 1.0 document."""

    media_type = "application/atom+xml"


def _reader(s: ServicesDep, who: PrincipalDep, as_of: str | None,
            min_position: int | None) -> PortfolioReader:
    require_initiative_reader(who)
    return read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("", response_model=YouSaidWeDidPublic, responses=READ)
def get_you_said_we_did(s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                        min_position: MinPosition = None) -> YouSaidWeDidPublic:
    """One story per customer success metric: what customers said, the delivered initiatives
    that claim it, and the metric before delivery against now, in plain language; and per
    customer scenario, its metrics and the work delivered for them (not ingest)."""
    snapshot = _reader(s, who, as_of, min_position)
    stories = snapshot.you_said_we_did()
    return YouSaidWeDidPublic(items=stories, scenarios=feed.scenarios(stories),
                              position=snapshot.position)


@router.get("/feed.json", response_model=JsonFeedPublic, response_class=FeedJSONResponse,
            response_model_exclude_none=True, responses=READ)
def get_json_feed(request: Request, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                  min_position: MinPosition = None) -> JsonFeedPublic:
    """The stories as a JSON Feed 1.1 (`application/feed+json`): one item per delivered
    initiative and metric, newest delivery first (not ingest)."""
    snapshot = _reader(s, who, as_of, min_position)
    base = _base(request)
    return JsonFeedPublic.model_validate(feed.json_feed(
        snapshot.you_said_we_did(), home_page_url=f"{base}{PAGE}",
        feed_url=f"{base}{PATH}/feed.json"))


@router.get("/feed.atom", response_class=AtomResponse, responses={
    **READ, 200: {"description": "An Atom 1.0 feed (RFC 4287).",
                  "content": {"application/atom+xml": {"schema": {"type": "string"}}}}})
def get_atom_feed(request: Request, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
                  min_position: MinPosition = None) -> AtomResponse:
    """The stories as an Atom 1.0 feed (`application/atom+xml`, RFC 4287) (not ingest)."""
    snapshot = _reader(s, who, as_of, min_position)
    base = _base(request)
    body = feed.atom_feed(snapshot.you_said_we_did(), self_url=f"{base}{PATH}/feed.atom",
                          alternate_url=f"{base}{PAGE}")
    return AtomResponse(body)
