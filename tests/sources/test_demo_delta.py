"""The demo's day of changes: about the share asked for, only changed files rewritten, each
in its own encoding; same exports and seed, same delta."""

import hashlib
import shutil
from pathlib import Path

import pytest

from sources.demo import generate_demo
from sources.demo.delta import apply_delta


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("delta")
    generate_demo(folder, customers=300, seed=9)
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "exports").rglob("*"))
        if p.is_file()
    }


def test_a_delta_rewrites_only_the_files_it_changes(demo, tmp_path):
    copies = [shutil.copytree(demo, tmp_path / name) for name in ("a", "b")]
    before = digests(copies[0])
    summary = apply_delta(copies[0], share=0.02, seed=3)
    after = digests(copies[0])
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {f"exports/{f}" for f in summary.files}
    assert 0 < len(changed) < len(before)
    assert summary.edited and summary.new_records and summary.new_orders
    # the dealers' files stay in GB18030/GBK, the regional ones in UTF-8 with BOM
    for name in summary.files:
        data = (copies[0] / "exports" / name).read_bytes()
        if name.startswith("regional/"):
            assert data.startswith(b"\xef\xbb\xbf")
        if name.startswith("dealers/"):
            data.decode("gb18030")
    apply_delta(copies[1], share=0.02, seed=3)
    assert digests(copies[1]) == after


def test_a_delta_changes_about_the_share_asked_for(demo, tmp_path):
    copy = shutil.copytree(demo, tmp_path / "c")
    rows = sum(
        len(p.read_bytes().splitlines()) - 1
        for folder in ("dealers", "regional")
        for p in (copy / "exports" / folder).glob("*.csv")
    )
    summary = apply_delta(copy, share=0.05, seed=4)
    assert abs(summary.records - rows * 0.05) <= max(3, rows * 0.01)


def test_new_orders_and_interactions_have_their_books_columns(demo, tmp_path):
    # a new row short of a column would land among the reader's rejected rows, and the day
    # would add no activity downstream
    import csv

    copy = shutil.copytree(demo, tmp_path / "d")
    summary = apply_delta(copy, share=0.05, seed=5)
    books = [f for f in summary.files if f.split("/")[0] in ("orders", "interactions")]
    assert books and summary.new_orders and summary.new_interactions
    for name in books:
        with (copy / "exports" / name).open(encoding="utf-8-sig", newline="") as book:
            header, *rows = csv.reader(book)
        assert rows and {len(row) for row in rows} == {len(header)}, name
