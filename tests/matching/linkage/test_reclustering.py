"""Re-clustering only the components a sync touched gives the full clustering."""

import pandas as pd

from matching.linkage.clustering import Resolution, resolve_clusters
from matching.linkage.decisions import Decisions, empty_decisions, read_decisions
from matching.linkage.reclustering import resolve_changed_clusters


def pairs(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_probability"])


def decisions_file(tmp_path, text: str) -> Decisions:
    path = tmp_path / "decisions.csv"
    path.write_text(
        "record_key_l,record_key_r,decision,decided_by,decided_at,note\n" + text, encoding="utf-8"
    )
    return read_decisions(path)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(frame.astype(object).where(frame.notna(), None).itertuples(index=False))


def assert_same(incremental: Resolution, full: Resolution) -> None:
    for part in ("clusters", "cut_links", "conflicts", "inputs"):
        assert rows(getattr(incremental, part)) == rows(getattr(full, part)), part
    assert incremental.unknown_decision_records == full.unknown_decision_records


#: Day one: a-b-c one customer, d-e one, f alone, g-h-i-j a chain the size limit cuts
DAY_ONE_KEYS = list("abcdefghij")
DAY_ONE = pairs(
    ("a", "b", 0.99),
    ("b", "c", 0.95),
    ("d", "e", 0.97),
    ("g", "h", 0.99),
    ("h", "i", 0.93),
    ("i", "j", 0.98),
    ("c", "f", 0.5),
)


def test_a_day_of_merges_splits_removals_and_decisions_ends_where_a_full_clustering_does(
    tmp_path,
):
    before = resolve_clusters(DAY_ONE_KEYS, DAY_ONE, empty_decisions(), 0.9, 3)
    # day two: c is removed (a-b stays, the c links go), new record k joins d-e, f now
    # links to g's chain, and a steward keeps h and j apart and joins a with e
    keys = [k for k in DAY_ONE_KEYS if k != "c"] + ["k"]
    today = pairs(
        ("a", "b", 0.99),
        ("d", "e", 0.97),
        ("e", "k", 0.96),
        ("g", "h", 0.99),
        ("h", "i", 0.93),
        ("i", "j", 0.98),
        ("f", "g", 0.94),
    )
    decided = decisions_file(
        tmp_path,
        "h,j,no_match,林小燕,2026-11-20,two branches\na,e,match,林小燕,2026-11-20,same shop\n"
        "a,zz,match,林小燕,2026-11-20,unknown record\n",
    )
    full = resolve_clusters(keys, today, decided, 0.9, 3)
    incremental = resolve_changed_clusters(pd.Series(keys), today, decided, 0.9, 3, before)
    assert_same(incremental, full)
    cluster = dict(zip(full.clusters["record_key"], full.clusters["cluster_id"], strict=True))
    assert cluster["a"] == cluster["e"]  # the steward's match, kept within the size limit
    assert cluster["f"] == cluster["g"]  # f moved to the chain


def test_untouched_components_keep_their_clusters_and_cut_links(tmp_path):
    before = resolve_clusters(DAY_ONE_KEYS, DAY_ONE, empty_decisions(), 0.9, 3)
    keys = [*DAY_ONE_KEYS, "k"]
    today = pd.concat([DAY_ONE, pairs(("k", "f", 0.99))], ignore_index=True)
    incremental = resolve_changed_clusters(
        pd.Series(keys), today, empty_decisions(), 0.9, 3, before
    )
    assert_same(incremental, resolve_clusters(keys, today, empty_decisions(), 0.9, 3))
    # the size limit's cut in g-h-i-j is the one from day one, carried over
    assert rows(incremental.cut_links) == rows(before.cut_links)


def test_a_decision_withdrawn_rejoins_the_cluster_it_split(tmp_path):
    decided = decisions_file(tmp_path, "a,c,no_match,林小燕,2026-11-20,\n")
    before = resolve_clusters(DAY_ONE_KEYS, DAY_ONE, decided, 0.9, 50)
    assert len(before.conflicts) == 1
    incremental = resolve_changed_clusters(
        pd.Series(DAY_ONE_KEYS), DAY_ONE, empty_decisions(), 0.9, 50, before
    )
    assert_same(incremental, resolve_clusters(DAY_ONE_KEYS, DAY_ONE, empty_decisions(), 0.9, 50))
    assert incremental.conflicts.empty
