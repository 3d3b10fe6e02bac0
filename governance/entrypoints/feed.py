"""`cxgov feed`: "you said, we did" as text, JSON, a JSON Feed 1.1 or an Atom 1.0 feed.

`cxgov feed --format atom > feed.xml` writes a file a company can publish as it is.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from governance.entrypoints.common import read
from projections import feed
from projections.rows import SaidDidStory


class Format(StrEnum):
    """What `cxgov feed` prints."""

    TEXT = "text"
    JSON = "json"
    JSONFEED = "jsonfeed"
    ATOM = "atom"


def render_text(stories: list[SaidDidStory]) -> str:
    """One paragraph per metric with a delivery, grouped by scenario."""
    told = [s for s in stories if s.sentence]
    if not told:
        return "You said, we did: nothing delivered yet."
    lines = ["You said, we did"]
    scenario: str | None = "-"
    for s in sorted(told, key=lambda s: (s.scenario or "~", s.metric)):
        if s.scenario != scenario:
            scenario = s.scenario
            lines += ["", f"{s.scenario} {s.scenario_name}" if s.scenario else "No scenario"]
        lines.append(f"  {s.metric}: {s.sentence}")
    return "\n".join(lines)


def feed_command(
    output: Annotated[Format, typer.Option(
        "--format", help="text, json (the stories), jsonfeed (JSON Feed 1.1) or atom (Atom 1.0).",
        case_sensitive=False)] = Format.TEXT,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="A log position, or an ISO 8601 UTC time: the feed as it was then.",
    )] = None,
    title: Annotated[str, typer.Option(help="The feed's title.")] = feed.DEFAULT_TITLE,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Where the dashboard is published, e.g. https://cx.example.com: "
                           "the feeds link to it.")] = None,
) -> None:
    """Print "you said, we did": per customer success metric, what was delivered and what
    changed for customers since (e.g. `cxgov feed --format atom > feed.xml`)."""
    rows = read(lambda rm: rm.you_said_we_did(as_of=as_of))
    stories = [SaidDidStory.model_validate(row) for row in rows]
    base = base_url.rstrip("/") if base_url else None
    page = f"{base}/dashboard/you-said-we-did" if base else None
    if output is Format.JSON:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif output is Format.JSONFEED:
        typer.echo(json.dumps(feed.json_feed(
            stories, title=title, home_page_url=page,
            feed_url=f"{base}/v1/you-said-we-did/feed.json" if base else None),
            indent=2, ensure_ascii=False))
    elif output is Format.ATOM:
        typer.echo(feed.atom_feed(
            stories, title=title, alternate_url=page,
            self_url=f"{base}/v1/you-said-we-did/feed.atom" if base else None).decode("utf-8"))
    else:
        typer.echo(render_text(stories))
