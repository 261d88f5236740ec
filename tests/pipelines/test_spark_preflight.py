"""A deployment that matches on Spark, on a machine without Java: one clear error, exit 2,
before any step runs (no JVM trace, nothing written)."""

from __future__ import annotations

import yaml

from pipelines.cli import main


def test_run_on_spark_without_java_exits_2_naming_what_to_install(tmp_path, monkeypatch, capsys):
    config = tmp_path / "customer_master.yaml"
    settings = {
        "sources": [
            {
                "name": "dealers",
                "kind": "dealer",
                "path": "exports/*.csv",
                "entity_type": "company",
                "columns": {"source_record_id": "id", "name": "name"},
            }
        ],
        "matching": {"backend": "spark"},
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    monkeypatch.setenv("JAVA_HOME", "")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "matching.backend is spark, but" in err
    assert "Java 17 or newer" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "warehouse.duckdb").exists()
