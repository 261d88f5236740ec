"""The config contract: valid files load, every mistake names the file and the key."""

from pathlib import Path

import pytest
import yaml

from sources.config import ConfigError, load_config


def write(tmp_path: Path, settings: dict) -> Path:
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def dealer_source(**overrides) -> dict:
    source = {
        "name": "dealers",
        "kind": "dealer",
        "path": "exports/dealers/*.csv",
        "entity_type": {"column": "客户类型", "values": {"企业": "company", "个人": "person"}},
        "columns": {"source_record_id": "客户编号", "name": "客户名称", "mobile": "手机"},
    }
    source.update(overrides)
    return source


def test_valid_config_resolves_paths_against_its_folder(tmp_path):
    config = load_config(write(tmp_path, {"output_dir": "out", "sources": [dealer_source()]}))
    assert config.output_path == tmp_path.resolve() / "out"
    assert config.warehouse_path == tmp_path.resolve() / "out" / "warehouse.duckdb"
    assert config.sources[0].entity_type.values["个人"] == "person"


def test_list_of_columns_is_joined_in_order(tmp_path):
    source = dealer_source(
        columns={"source_record_id": "id", "name": ["surname", "given"], "address": ["a1", "a2"]}
    )
    config = load_config(write(tmp_path, {"sources": [source]}))
    assert config.sources[0].mapped_columns()["name"] == ["surname", "given"]
    assert config.sources[0].required_source_columns() == [
        "id",
        "surname",
        "given",
        "a1",
        "a2",
        "客户类型",
    ]


def test_unknown_top_level_key_is_named(tmp_path):
    path = write(tmp_path, {"sources": [dealer_source()], "ouptut_dir": "x"})
    with pytest.raises(ConfigError, match=r"customer_master.yaml: ouptut_dir: unknown key"):
        load_config(path)


def test_unknown_canonical_field_names_source_and_field(tmp_path):
    source = dealer_source(columns={"source_record_id": "id", "name": "n", "moblie": "m"})
    with pytest.raises(ConfigError, match=r"sources\[0\] \(dealers\)\.columns: .*moblie"):
        load_config(write(tmp_path, {"sources": [source]}))


def test_unknown_key_inside_a_source(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\] \(dealers\)\.encodnig: unknown key"):
        load_config(write(tmp_path, {"sources": [dealer_source(encodnig="gbk")]}))


def test_source_record_id_must_be_mapped(tmp_path):
    source = dealer_source(columns={"name": "n"})
    with pytest.raises(ConfigError, match="source_record_id"):
        load_config(write(tmp_path, {"sources": [source]}))


def test_feed_names_are_unique_and_orders_point_at_a_source(tmp_path):
    orders = {
        "name": "dealer_orders",
        "customer_source": "dealerz",
        "path": "o.csv",
        "columns": {"order_id": "a", "source_record_id": "b", "order_date": "c", "amount": "d"},
    }
    with pytest.raises(ConfigError, match="customer_source 'dealerz'"):
        load_config(write(tmp_path, {"sources": [dealer_source()], "orders": [orders]}))
    with pytest.raises(ConfigError, match="repeated: dealers"):
        load_config(write(tmp_path, {"sources": [dealer_source(), dealer_source()]}))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_a_second_sync_waits_fifteen_minutes_unless_told_otherwise(tmp_path):
    assert load_config(write(tmp_path, {"sources": [dealer_source()]})).sync.wait_seconds == 900
    settings = {"sources": [dealer_source()], "sync": {"wait_seconds": 0}}
    assert load_config(write(tmp_path, settings)).sync.wait_seconds == 0
    for wrong, complaint in ((-1, "greater than or equal to 0"), ("soon", "integer")):
        settings = {"sources": [dealer_source()], "sync": {"wait_seconds": wrong}}
        with pytest.raises(ConfigError, match=rf"sync\.wait_seconds: .*{complaint}"):
            load_config(write(tmp_path, settings))
    with pytest.raises(ConfigError, match=r"sync\.wait: unknown key"):
        load_config(write(tmp_path, {"sources": [dealer_source()], "sync": {"wait": 5}}))


