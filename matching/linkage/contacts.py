"""Contact persons named on company records: one name at one company is one person.

Staging turns the contact person named on a company record into a person record of its
own (``record_key = <company record_key>:contact``, ``derived_from_record_key`` → the
company record). Such a record carries a name and, at best, a mobile: nothing else a
model can weigh. Two exports of the same company that name the same contact person
therefore look to the person model like two strangers who share a name, and a shared
name alone (张伟) must never be enough to link persons.

What the model cannot see, the company clusters say: when the company records behind two
contact records are one customer and the contacts' names agree (same characters, or the
same sound when a clerk typed a homophone such as 章伟 for 张伟), the two records name one
person: a company does not employ two contact persons of the same name. This relational
rule adds those links after companies are clustered and before persons are:

    companies = cluster_pairs(company_keys, company_pairs, threshold)
    links = contact_person_pairs(staged, companies)
    persons = cluster_pairs(person_keys, pd.concat([person_pairs, links]), threshold)

The key-account team types some contacts in pinyin ("Zhang Wei", "WANG Xiaoming",
"Xiaoming Wang"): such a name joins the contact of the same company whose Chinese name
reads the same, surname and given name in either order (周丽媛 → {zhou, liyuan} =
"Liyuan Zhou"), when exactly one name there reads so.

Guards: a group whose records carry more than one distinct mobile of the contacts' own is
left to the model (a mobile a contact took from the company row, flagged
``mobile_from_company_row`` by staging, may be the company's and does not count)
(the name may be shared by two people after all), and names that are placeholders
('先生', '无') never link. The rule reads only staged records and company clusters,
never the truth; contact persons who are customers in their own right still join their
own records through the model (a shared mobile and name).

The names and mobiles are the contacts' prepared ones (``features.prepare_records`` over
the contact records alone, with the default limits). A sync reads them from the records
it prepared already (:func:`prepared_contacts`, over ``matching.prepared_uncapped``):
on the 100k demo (36,299 contact records, a loaded machine) preparing them again took
6.4 s, reading and capping them 0.8 s.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from matching.linkage.caps import cap_shared_values
from matching.linkage.features import prepare_records
from matching.linkage.junk import JunkRules
from sources.build_staging import staging_positions
from sources.staging import MOBILE_FROM_COMPANY_ROW

logger = logging.getLogger(__name__)

#: The rule's name in the ``match_rule`` column of the links it adds.
SAME_CONTACT_AT_SAME_COMPANY = "same_contact_at_same_company"
#: Match probability of the links: above any sensible upper threshold, yet below a
#: steward's match (1.0), so that a ``no_match`` decision can still cut such a link.
RULE_PROBABILITY = 0.999

#: Columns of the links: those ``matching.linkage.components.cluster_pairs`` reads, and the rule.
CONTACT_PAIR_COLUMNS = (
    "record_key_l",
    "record_key_r",
    "match_probability",
    "match_weight",
    "match_rule",
)
#: Prepared columns the rule reads, per contact record.
PREPARED_CONTACT_COLUMNS = ("record_key", "name_key", "name_pinyin", "mobile_block")
#: The contact records among staged records, in SQL (as :func:`contact_person_pairs` picks them).
CONTACT_RECORDS = "entity_type = 'person' AND coalesce(derived_from_record_key, '') <> ''"


def prepared_contacts(con: duckdb.DuckDBPyConnection, uncapped: str, staged: str) -> pd.DataFrame:
    """The contact records' names and mobiles as the rule compares them, from records
    prepared already.

    Args:
        con: the connection holding both tables.
        uncapped: a table of records prepared each on its own (``UNCAPPED_COLUMNS``, as
            ``matching.prepared_uncapped``), holding at least the contact records.
        staged: the staged records' table (``staging.customers``); its contact records
            are read, in staging order (``sources.build_staging.staging_positions``).

    Returns:
        ``PREPARED_CONTACT_COLUMNS``, one row per contact record found in ``uncapped``, in
        staging order: what ``prepare_records`` gives for the contact records alone
        (the caps, with the default limits, counted over contact records only; a record's
        own values prepare the rest of its row, so a stored row is the row it would get).
    """
    table = con.sql(prepared_contacts_query(con, uncapped, staged)).to_arrow_table()
    return _as_prepared(table.cast(pa.schema([(c, pa.string()) for c in table.column_names])))


def prepared_contacts_query(con: duckdb.DuckDBPyConnection, uncapped: str, staged: str) -> str:
    """The query :func:`prepared_contacts` reads (valid on ``con`` until it caps again): for
    a caller that keeps the rows in the warehouse (``matching.linkage.recluster``)."""
    queries = cap_shared_values(
        con,
        f"""(SELECT u.*, c.position FROM {uncapped} u JOIN
            (SELECT record_key, o.position FROM {staged} JOIN {staging_positions(con, staged)} o
             USING (record_key) WHERE {CONTACT_RECORDS}) c
            USING (record_key) WHERE u.entity_type = 'person')""",
        JunkRules(),
        columns=PREPARED_CONTACT_COLUMNS,
    )
    return queries.records()


def as_prepared_contacts(table: pa.Table) -> pd.DataFrame:
    """Rows of :func:`prepared_contacts_query` as :func:`prepared_contacts` gives them."""
    return _as_prepared(table.cast(pa.schema([(c, pa.string()) for c in table.column_names])))


def _as_prepared(table: pa.Table) -> pd.DataFrame:
    """A prepared table as ``PreparedRecords.records`` gives it (Arrow-backed strings)."""
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)


def contact_person_pairs(
    records: pd.DataFrame,
    company_clusters: pd.DataFrame,
    *,
    prepared: pd.DataFrame | None = None,
    probability: float = RULE_PROBABILITY,
) -> pd.DataFrame:
    """Links between contact-person records that name one person at one company.

    Args:
        records: staged customer records (``staging.customers``, both entity types may be
            present); the person records with a ``derived_from_record_key`` are the
            contact persons considered.
        company_clusters: ``record_key``, ``cluster_id`` of the company records, as from
            ``matching.linkage.components.cluster_pairs``. A company record absent from it counts
            as a customer of its own.
        prepared: the contact records as prepared, from :func:`prepared_contacts`; when
            None they are prepared here from ``records`` (which then needs the matching
            columns).
        probability: the ``match_probability`` the links carry; keep it at or above the
            clustering threshold and below 1.0 (a steward's match).

    Returns:
        ``CONTACT_PAIR_COLUMNS``: per group of contact records with the same company
        cluster and the same name (same pinyin and as many characters, so homophones
        agree), one link from each
        record to the group's smallest record key (enough for connected components),
        with ``match_probability`` = ``probability``, ``match_weight`` NaN (no model
        weighed it) and ``match_rule`` 'same_contact_at_same_company'. Sorted by the
        keys, ``record_key_l < record_key_r``. Concatenate it with the person model's
        pairs before ``cluster_pairs``.

    Raises:
        ValueError: ``records`` lacks ``derived_from_record_key`` or a column the matcher
            needs, ``prepared`` lacks a contact record, ``company_clusters`` lacks
            ``record_key`` / ``cluster_id``, or the probability is not in (0, 1].

    Examples:
        >>> companies = cluster_pairs(company_keys, company_pairs, 0.9)  # doctest: +SKIP
        >>> links = contact_person_pairs(staged, companies)  # doctest: +SKIP
    """
    if not 0 < probability <= 1:
        raise ValueError(f"probability must be in (0, 1], got {probability}")
    if "derived_from_record_key" not in records.columns:
        raise ValueError("staged records lack column derived_from_record_key")
    missing = [c for c in ("record_key", "cluster_id") if c not in company_clusters.columns]
    if missing:
        raise ValueError(f"company_clusters lacks column(s): {', '.join(missing)}")
    derived = records["derived_from_record_key"].astype(object)
    is_contact = (records["entity_type"] == "person") & derived.notna() & (derived != "")
    contacts = records.loc[is_contact]
    if contacts.empty:
        return _links(np.array([], dtype=object), np.array([], dtype=object), probability)

    prepared = _prepared_rows(contacts, prepared)
    company_of = pd.Series(
        company_clusters["cluster_id"].astype(str).to_numpy(),
        index=company_clusters["record_key"].astype(str).to_numpy(),
    )
    source = contacts["derived_from_record_key"].astype(str).to_numpy()
    cluster = company_of.reindex(source).to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "record_key": prepared["record_key"].astype(str).to_numpy(),
            "company": np.where(pd.isna(cluster), source, cluster),
            "name": prepared["name_pinyin"].fillna(prepared["name_key"]).astype(object)
            + "|"
            + prepared["name_key"].str.len().astype("string").astype(object),
            "mobile": prepared["mobile_block"]
            .astype(object)
            .where(~_borrowed_mobile(contacts).to_numpy(), None),
        }
    )
    frame = frame[frame["name"].notna() & prepared["name_key"].notna().to_numpy()]
    frame = _latin_names_join_their_namesake(
        frame, prepared.loc[frame.index, "name_key"], prepared.loc[frame.index, "name_pinyin"]
    )
    group = frame.groupby(["company", "name"], sort=False).ngroup().to_numpy()
    size, mobiles = _group_sizes(group, frame["mobile"])
    linked = frame[(size > 1) & (mobiles <= 1)].assign(group=group[(size > 1) & (mobiles <= 1)])
    ambiguous = int(((size > 1) & (mobiles > 1)).sum())
    if ambiguous:
        logger.info("%d contact records left to the model: their mobiles disagree", ambiguous)
    linked["anchor"] = _group_min(linked["group"].to_numpy(), linked["record_key"])
    linked = linked[linked["record_key"] != linked["anchor"]]
    logger.info(
        "%d contact records linked to a namesake at the same company (%d contact records)",
        len(linked),
        len(frame),
    )
    return _links(
        linked["anchor"].to_numpy(dtype=object),
        linked["record_key"].to_numpy(dtype=object),
        probability,
    )


def _prepared_rows(contacts: pd.DataFrame, prepared: pd.DataFrame | None) -> pd.DataFrame:
    """The prepared row of each contact record, in the order of ``contacts``."""
    if prepared is None:
        return prepare_records(contacts, "person").records[list(PREPARED_CONTACT_COLUMNS)]
    keys = contacts["record_key"].astype(str).to_numpy()
    missing = keys[~pd.Index(keys).isin(prepared["record_key"])]
    if len(missing):
        raise ValueError(f"no prepared row for contact record(s): {', '.join(missing[:5])}")
    rows = prepared.set_index("record_key").reindex(keys)
    return rows.rename_axis("record_key").reset_index()


def _group_sizes(group: np.ndarray, mobile: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per row, how many rows its group has and how many distinct mobiles they carry.

    Counted with numpy over group numbers: pandas' ``transform("nunique")`` on text took
    half a minute over the 400,000 contact records of a 1M-record sync.
    """
    grouped = group >= 0  # a row without a group (a missing key) links nothing
    groups = int(group.max()) + 1 if grouped.any() else 0
    size = np.where(grouped, np.bincount(group[grouped], minlength=groups)[group], 0)
    present = mobile.notna().to_numpy() & grouped
    distinct = pd.DataFrame({"group": group[present], "mobile": mobile[present].to_numpy()})
    distinct = distinct.drop_duplicates()
    mobiles = np.bincount(distinct["group"].to_numpy(), minlength=groups)
    return size, np.where(grouped, mobiles[group], 0)


def _group_min(group: np.ndarray, key: pd.Series) -> np.ndarray:
    """Per row, the smallest ``key`` of its group (code-point order, as ``min`` gives)."""
    if not len(group):
        return np.array([], dtype=object)
    codes, uniques = pd.factorize(key.astype(object), sort=True)
    smallest = np.full(group.max() + 1, len(uniques), dtype=np.int64)
    np.minimum.at(smallest, group, codes)
    return np.asarray(uniques, dtype=object)[smallest[group]]


def _borrowed_mobile(contacts: pd.DataFrame) -> pd.Series:
    """True where the contact's mobile was taken from the company row, not given as theirs."""
    if "quality_flags" not in contacts.columns:
        return pd.Series(False, index=contacts.index)
    flags = contacts["quality_flags"].astype(object).fillna("").astype(str)
    return flags.str.contains(f"(?:^|;){MOBILE_FROM_COMPANY_ROW}(?:;|$)", regex=True)


def _latin_names_join_their_namesake(
    frame: pd.DataFrame, name_key: pd.Series, pinyin: pd.Series
) -> pd.DataFrame:
    """Contacts named in Latin script take the group name of the one contact at their
    company whose Chinese name reads the same (surname and given name, either order)."""
    latin = ~name_key.str.contains("[\u3400-\u9fff]", regex=True).fillna(True).to_numpy()
    if not latin.any():
        return frame
    # only the companies that name someone in Latin script are read (few, at any size)
    at = frame["company"].isin(frame.loc[latin, "company"].unique()).to_numpy()
    kept, frame = frame.loc[~at], frame.loc[at]
    latin, pinyin = latin[at], pinyin[at]
    words = pinyin.fillna("").str.split()
    reading = pd.Series(
        [
            "|".join(sorted(w if is_latin else [w[0], "".join(w[1:])]))
            if len(w) >= 2 and (len(w) == 2 or not is_latin)
            else None
            for w, is_latin in zip(words, latin, strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
    chinese = frame.loc[~latin].assign(reading=reading[~latin])
    chinese = chinese.dropna(subset=["reading"]).drop_duplicates(["company", "reading", "name"])
    unique = chinese.drop_duplicates(["company", "reading"], keep=False)
    lookup = unique.set_index(["company", "reading"])["name"]
    wanted = pd.MultiIndex.from_arrays([frame.loc[latin, "company"], reading[latin]])
    found = lookup.reindex(wanted).to_numpy(dtype=object)
    out = frame.copy()
    out.loc[latin, "name"] = np.where(pd.isna(found), out.loc[latin, "name"], found)
    return pd.concat([kept, out]).sort_index()


def _links(left: np.ndarray, right: np.ndarray, probability: float) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "record_key_l": pd.Series(left, dtype=object),
            "record_key_r": pd.Series(right, dtype=object),
            "match_probability": pd.Series(np.full(len(left), probability), dtype="float64"),
            "match_weight": pd.Series(np.full(len(left), np.nan), dtype="float64"),
            "match_rule": pd.Series([SAME_CONTACT_AT_SAME_COMPANY] * len(left), dtype=object),
        }
    )
    return out.sort_values(["record_key_l", "record_key_r"], ignore_index=True)
