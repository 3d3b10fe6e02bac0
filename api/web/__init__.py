"""The web dashboard, served by the API process (server-rendered HTML, no CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web import actions, errors, fair_pages, loop_pages, money, pages, plan_pages, redecide
from api.web.benefit_pages import router as benefit_router
from api.web.department_pages import router as department_router
from api.web.driver_pages import router as driver_router
from api.web.export_pages import router as export_router
from api.web.job_pages import router as job_router
from api.web.loop_actions import router as loop_actions_router
from api.web.policy_pages import router as policy_router
from api.web.proposal_pages import router as proposal_router
from api.web.round_pages import router as round_router
from api.web.segment_pages import router as segment_router
from api.web.served_jobs import router as served_jobs_router
from api.web.session import SignInRequired, to_sign_in
from api.web.views import HERE, PageNotFound
from api.web.whatif_pages import router as whatif_router
from api.web.withdraw_pages import router as withdraw_router


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, forms and static files (and GET / -> /dashboard), and its
    HTML error pages (404, 405, 422 on dashboard addresses; after `api.errors.install`, whose
    problem+json handlers they keep for every other address)."""
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.include_router(redecide.router)  # carry-over, retarget (issue 14)
    app.include_router(money.router)  # ledger page, stop and descope forms (issue 14)
    app.include_router(loop_pages.router)  # signals inbox, loop speed, reviews (issue 14)
    app.include_router(loop_actions_router)  # answer signals, open/close reviews (issue 14)
    app.include_router(benefit_router)  # benefit plan on the initiative page (issue 14)
    app.include_router(fair_pages.router)  # fair shares (issue 16)
    app.include_router(plan_pages.router)  # funding plans (issue 16)
    app.include_router(department_router)  # departments (issue 15, part 3)
    app.include_router(driver_router)  # key drivers (issue 15, part 4)
    app.include_router(job_router)  # jobs to be done (issue 15, part 5)
    app.include_router(round_router)  # funding rounds (issue 16, part 4)
    app.include_router(policy_router)  # the scoring policy and its guardrails (issue 16)
    app.include_router(proposal_router)  # proposed weights previewed, adopted (issue 15)
    app.include_router(segment_router)  # a scorecard card by segment (issue 15, part 7)
    app.include_router(served_jobs_router)  # the jobs an initiative serves (issue 15, part 5)
    app.include_router(export_router)  # downloads of the ranking's view (issue 17)
    app.include_router(withdraw_router)  # withdraw on the initiative page (issue 17)
    app.include_router(whatif_router)  # the what-if budget over the frontier (issue 17)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_exception_handler(PageNotFound, errors.page_not_found)
    app.add_exception_handler(StarletteHTTPException, errors.http_error)
    app.add_exception_handler(RequestValidationError, errors.validation_error)
