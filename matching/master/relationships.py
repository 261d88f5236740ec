"""Relationships between golden customers, each with its evidence and a confidence.

Read from the current xref, so a relationship always points to live customer IDs (after a
merge, to the survivor) and never to a retired one. An incremental sync keeps which records
a mentioned name matched (``mentioned_relationships``) and the relationships read from the
records between two customers it did not touch (``matching.master.record_relationships``).

- ``employment`` (company → person): the person is named as contact on the company's
  records; evidence: the contact records. Stated by the source: confidence 1.
- ``family`` (person → person): two customers with the same surname at the same street
  and number who share a landline (in the phone column or beside another number in a
  cell), or who live in the same flat (the same address down to the room, unit, building
  of a compound or floor); read over all records of the two; evidence:
  one record of each. Inferred: confidence 0.8.
- ``served_by_dealer`` (customer → dealer): a record of the customer carries the dealer
  code of a customer who is that dealer (``own_dealer_code``); evidence: those records.

- ``holding`` (parent → subsidiary): a record names its parent company; the name is
  resolved to a golden company by the company model (``matching.master.mentions``), not by exact
  string; confidence: the match probability of that resolution.
- ``referral`` (referrer → referred): a record names who referred the customer; resolved
  to a golden person the same way.
- ``holding`` is also inferred from names: a group company registered without a place
  (``快心电脑股份有限公司``) and companies of the same name with a place in front or in
  brackets (``快心电脑（福州）有限公司``, ``福州快心电脑有限公司``), as groups name their
  subsidiaries; a regional office's rows name no parent. Inferred: confidence 0.7.
- ``branch`` (head office → branch): a company's name is its head office's name with the
  branch's place and 分公司 after it (``matching.master.branches``); the head office's name
  is resolved the same way, among companies that are not branches themselves.
- ``owned_by`` (individual business → owner): a company (个体工商户) whose name opens with
  a person customer's full name (``张伟文印店``, ``厦门张伟文印店``, or just ``张伟``) and that shares a number
  (phone, mobile or a further number of a cell) or the street and number with that
  person, or whose row names that person as its contact; evidence: one record of each. Inferred:
  confidence 0.9. A name alone is not enough (张伟 is many people), and neither is a
  mobile alone (a company row's mobile is often its contact person's). A rare name is
  enough: a shop staging read as an individual business named after its owner
  (``business_owner_name``) is related to the person customer of that name in the same
  city when no other person customer (contact persons included) bears the name and at
  most ``OWNER_NAME_MAX_TF`` of the person records do (on the demo: 3 more shops
  related, none wrongly).
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from matching.linkage.features import prepare_records
from matching.linkage.junk import SHARED, JunkRules
from matching.linkage.prepared_store import SUPPRESSED_VALUES
from matching.master.branches import BRANCH_WORDS, head_office_name, is_branch_name
from matching.master.built_from import (
    CUSTOMER_VALUES,
    diff_snapshots,
    keep_snapshot,
    take_snapshot,
)
from matching.master.mention_names import MentionNames
from matching.master.mentions import (
    MATCH_COLUMNS,
    NameGroup,
    best_customers,
    grouped_mention_matches,
    scores_drift,
)
from matching.master.record_relationships import RELATIONSHIPS_READ, read_relationships
from warehouse.store import replace_table, table_exists, transaction
from warehouse.views import CURRENT_RECORDS

RELATIONSHIP_COLUMNS = (
    "from_customer_id",
    "to_customer_id",
    "relationship_type",
    "evidence",
    "confidence",
    "inferred",
)
logger = logging.getLogger(__name__)

#: What the relationships were last built from (``matching.master.built_from``).
RELATIONSHIP_INPUTS = "master.relationship_inputs"
#: Every name the last build resolved, per kind, with each record it matched at or above
#: the threshold (``record_key`` null: it matched none): what an incremental build keeps.
MENTION_MATCHES = "master.mention_matches"
#: The kinds of relationship read from a mentioned name: the column that holds the name
#: (None: the head office's name in a branch's own name), the entity type it names.
_MENTIONED = (
    ("holding", "parent_company_name", "company"),
    ("referral", "referrer_name", "person"),
    ("branch", None, "company"),
)


def mentioned_relationships(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]],
    junk: JunkRules | None = None,
    changed: set[str] | None = None,
) -> list[pd.DataFrame]:
    """Holding, referral and branch relationships from names mentioned on records (a branch
    mentions its head office in its own name), resolved by the models.

    Keeps what each name matched (``master.mention_matches``). ``changed``: the records new,
    removed or changed since the last build (an incremental sync): score only the pairs of
    a name not mentioned at the last build or of such a record, and of a name holding a
    value that crossed its limit since, among the names or the records (``RECORD_CAPS``);
    keep the other pairs' matches. Names whose scores move with the other records (``scores_drift``: a person's
    name, by its frequency) are scored whole on every sync, so the relationships equal a
    whole build's. Either way only the names the last build did not stage are staged
    (``master.mention_names``, :mod:`matching.master.mention_names`).
    """
    if not all(table_exists(con, *t.split(".")) for t in (MENTION_MATCHES, RECORD_CAPS)):
        changed = None
    kept = con.sql(f"FROM {MENTION_MATCHES}").df() if changed is not None else pd.DataFrame()
    # the names staged by the last build (a whole build stages every name again)
    names_kept = MentionNames.read(con) if changed is not None else MentionNames()
    types = sorted({e for _, _, e in _MENTIONED if e in models})
    # the sync's prepared records, when it kept them: the names are scored against those of
    # them they can pair with, read from the warehouse (``mention_matches(store=...)``), and
    # the records a name may mean stay there too (``_candidate_tables``); else every staged
    # column of every record is read here, to be prepared
    store = con if table_exists(con, "matching", "prepared_records") else None
    if store is None:
        records: dict[str, pd.DataFrame | str] = {
            entity_type: con.sql(f"FROM {CURRENT_RECORDS} WHERE entity_type = '{entity_type}'").df()
            for entity_type in types
        }
    else:
        records = _candidate_tables(con, types)
    caps_moved = _record_caps_moved(con, types, records, junk, store, changed is not None)
    try:
        return _mentioned(
            con, models, junk, changed, kept, names_kept, types, records, store, caps_moved
        )
    finally:
        for table in (_CANDIDATES, _BRANCHES):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _mentioned(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]],
    junk: JunkRules | None,
    changed: set[str] | None,
    kept: pd.DataFrame,
    names_kept: MentionNames,
    types: list[str],
    records: dict[str, pd.DataFrame | str],
    store: duckdb.DuckDBPyConnection | None,
    caps_moved: dict[str, pd.DataFrame],
) -> list[pd.DataFrame]:
    """:func:`mentioned_relationships` of the records of each entity type (``records``: a
    frame, or a query of ``store``: ``_candidate_tables``; ``caps_moved``: per entity
    type, the records' values that crossed their limit since the last build)."""
    read = []  # per kind: its mentioning records, candidates, names and kept matches
    for kind, column, entity_type in _MENTIONED:
        if entity_type not in models:
            continue
        mentioning, candidates = _mentioning(records[entity_type], con, kind, column)
        names = mentioning["name"].drop_duplicates()
        before, last = None, None
        if changed is not None and not scores_drift(models[entity_type]):
            last = set(kept.loc[kept["kind"] == kind, "name"])
            before = kept[(kept["kind"] == kind) & kept["name"].isin(names)]
        read.append((kind, entity_type, mentioning, candidates, names, before, last))
    # the names of one entity type scored together: one prediction for the parent companies
    # and head offices where it scores as one per kind (``grouped_mention_matches``)
    scored = {}
    for entity_type in types:
        mine = [r for r in read if r[1] == entity_type]
        groups = [
            NameGroup(
                names,
                candidates,
                None if before is None else set(names) - set(before["name"]),
                last_names=last,
            )
            for _, _, _, candidates, names, before, last in mine
        ]
        whole = all(r[5] is None for r in mine)
        found = grouped_mention_matches(
            groups,
            models[entity_type],
            entity_type,
            junk,
            changed_records=None if whole else changed,
            names_kept=names_kept,
            store=store,
            record_caps_moved=None if whole else caps_moved.get(entity_type),
        )
        scored.update(
            {r[0]: (matches, g.rescored) for r, g, matches in zip(mine, groups, found, strict=True)}
        )
    out, matched = [], []
    for kind, _, mentioning, candidates, names, before, _ in read:
        matches, rescored = scored[kind]
        if before is not None:
            assert changed is not None
            before = before[
                before["record_key"].notna()
                & ~before["record_key"].isin(changed)
                & ~before["name"].isin(rescored)
            ]
            both = [part for part in (before[list(MATCH_COLUMNS)], matches) if len(part)]
            matches = pd.concat(both, ignore_index=True) if both else matches
        unmatched = names[~names.isin(matches["name"])]
        matched += [
            _match_rows(kind, matches),
            _match_rows(kind, pd.DataFrame({"name": unmatched})),
        ]
        resolved = best_customers(matches, _customers_of(candidates, matches["record_key"], con))
        out.append(_resolved(mentioning, resolved, kind))
    if matched:
        replace_table(con, "master", "mention_matches", pa.concat_tables(matched))
    names_kept.keep(con)
    return [part for part in out if not part.empty]


#: The values shared by too many records (``entity_type``, ``column``, ``value``: those
#: of ``matching.suppressed_values``) when the names' matches were last built: a value
#: that crossed its limit since blocks otherwise the names that hold it, though none of
#: its records changed.
RECORD_CAPS = "master.mention_record_caps"


def _record_caps_moved(
    con: duckdb.DuckDBPyConnection,
    types: list[str],
    records: dict[str, pd.DataFrame | str],
    junk: JunkRules | None,
    store: duckdb.DuckDBPyConnection | None,
    compare: bool,
) -> dict[str, pd.DataFrame]:
    """Per entity type, the records' values (``column``, ``value``) over their limit now
    and not at the last build, or the reverse (``compare``; else none); keeps those of now
    as ``RECORD_CAPS`` for the next build. Read from the sync's prepared records' caps
    (``matching.suppressed_values``), or counted over ``records`` when it has none."""
    if store is not None:
        now = con.sql(
            f"""SELECT entity_type, "column", value FROM {SUPPRESSED_VALUES}
                WHERE reason = '{SHARED}'"""
        ).df()
    else:
        parts = []
        for entity_type, frame in records.items():
            if isinstance(frame, pd.DataFrame) and not frame.empty:
                over = prepare_records(frame, entity_type, junk).suppressed
                over = over[over["reason"] == SHARED].assign(entity_type=entity_type)
                parts.append(over[["entity_type", "column", "value"]])
        now = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(
                {c: pd.Series(dtype=object) for c in ("entity_type", "column", "value")}
            )
        )
    now = now[now["entity_type"].isin(types)]
    moved: dict[str, pd.DataFrame] = {}
    if compare:
        then = con.sql(f"FROM {RECORD_CAPS}").df()
        both = pd.concat([now, then], ignore_index=True).drop_duplicates(keep=False)
        moved = {t: both[both["entity_type"] == t] for t in types}
    schema, table = RECORD_CAPS.split(".")
    replace_table(
        con,
        schema,
        table,
        pa.Table.from_pandas(now.reset_index(drop=True), schema=_CAPS_SCHEMA, preserve_index=False),
    )
    return moved


