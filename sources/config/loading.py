"""Reading a config file: YAML in, a validated ``PipelineConfig`` out, or one error per
problem naming the file and the key path (``sources[1] (dealers).columns.nmae``)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from sources.config.base import ConfigError
from sources.config.deployment import PipelineConfig


def _location(config: dict, loc: tuple) -> str:
    """Render a pydantic error location as 'sources[1] (dealers).columns.nmae'."""
    parts: list[str] = []
    node: object = config
    for item in loc:
        if isinstance(item, int):
            name = (
                node[item].get("name")
                if isinstance(node, list) and item < len(node) and isinstance(node[item], dict)
                else None
            )
            parts[-1] += f"[{item}]" + (f" ({name})" if name else "")
        elif item in (
            "EntityTypeFromColumn",
            "literal['company','person']",
        ) or "function-after" in str(item):
            continue
        else:
            parts.append(str(item))
        node = node[item] if isinstance(node, (dict, list)) and _has(node, item) else None
    return ".".join(parts) or "(top level)"


def _has(node: dict | list, key: object) -> bool:
    if isinstance(node, list):
        return isinstance(key, int) and key < len(node)
    return key in node


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a deployment config; raise ConfigError naming file and key on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _location(raw, error["loc"])
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            lines.append(f"{path}: {where}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
    return config.model_copy(update={"base_dir": path.resolve().parent})
