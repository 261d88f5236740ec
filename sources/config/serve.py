"""The ``serve:`` section: the HTTP service over the last published master."""

from __future__ import annotations

from pydantic import Field

from sources.config.base import Strict


class ServeConfig(Strict):
    """Where the pipeline publishes the service's index, and how ``custmaster serve`` runs.

    ``--host`` and ``--port`` on the command line win over ``host`` and ``port`` here.
    """

    dir: str = Field(
        default="serving",
        description="folder of the published serving index, relative to output_dir",
    )
    host: str = Field(default="127.0.0.1", description="address the service listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="port the service listens on")
    reload_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how often the service looks for a newer published index and swaps to it",
    )
    keep: int = Field(
        default=2,
        ge=2,
        description="published indexes kept on disk (the current one and those before it)",
    )
