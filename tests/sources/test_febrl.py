"""FEBRL as a deployment: exports copied unchanged, truth for every row, a config that stages all."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from sources.build_staging import build_staging
from sources.config import load_config
from sources.febrl import DATASETS, customer_id, febrl_file, write_febrl
from sources.ingest import ingest_feed

#: Data rows per shipped file (FEBRL's documentation).
ROWS = {"dataset3.csv": 5000, "dataset4a.csv": 5000, "dataset4b.csv": 5000}


@pytest.fixture(scope="module")
def configs(tmp_path_factory) -> dict[str, Path]:
    """Each data set written once for the module: data set → its config file."""
    return {d: write_febrl(tmp_path_factory.mktemp(d), d) for d in DATASETS}


@pytest.fixture(params=sorted(DATASETS))
def deployment(request, configs) -> tuple[str, Path]:
    return request.param, configs[request.param]


def _truth(config_path: Path) -> list[dict[str, str]]:
    with (config_path.parent / "truth" / "records.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("rec_id", "expected"),
    [
        ("rec-552-org", "febrl-552"),
        ("rec-552-dup-3", "febrl-552"),
        (" rec-0-dup-0 ", "febrl-0"),
        ("rec-1070-org", "febrl-1070"),
    ],
)
def test_record_id_names_its_person(rec_id, expected):
    assert customer_id(rec_id) == expected


@pytest.mark.parametrize("rec_id", ["rec-552", "552-org", "rec-x-org", "rec-1-dup-", ""])
def test_malformed_record_id_is_refused(rec_id):
    with pytest.raises(ValueError, match="not a FEBRL record id"):
        customer_id(rec_id)


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown FEBRL data set 'febrl9'"):
        write_febrl(tmp_path, "febrl9")


def test_exports_are_the_shipped_files_unchanged(deployment):
    dataset, config_path = deployment
    for source, filename in DATASETS[dataset]:
        copied = config_path.parent / "exports" / source / filename
        assert copied.read_bytes() == febrl_file(filename).read_bytes()


def test_config_loads_and_maps_every_febrl_column(deployment):
    dataset, config_path = deployment
    config = load_config(config_path)
    assert [s.name for s in config.sources] == [source for source, _ in DATASETS[dataset]]
    for source in config.sources:
        assert source.entity_type == "person"
        assert source.mapped_columns() == {
            "source_record_id": ["rec_id"],
            "name": ["given_name", "surname"],
            "address": ["street_number", "address_1", "address_2", "suburb", "state"],
            "postcode": ["postcode"],
            "birth_date": ["date_of_birth"],
            "id_number": ["soc_sec_id"],
        }


def test_truth_covers_every_row_once(deployment):
    dataset, config_path = deployment
    truth = _truth(config_path)
    keys = [row["record_key"] for row in truth]
    assert len(keys) == len(set(keys)) == sum(ROWS[f] for _, f in DATASETS[dataset])
    assert {row["entity_type"] for row in truth} == {"person"}
    for row in truth:
        assert row["record_key"] == f"{row['source']}:{row['source_record_id']}"
        assert row["customer_id"] == customer_id(row["source_record_id"])


def test_febrl3_people_and_their_duplicates(configs):
    config_path = configs["febrl3"]
    per_person = Counter(row["customer_id"] for row in _truth(config_path))
    assert len(per_person) == 2000
    assert max(per_person.values()) == 6  # an original and at most five duplicates
    # every person has exactly one original
    originals = Counter(
        row["customer_id"]
        for row in _truth(config_path)
        if row["source_record_id"].endswith("-org")
    )
    assert set(originals.values()) == {1} and set(originals) == set(per_person)


def test_febrl4_each_person_once_in_each_file(configs):
    by_person: dict[str, list[str]] = {}
    for row in _truth(configs["febrl4"]):
        by_person.setdefault(row["customer_id"], []).append(row["source"])
    assert len(by_person) == 5000
    assert {tuple(sorted(s)) for s in by_person.values()} == {("febrl4a", "febrl4b")}


def test_every_row_stages_under_its_truth_key(deployment):
    """The pipeline's own reader, mapping and staging: every row staged, keys as in the truth."""
    _, config_path = deployment
    config = load_config(config_path)
    batches = {s.name: ingest_feed(s, config, datetime(2026, 1, 1)) for s in config.sources}
    assert all(not b.rejected for b in batches.values())
    staged = build_staging(
        {name: b.table for name, b in batches.items()},
        {name: b.rejected_table() for name, b in batches.items()},
        config,
        today=date(2026, 1, 1),
    )
    assert staged.quarantine.num_rows == 0
    keys = staged.customers.column("record_key").to_pylist()
    assert sorted(keys) == sorted(row["record_key"] for row in _truth(config_path))
    # values arrive trimmed of the files' leading spaces
    names = staged.customers.column("name_raw").to_pylist()
    assert not any(n.startswith(" ") for n in names if n)
