"""Dependencies run one way: pipelines/ → assets/ → the domain folders, never back; the
HTTP service (service/) reads the domain folders only, and nothing but pipelines/ imports it.

Read from the source with ``ast`` (every import, also those inside functions), so a
forbidden import fails here even when no test happens to execute it.
"""

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_FOLDERS = ("sources", "matching", "quality", "warehouse")


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports, relative imports resolved."""
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.add(node.module)
    return names


@functools.cache
def imports_of(path: Path) -> frozenset[str]:
    """Every module the project file ``path`` imports (:func:`imported_modules`), read once
    per test process: the tests ask up to five times per file, each reading parsing and
    walking its whole syntax tree (this module's pytest process took 3.7-4.0 CPU-seconds
    reading every time, 2.3-2.4 reading once, its start included)."""
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    return frozenset(imported_modules(path.read_text(encoding="utf-8"), package))


def offending(folder: str, forbidden: str) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        imported = imports_of(path)
        bad = sorted(m for m in imported if m == forbidden or m.startswith(f"{forbidden}."))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_nothing_in_assets_imports_pipelines():
    assert list((ROOT / "assets").glob("*.py")), "no asset modules found"
    assert offending("assets", "pipelines") == {}


@pytest.mark.parametrize("folder", DOMAIN_FOLDERS)
def test_the_domain_folders_never_import_dagster(folder):
    assert list((ROOT / folder).rglob("*.py")), f"no modules in {folder}/"
    assert offending(folder, "dagster") == {}
    assert offending(folder, "dagster_duckdb") == {}
    for layer in ("assets", "pipelines"):
        assert offending(folder, layer) == {}


def test_the_service_never_imports_dagster_assets_or_pipelines():
    assert list((ROOT / "service").glob("*.py")), "no modules in service/"
    for forbidden in ("dagster", "dagster_duckdb", "assets", "pipelines"):
        assert offending("service", forbidden) == {}


def test_the_domain_folders_never_import_the_service():
    for folder in DOMAIN_FOLDERS:
        assert offending(folder, "service") == {}


def test_the_reader_sees_every_kind_of_import():
    source = """
import dagster as dg
from pipelines import cli

def later():
    from .resources import Warehouse
    from ..quality import gx
"""
    assert imported_modules(source, "assets.sub") == {
        "dagster",
        "pipelines",
        "assets.sub.resources",
        "assets.quality",
    }
