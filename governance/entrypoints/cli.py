"""The `cxgov` command line (typer); every command has --help."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from domain.errors import CxgovError
from governance.bootstrap import Runtime
from governance.entrypoints.audit import audit_app
from governance.entrypoints.common import fail, runtime
from governance.entrypoints.company import (
    CompanyFile,
    import_company,
    load_company_file,
    parse_company,
)
from governance.entrypoints.db import db_app, migrate_command
from governance.entrypoints.demo_history import apply_history
from governance.entrypoints.departments import departments_app
from governance.entrypoints.drivers import drivers_command
from governance.entrypoints.export import export_command
from governance.entrypoints.fairshares import fair_shares_command
from governance.entrypoints.feed import feed_command
from governance.entrypoints.feedback import feedback_app
from governance.entrypoints.jobs import jobs_app
from governance.entrypoints.loop import benefits_app, reviews_app, signals_app
from governance.entrypoints.money import (
    descope_command,
    release_tranche_command,
    spend_command,
    stop_command,
)
from governance.entrypoints.plans import plans_app
from governance.entrypoints.policy import policy_app
from governance.entrypoints.redecide import carry_over_command, metrics_app
from governance.entrypoints.rounds import round_app
from governance.entrypoints.serve import (
    app_factory,
    checkpointer,
    personas_json,
    projecting,
    serve_command,
    sign_in_link_command,
    token_command,
)
from governance.entrypoints.spend_import import import_spend_command
from governance.entrypoints.views import render_ranking, views
from governance.entrypoints.webhooks import deliver_command, webhooks_app
from governance.settings import get_settings
from governance.stores.database import embedded_status, embedded_stop
from governance.stores.projectors import run_projectors
from governance.stores.readside import PROJECTIONS, rebuild
from projections.rows import jsonable

app = typer.Typer(
    name="cxgov",
    help="Govern the customer-experience budget: rank, fund and audit CX initiatives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db", help="Start, stop and inspect the embedded PostgreSQL server.")
app.add_typer(audit_app, name="audit",
              help="Tamper evidence: signed checkpoints, export, offline verification.")
app.add_typer(signals_app, name="signals", help="Signals: list, ack, resolve, loop-speed.")
app.add_typer(reviews_app, name="reviews", help="Reviews: list, show, open, stop, close.")
app.add_typer(benefits_app, name="benefits", help="Benefit plans: list, plan, revise.")
app.add_typer(metrics_app, name="metrics", help="Metrics: retarget, re-baseline, history.")
app.add_typer(plans_app, name="plans", help="Funding plans: save, list, compare, adopt.")
app.add_typer(policy_app, name="policy",
              help="The scoring policy: show it (as of any position), adopt a new version "
                   "with weights and guardrails.")
app.add_typer(departments_app, name="departments",
              help="Departments: operational metrics with owners (list, show, map).")
app.add_typer(jobs_app, name="jobs", help="Jobs to be done: define, rate, map.")
app.add_typer(round_app, name="round",
              help="Funding rounds: open one, mark feasibility, change the phase by hand, "
                   "show the phase.")
app.add_typer(feedback_app, name="feedback",
              help="Voice of the customer: import (CSV), list, cite as evidence.")
app.command("carry-over")(carry_over_command)
app.command("fair-shares")(fair_shares_command)
app.command("drivers")(drivers_command)
app.command("migrate", help="Bring the configured database to the newest schema (alembic).")(
    migrate_command
)
app.registered_commands.extend(views.registered_commands)


@app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(
        help="A company file (JSON), or a folder / set of CSV files (see docs/company-file.md).",
        exists=True, readable=True)],
) -> None:
    """Load a company file through the governance commands, in file order."""
    if len(files) > 1 or files[0].is_dir() or files[0].suffix.lower() == ".csv":
        from governance.entrypoints.csv_import import import_csv

        import_csv(files)
        return
    file = files[0]
    try:
        company = load_company_file(file)
    except CxgovError as exc:
        raise fail(f"{file}: {exc.message}") from None
    with runtime() as rt:
        _import(rt, company)


def _import(rt: Runtime, company: CompanyFile, *, issuer: str | None = None) -> None:
    try:
        report = import_company(rt.app, company, issuer=issuer or rt.settings.jwt_issuer)
    except CxgovError as exc:
        raise fail(f"[{exc.code}] {exc.message}") from None
    typer.echo(f"imported {company.company}: {report.commands} commands, log positions "
               f"{report.first_position}..{report.last_position}, {report.events} events in "
               f"{report.seconds:.3f} s")


def bundled_company() -> CompanyFile:
    """The Harborview demo company shipped with cxgov (all numbers fictional)."""
    text = resources.files("governance").joinpath("data/harborview.json").read_text("utf-8")
    return parse_company(text)


@app.command("demo")
def demo_command(
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Serve the API after printing the ranking.")] = True,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Start the embedded server, migrate, load Harborview (once), print its ranking and the
    demo personas' tokens, then serve the API with the projectors until Ctrl-C or SIGTERM."""
    settings = get_settings()
    was_running = settings.database_url is not None or embedded_status(settings.data_dir).running
    # SIGTERM (systemd, a container, `timeout`) ends the demo like Ctrl-C does: uvicorn
    # re-raises the signal after its own shutdown, and the embedded server is stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # The demo alone offers the one-click persona picker (no credential): the served app reads
    # its settings from the environment, so the opt-in goes there (refused with CXGOV_ENV=prod).
    os.environ["CXGOV_DEMO_SIGN_IN"] = "1"
    get_settings.cache_clear()
    try:
        get_settings()
    except ValidationError as exc:
        raise fail(f"the demo cannot run with these settings: {exc.errors()[0]['msg']}") from None
    try:
        _demo(serve=serve, host=host, port=port)
    finally:
        if not was_running:
            embedded_stop(settings.data_dir)


