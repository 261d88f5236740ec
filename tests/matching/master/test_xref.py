"""The xref keeps each record's customer history across runs."""

from datetime import datetime

import duckdb
import pandas as pd

from matching.master.xref import cluster_probabilities, empty_xref, update_xref, updated_xref

T1, T2 = datetime(2026, 11, 1), datetime(2026, 11, 2)


def current(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(key, cid, "company", key.split(":")[0], 0.99) for key, cid in rows],
        columns=["record_key", "customer_id", "entity_type", "source", "match_probability"],
    )


def test_first_run_opens_one_row_per_record():
    xref, counts = update_xref(empty_xref(), current(("d:1", "CM1"), ("r:1", "CM1")), "run1", T1)
    assert xref[["record_key", "customer_id", "run_id"]].values.tolist() == [
        ["d:1", "CM1", "run1"],
        ["r:1", "CM1", "run1"],
    ]
    assert xref["valid_to"].isna().all() and counts["records_added"] == 2


def test_unchanged_rerun_writes_nothing_new():
    first, _ = update_xref(empty_xref(), current(("d:1", "CM1")), "run1", T1)
    again, counts = update_xref(first, current(("d:1", "CM1")), "run2", T2)
    assert len(again) == 1 and again.loc[0, "run_id"] == "run1" and counts["records_unchanged"] == 1


def test_a_moved_record_closes_its_row_and_opens_another():
    first, _ = update_xref(empty_xref(), current(("d:1", "CM1"), ("d:2", "CM2")), "run1", T1)
    later, counts = update_xref(first, current(("d:1", "CM1"), ("d:2", "CM1")), "run2", T2)
    moved = later[later["record_key"] == "d:2"]
    assert moved[["customer_id", "valid_to"]].values.tolist() == [
        ["CM2", pd.Timestamp(T2)],
        ["CM1", pd.NaT],
    ]
    assert counts == {
        "records_added": 0,
        "records_moved": 1,
        "records_removed": 0,
        "records_unchanged": 1,
    }


def test_a_record_that_left_the_sources_is_closed_not_deleted():
    first, _ = update_xref(empty_xref(), current(("d:1", "CM1"), ("d:2", "CM2")), "run1", T1)
    later, counts = update_xref(first, current(("d:1", "CM1")), "run2", T2)
    assert later.set_index("record_key").loc["d:2", "valid_to"] == pd.Timestamp(T2)
    assert counts["records_removed"] == 1


def test_probability_to_the_cluster_is_the_strongest_link_inside_it():
    clusters = pd.DataFrame(
        {"record_key": ["a", "b", "c", "d"], "cluster_id": ["a", "a", "a", "d"]}
    )
    pairs = pd.DataFrame(
        {
            "record_key_l": ["a", "b", "c"],
            "record_key_r": ["b", "c", "d"],
            "match_probability": [0.95, 0.99, 0.7],
        }
    )
    probability = cluster_probabilities(clusters, pairs)
    assert probability[["a", "b", "c"]].tolist() == [0.95, 0.99, 0.99]
    assert pd.isna(probability["d"])  # the 0.7 pair crosses clusters: d stands alone


def test_probability_is_refreshed_only_where_the_customer_gained_or_lost_a_record():
    first, _ = update_xref(
        empty_xref(),
        current(("d:1", "CM1"), ("r:1", "CM1"), ("d:2", "CM2"), ("r:2", "CM2")),
        "run1",
        T1,
    )
    # a new record joins CM2; every probability shifts a little (term frequencies moved)
    rerun = current(("d:1", "CM1"), ("r:1", "CM1"), ("d:2", "CM2"), ("r:2", "CM2"), ("k:2", "CM2"))
    rerun["match_probability"] = [0.98, 0.98, 0.97, 0.97, 0.97]
    later, _ = update_xref(first, rerun, "run2", T2)
    probability = later.set_index("record_key")["match_probability"]
    assert probability[["d:1", "r:1"]].tolist() == [0.99, 0.99]  # CM1 unchanged: rows stay
    assert probability[["d:2", "r:2", "k:2"]].tolist() == [0.97, 0.97, 0.97]


def test_changing_the_history_in_place_gives_the_rewritten_history():
    first, _ = update_xref(
        empty_xref(),
        current(("d:1", "CM1"), ("r:1", "CM1"), ("d:2", "CM2"), ("r:2", "CM2"), ("d:3", "CM3")),
        "run1",
        T1,
    )
    # r:2 moves to CM1, d:3 leaves the sources, k:4 is new; every probability shifts a little
    rerun = current(("d:1", "CM1"), ("r:1", "CM1"), ("d:2", "CM2"), ("r:2", "CM1"), ("k:4", "CM4"))
    rerun["match_probability"] = [0.98, 0.97, 0.96, 0.95, 0.94]
    rewritten, counts = update_xref(first, rerun, "run2", T2)
    con = duckdb.connect()
    con.register("first", first)
    con.execute("CREATE TABLE history AS FROM first")
    con.register("rerun", rerun)
    assert updated_xref(con, "history", "rerun", "run2", T2, into="history") == counts
    in_place = con.sql("FROM history ORDER BY record_key, valid_from").df()
    assert in_place.equals(rewritten), (in_place, rewritten)