_CAPS_SCHEMA = pa.schema(
    [("entity_type", pa.string()), ("column", pa.string()), ("value", pa.string())]
)


#: The temp table of the current records of the entity types whose names are resolved
#: (``record_key``, ``customer_id``, ``entity_type``): the records a name may mean.
_CANDIDATES = "__candidates"
#: The temp table of the company records that are branches (``record_key``): a branch's
#: head office is none of them.
_BRANCHES = "__branches"
#: A company name that may end as a branch's (one holding a word of ``BRANCH_WORDS``, as
#: every name ``matching.master.branches.BRANCH_SUFFIX`` matches does): only those are read
#: to be tested.
_MAY_BE_BRANCH = "(" + " OR ".join(f"lower(s.name) LIKE '%{word}%'" for word in BRANCH_WORDS) + ")"


def _candidate_tables(
    con: duckdb.DuckDBPyConnection, types: list[str]
) -> dict[str, pd.DataFrame | str]:
    """Per entity type, the query of its current records (``record_key``, ``customer_id``)
    in the warehouse: the records a name may mean, taken in one pass (``_CANDIDATES``).

    Read into this process instead, every company and person record was read, matched
    against the pairs and the changed records in pandas and handed back to DuckDB to choose
    the records a name can pair with, on every sync."""
    if not types:
        return {}
    listed = ", ".join(f"'{entity_type}'" for entity_type in types)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_CANDIDATES} AS
            SELECT record_key, customer_id, entity_type FROM {CURRENT_RECORDS}
            WHERE entity_type IN ({listed})"""
    )
    return {
        entity_type: f"""(SELECT record_key, customer_id FROM {_CANDIDATES}
            WHERE entity_type = '{entity_type}')"""
        for entity_type in types
    }


def _customers_of(
    candidates: pd.DataFrame | str, keys: pd.Series, con: duckdb.DuckDBPyConnection
) -> pd.Series:
    """record_key → customer_id of those of ``keys`` that are ``candidates`` (a frame, or a
    query of ``con``)."""
    if not isinstance(candidates, str):
        return candidates.set_index("record_key")["customer_id"]
    wanted = [key for key in keys.dropna().unique() if isinstance(key, str)]
    con.register("__keys", pa.table({"record_key": pa.array(wanted, pa.string())}))
    try:
        found = con.sql(
            f"""SELECT record_key, customer_id FROM {candidates}
                WHERE record_key IN (SELECT record_key FROM __keys)"""
        ).df()
    finally:
        con.unregister("__keys")
    return found.set_index("record_key")["customer_id"]


def _mentioning(
    records: pd.DataFrame | str, con: duckdb.DuckDBPyConnection, kind: str, column: str | None
) -> tuple[pd.DataFrame, pd.DataFrame | str]:
    """The records that mention a name of ``kind`` (``record_key``, ``customer_id``,
    ``name``) and the records the names are resolved among (``records``, a frame or a
    query of ``con``, or for a branch's head office those of them that are no branch)."""
    if column is not None:
        mentioning = con.sql(
            f"""SELECT record_key, customer_id, {column} AS name FROM {CURRENT_RECORDS}
                WHERE {column} IS NOT NULL"""
        ).df()
        return mentioning, records
    if isinstance(records, str):
        named = con.sql(
            f"""SELECT c.record_key, c.customer_id, s.name
                FROM staging.customers s JOIN {records} c USING (record_key)
                WHERE {_MAY_BE_BRANCH}"""
        ).df()
    else:
        named = records
    branch = is_branch_name(named["name"])
    mentioning = pd.DataFrame(
        {
            "record_key": named.loc[branch, "record_key"],
            "customer_id": named.loc[branch, "customer_id"],
            "name": named.loc[branch, "name"].map(head_office_name),
        }
    ).dropna(subset=["name"])
    if not isinstance(records, str):
        return mentioning, records[~branch]
    branches = pa.table({"record_key": pa.array(named.loc[branch, "record_key"], pa.string())})
    con.register("__branch_keys", branches)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_BRANCHES} AS FROM __branch_keys")
    finally:
        con.unregister("__branch_keys")
    head_offices = f"""(SELECT * FROM {records} AS c
        WHERE c.record_key NOT IN (SELECT record_key FROM {_BRANCHES}))"""
    return mentioning, head_offices


