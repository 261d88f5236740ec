"""Names mentioned on records (a parent company, a referrer), resolved to golden customers.

A dealer writes the parent company by hand ("信创办公设备股份有限公司"), a regional office the
name of whoever referred a customer. Exact string lookup would miss every variant, so the
distinct mentioned names are staged as records of their own, by the pipeline's staging
code, and scored against the master's records with the entity type's saved model, in one
blocked prediction (it scales like the nightly prediction). The best-scoring customer at or
above the threshold is the one the name means.

**What the threshold weighs.** The model's own prior (``probability_two_random_records_match``)
is the chance that two records of the master are one customer: about one in the number of
records, so it shrinks as the master grows, while the evidence of a name written exactly
as a record's (the name comparison's "same name core" level, not adjusted by term
frequency for companies) does not grow as fast. Scored with it, an exact group name
against its own record was 0.418 at 100k source records (prior 2.8e-5, 7.9e-4 on the
demo), and holding names resolved fell from 25 of 34 on the demo to 20 of 761 at 100k and
0 at 1M. A mention is not a random record, though: it is a name someone wrote to mean a
customer. So it is scored with a prior of its own (:func:`mention_prior`): the prior
under which the name comparison's exact level alone leaves it even (probability 0.5)
whether the record is the one meant or a namesake. What else the pair shows then decides,
whatever the size of the master: a legal form or place that agrees (a group
``快心电脑股份有限公司`` against its own record: 0.56 with the 100k model's weights) tips
it to the record, one that disagrees (the same name against a subsidiary
``快心电脑（福州）有限公司``: 0.27) away from it, and a person's name counts by its rarity
(term frequencies, counted over the records only: a name is not its own namesake): a name
rarer than the model's average same-name pair resolves, 张伟 does not. Both sides of the
rule are the same model's weights, so it says the same at 5,000 records and at a million.
Measured against the truth (holding and referral as stated on records, inferred ones
apart): on the demo holding stays 45 found, all right, and referral goes from 0 to 5 of
35 (all right); at 100k holding goes from 5 to 955 found (precision 0.998, recall 0.003
to 0.63), referral from 0 to 253 (0.992) and branch from 724 to 759 (precision 0.9945
to 0.9881, recall 0.884 to 0.925).

Only pairs of a name and a record are scored: the blocking rules are narrowed to them, so
the prediction no longer scores the records among themselves (at 1M source records that
was 99% of the pairs and most of the 135 s the relationships took). Every record is still
read, so the term frequencies and junk values, and with them each pair's score, are those
of the whole prediction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.caps import cap_shared_values
from matching.linkage.features import PreparedRecords, capped_records, prepare_records
from matching.linkage.junk import SHARED, JunkRules
from matching.linkage.pairable import (
    PairableRecords,
    load_pairable_with,
    sharing_blocking_values,
)
from matching.linkage.prediction import narrowed_blocking, predict_pairs
from matching.linkage.prepared_store import load_prepared
from matching.linkage.prepared_table import BLOCK_KEY_COLUMNS
from matching.master.mention_names import MentionNames

MENTION_PREFIX = "mention:"
#: Least probability, under :func:`mention_prior`, at which a mentioned name is taken to
#: mean a customer.
RESOLVE_THRESHOLD = 0.5
#: Columns of :func:`mention_matches`: a name, a record it matched, and how well.
MATCH_COLUMNS = ("name", "record_key", "probability")
#: A blocking-rule condition true for a pair of a mentioned name and a record only.
_NAME_AND_RECORD = f"(starts_with(l.record_key, '{MENTION_PREFIX}') <> starts_with(r.record_key, '{MENTION_PREFIX}'))"


def resolve_names(
    names: pd.Series,
    records: pd.DataFrame,
    model: dict[str, Any],
    entity_type: str,
    junk: JunkRules | None = None,
    threshold: float = RESOLVE_THRESHOLD,
) -> pd.DataFrame:
    """The customer each distinct name most likely means.

    Args:
        names: mentioned names (standardised text, as staging keeps them).
        records: the master's records of ``entity_type``: staged columns plus ``customer_id``.
        model: the entity type's saved model.
    Returns:
        ``name``, ``customer_id``, ``probability`` for names resolved at or above ``threshold``.
    """
    matches = mention_matches(names, records, model, entity_type, junk, threshold)
    return best_customers(matches, records.set_index("record_key")["customer_id"])


def mention_matches(
    names: pd.Series,
    records: pd.DataFrame,
    model: dict[str, Any],
    entity_type: str,
    junk: JunkRules | None = None,
    threshold: float = RESOLVE_THRESHOLD,
    *,
    new_names: Collection[str] | None = None,
    changed_records: Collection[str] | None = None,
    prepared: PreparedRecords | None = None,
    names_kept: MentionNames | None = None,
    store: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """Every record each distinct name matches at or above ``threshold``.

    Args:
        names: mentioned names (standardised text, as staging keeps them).
        records: the master's records of ``entity_type`` (staged columns; with
            ``prepared``, ``record_key`` is enough).
        model: the entity type's saved model.
        prepared: the sync's prepared records of ``entity_type``
            (``matching.linkage.prepared_store``); those of ``records`` are scored. Without
            it ``records`` are prepared here. The names are prepared on their own, so a
            record is compared as the sync's matching compared it.
        new_names, changed_records: when given (an incremental sync), only the pairs of a
            new name or of a new or changed record are scored, and those of a name holding
            a value that a new name pushed over its limit (:func:`moved_by_caps`); all
            names and records are still read, so each of those pairs scores as in a whole
            scoring.
        names_kept: the names the last build staged (``matching.master.mention_names``):
            only the others are staged now. None: every name is staged.
        store: the warehouse holding the sync's prepared records
            (``matching.prepared_records``): only those of ``records`` that can pair with a
            name scored, and the term-frequency columns of all of them, are read from it,
            in SQL (:func:`matching.linkage.pairable.load_pairable_with`); ``prepared``
            is then not needed. At 1M source records reading every prepared record into
            this process was most of the step on a 1% day.

    Only the records that share a blocking value with a name scored are blocked
    (:func:`pairable_records`): every pair scored holds a name, so the others pair with
    nothing. At 100k source records a referrer's names, scored whole on every sync, are
    blocked against a few thousand of the 80,000 person records.
    Returns:
        ``name``, ``record_key``, ``probability``; a name that matches nothing has no row.
    """
    (matches,) = grouped_mention_matches(
        [NameGroup(names, records, new_names)],
        model,
        entity_type,
        junk,
        threshold,
        changed_records=changed_records,
        prepared=prepared,
        names_kept=names_kept,
        store=store,
    )
    return matches


@dataclass(frozen=True)
class NameGroup:
    """Names of one kind (parent companies, head offices), the records they may mean
    (``record_key``, and the staged columns when the records are prepared here) and, on an
    incremental sync, those of the names not mentioned at the last build (None: score the
    names whole).

    ``records`` may instead be a table or a parenthesised query of the warehouse (``store``)
    with a ``record_key`` per record: the records are then never read into this process,
    only asked whether they hold a few keys (:func:`candidates_among`). Every company or
    person record is the candidate of a name: read into pandas, they were matched against
    the pairs and the changed records there and handed back to DuckDB on every sync."""

    names: pd.Series
    records: pd.DataFrame | str
    new_names: Collection[str] | None = None
    #: the group's names at the last build (None: those of ``names`` not new): a value the
    #: names came or went from may have crossed its limit (:func:`moved_by_caps`)
    last_names: Collection[str] | None = None
    #: filled by :func:`grouped_mention_matches`: the names not new whose pairs were all
    #: scored again, a value they hold having crossed its limit (their kept matches are stale)
    rescored: set[str] = field(default_factory=set)


def candidates_among(
    records: pd.DataFrame | str,
    keys: Collection[str],
    store: duckdb.DuckDBPyConnection | None = None,
) -> set[str]:
    """Those of ``keys`` that are records of ``records`` (a frame, or a table or query of
    ``store``: :class:`NameGroup`)."""
    if not isinstance(records, str):
        return set(keys) & set(records["record_key"])
    if not keys:
        return set()
    if store is None:
        raise ValueError(f"records in table {records} need the warehouse (store) holding it")
    store.register("__keys", pa.table({"record_key": pa.array(sorted(keys), pa.string())}))
    try:
        found = store.execute(
            f"""SELECT record_key FROM {records}
                WHERE record_key IN (SELECT record_key FROM __keys)"""
        ).fetchall()
    finally:
        store.unregister("__keys")
    return {key for (key,) in found}


def _no_records(records: pd.DataFrame | str, store: duckdb.DuckDBPyConnection | None) -> bool:
    """Whether ``records`` (:class:`NameGroup`) holds no record."""
    if not isinstance(records, str):
        return records.empty
    if store is None:
        raise ValueError(f"records in table {records} need the warehouse (store) holding it")
    return not store.execute(f"SELECT 1 FROM {records} LIMIT 1").fetchall()


def grouped_mention_matches(
    groups: list[NameGroup],
    model: dict[str, Any],
    entity_type: str,
    junk: JunkRules | None = None,
    threshold: float = RESOLVE_THRESHOLD,
    *,
    changed_records: Collection[str] | None = None,
    prepared: PreparedRecords | None = None,
    names_kept: MentionNames | None = None,
    store: duckdb.DuckDBPyConnection | None = None,
    record_caps_moved: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """:func:`mention_matches` of several groups of names of one entity type, in one
    prediction where it gives the same pairs and scores as one per group: per group, the
    matches of its names among its own records.

    Each group's names are staged, prepared and capped on their own, as
    :func:`mention_matches` does them, and scored against the union of the groups'
    records, each pair then kept only when its record is one of its group's. The scores are
    a prediction per group's only when the term frequencies, counted over the records
    scored, play no part in a pair of a name and a record (:func:`term_frequencies_unused`:
    no name has a value in a column the model adjusts by frequency, as a company's name has
    no district); otherwise each group is predicted on its own. Splink's set-up of one
    prediction (its linker, the SQL of every comparison) and the reading of the records
    that can pair are then paid once for the parent companies and head offices of a sync,
    not twice (at 100k source records after a 1% day: 2.33-2.34 CPU-seconds for the
    relationships' step instead of 2.55-2.68, load average 5.5-6.3).

    ``changed_records``: as in :func:`mention_matches`, for every group whose
    ``new_names`` is given. The pairs of a name whose blocking value crossed its limit
    since the last build are scored too (:func:`moved_by_caps`): among the names
    (``NameGroup.last_names``) or among the records (``record_caps_moved``: ``column``,
    ``value`` over the limit now or then, not both).
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in MATCH_COLUMNS})
    if names_kept is None:
        names_kept = MentionNames()
    changed = set(changed_records or ())
    out = [empty] * len(groups)
    scored: list[_Scored] = []
    for at, group in enumerate(groups):
        distinct = pd.Series(group.names.dropna().unique(), dtype=object)
        if distinct.empty or _no_records(group.records, store):
            continue
        keys = [f"{MENTION_PREFIX}{at}.{i}" for i in range(len(distinct))]
        only_with = None
        capped: PreparedRecords | None = None
        if group.new_names is not None or changed_records is not None:
            fresh = set(group.new_names or ())
            only_with = {k for k, n in zip(keys, distinct, strict=True) if n in fresh}
            only_with |= changed
            last = set(distinct) - fresh if group.last_names is None else set(group.last_names)
            came_or_went = last != set(distinct)  # so with every new name
            if came_or_went or (record_caps_moved is not None and len(record_caps_moved)):
                # a value the names hold may have crossed its limit: every name's row (kept,
                # or staged now) capped, to compare
                uncapped = names_kept.uncapped(distinct, keys, entity_type)
                capped = capped_records(uncapped, entity_type, junk)
                then = _last_rows(last, distinct, uncapped, names_kept, entity_type)
                moved = (
                    [True] * len(distinct)  # a name gone was not kept: every name scored
                    if came_or_went and then is None
                    else moved_by_caps(
                        uncapped,
                        capped.suppressed,
                        then if came_or_went else None,
                        record_caps_moved,
                        junk,
                    )
                )
                only_with |= {k for k, m in zip(keys, moved, strict=True) if m}
                group.rescored.update(n for n, m in zip(distinct, moved, strict=True) if m)
            # no new name, no name whose value crossed its limit, and no new or changed
            # record of this group: nothing to score, so the names are not staged and
            # prepared again for nothing
            if not only_with - (changed - candidates_among(group.records, changed, store)):
                names_kept.carry(distinct, entity_type)
                continue
        if capped is None:
            uncapped = names_kept.uncapped(distinct, keys, entity_type)
            # the names' own values shared by too many of them are capped over all of them
            capped = capped_records(uncapped, entity_type, junk)
        named = capped.table
        scored.append(_Scored(at, group, distinct, keys, named, only_with))
    together = len(scored) > 1 and all(
        term_frequencies_unused(model, part.named) for part in scored
    )
    for batch in [scored] if together else [[part] for part in scored]:
        if not batch:
            continue
        pairs = _predict(batch, model, entity_type, junk, threshold, prepared, store)
        for part in batch:
            out[part.at] = part.matches(pairs, store)
    return out


