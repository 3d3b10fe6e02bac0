"""Everything the service imports is installed by `pip install .`, not only by the dev extras.

`./ops/demo` installs the runtime dependencies alone (`ensure_venv ""`); a module the service
imports that only a dev extra brings (httpx did, for webhook delivery) passes every test and
breaks the demo on a clean machine. This walks the service's packages, collects their imports of
installed third-party modules and checks each one's distribution is a runtime requirement of
cxgov or required by one (through the extras cxgov asks for).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ("api", "domain", "governance", "projections", "auditverify")
OURS = {"api", "domain", "governance", "projections", "auditverify", "ops", "tests"}


def _runtime_closure(declared: list[str]) -> set[str]:
    """Canonical names of the declared requirements and everything they require, with extras."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in declared]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for line in requires(req.name) or []:
            sub = Requirement(line)
            if sub.marker is None:
                todo.append(sub)
                continue
            envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if any(sub.marker.evaluate(env) for env in envs):
                todo.append(sub)
    return {k.split("[")[0] for k in seen}


def _imported_top_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, over the service's packages."""
    found: dict[str, str] = {}
    for package in SERVICE:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_of_the_service_is_a_runtime_requirement() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    closure = _runtime_closure(declared)
    owners = packages_distributions()
    missing = []
    for top, where in sorted(_imported_top_modules().items()):
        if top in OURS or top in sys.stdlib_module_names or top == "__future__":
            continue
        dists = {canonicalize_name(d) for d in owners.get(top, [])}
        assert dists, f"{top} (imported by {where}) is not installed"
        if not dists & closure:
            missing.append(f"{top} ({where}): {sorted(dists)}")
    assert missing == [], "imported by the service but only a dev extra installs it"


def test_the_check_knows_a_dev_only_package_from_a_runtime_one() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    closure = _runtime_closure(declared)
    assert "starlette" in closure  # through fastapi
    assert "psycopg-pool" in closure  # through psycopg[pool]
    assert "scipy" not in closure and "pytest" not in closure
