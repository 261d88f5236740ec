"""Files other people and tools read: written whole or not at all.

Every published file (review queues, model summaries, Parquet exports) is written to a
temporary name in the same folder and renamed over the old one, so a reader never sees
half a file and a failed run leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the result to ``path``."""
    path = Path(path)
    temporary = temporary_beside(path)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def temporary_beside(path: str | Path) -> Path:
    """A new empty file ``.<name>.<random>.tmp`` in ``path``'s folder (created when missing).

    Unlike ``tempfile.mkstemp`` (mode 0600), it gets the usual permissions (0666 less the
    umask), so the file renamed into place is readable by the tools it is published for.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary


def write_json_atomically(path: str | Path, data: Any) -> Path:
    """``data`` as indented UTF-8 JSON at ``path`` (dates and paths as text)."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def link_or_copy(source: Path, target: Path) -> None:
    """``target`` as another name of the file ``source`` (a hard link: no byte written),
    or a copy of it where the two folders lie on different file systems (or links are not
    allowed there). Only for files never written again in place: a hard link shares its
    bytes with the source, while removing either name leaves the other whole."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