def _last_rows(
    last: set[str],
    distinct: pd.Series,
    rows: pa.Table,
    names_kept: MentionNames,
    entity_type: str,
) -> pa.Table | None:
    """The uncapped rows of the ``last`` build's names: those still mentioned from
    ``rows`` (of ``distinct``), the others as the last build kept them (None: one was not
    kept)."""
    still = pc.is_in(pa.array(distinct, pa.string()), pa.array(sorted(last), pa.string()))
    gone = sorted(last - set(distinct))
    if not gone:
        return rows.filter(still)
    kept = names_kept.kept_rows(gone, entity_type)
    if kept is None:
        return None
    return pa.concat_tables([rows.filter(still).cast(kept.schema), kept])


def moved_by_caps(
    now: pa.Table,
    suppressed: pd.DataFrame,
    last: pa.Table | None,
    record_caps_moved: pd.DataFrame | None,
    junk: JunkRules | None,
) -> list[bool]:
    """Per name of ``now`` (uncapped rows, ``UNCAPPED_COLUMNS``; ``suppressed``: what
    capping them suppressed), whether its pairs may score otherwise than at the last build
    although neither it nor a record it pairs with changed: a value it holds crossed its
    limit (``caps``) among the names (its group's names then: ``last``, None when they are
    the same names) or among the records (``record_caps_moved``).

    A blocking-only key (``name_block``) over the limit blocks nothing, so a name holding
    a value that crossed it (either side) gains or loses its pairs through it; a compared
    column crossing its limit moves the pairs of the names that hold any value in it (a
    name holds none: it is staged from a name alone).
    """
    flips = [] if record_caps_moved is None else [record_caps_moved[["column", "value"]]]
    if last is not None:
        with duckdb.connect() as con:  # the values over their limit among the names then
            con.execute("SET threads = 1")
            con.register("__last", last)
            then = con.sql(cap_shared_values(con, "__last", junk or JunkRules()).suppressed).df()
        over = [
            part.loc[part["reason"] == SHARED, ["column", "value"]] for part in (suppressed, then)
        ]
        flips.append(pd.concat(over, ignore_index=True).drop_duplicates(keep=False))
    moved = np.zeros(now.num_rows, dtype=bool)
    flipped = pd.concat(flips, ignore_index=True) if flips else pd.DataFrame()
    for column, values in flipped.groupby("column")["value"] if len(flipped) else []:
        if column in BLOCK_KEY_COLUMNS:
            moved |= now.column(column).to_pandas().isin(set(values)).to_numpy()
        else:
            for source in _CAP_SOURCES.get(column, (column,)):
                moved |= now.column(source).to_pandas().notna().to_numpy()
    return moved.tolist()