def test_the_memory_duckdb_may_keep_is_its_own_unless_a_size_is_given(tmp_path):
    assert load_config(write(tmp_path, {"sources": [dealer_source()]})).sync.memory_limit is None
    for size in ("3GB", "512 MiB", "50%"):
        settings = {"sources": [dealer_source()], "sync": {"memory_limit": size}}
        assert load_config(write(tmp_path, settings)).sync.memory_limit == size
    for wrong in ("lots", "-1GB", "3 parsecs", "3GB'; DROP TABLE x; --"):
        settings = {"sources": [dealer_source()], "sync": {"memory_limit": wrong}}
        with pytest.raises(ConfigError, match=r"sync\.memory_limit: .*not a memory size"):
            load_config(write(tmp_path, settings))


def test_access_roles_resolve_their_files_and_name_each_mistake(tmp_path):
    access = {
        "tokens_file": "secrets/access_tokens.yaml",
        "roles": [
            {"name": "fujian_office", "rows": {"province": ["福建省"]}, "pii": "masked"},
            {"name": "dealer_desk", "rows": {"source": ["dealers"]}, "pii": "full"},
            {"name": "analysts"},
        ],
    }
    config = load_config(write(tmp_path, {"sources": [dealer_source()], "access": access}))
    assert config.tokens_path == tmp_path.resolve() / "secrets" / "access_tokens.yaml"
    assert config.audit_path == tmp_path.resolve() / "out" / "audit"
    assert config.role_exports_path == tmp_path.resolve() / "out" / "exports" / "roles"
    assert [r.pii for r in config.access.roles] == ["masked", "full", "masked"]

    for role, message in [
        (
            {"name": "x", "rows": {"provnce": ["福建省"]}},
            r"access\.roles\[0\] \(x\)\.rows: .*provnce",
        ),
        ({"name": "x", "rows": {"source": ["crm"]}}, r"role x: rows\.source names no source: crm"),
        ({"name": "x", "rows": {"city": []}}, r"rows: .*city allow no value"),
        ({"name": "x", "pii": "partial"}, r"access\.roles\[0\] \(x\)\.pii"),
        ({"name": "Fujian Office"}, r"lower-case letters"),
    ]:
        bad = {"tokens_file": "t.yaml", "roles": [role]}
        with pytest.raises(ConfigError, match=message):
            load_config(write(tmp_path, {"sources": [dealer_source()], "access": bad}))
    twice = {"tokens_file": "t.yaml", "roles": [{"name": "a"}, {"name": "a"}]}
    with pytest.raises(ConfigError, match="role names must be unique; repeated: a"):
        load_config(write(tmp_path, {"sources": [dealer_source()], "access": twice}))


def test_spark_section_is_optional_and_takes_any_spark_setting_as_text(tmp_path):
    plain = load_config(write(tmp_path, {"sources": [dealer_source()]}))
    assert plain.matching.backend == "duckdb"
    assert (plain.spark.master, plain.spark.app_name, plain.spark.conf) == (
        "local[*]",
        "customer-master",
        {},
    )
    assert plain.spark_exchange_path == tmp_path.resolve() / "out" / "spark"
    spark = load_config(
        write(
            tmp_path,
            {
                "sources": [dealer_source()],
                "matching": {"backend": "spark"},
                "spark": {
                    "master": "spark://10.1.2.3:7077",
                    "conf": {"spark.sql.shuffle.partitions": 400, "spark.ui.enabled": False},
                },
            },
        )
    )
    assert spark.matching.backend == "spark"
    assert spark.spark.conf == {"spark.sql.shuffle.partitions": "400", "spark.ui.enabled": "false"}


def test_unknown_spark_key_and_backend_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"spark.mastr: unknown key"):
        load_config(write(tmp_path, {"sources": [dealer_source()], "spark": {"mastr": "x"}}))
    with pytest.raises(ConfigError, match=r"matching.backend"):
        load_config(
            write(tmp_path, {"sources": [dealer_source()], "matching": {"backend": "polars"}})
        )
