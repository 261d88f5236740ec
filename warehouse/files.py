"""Files other people and tools read: written whole or not at all.

Every published file (review queues, model summaries, Parquet exports) is written to a
temporary name in the same folder and renamed over the old one, so a reader never sees
half a file and a failed run leaves the previous file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomically(path: str | Path, data: Any) -> Path:
    """``data`` as indented UTF-8 JSON at ``path`` (dates and paths as text)."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
