"""The report's figures kept with what they were read from, so that a sync that changed none
of a section's tables shows the last report's figures without reading those tables again.

The sources, matching and standing value figures are counts over whole tables (every
staged row per file, every pair per band, every customer per tier): at 100k records on a
sync over unchanged files they were 0.22 s of CPU of the report, and they grow with the
master. Each is kept in ``kept_figures.json`` beside the pages, under a fingerprint of the
tables it reads (``warehouse.step_inputs``: the one the sync keeps for each table, so a
table whose step skipped is not hashed again), of the settings it depends on and of the
code. A section whose fingerprint is the kept one is taken from the file; any other is read
from the warehouse and kept for the next report. The figures are kept as JSON, and a
section read from the warehouse goes through the same JSON, so the page shows the same
values either way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.files import write_json_atomically
from warehouse.step_inputs import code_fingerprint, fingerprint

log = logging.getLogger(__name__)

KEPT_FIGURES = "kept_figures.json"


def section_inputs(
    tables: Sequence[str], table_fingerprint: Callable[[str], str], *settings: object
) -> str:
    """The fingerprint a section is kept under: its ``tables``' content (``table_fingerprint``
    of each ``schema.table``), its ``settings`` and the code."""
    return fingerprint(
        code_fingerprint(), list(tables), [table_fingerprint(t) for t in tables], *settings
    )


@dataclass
class KeptFigures:
    """The sections the last report kept (``last``) and the ones this report keeps (``now``)."""

    folder: Path
    last: dict[str, Any]
    now: dict[str, Any] = field(default_factory=dict)
    #: sections taken from ``last`` in this report
    reused: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, folder: Path) -> KeptFigures:
        """What the last report in ``folder`` kept (nothing when it kept none or the file is
        unreadable)."""
        try:
            last = json.loads((folder / KEPT_FIGURES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = {}
        return cls(folder, last if isinstance(last, dict) else {})

    def section(self, name: str, inputs: str | None, read: Callable[[], Any]) -> Any:
        """Section ``name``'s figures: the kept ones when they were kept under ``inputs``,
        else ``read()``; kept for the next report under ``inputs`` (None: not kept)."""
        kept = self.last.get(name)
        if inputs is not None and isinstance(kept, dict) and kept.get("inputs") == inputs:
            figures = kept["figures"]
            self.reused.append(name)
        else:
            figures = _as_json(read())
        if inputs is not None:
            self.now[name] = {"inputs": inputs, "figures": figures}
        return figures

    def write(self) -> None:
        """Keep this report's sections for the next one (the file holds one report's)."""
        write_json_atomically(self.folder / KEPT_FIGURES, self.now)
        if self.reused:
            log.info("sync report: %s as the last report showed them", ", ".join(self.reused))


def _as_json(figures: Any) -> Any:
    """``figures`` as they read back from the kept file (dates as text)."""
    return json.loads(json.dumps(figures, ensure_ascii=False, default=str))