#: The uncapped columns a capped column is made of, where not its own.
_CAP_SOURCES = {
    "phone_numbers": ("phone_block", "mobile_block", "extra_numbers"),
    "phone_tail": ("phone_block",),
}


@dataclass(frozen=True)
class _Scored:
    """A group of names to score: its position among the groups, its distinct names, their
    record keys (``mention:<group>.<i>``), their prepared rows, and the records and names
    whose pairs are scored (None: every pair of the group)."""

    at: int
    group: NameGroup
    distinct: pd.Series
    keys: list[str]
    named: pa.Table
    only_with: set[str] | None

    def matches(
        self, pairs: pd.DataFrame, store: duckdb.DuckDBPyConnection | None = None
    ) -> pd.DataFrame:
        """The pairs of this group's names with its own records, as ``MATCH_COLUMNS``."""
        is_mention_l = pairs["record_key_l"].str.startswith(MENTION_PREFIX)
        mention = pairs["record_key_l"].where(is_mention_l, pairs["record_key_r"])
        record = pairs["record_key_r"].where(is_mention_l, pairs["record_key_l"])
        name_of = dict(zip(self.keys, self.distinct, strict=True))
        ours = candidates_among(self.group.records, set(record), store)
        mine = mention.isin(name_of.keys()) & record.isin(ours)
        return pd.DataFrame(
            {
                "name": mention[mine].map(name_of),
                "record_key": record[mine],
                "probability": pairs.loc[mine, "match_probability"],
            }
        ).reset_index(drop=True)