#: Columns of ``master.mention_matches``.
_MATCH_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("name", pa.string()),
        ("record_key", pa.string()),
        ("probability", pa.float64()),
    ]
)


def _match_rows(kind: str, matches: pd.DataFrame) -> pa.Table:
    """Rows of ``master.mention_matches`` for names of ``kind`` (a name without
    ``record_key``: it matched none)."""
    columns = {
        "kind": pa.array([kind] * len(matches), pa.string()),
        "name": pa.array(matches["name"], pa.string()),
    }
    for column in ("record_key", "probability"):
        field = _MATCH_SCHEMA.field(column)
        values = matches[column] if column in matches else [None] * len(matches)
        columns[column] = pa.array(values, field.type, from_pandas=True)
    return pa.table(columns, schema=_MATCH_SCHEMA)


def _resolved(mentioning: pd.DataFrame, resolved: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Relationships from the named customer to the mentioning one (``record_key``,
    ``customer_id``, ``name``), by the names' resolutions.

    Grouped by pandas' own aggregations, not a Python call per pair of customers: at 100k
    source records the loop took 2.8 s of the step's 34 s.
    """
    joined = mentioning.merge(resolved, on="name", suffixes=("", "_named"))
    joined = joined[joined["customer_id_named"] != joined["customer_id"]]
    if joined.empty:
        return pd.DataFrame(columns=list(RELATIONSHIP_COLUMNS))
    # sorted first, so each pair's evidence lists its records in order
    grouped = (
        joined.sort_values("record_key")
        .groupby(["customer_id_named", "customer_id"], sort=True)
        .agg(evidence=("record_key", list), confidence=("probability", "max"))
        .reset_index()
    )
    return pd.DataFrame(
        {
            "from_customer_id": grouped["customer_id_named"],
            "to_customer_id": grouped["customer_id"],
            "relationship_type": kind,
            "evidence": grouped["evidence"],
            "confidence": grouped["confidence"].astype(float),
            "inferred": False,
        }
    )


#: The relationships of mentioned names at the last build (holding, referral, branch), before
#: they were merged with those read from the records: what an incremental build compares
#: its own with, to write again only the pairs whose relationships moved.
RELATIONSHIPS_MENTIONED = "master.relationships_mentioned"
#: The customers whose rows of ``master.relationships`` (as ``from_customer_id``) an
#: incremental build deleted or wrote since the serving index was last published (a
#: customer may be listed more than once). Added to while it is kept; a whole build drops
#: it (every row is new to it); the serving step reads it instead of hashing every row of
#: the table on both sides, and starts it empty once its index is published
#: (``warehouse.serving``). Absent: the serving step compares the whole table.
RELATIONSHIPS_TOUCHED = "master.relationships_touched"
#: How ``master.relationships`` is ordered when written whole (an incremental build updates
#: it in place: readers order what they read, as the published files do).
RELATIONSHIP_ORDER = "relationship_type, from_customer_id, to_customer_id"


def _merged(where: str = "true") -> str:
    """The rows of ``master.relationships`` whose pair and type meet ``where``: the
    relationships of mentioned names (``__mentioned``) beside those read from the records,
    one row per pair and type, a stated relationship winning over the same one inferred,
    then the more confident (then the first evidence). ``where`` names only the pair and
    type, so the rows it keeps are those of the whole merge."""
    columns = ", ".join(RELATIONSHIP_COLUMNS)
    return f"""
    SELECT {columns} FROM (
        SELECT {columns} FROM {RELATIONSHIPS_READ} WHERE {where}
        UNION ALL
        SELECT {columns} FROM __mentioned WHERE {where})
    QUALIFY row_number() OVER (
        PARTITION BY from_customer_id, to_customer_id, relationship_type
        ORDER BY inferred, confidence DESC, evidence) = 1
    ORDER BY {RELATIONSHIP_ORDER}"""


def _write_merged(con: duckdb.DuckDBPyConnection, affected: str | None) -> None:
    """Write ``master.relationships`` from ``master.relationships_read`` and the relationships
    of mentioned names (``__mentioned``), and keep the latter (``RELATIONSHIPS_MENTIONED``).

    ``affected``: the temp table of the customers whose relationships read from the records
    were read again (:func:`matching.master.record_relationships.read_relationships`); None:
    they were all read. Given, and the last build's tables kept, only the rows of a pair with
    an affected customer, or whose relationship of a mentioned name came, went or changed,
    are deleted and merged again: every other pair's rows are the same on both sides of the
    merge, so its row is the one a whole merge gives. A whole merge rewrote every row (at
    100k source records 0.13-0.15 CPU-seconds for 80,000 rows; some 800,000 with their lists
    of evidence at 1M); a 1% day moves a few thousand.
    """
    kept = affected is not None and all(
        table_exists(con, *table.split("."))
        for table in ("master.relationships", RELATIONSHIPS_MENTIONED)
    )
    if not kept:
        con.execute(f"DROP TABLE IF EXISTS {RELATIONSHIPS_TOUCHED}")
        con.execute(f"CREATE OR REPLACE TABLE master.relationships AS {_merged()}")
    else:
        pair = "from_customer_id, to_customer_id, relationship_type"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __moved AS SELECT DISTINCT {pair} FROM (
                    (FROM __mentioned EXCEPT FROM {RELATIONSHIPS_MENTIONED})
                    UNION ALL
                    (FROM {RELATIONSHIPS_MENTIONED} EXCEPT FROM __mentioned))"""
        )
        again = (
            f"from_customer_id IN (FROM {affected}) OR to_customer_id IN (FROM {affected})"
            f" OR ({pair}) IN (FROM __moved)"
        )
        logged = table_exists(con, *RELATIONSHIPS_TOUCHED.split("."))
        if logged:  # the rows deleted, then those written: the same filter holds for both
            _log_touched(con, again)
        con.execute(f"DELETE FROM master.relationships WHERE {again}")
        written = con.execute(f"INSERT INTO master.relationships {_merged(again)}").fetchall()
        if logged:
            _log_touched(con, again)
        con.execute("DROP TABLE __moved")
        logger.info("relationships: %d rows written again in place", written[0][0])
    con.execute(f"CREATE OR REPLACE TABLE {RELATIONSHIPS_MENTIONED} AS FROM __mentioned")


