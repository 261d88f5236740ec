"""Connected components of linked records, with the smallest record key as cluster id."""

import random

import pandas as pd
import pytest

from matching.linkage.components import cluster_pairs


def pairs(*rows):
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_probability"])


def as_dict(clusters: pd.DataFrame) -> dict:
    return dict(zip(clusters["record_key"], clusters["cluster_id"], strict=True))


def test_links_chain_and_singletons_stay_alone():
    edges = pairs(("b", "c", 0.99), ("c", "d", 0.95), ("e", "f", 0.2))
    out = cluster_pairs(["f", "e", "d", "c", "b", "a"], edges, 0.9)
    assert list(out.columns) == ["record_key", "cluster_id"]
    assert list(out["record_key"]) == ["a", "b", "c", "d", "e", "f"]
    assert as_dict(out) == {"a": "a", "b": "b", "c": "b", "d": "b", "e": "e", "f": "f"}


def test_probability_at_the_threshold_links():
    out = cluster_pairs(["x", "y"], pairs(("x", "y", 0.9)), 0.9)
    assert as_dict(out) == {"x": "x", "y": "x"}


def test_cluster_id_is_the_smallest_key_whatever_the_pair_order():
    edges = pairs(("dealers:9", "regional:1", 1.0), ("key_accounts:5", "dealers:9", 1.0))
    out = cluster_pairs(["regional:1", "key_accounts:5", "dealers:9"], edges, 0.5)
    assert set(out["cluster_id"]) == {"dealers:9"}


def test_no_pairs_gives_singletons():
    out = cluster_pairs(["a", "b"], pairs(), 0.5)
    assert as_dict(out) == {"a": "a", "b": "b"}


def test_matches_a_plain_graph_search_on_a_random_graph():
    rng = random.Random(3)
    keys = [f"k{i:04d}" for i in range(3000)]
    edges = [(rng.choice(keys), rng.choice(keys)) for _ in range(2500)]
    edges = [(min(a, b), max(a, b), 1.0) for a, b in edges if a != b]
    rng.shuffle(keys)
    out = as_dict(cluster_pairs(keys, pairs(*edges), 0.5))

    neighbours: dict[str, set[str]] = {k: set() for k in keys}
    for a, b, _ in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    expected: dict[str, str] = {}
    for start in keys:
        if start in expected:
            continue
        seen, todo = {start}, [start]
        while todo:
            for nxt in neighbours[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        for k in seen:
            expected[k] = min(seen)
    assert out == expected


def test_unknown_or_repeated_keys_are_refused():
    with pytest.raises(ValueError, match="not in record_keys: z"):
        cluster_pairs(["a", "b"], pairs(("a", "z", 1.0)), 0.5)
    with pytest.raises(ValueError, match="unique"):
        cluster_pairs(["a", "a"], pairs(), 0.5)
