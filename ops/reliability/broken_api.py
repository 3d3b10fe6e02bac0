"""DELIBERATELY BROKEN API (the race drill's negative control only): the real HTTP API over
`CheckThenAct`, started by the drill as `uvicorn ops.reliability.broken_api:serve --factory`.

It lives here, not behind a switch in the service, so that no setting of the production code
can ever turn the broken variant on.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import serving
from governance.bootstrap import bootstrap
from ops.reliability.race import CheckThenAct


def serve() -> FastAPI:
    """Uvicorn factory: the standard bootstrap, with the broken application swapped in."""
    runtime = bootstrap()
    runtime.app.close()
    runtime.app = CheckThenAct(env=runtime.env)
    return serving(runtime)
