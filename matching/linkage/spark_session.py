"""Starting the Spark session that Splink's SparkAPI matches on, or saying plainly why not.

Spark needs two things this package cannot install: the ``pyspark`` package (the
``customer-master[spark]`` extra) and a Java runtime (Spark 4 runs on Java 17 or 21). A
machine without either gets one :class:`SparkUnavailable` naming what to install, before
any JVM is started, instead of a Py4J trace of a gateway that never came up.

The session carries Splink's similarity UDFs (``jaro_winkler``, ``damerau_levenshtein``):
the jar ships inside the splink wheel (``similarity_jar_location()``, the Spark 4 build),
so it goes on ``spark.jars`` from disk, never through ``spark.jars.packages``, which
downloads. Splink breaks long query lineages by writing Parquet to the checkpoint folder
(``spark.checkpoint.dir``, by default ``<exchange_dir>/checkpoints``); each matching run
uses a folder of its own under it (``matching.linkage.backend``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Oldest Java major version Spark 4 runs on.
MIN_JAVA = 17
INSTALL_JAVA = (
    f"install Java {MIN_JAVA} or newer (Debian/Ubuntu: apt-get install "
    f"openjdk-{MIN_JAVA}-jre-headless) or point JAVA_HOME at one"
)
INSTALL_PYSPARK = (
    "install the spark extra: pip install 'customer-master[spark]' (make install does)"
)


class SparkUnavailable(RuntimeError):
    """Spark cannot start on this machine; the message says what to install."""


def java_problem(java_home: str | None = None, path: str | None = None) -> str | None:
    """What keeps Spark from finding a usable Java, or None when it can.

    Spark's launcher runs ``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else ``java`` on
    the PATH; this looks where it looks and asks that Java its version.
    """
    java_home = os.environ.get("JAVA_HOME") if java_home is None else java_home
    if java_home:
        java = str(Path(java_home) / "bin" / "java")
        if not Path(java).is_file():
            return f"JAVA_HOME is {java_home} but {java} does not exist: {INSTALL_JAVA}"
    else:
        found = shutil.which("java", path=path)
        if found is None:
            return f"no Java runtime found (no JAVA_HOME, no java on the PATH): {INSTALL_JAVA}"
        java = found
    try:
        answer = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as err:
        return f"{java} does not run ({err}): {INSTALL_JAVA}"
    version = _java_major(answer.stderr + answer.stdout)
    if version is None:
        return f"{java} -version did not say its version: {INSTALL_JAVA}"
    if version < MIN_JAVA:
        return f"{java} is Java {version}; Spark 4 needs {MIN_JAVA} or newer: {INSTALL_JAVA}"
    return None


def _java_major(text: str) -> int | None:
    """Major version from ``java -version`` output ('17.0.15', or '1.8.0_392' for Java 8)."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if found is None:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def spark_problem() -> str | None:
    """Why Spark cannot start here (no pyspark, no usable Java), or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"the pyspark package is not installed: {INSTALL_PYSPARK}"
    return java_problem()


def session_settings(master: str, conf: Mapping[str, str], exchange: Path) -> dict[str, str]:
    """The Spark settings a session starts with: ours as defaults, ``conf`` over them.

    - ``spark.jars``: Splink's similarity UDF jar for Spark 4, from the splink wheel;
    - ``spark.checkpoint.dir``: ``<exchange>/checkpoints`` (Splink writes Parquet there
      to cut long lineages);
    - ``spark.sql.shuffle.partitions``: on ``local[N]``, twice the cores (Spark's 200
      suits a cluster; on one machine each of 200 tiny tasks costs more than its work).
    """
    from splink.backends.spark import similarity_jar_location

    settings = {
        "spark.jars": similarity_jar_location(),
        "spark.checkpoint.dir": str(exchange / "checkpoints"),
    }
    cores = _local_cores(master)
    if cores is not None:
        settings["spark.sql.shuffle.partitions"] = str(2 * cores)
    return {**settings, **conf}


def _local_cores(master: str) -> int | None:
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master.strip())
    if found is None:
        return None
    cores = found.group(1)
    return os.cpu_count() or 1 if cores in (None, "*") else int(cores)


def start_spark(
    master: str, app_name: str, conf: Mapping[str, str], exchange: Path
) -> tuple[Any, bool]:
    """A Spark session for matching: ``(session, started)``.

    An active session of this process (a notebook's, a Databricks job's) is used as it
    is and ``started`` is False: its owner stops it, and its cluster must already carry
    Splink's jar. Otherwise a session is started on ``master`` with
    :func:`session_settings` and ``started`` is True: the caller stops it.

    Raises:
        SparkUnavailable: pyspark or Java is missing, or the session does not start.
    """
    problem = spark_problem()
    if problem:
        raise SparkUnavailable(f"matching.backend is spark, but {problem}")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        logger.info("matching on the active Spark session (%s)", active.sparkContext.master)
        return active, False
    settings = session_settings(master, conf, exchange)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as err:  # the JVM's own error, whatever Py4J wraps it in
        raise SparkUnavailable(f"Spark did not start on master {master!r}: {err}") from err
    logger.info("started Spark %s on %s", session.version, master)
    return session, True
