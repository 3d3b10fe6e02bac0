"""The web dashboard, served by the API process (server-rendered HTML, no CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import actions, pages
from api.web.session import SignInRequired, to_sign_in
from api.web.views import HERE


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, forms and static files (and GET / -> /dashboard)."""
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(SignInRequired, to_sign_in)
