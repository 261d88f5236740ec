"""What has landed in the export folders: every file a feed's path pattern matches.

The sensor that starts a sync compares snapshots: a file that is new, changed (size or
modification time) or gone gives a new fingerprint, and the fingerprint is the run key,
so the same files never start two runs. The steward decisions file is an input too: a new
decision is a reason to sync.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sources.config import PipelineConfig
from sources.readers import SourceReadError, expand_paths


@dataclass(frozen=True)
class LandingSnapshot:
    """The input files of a deployment at one moment.

    ``files`` maps each file (relative to the config's folder where it lies below it) to
    ``"<size>:<mtime_ns>"``; ``unmatched`` names the feeds whose pattern matches nothing.
    """

    files: dict[str, str]
    newest_mtime: float = 0.0
    unmatched: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of every file's path, size and modification time, in path order."""
        lines = "\n".join(f"{path}\t{state}" for path, state in sorted(self.files.items()))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()

    def changes_since(self, earlier: dict[str, str]) -> dict[str, list[str]]:
        """Files that are new, changed or removed compared with ``earlier`` (path → state)."""
        return {
            "new": sorted(set(self.files) - set(earlier)),
            "changed": sorted(
                p for p in self.files if p in earlier and earlier[p] != self.files[p]
            ),
            "removed": sorted(set(earlier) - set(self.files)),
        }

    def to_cursor(self) -> str:
        """The snapshot as a sensor cursor (JSON of the files)."""
        return json.dumps({"files": self.files}, sort_keys=True)

    @staticmethod
    def from_cursor(cursor: str | None) -> LandingSnapshot | None:
        """The snapshot saved with :meth:`to_cursor`; None for no cursor or a foreign one."""
        if not cursor:
            return None
        try:
            files = json.loads(cursor).get("files")
        except (ValueError, AttributeError):
            return None
        return LandingSnapshot(files=files) if isinstance(files, dict) else None


def landing_snapshot(config: PipelineConfig) -> LandingSnapshot:
    """Every file the deployment's feeds would read now, with its size and modification time."""
    files: dict[str, str] = {}
    newest = 0.0
    unmatched: list[str] = []
    paths: list[Path] = []
    for feed in [*config.sources, *config.activity_feeds()]:
        try:
            paths += expand_paths(config.base_dir, feed.path)
        except SourceReadError:
            unmatched.append(f"{feed.name} ({feed.path})")
    if config.decisions_path.is_file():
        paths.append(config.decisions_path)
    for path in paths:
        stat = path.stat()
        files[_display(path, config.base_dir)] = f"{stat.st_size}:{stat.st_mtime_ns}"
        newest = max(newest, stat.st_mtime)
    return LandingSnapshot(files=files, newest_mtime=newest, unmatched=unmatched)


def _display(path: Path, base_dir: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()
