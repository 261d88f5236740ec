"""``custmaster serve``: the API under uvicorn, following each new sync.

With ``access:`` in the config every request needs a bearer token (``service.access``);
without it every caller sees every customer in clear, so the service listens on the
loopback address only, whatever ``--host`` or ``serve.host`` say, and says so at start.

Start-up loads the current serving index (seconds: the pipeline prepared everything), then
a watcher thread swaps to every newer one (``service.reload``). One process, one worker:
the index lives in this process's memory, and a second worker would hold a second copy.
"""

from __future__ import annotations

import logging
import time

import uvicorn

from service.access import AccessControl
from service.api import create_app
from service.reload import SnapshotHolder
from sources.config import PipelineConfig

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def serve(config: PipelineConfig, host: str | None = None, port: int | None = None) -> None:
    """Serve ``config``'s last published master until interrupted (Ctrl-C, SIGTERM).

    Raises:
        service.reload.NoServingIndex: no sync has published a serving index yet.
        warehouse.access.TokenFileError: the tokens file has a bad entry (named by line).
    """
    access = None
    if config.access is not None and config.tokens_path and config.audit_path:
        access = AccessControl(config.access, config.tokens_path, config.audit_path)
    started = time.perf_counter()
    holder = SnapshotHolder(config.serving_path, config.serve.reload_seconds)
    holder.start()
    host = host or config.serve.host
    port = port or config.serve.port
    if access is None:
        if host != LOOPBACK:
            log.warning("serve: %s asked for, but the config has no access: section", host)
        host = LOOPBACK
        log.warning(
            "no access: section in the config: every caller sees every customer in clear, "
            "so the service listens on %s only; configure access: (roles, tokens) to serve "
            "other machines",
            LOOPBACK,
        )
    log.info(
        "serving run %s, loaded in %.1f s; http://%s:%d/docs",
        holder.current.run_id,
        time.perf_counter() - started,
        host,
        port,
    )
    try:
        uvicorn.run(
            create_app(holder, config.decisions_path, access),
            host=host,
            port=port,
            log_level="info",
        )
    finally:
        holder.close()
