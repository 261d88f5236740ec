"""``docs/schema.md``, the contract of the published tables, read and kept in step.

The document has one section per published table (``## <table>``), a paragraph saying
what a row is, and a Markdown table of its columns: ``| `column` | TYPE | meaning |``.
Types are DuckDB's names for the Parquet columns (what ``DESCRIBE`` shows an analyst).

:func:`compare` lists every disagreement between the document and the exported files,
both ways; :func:`render` rewrites the document from a manifest, keeping every description
already written and marking what is new as ``TODO``, which :func:`compare` reports until a
person describes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

UNDESCRIBED = "TODO: describe"
_SECTION = re.compile(r"^## +`?([a-z_][a-z0-9_]*)`?\s*$")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(.*?)\s*\|\s*$")


@dataclass
class DocumentedTable:
    """One section of the document: what a row is, and each column's type and meaning."""

    name: str
    about: str = ""
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)


def parse(text: str) -> tuple[str, dict[str, DocumentedTable]]:
    """The document's preamble (before the first table) and its tables, in order."""
    preamble: list[str] = []
    tables: dict[str, DocumentedTable] = {}
    current: DocumentedTable | None = None
    about: list[str] = []
    for line in text.splitlines():
        heading = _SECTION.match(line)
        if heading:
            if current is not None:
                current.about = "\n".join(about).strip()
            current = tables.setdefault(heading.group(1), DocumentedTable(heading.group(1)))
            about = []
            continue
        if current is None:
            preamble.append(line)
            continue
        row = _ROW.match(line)
        if row:
            current.columns[row.group(1)] = (row.group(2), row.group(3))
        elif not line.startswith("|"):
            about.append(line)
    if current is not None:
        current.about = "\n".join(about).strip()
    return "\n".join(preamble).strip(), tables


def compare(
    documented: dict[str, DocumentedTable], exported: dict[str, dict[str, str]]
) -> list[str]:
    """Every disagreement between the document and the exported schemas (table → column → type)."""
    problems = [f"{t}: exported, not documented" for t in exported if t not in documented]
    problems += [f"{t}: documented, not exported" for t in documented if t not in exported]
    for table in (t for t in exported if t in documented):
        doc = documented[table].columns
        columns = exported[table]
        problems += [f"{table}.{c}: exported, not documented" for c in columns if c not in doc]
        problems += [f"{table}.{c}: documented, not exported" for c in doc if c not in columns]
        problems += [
            f"{table}.{c}: exported as {columns[c]}, documented as {doc[c][0]}"
            for c in columns
            if c in doc and doc[c][0] != columns[c]
        ]
        problems += [
            f"{table}.{c}: no description"
            for c, (_, meaning) in doc.items()
            if not meaning or UNDESCRIBED in meaning
        ]
        if not documented[table].about or UNDESCRIBED in documented[table].about:
            problems.append(f"{table}: no description of the table")
        if [c for c in doc if c in columns] != [c for c in columns if c in doc]:
            problems.append(f"{table}: columns documented in another order than exported")
    return problems


def exported_schemas(manifest: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Table → column → type, from a publication manifest."""
    return {name: dict(t["columns"]) for name, t in manifest["tables"].items()}


def render(preamble: str, documented: dict[str, DocumentedTable], manifest: dict[str, Any]) -> str:
    """The document for ``manifest``'s tables, keeping what ``documented`` already says."""
    parts = [preamble.strip(), ""]
    for name, table in manifest["tables"].items():
        known = documented.get(name, DocumentedTable(name))
        parts += [f"## {name}", "", known.about or f"`{table['table']}`: {UNDESCRIBED}", ""]
        parts += ["| column | type | meaning |", "|---|---|---|"]
        for column, type_ in table["columns"].items():
            meaning = known.columns.get(column, ("", UNDESCRIBED))[1] or UNDESCRIBED
            parts.append(f"| `{column}` | {type_} | {meaning} |")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