def _predict(
    batch: list[_Scored],
    model: dict[str, Any],
    entity_type: str,
    junk: JunkRules | None,
    threshold: float,
    prepared: PreparedRecords | None,
    store: duckdb.DuckDBPyConnection | None,
) -> pd.DataFrame:
    """The pairs of the names of ``batch`` and the records of its groups, in one prediction."""
    stored = [part.group.records for part in batch if isinstance(part.group.records, str)]
    if stored and len(stored) < len(batch):
        raise ValueError("the groups of one prediction hold their records alike")
    records: pd.DataFrame | str
    if stored:  # their keys as a query of the warehouse
        records = "(" + " UNION ".join(f"SELECT record_key FROM {t}" for t in stored) + ")"
    else:
        frames = [part.group.records for part in batch if not isinstance(part.group.records, str)]
        records = frames[0]
        if len(frames) > 1:
            records = pd.concat(frames, ignore_index=True)
            records = records.drop_duplicates("record_key", ignore_index=True)
    named = pa.concat_tables([part.named for part in batch])
    # a whole scoring flags every name: only the records sharing a blocking value with one
    # are blocked and scored (every pair holds a name), the term frequencies still counted
    # over all of them
    only_with: set[str] | None = None
    if any(part.only_with is not None for part in batch):
        only_with = set()
        for part in batch:
            only_with |= set(part.keys) if part.only_with is None else part.only_with
    flagged: set[str] = (
        set(named.column("record_key").to_pylist()) if only_with is None else only_with
    )
    # no name has a value the model weighs by frequency (a company's name has no district):
    # the records' term frequencies play no part in a pair scored, so they are not read
    # (at 100k source records the districts of 58,000 company records, 0.04 CPU-seconds)
    counted = not all(term_frequencies_unused(model, part.named) for part in batch)
    kept = (
        load_pairable_with(
            store,
            entity_type,
            model,
            records if isinstance(records, str) else records["record_key"],
            named,
            flagged,
            term_frequencies=counted,
        )
        if store is not None
        else None
    )
    if kept is None:
        if isinstance(records, str):  # a model whose rules choose no records in SQL
            assert store is not None
            keys = store.sql(f"SELECT record_key FROM {records}").df()["record_key"]
        else:
            keys = records["record_key"]
        if prepared is None and store is not None:
            prepared = load_prepared(store, entity_type, staging_order=False)
        if prepared is None:
            assert not isinstance(records, str)
            prepared = prepare_records(records, entity_type, junk)
        scored = prepared.of_records(keys)
        kept = PairableRecords(
            PreparedRecords(
                pairable_records(pa.concat_tables([scored.table, named]), model, flagged),
                prepared.suppressed,
            ),
            scored.table,
        )
    return predict_pairs(
        kept.records,
        narrowed_blocking(with_mention_prior(model), _NAME_AND_RECORD),
        threshold,
        entity_type=entity_type,
        junk=junk,
        only_with=only_with,
        # a name's rarity among the records it may mean: the names themselves not counted
        term_frequencies=kept.term_frequencies,
    )


