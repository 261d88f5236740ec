"""Persistent customer IDs across runs: stable, inherited, merged, split, retired."""

import pandas as pd

from matching.master.customer_ids import assign_customer_ids, resolve_id


def clusters(*groups: list[str], entity_type: str = "company") -> pd.DataFrame:
    rows = [(key, entity_type, group[0]) for group in groups for key in group]
    return pd.DataFrame(rows, columns=["record_key", "entity_type", "cluster_id"])


def ids(result) -> dict[str, str]:
    return dict(
        zip(result.assignments["record_key"], result.assignments["customer_id"], strict=True)
    )


def events(result) -> list[tuple]:
    return [
        tuple(e)
        for e in result.events[["event", "customer_id", "related_customer_id"]].itertuples(
            index=False
        )
    ]


def first_run():
    return assign_customer_ids(clusters(["a", "b"], ["c"], ["d", "e"]), None, None)


def test_first_run_creates_one_id_per_cluster():
    result = first_run()
    assert ids(result) == {
        "a": "CM00000001",
        "b": "CM00000001",
        "c": "CM00000002",
        "d": "CM00000003",
        "e": "CM00000003",
    }
    assert events(result) == [
        ("created", "CM00000001", None),
        ("created", "CM00000002", None),
        ("created", "CM00000003", None),
    ]
    assert set(result.registry["status"]) == {"active"}


def test_rerun_on_the_same_data_changes_nothing():
    first = first_run()
    again = assign_customer_ids(
        clusters(["a", "b"], ["c"], ["d", "e"]), first.assignments, first.registry
    )
    assert ids(again) == ids(first) and again.events.empty


def test_a_new_record_joins_an_existing_customer_and_keeps_its_id():
    first = first_run()
    later = assign_customer_ids(
        clusters(["a", "b", "f"], ["c"], ["d", "e"]), first.assignments, first.registry
    )
    assert ids(later)["f"] == "CM00000001" and later.events.empty


def test_merge_keeps_the_larger_customer_id_and_retires_the_other_into_it():
    first = first_run()
    merged = assign_customer_ids(
        clusters(["a", "b", "c"], ["d", "e"]), first.assignments, first.registry
    )
    assert {ids(merged)[k] for k in "abc"} == {"CM00000001"}
    assert events(merged) == [("merged", "CM00000002", "CM00000001")]
    assert resolve_id(merged.registry, "CM00000002") == "CM00000001"  # the old ID still resolves


def test_merge_of_equal_sizes_keeps_the_older_id():
    first = assign_customer_ids(clusters(["a"], ["b"]), None, None)
    merged = assign_customer_ids(clusters(["a", "b"]), first.assignments, first.registry)
    assert ids(merged) == {"a": "CM00000001", "b": "CM00000001"}


def test_split_keeps_the_id_on_the_larger_part():
    first = assign_customer_ids(clusters(["a", "b", "c"]), None, None)
    split = assign_customer_ids(clusters(["a"], ["b", "c"]), first.assignments, first.registry)
    assert ids(split) == {"a": "CM00000002", "b": "CM00000001", "c": "CM00000001"}
    assert events(split) == [("split", "CM00000002", "CM00000001")]


def test_ids_are_never_reused_after_retirement():
    first = first_run()
    gone = assign_customer_ids(clusters(["a", "b"], ["d", "e"]), first.assignments, first.registry)
    assert events(gone) == [("retired", "CM00000002", None)]
    assert resolve_id(gone.registry, "CM00000002") is None
    back = assign_customer_ids(
        clusters(["a", "b"], ["d", "e"], ["x"]), gone.assignments, gone.registry
    )
    assert ids(back)["x"] == "CM00000004"


def test_merge_chains_resolve_to_the_live_id():
    first = assign_customer_ids(clusters(["a"], ["b"], ["c", "d"]), None, None)
    one = assign_customer_ids(clusters(["a", "b"], ["c", "d"]), first.assignments, first.registry)
    two = assign_customer_ids(clusters(["a", "b", "c", "d"]), one.assignments, one.registry)
    assert set(ids(two).values()) == {"CM00000001"}
    assert resolve_id(two.registry, "CM00000002") == "CM00000001"
    assert resolve_id(two.registry, "CM00000003") == "CM00000001"


def test_an_id_never_crosses_entity_types():
    first = assign_customer_ids(clusters(["a", "b"]), None, None)
    retyped = assign_customer_ids(
        clusters(["a", "b"], entity_type="person"), first.assignments, first.registry
    )
    assert set(ids(retyped).values()) == {"CM00000002"}
    assert ("retired", "CM00000001", None) in events(retyped)