def _log_touched(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Add the customers of the rows of ``master.relationships`` where ``rows`` holds to
    :data:`RELATIONSHIPS_TOUCHED` (the serving index orders the table by ``from_customer_id``)."""
    con.execute(
        f"INSERT INTO {RELATIONSHIPS_TOUCHED} "
        f"SELECT DISTINCT from_customer_id FROM master.relationships WHERE {rows}"
    )


#: Columns of the relationships of mentioned names, as ``master.relationships`` has them.
_RELATIONSHIP_SCHEMA = pa.schema(
    [
        ("from_customer_id", pa.string()),
        ("to_customer_id", pa.string()),
        ("relationship_type", pa.string()),
        ("evidence", pa.list_(pa.string())),
        ("confidence", pa.float64()),
        ("inferred", pa.bool_()),
    ]
)


def write_relationships(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]] | None = None,
    junk: JunkRules | None = None,
    incremental: bool = False,
    inputs: str = CUSTOMER_VALUES,
) -> dict[str, int]:
    """Write ``master.relationships``: every relationship between current customers
    (holding, referral and branch need the models); returns the count per type.

    ``inputs``: the query of what the relationships are built from now
    (``matching.master.built_from.CUSTOMER_VALUES``, or the same rows read from a snapshot
    already taken of now: ``customer_values_of``).

    ``incremental``: the relationships read from the records are read again only where a
    customer touched since the last build takes part (``matching.master.record_relationships``),
    names mentioned on records are scored only against what changed
    (:func:`mentioned_relationships`), and ``master.relationships`` is updated in place,
    for those customers and the pairs whose relationships of mentioned names moved
    (:func:`_write_merged`). The relationships read from the records are merged with those
    of the names in the warehouse: they never pass through pandas.
    """
    with transaction(con):  # the tables kept for the next day change together or not at all
        _write_all(con, models, junk, incremental, inputs)
    counts = con.execute(
        "SELECT relationship_type, count(*) FROM master.relationships GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return dict(counts)


def _write_all(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]] | None,
    junk: JunkRules | None,
    incremental: bool,
    inputs: str,
) -> None:
    """:func:`write_relationships`'s work, in the caller's transaction: the relationships
    read from the records (``master.relationships_read``), the names' matches and staged
    names, ``master.relationships`` and the snapshot of what they were built from are
    updated in place one after the other, so a sync stopped between two of them must leave
    none changed: an incremental build starts from the snapshot, and a record that changed
    and changed back would otherwise keep the relationships read from its short-lived
    values."""
    take_snapshot(con, "__relationship_inputs", inputs)
    diff = (
        diff_snapshots(con, "__relationship_inputs", RELATIONSHIP_INPUTS) if incremental else None
    )
    touched = None if diff is None else diff.touched
    changed = None if diff is None else diff.changed
    affected = read_relationships(con, touched)
    mentioned = mentioned_relationships(con, models, junk, changed) if models else []
    con.register("__mentioned", _as_table(mentioned))
    try:
        _write_merged(con, affected)
    finally:
        con.unregister("__mentioned")
        if affected is not None:
            con.execute(f"DROP TABLE IF EXISTS {affected}")
    if diff is None:
        keep_snapshot(con, "__relationship_inputs", RELATIONSHIP_INPUTS)
    else:  # only the records new, gone or moved since the last build: about 1% on a day
        diff.keep(con)


def build_relationships(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]] | None = None,
    junk: JunkRules | None = None,
    incremental: bool = False,
) -> pd.DataFrame:
    """:func:`write_relationships`, and the table it wrote, in the order a whole build
    writes it."""
    write_relationships(con, models, junk, incremental)
    return con.sql(f"FROM master.relationships ORDER BY {RELATIONSHIP_ORDER}").df()


def _as_table(parts: list[pd.DataFrame]) -> pa.Table:
    """The relationships of mentioned names as one table of ``_RELATIONSHIP_SCHEMA``."""
    if not parts:
        return _RELATIONSHIP_SCHEMA.empty_table()
    frame = pd.concat(parts, ignore_index=True)[list(RELATIONSHIP_COLUMNS)]
    return pa.Table.from_pandas(frame, schema=_RELATIONSHIP_SCHEMA, preserve_index=False)
