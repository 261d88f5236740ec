"""The cross-reference: which customer every source record belongs to, and since when.

``master.customer_xref`` keeps history (type-2): one row per source record and period in
which it belonged to one customer. The current rows have ``valid_to`` null. A run that
changes nothing writes nothing new; when a record moves to another customer its current
row is closed and a new one opened; a record that left the sources has its row closed.
A record's ``match_probability`` is refreshed when its customer gains or loses a record,
and otherwise kept.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

XREF_COLUMNS = (
    "record_key",
    "customer_id",
    "entity_type",
    "source",
    "match_probability",
    "valid_from",
    "valid_to",
    "run_id",
)


def empty_xref() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in XREF_COLUMNS})
    frame["match_probability"] = frame["match_probability"].astype("float64")
    frame["valid_from"] = pd.Series(dtype="datetime64[us]")
    frame["valid_to"] = pd.Series(dtype="datetime64[us]")
    return frame


def cluster_probabilities(clusters: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Per record: the highest probability linking it to another record of its own cluster.

    Records alone in their cluster get none (NaN): nothing links them.
    """
    cluster = clusters.set_index("record_key")["cluster_id"]
    if pairs.empty:
        return pd.Series(float("nan"), index=cluster.index)
    inside = pairs[
        pairs["record_key_l"].map(cluster).to_numpy()
        == pairs["record_key_r"].map(cluster).to_numpy()
    ]
    both = pd.concat(
        [
            inside[["record_key_l", "match_probability"]].rename(
                columns={"record_key_l": "record_key"}
            ),
            inside[["record_key_r", "match_probability"]].rename(
                columns={"record_key_r": "record_key"}
            ),
        ]
    )
    return both.groupby("record_key")["match_probability"].max().reindex(cluster.index)


def update_xref(
    history: pd.DataFrame, current: pd.DataFrame, run_id: str, now: datetime
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The xref history after this run.

    Args:
        history: every xref row so far (``XREF_COLUMNS``).
        current: this run's ``record_key``, ``customer_id``, ``entity_type``, ``source``,
            ``match_probability``.
        run_id, now: the run that made the change, and when.
    Returns:
        The new history, and counts of records added, moved, removed and unchanged.
    """
    history = history.copy()
    is_open = history["valid_to"].isna()
    open_rows = history[is_open].set_index("record_key")
    incoming = current.set_index("record_key")
    before = open_rows["customer_id"].reindex(incoming.index)
    added = before.isna()
    moved = before.notna() & (before != incoming["customer_id"])
    removed = open_rows.index.difference(incoming.index)

    close = history["record_key"].isin(incoming.index[moved.to_numpy()].union(removed)) & is_open
    history.loc[close, "valid_to"] = now
    # unchanged rows keep their period. Their probability follows this run's clustering where
    # the customer gained or lost a record; elsewhere it stays, so that a few new records (which
    # shift the model's term frequencies a little for everyone) change only their customers' rows
    touched = (
        set(incoming.loc[(added | moved).to_numpy(), "customer_id"])
        | set(before[moved])
        | set(open_rows.loc[removed, "customer_id"])
    )
    same = (
        history["record_key"].isin(incoming.index[~(added | moved).to_numpy()])
        & history["valid_to"].isna()
        & history["customer_id"].isin(touched)
    )
    history.loc[same, "match_probability"] = history.loc[same, "record_key"].map(
        incoming["match_probability"]
    )
    opened = incoming[(added | moved).to_numpy()].reset_index()
    opened = opened.assign(valid_from=now, valid_to=pd.NaT, run_id=run_id)[list(XREF_COLUMNS)]
    parts = [_timestamps_in_us(f) for f in (history, opened) if len(f)]
    out = pd.concat(parts, ignore_index=True) if parts else empty_xref()
    out = out.sort_values(["record_key", "valid_from"], ignore_index=True)
    counts = {
        "records_added": int(added.sum()),
        "records_moved": int(moved.sum()),
        "records_removed": len(removed),
        "records_unchanged": int((~(added | moved)).sum()),
    }
    return out[list(XREF_COLUMNS)], counts


def _timestamps_in_us(frame: pd.DataFrame) -> pd.DataFrame:
    """valid_from / valid_to in microseconds always: an all-empty valid_to must not turn into
    nanoseconds, which DuckDB stores (and exports) as another type."""
    return frame.assign(
        valid_from=pd.to_datetime(frame["valid_from"]).astype("datetime64[us]"),
        valid_to=pd.to_datetime(frame["valid_to"]).astype("datetime64[us]"),
    )