def _demo(*, serve: bool, host: str, port: int) -> None:
    from governance.stores.integrity import issue_checkpoint, load_signing_key

    company = bundled_company()
    settings = get_settings()
    # On PostgreSQL, with audit checkpoints on, the demo's key exists before its first write:
    # the writers read it when the runtime is built, so Harborview's events are sealed (and
    # their seals MAC'd) from position 1, not only after a restart.
    key = (load_signing_key(settings) if settings.store == "postgres"
           and settings.audit_checkpoint_interval_seconds else None)
    with runtime(auto_migrate=True, keep_embedded=True) as rt:
        where = "configured database" if rt.settings.database_url else "embedded server"
        typer.echo(f"cxgov demo on the {where} (data in {rt.settings.data_dir})")
        try:
            rt.app.pool(company.period.code)
            typer.echo(f"{company.company} is already loaded; showing its current state")
        except CxgovError:
            _import(rt, company, issuer=rt.settings.jwt_issuer)
            history = apply_history(rt.app, company, issuer=rt.settings.jwt_issuer)
            typer.echo(f"applied {history.commands} commands of seeded history (readings "
                       f"June 2025 - November 2026, the budget round, deliveries, outcomes, "
                       f"spend, a descope, benefit plans, signals answered, a review with a "
                       f"stop, a paused webhook): log "
                       f"positions {history.first_position}..{history.last_position}; the "
                       f"first decision point is position {history.decision_point}")
            if key is not None:  # the loaded history, anchored and its seals' key disclosed
                signed = issue_checkpoint(rt.app, key)
                typer.echo(f"audit checkpoint {signed.seq} signed at position "
                           f"{signed.position} (key {signed.key_id}; `cxgov audit "
                           "public-key` prints it for auditors)")
        period = company.period.code
        models = rt.read_models()
        typer.echo(render_ranking(jsonable(models.ranking(period)),
                                  jsonable(models.ledger(period)), period=period))
        if serve:
            typer.echo("\nDemo personas (bearer tokens, valid 8 hours):")
            typer.echo(personas_json())
            _serve_with_projectors(rt, host=host, port=port)


def _serve_with_projectors(rt: Runtime, *, host: str, port: int) -> None:
    import uvicorn

    typer.echo(f"Dashboard on http://{host}:{port}/ (demo sign-in: one click as any persona)")
    typer.echo(f"API on http://{host}:{port}/v1 (OpenAPI at /docs); Ctrl-C stops")
    with projecting(rt):
        uvicorn.run(app_factory(), factory=True, host=host, port=port, server_header=False)


app.command("serve")(serve_command)
app.command("token")(token_command)
app.command("sign-in-link")(sign_in_link_command)
app.command("export")(export_command)
app.command("deliver")(deliver_command)
app.add_typer(webhooks_app, name="webhooks",
              help="Outbound webhooks: subscriptions, deliveries, dead letters, replay.")
app.command("import-spend")(import_spend_command)
app.command("spend")(spend_command)
app.command("stop")(stop_command)
app.command("descope")(descope_command)
app.command("release-tranche")(release_tranche_command)
app.command("feed")(feed_command)


@app.command("project")
def project_command() -> None:
    """Run the projectors (portfolio, audit log) until interrupted; errors restart them."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with runtime() as rt:
        if rt.database_url is None:
            raise fail("projectors need PostgreSQL (CXGOV_STORE=postgres)")
        typer.echo(f"projecting {', '.join(PROJECTIONS)}; Ctrl-C to stop")
        try:
            run_projectors(rt.env, stop=stop, on_idle=checkpointer(rt))
        except KeyboardInterrupt:
            stop.set()


@app.command("rebuild")
def rebuild_command(
    name: Annotated[str | None, typer.Argument(
        help=f"Projection to rebuild ({', '.join(PROJECTIONS)}); all when omitted.")] = None,
) -> None:
    """Rebuild read models from the event log, with a progress bar (stop `cxgov project` first)."""
    names = PROJECTIONS if name is None else (name,)
    if any(n not in PROJECTIONS for n in names):
        raise fail(f"unknown projection {name}; choose from {', '.join(PROJECTIONS)}")
    with runtime() as rt:
        if rt.database_url is None:
            raise fail("rebuild works on PostgreSQL read models (CXGOV_STORE=postgres)")
        total = rt.app.position()
        bars: dict[str, Any] = {}

        def progress(projection: str, position: int, _total: int) -> None:
            bar = bars.get(projection)
            if bar is None:
                bar = bars[projection] = typer.progressbar(
                    length=max(total, 1), label=f"rebuilding {projection}").__enter__()
            bar.update(position - bar.pos)

        done = rebuild(rt.app, rt.env, names, progress=progress)
        for bar in bars.values():
            bar.__exit__(None, None, None)
        for projection, position in done.items():
            typer.echo(f"{projection}: rebuilt up to position {position}")


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
