"""Where Spark cannot start, one clear error says what to install (no JVM is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from matching.linkage.spark_session import (
    SparkUnavailable,
    _java_major,
    java_problem,
    session_settings,
    start_spark,
)


def test_no_java_on_the_path_names_what_to_install(tmp_path):
    problem = java_problem(java_home="", path=str(tmp_path))
    assert problem is not None
    assert "no Java runtime found" in problem and "openjdk-17-jre-headless" in problem


def test_a_java_home_without_java_is_named(tmp_path):
    problem = java_problem(java_home=str(tmp_path / "jdk"), path="")
    assert problem is not None and str(tmp_path / "jdk") in problem


def test_an_old_java_is_refused(tmp_path):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    problem = java_problem(java_home=str(tmp_path))
    assert problem is not None and "Java 11" in problem and "17 or newer" in problem


def test_java_versions_are_read_old_and_new_style():
    assert _java_major('openjdk version "17.0.15" 2025-04-15') == 17
    assert _java_major('java version "1.8.0_392"') == 8
    assert _java_major("no version here") is None


def test_starting_spark_without_java_is_one_clear_error(monkeypatch, tmp_path):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", "")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkUnavailable, match="matching.backend is spark, but no Java runtime"):
        start_spark("local[1]", "t", {}, tmp_path)


def test_splinks_jar_and_local_shuffle_partitions_are_defaults_conf_overrides(tmp_path):
    pytest.importorskip("pyspark")
    settings = session_settings("local[2]", {}, tmp_path)
    assert (
        settings["spark.jars"].endswith("_spark4.x.jar") and Path(settings["spark.jars"]).is_file()
    )
    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.checkpoint.dir"] == str(tmp_path / "checkpoints")
    mine = session_settings(
        "spark://10.0.0.5:7077", {"spark.sql.shuffle.partitions": "400"}, tmp_path
    )
    assert mine["spark.sql.shuffle.partitions"] == "400"
