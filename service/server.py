"""``custmaster serve``: the API under uvicorn, following each new sync.

Start-up loads the current serving index (seconds: the pipeline prepared everything), then
a watcher thread swaps to every newer one (``service.reload``). One process, one worker:
the index lives in this process's memory, and a second worker would hold a second copy.
"""

from __future__ import annotations

import logging
import time

import uvicorn

from service.api import create_app
from service.reload import SnapshotHolder
from sources.config import PipelineConfig

log = logging.getLogger(__name__)


def serve(config: PipelineConfig, host: str | None = None, port: int | None = None) -> None:
    """Serve ``config``'s last published master until interrupted (Ctrl-C, SIGTERM).

    Raises:
        service.reload.NoServingIndex: no sync has published a serving index yet.
    """
    started = time.perf_counter()
    holder = SnapshotHolder(config.serving_path, config.serve.reload_seconds)
    holder.start()
    host = host or config.serve.host
    port = port or config.serve.port
    log.info(
        "serving run %s, loaded in %.1f s; http://%s:%d/docs",
        holder.current.run_id,
        time.perf_counter() - started,
        host,
        port,
    )
    try:
        uvicorn.run(
            create_app(holder, config.decisions_path), host=host, port=port, log_level="info"
        )
    finally:
        holder.close()