def term_frequencies_unused(model: dict[str, Any], named: pa.Table) -> bool:
    """Whether the term frequencies of the records play no part in a pair of one of the
    prepared names ``named`` and a record: every comparison level the model adjusts by
    frequency is the exact agreement of its column (``"c_l" = "c_r"``, the only level Splink
    adjusts), and no name has a value in that column, so no such pair reaches the level.
    A company's name has no district (the company model adjusts its district); a person's
    name is adjusted by its own frequency."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if not column:
                continue
            exact = f'"{column}_l" = "{column}_r"'
            if " ".join(level.get("sql_condition", "").split()) != exact:
                return False
            if column not in named.column_names or named.column(column).null_count < len(named):
                return False
    return True


def mention_prior(model: dict[str, Any]) -> float:
    """The prior that a mentioned name means a given record's customer: the one under which
    the model's exact name level alone (the ``name`` comparison's first level that is not
    its null level) gives a probability of 0.5, i.e. prior odds of ``u / m`` of that level.

    Examples:
        >>> levels = [{"is_null_level": True}, {"m_probability": 0.8, "u_probability": 0.0002}]
        >>> mention_prior({"comparisons": [{"output_column_name": "name",
        ...                                 "comparison_levels": levels}]})
        0.00024993751562109475
    """
    name = next(c for c in model["comparisons"] if c["output_column_name"] == "name")
    exact = next(lvl for lvl in name["comparison_levels"] if not lvl.get("is_null_level"))
    odds = exact["u_probability"] / exact["m_probability"]
    return odds / (1 + odds)


def scores_drift(model: dict[str, Any]) -> bool:
    """Whether the score of a name against an unchanged record moves with the other records:
    the model adjusts its name comparison by term frequency (a person's name), so a new
    namesake anywhere lowers every pair of that name. An incremental sync scores such names
    whole, not only against what changed: kept, the old scores made 4 referrals more than a
    whole build at 100k after a 1% day. A company's name is not adjusted (its model adjusts
    the district, which a name has not): kept pairs score as in a whole build."""
    name = next(c for c in model["comparisons"] if c["output_column_name"] == "name")
    return any(lvl.get("tf_adjustment_column") for lvl in name["comparison_levels"])


def with_mention_prior(model: dict[str, Any]) -> dict[str, Any]:
    """The model with :func:`mention_prior` in place of its prior of two records."""
    return {**model, "probability_two_random_records_match": mention_prior(model)}


def pairable_records(
    prepared: pa.Table, model: dict[str, Any], flagged: Collection[str]
) -> pa.Table:
    """The prepared names and records of which pairs are scored: every name, every
    ``flagged`` record, and the records that share a blocking value with a flagged name;
    the rest can only pair with an unflagged name, a pair not scored (again), or with
    another record, a pair never scored here. A whole scoring flags every name.

    A day changes 1% of the records, and a few thousand records share a blocking value
    with a name, so the prediction blocks and scores those, not all of them (their term
    frequencies are still counted over all: ``predict_pairs(term_frequencies=...)``). Every rule must require an equality of
    columns (``l.name_block = r.name_block``): a record is kept when it shares the value
    of one of them with a flagged name, a superset of the pairs the rule finds. A model
    with another kind of rule keeps every record.
    """
    keys = prepared.column("record_key")
    is_flagged = pc.is_in(keys, pa.array(list(flagged), pa.string()))
    is_name = pc.starts_with(keys, MENTION_PREFIX)
    names = prepared.filter(pc.and_(is_name, is_flagged))
    return sharing_blocking_values(prepared, model, names, pc.or_(is_name, is_flagged))


def best_customers(
    matches: pd.DataFrame, customer_of: pd.Series, threshold: float = RESOLVE_THRESHOLD
) -> pd.DataFrame:
    """The customer each name means: the one of its best-matching record (``customer_of``:
    record_key → customer_id), when that record is more likely than not the one meant
    (above ``threshold``) and no record of another customer matches as well.

    A name that agrees exactly and shows nothing else scores ``threshold`` itself
    (:func:`mention_prior`): an even chance, not a resolution (on the demo, 8 holding names
    score exactly that, 6 of them against the wrong company: a group name left without its
    legal form fits the group and each subsidiary alike). Names that fit two customers
    equally (王华 against two people of that name) mean neither: the smaller customer ID
    would be a guess.

    Returns:
        ``name``, ``customer_id``, ``probability``, one row per name resolved to a
        current customer.
    """
    found = pd.DataFrame(
        {
            "name": matches["name"],
            "customer_id": matches["record_key"].map(customer_of),
            "probability": matches["probability"],
        }
    ).dropna(subset=["customer_id"])
    found = found[found["probability"] > threshold + _ROUNDING]
    top = found.groupby("name")["probability"].transform("max")
    best = found[found["probability"] >= top - _ROUNDING]
    clear = best.groupby("name")["customer_id"].transform("nunique") == 1
    best = best[clear].sort_values(["probability", "customer_id"], ascending=[False, True])
    return best.drop_duplicates("name").reset_index(drop=True)


#: Probabilities closer than this are equal (the same weights summed in another order).
_ROUNDING = 1e-9
