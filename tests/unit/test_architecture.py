"""domain/ imports only the standard library and eventsourcing.domain (import-linter cannot
forbid subpackages of an external package, so this test checks what it cannot)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_domain_imports_only_the_standard_library_eventsourcing_domain_and_itself() -> None:
    offenders = []
    files = sorted(DOMAIN.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            if module == "eventsourcing.domain" or top == "domain":
                continue
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            offenders.append(f"{path.name}: {module}")
    assert offenders == []
