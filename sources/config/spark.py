"""The ``spark:`` section: the Spark cluster that matches when ``matching.backend`` is ``spark``.

Every key is optional; a deployment that matches on DuckDB never reads it.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sources.config.base import Strict


class SparkConfig(Strict):
    """Where Splink's SparkAPI runs, and the Spark settings it runs with.

    ``conf`` takes any Spark setting as text (``spark.executor.memory: 8g``,
    ``spark.sql.shuffle.partitions: 400``, ``spark.checkpoint.dir: /mnt/shared/ckpt``); the
    few this project sets itself (Splink's similarity jar, the checkpoint folder) are
    defaults that ``conf`` overrides.
    """

    master: str = Field(
        default="local[*]",
        description="Spark master URL: local[N], spark://host:7077, k8s://https://…, yarn",
    )
    app_name: str = Field(default="customer-master", description="name shown in the Spark UI")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="Spark settings (executor memory, shuffle partitions, checkpoint dir, …)",
    )
    exchange_dir: str = Field(
        default="spark",
        description="folder where prepared records go to Spark and pairs and clusters come "
        "back, as Parquet, relative to output_dir; on a cluster, a path the driver and every "
        "worker see alike (a shared mount, a Databricks volume)",
    )

    @field_validator("conf", mode="before")
    @classmethod
    def _as_text(cls, conf: object) -> object:
        """YAML reads ``spark.sql.shuffle.partitions: 8`` as a number; Spark wants text."""
        if isinstance(conf, dict):
            return {
                str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()
            }
        return conf
