"""Clusters after a day's changes: only the components the changes touch are solved again.

A cluster is decided by its connected component alone: the records linked to one another
(model links at or above the threshold that no steward rejected, steward matches, and for
persons the contact-person rule's links), the decisions among them and the size limit
(``matching.linkage.clustering``). A component whose records, links and decisions are all
as they were gives the clusters it gave. So an incremental sync finds the records a change
touches, the **dirty** records:

- records new, removed or of another entity type than in ``matching.clusters``;
- both records of a model link that appeared, went or changed its probability (the links
  the last clustering read are kept in ``matching.cluster_links``);
- both records of a steward decision that appeared, went or changed, among the decisions
  whose two records are staged with one entity type (``matching.cluster_decisions``);
- for persons, both records of a contact-person link that appeared or went. The rule
  groups contacts by company cluster and name, so its links are computed again for the
  contacts of every company cluster that was solved again or that a changed contact
  (``matching.cluster_contacts`` keeps what the rule read of each contact) belongs or
  belonged to, and kept for the others.

and solves again every record of the last components of the dirty records (a record's last
component is its cluster, or ``matching.split_components`` for the records of a component
that was split) together with the new records. Nothing else can be joined to them: a link
that is not new joined two records of one last component, and a link that is new has
dirty records at both ends. Every other record keeps its row; the rows of the records
solved again are deleted and written again, as are their cut links and decision conflicts,
and the records are logged for the customer-ID step (``REWRITTEN``).
The result is the table a full clustering writes (row order aside: readers order).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from matching.linkage.clustering import Resolution, resolve_clusters
from matching.linkage.contacts import (
    CONTACT_RECORDS,
    as_prepared_contacts,
    contact_person_pairs,
    prepared_contacts_query,
)
from matching.linkage.decisions import Decisions, unknown_records
from sources.config import MatchingConfig
from warehouse.store import table_exists

logger = logging.getLogger(__name__)

#: The model links the last clustering read (``entity_type``, keys, ``match_probability``).
LINKS = "matching.cluster_links"
#: The steward decisions the last clustering applied (both records staged, of one type).
DECIDED = "matching.cluster_decisions"
#: What the contact-person rule read of each contact record at the last clustering.
CONTACTS = "matching.cluster_contacts"
#: The last component of the records whose component was split.
COMPONENTS = "matching.split_components"
#: Tables an incremental clustering reads besides the clusters, cut links, conflicts and rule links.
SNAPSHOTS = (LINKS, DECIDED, CONTACTS, COMPONENTS)
#: The records whose rows of ``matching.clusters`` an incremental clustering deleted or wrote
#: since the customer IDs were last given (``record_key``; a record may be listed more than
#: once): the ID step settles only the clusters these touch and empties it
#: (``matching.master.build.update_customer_ids``). Absent when that is not known, after a
#: whole clustering: the ID step then settles every cluster and starts it again.
REWRITTEN = "matching.clusters_rewritten"
_WRITTEN = ("clusters", "cut_links", "decision_conflicts", "rule_links")

_CLUSTER_COLUMNS = ("record_key", "entity_type", "cluster_id", "cluster_size", "needs_review")


def cluster_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``Resolution.counts`` of the clusters as written (``matching.clusters`` and beside it).

    A cluster's ID is the smallest record key among its records (both backends), so the
    clusters are counted as the records that are their cluster's ID, in the same scan as
    the other counts: a distinct count of every cluster ID hashed each ID of every record,
    for the step's metadata alone, on every sync (over 1.38M records 0.14 CPU-seconds
    against 0.02).
    """
    records, clusters, largest, review = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE record_key = cluster_id),
                  coalesce(max(cluster_size), 0), coalesce(sum(needs_review::INT), 0)
           FROM matching.clusters"""
    ).fetchall()[0]
    (cut,) = con.execute("SELECT count(*) FROM matching.cut_links").fetchall()[0]
    (conflicts,) = con.execute("SELECT count(*) FROM matching.decision_conflicts").fetchall()[0]
    return {
        "records": int(records),
        "clusters": int(clusters),
        "largest_cluster": int(largest),
        "records_needing_review": int(review),
        "links_cut": int(cut),
        "decision_conflicts": int(conflicts),
    }


def forget_cluster_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the snapshots (before a full clustering writes: one stopped midway leaves none,
    and the next sync clusters every record) and the log of rewritten records (every
    record's row is written again)."""
    _drop(con, *SNAPSHOTS, REWRITTEN)


def can_recluster(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the last clustering left what an incremental one compares with."""
    names = [*SNAPSHOTS, *(f"matching.{t}" for t in _WRITTEN)]
    return all(table_exists(con, *name.split(".")) for name in names)


@dataclass(frozen=True)
class Reclustered:
    """An incremental clustering: the records solved again and their clusters, and the
    cut links and conflicts of the whole table after it (for the review queue)."""

    resolution: Resolution
    records_solved: int


def remember_cluster_inputs(
    con: duckdb.DuckDBPyConnection,
    decisions: Decisions,
    settings: MatchingConfig,
    split_components: pd.DataFrame,
    uncapped: str,
) -> None:
    """Keep what a full clustering read, for the next sync's incremental one (in SQL, the
    links never pass through pandas)."""
    _current_inputs(con, decisions, settings, uncapped)
    try:
        for table, temp in ((LINKS, "__links_now"), (DECIDED, "__decided_now")):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS FROM {temp}")
        con.execute(f"CREATE OR REPLACE TABLE {CONTACTS} AS FROM __contacts_now")
        con.register("__split", split_components[["record_key", "component_id"]])
        con.execute(
            f"""CREATE OR REPLACE TABLE {COMPONENTS} AS
                SELECT record_key::VARCHAR AS record_key, component_id::VARCHAR AS component_id
                FROM __split"""
        )
        con.unregister("__split")
    finally:
        _drop(con, "__links_now", "__decided_now", "__contacts_now")


def recluster(
    con: duckdb.DuckDBPyConnection,
    decisions: Decisions,
    settings: MatchingConfig,
    uncapped: str,
) -> Reclustered:
    """Solve again the components the changes since the last clustering touch, update
    ``matching.clusters``, ``cut_links``, ``decision_conflicts``, ``rule_links`` and the
    snapshots in place (see the module's docstring), in one transaction.

    Args:
        con: the warehouse, after :func:`can_recluster` said yes.
        decisions: the steward decisions of this sync.
        settings: the matching config (threshold, size limit).
        uncapped: the prepared records before caps (``matching.prepared_uncapped``), of
            which the contact records are read.
    """
    _current_inputs(con, decisions, settings, uncapped)
    con.begin()
    try:
        # the contacts whose rule inputs appeared, went or changed: compared once, read
        # three times (every contact's row is compared)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __contacts_changed AS
                SELECT record_key, derived_from_record_key FROM (
                    (FROM __contacts_now EXCEPT FROM {CONTACTS})
                    UNION ALL (FROM {CONTACTS} EXCEPT FROM __contacts_now))"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __dirty AS
                SELECT coalesce(s.record_key, c.record_key) AS record_key
                FROM (SELECT record_key, entity_type FROM staging.customers) s
                FULL JOIN (SELECT record_key, entity_type FROM matching.clusters) c
                  ON c.record_key = s.record_key
                WHERE s.record_key IS NULL OR c.record_key IS NULL
                   OR s.entity_type IS DISTINCT FROM c.entity_type
                UNION SELECT unnest([record_key_l, record_key_r]) FROM (
                    (FROM __links_now EXCEPT FROM {LINKS})
                    UNION ALL (FROM {LINKS} EXCEPT FROM __links_now))
                UNION SELECT unnest([record_key_l, record_key_r]) FROM (
                    (FROM __decided_now EXCEPT FROM {DECIDED})
                    UNION ALL (FROM {DECIDED} EXCEPT FROM __decided_now))"""
        )
        _region(con, "__dirty", "__region_company")
        companies = _solve(con, "company", "__region_company", decisions, settings)
        rule_links = _contact_links(con, companies.clusters)
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __dirty_persons AS
               FROM __dirty UNION SELECT unnest([record_key_l, record_key_r]) FROM (
                   (SELECT record_key_l, record_key_r FROM __rule_dropped
                    EXCEPT SELECT record_key_l, record_key_r FROM __rule_new)
                   UNION ALL (SELECT record_key_l, record_key_r FROM __rule_new
                    EXCEPT SELECT record_key_l, record_key_r FROM __rule_dropped))"""
        )
        _region(con, "__dirty_persons", "__region_person")
        persons = _solve(con, "person", "__region_person", decisions, settings, rule_links)
        solved = _write(con, [companies, persons])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        _drop(
            con,
            "__links_now",
            "__decided_now",
            "__contacts_now",
            "__dirty",
            "__dirty_persons",
            "__region_company",
            "__region_person",
            "__company_now",
            "__rule_dropped",
            "__rule_new",
            "__contacts_changed",
        )
    resolution = Resolution(
        clusters=solved,
        cut_links=con.sql("FROM matching.cut_links").df(),
        conflicts=con.sql("FROM matching.decision_conflicts").df(),
        unknown_decision_records=_unknown_records(con, decisions),
    )
    logger.info("clusters: %d records solved again (incremental)", len(solved))
    return Reclustered(resolution, len(solved))


def _current_inputs(
    con: duckdb.DuckDBPyConnection, decisions: Decisions, settings: MatchingConfig, uncapped: str
) -> None:
    """This sync's model links, applicable decisions and contact rows as temp tables
    ``__links_now``, ``__decided_now``, ``__contacts_now``."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __links_now AS
           SELECT entity_type, record_key_l::VARCHAR AS record_key_l,
                  record_key_r::VARCHAR AS record_key_r, match_probability::DOUBLE AS match_probability
           FROM matching.pairs WHERE match_probability >= ?""",
        [settings.upper_threshold],
    )
    con.register("__decisions_read", decisions.table[["record_key_l", "record_key_r", "decision"]])
    try:
        # the decisions cluster_records applies: both records staged, of the left one's type
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __decided_now AS
               SELECT l.entity_type, d.record_key_l::VARCHAR AS record_key_l,
                      d.record_key_r::VARCHAR AS record_key_r, d.decision::VARCHAR AS decision
               FROM __decisions_read d
               JOIN staging.customers l ON l.record_key = d.record_key_l
               JOIN staging.customers r ON r.record_key = d.record_key_r
                                       AND r.entity_type = l.entity_type"""
        )
    finally:
        con.unregister("__decisions_read")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __contacts_now AS
            SELECT p.record_key::VARCHAR AS record_key, s.derived_from_record_key::VARCHAR AS derived_from_record_key,
                   s.quality_flags::VARCHAR AS quality_flags, p.name_key::VARCHAR AS name_key,
                   p.name_pinyin::VARCHAR AS name_pinyin, p.mobile_block::VARCHAR AS mobile_block
            FROM ({prepared_contacts_query(con, uncapped, "staging.customers")}) p
            JOIN (SELECT * FROM staging.customers WHERE {CONTACT_RECORDS}) s USING (record_key)"""
    )


def _region(con: duckdb.DuckDBPyConnection, dirty: str, into: str) -> None:
    """Temp table ``into``: every record of the last components of the records of ``dirty``,
    and the records of ``dirty`` themselves."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {into} AS
            WITH last AS (
                SELECT c.record_key, coalesce(k.component_id, c.cluster_id) AS component
                FROM matching.clusters c LEFT JOIN {COMPONENTS} k USING (record_key))
            SELECT record_key FROM last WHERE component IN (
                SELECT component FROM last SEMI JOIN {dirty} USING (record_key))
            UNION SELECT record_key FROM {dirty}"""
    )


def _solve(
    con: duckdb.DuckDBPyConnection,
    entity_type: str,
    region: str,
    decisions: Decisions,
    settings: MatchingConfig,
    rule_links: str | None = None,
) -> Resolution:
    """Clusters of the staged records of ``entity_type`` in ``region``, from the links among
    them (and the contact rule's, from the relation ``rule_links``)."""
    keys = con.execute(
        f"""SELECT record_key FROM staging.customers
            WHERE entity_type = ? AND record_key IN (SELECT record_key FROM {region})""",
        [entity_type],
    ).df()["record_key"]
    # a model link with one record outside the region is one a steward rejected (any other
    # link would have put both records in the region): a full clustering drops it too
    links = f"""SELECT record_key_l, record_key_r, match_probability FROM __links_now
                WHERE entity_type = '{entity_type}'"""
    if rule_links is not None:
        links += (
            f" UNION ALL SELECT record_key_l, record_key_r, match_probability FROM {rule_links}"
        )
    pairs = con.execute(
        f"""SELECT * FROM ({links})
            WHERE record_key_l IN (SELECT record_key FROM {region})
              AND record_key_r IN (SELECT record_key FROM {region})"""
    ).df()
    table = decisions.table
    inside = set(keys)
    decided = table[table["record_key_l"].isin(inside) & table["record_key_r"].isin(inside)]
    resolution = resolve_clusters(
        keys, pairs, Decisions(decided), settings.upper_threshold, settings.max_cluster_size
    )
    resolution.clusters.insert(1, "entity_type", entity_type)
    return resolution


def _contact_links(con: duckdb.DuckDBPyConnection, companies: pd.DataFrame) -> str:
    """The contact rule's links after the company clusters ``companies`` were solved again:
    computed again for the contacts of the company clusters solved again or that a changed
    contact belongs or belonged to (temp table ``__rule_new``), kept for the others; the
    kept links those replace are in ``__rule_dropped``. Returns the query of every link."""
    con.register("__companies_solved", companies[["record_key", "cluster_id"]])
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __company_now AS
               SELECT record_key, cluster_id FROM matching.clusters
               WHERE entity_type = 'company'
                 AND record_key NOT IN (SELECT record_key FROM __region_company)
               UNION ALL SELECT record_key::VARCHAR, cluster_id::VARCHAR FROM __companies_solved"""
        )
    finally:
        con.unregister("__companies_solved")
    changed = "__contacts_changed"
    company = """coalesce((SELECT k.cluster_id FROM __company_now k
                           WHERE k.record_key = {0}.derived_from_record_key),
                          {0}.derived_from_record_key)"""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __contact_redo AS
            WITH contact_company AS (
                SELECT c.record_key, coalesce(k.cluster_id, c.derived_from_record_key) AS company
                FROM __contacts_now c
                LEFT JOIN __company_now k ON k.record_key = c.derived_from_record_key),
            affected AS (
                SELECT k.cluster_id AS company FROM __company_now k
                SEMI JOIN __region_company USING (record_key)
                UNION SELECT {company.format("x")} FROM {changed} x
                UNION SELECT {company.format("c")} FROM __contacts_now c
                WHERE c.derived_from_record_key IN (SELECT record_key FROM __region_company))
            SELECT record_key FROM contact_company
            WHERE company IN (SELECT company FROM affected)
            UNION SELECT record_key FROM {changed}"""
    )
    staged = con.sql(
        f"""SELECT record_key, entity_type, derived_from_record_key, quality_flags
            FROM staging.customers SEMI JOIN __contact_redo USING (record_key)
            WHERE {CONTACT_RECORDS}"""
    ).df()
    prepared = as_prepared_contacts(
        con.sql(
            """SELECT record_key, name_key, name_pinyin, mobile_block
               FROM __contacts_now SEMI JOIN __contact_redo USING (record_key)"""
        ).to_arrow_table()
    )
    clusters = con.sql(
        """SELECT record_key, cluster_id FROM __company_now WHERE record_key IN
           (SELECT derived_from_record_key FROM __contacts_now
            SEMI JOIN __contact_redo USING (record_key))"""
    ).df()
    links = contact_person_pairs(staged, clusters, prepared=prepared)
    fresh = links.assign(entity_type="person")[
        ["entity_type", "record_key_l", "record_key_r", "match_probability", "match_rule"]
    ]
    con.register("__rule_fresh", fresh)
    try:
        con.execute(
            """CREATE OR REPLACE TEMP TABLE __rule_new AS
               SELECT entity_type::VARCHAR AS entity_type, record_key_l::VARCHAR AS record_key_l,
                      record_key_r::VARCHAR AS record_key_r,
                      match_probability::DOUBLE AS match_probability, match_rule::VARCHAR AS match_rule
               FROM __rule_fresh"""
        )
    finally:
        con.unregister("__rule_fresh")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __rule_dropped AS
           SELECT * FROM matching.rule_links
           WHERE record_key_l IN (SELECT record_key FROM __contact_redo)
              OR record_key_r IN (SELECT record_key FROM __contact_redo)"""
    )
    con.execute("DROP TABLE __contact_redo")
    return """(SELECT record_key_l, record_key_r, match_probability FROM matching.rule_links
               ANTI JOIN __rule_dropped USING (record_key_l, record_key_r)
               UNION ALL SELECT record_key_l, record_key_r, match_probability FROM __rule_new)"""


def _write(con: duckdb.DuckDBPyConnection, parts: list[Resolution]) -> pd.DataFrame:
    """Replace the rows of the records solved again, in the tables and the snapshots, and
    add them to the log of rewritten records (``REWRITTEN``) when it is kept."""
    solved = _stacked([p.clusters[list(_CLUSTER_COLUMNS)] for p in parts])
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __solved_region AS
           FROM __region_company UNION FROM __region_person"""
    )
    gone = "(SELECT record_key FROM __solved_region)"
    con.execute(
        """DELETE FROM matching.clusters
           WHERE (entity_type = 'company' AND record_key IN (SELECT record_key FROM __region_company))
              OR (entity_type = 'person' AND record_key IN (SELECT record_key FROM __region_person))"""
    )
    _insert(con, "matching.clusters", solved)
    for table, frames in (
        ("matching.cut_links", [p.cut_links for p in parts]),
        ("matching.decision_conflicts", [p.conflicts for p in parts]),
    ):
        con.execute(f"DELETE FROM {table} WHERE record_key_l IN {gone} OR record_key_r IN {gone}")
        _insert(con, table, _stacked(frames))
    if table_exists(con, *REWRITTEN.split(".")):
        con.execute(f"INSERT INTO {REWRITTEN} SELECT record_key FROM __solved_region")
    con.execute(f"DELETE FROM {COMPONENTS} WHERE record_key IN {gone}")
    _insert(con, COMPONENTS, _stacked([p.split_components for p in parts]))
    con.execute(
        """DELETE FROM matching.rule_links WHERE EXISTS (
               SELECT 1 FROM __rule_dropped d WHERE d.record_key_l = rule_links.record_key_l
                                                AND d.record_key_r = rule_links.record_key_r)"""
    )
    con.execute("INSERT INTO matching.rule_links BY NAME FROM __rule_new")
    # the snapshots: a changed link or decision has dirty records at both ends
    con.execute(
        f"""DELETE FROM {LINKS} WHERE record_key_l IN (SELECT record_key FROM __dirty)
                                   OR record_key_r IN (SELECT record_key FROM __dirty)"""
    )
    con.execute(
        f"""INSERT INTO {LINKS} FROM __links_now
            WHERE record_key_l IN (SELECT record_key FROM __dirty)
               OR record_key_r IN (SELECT record_key FROM __dirty)"""
    )
    con.execute(f"CREATE OR REPLACE TABLE {DECIDED} AS FROM __decided_now")
    con.execute(
        f"DELETE FROM {CONTACTS} WHERE record_key IN (SELECT record_key FROM __contacts_changed)"
    )
    con.execute(
        f"""INSERT INTO {CONTACTS} FROM __contacts_now
            WHERE record_key IN (SELECT record_key FROM __contacts_changed)"""
    )
    _drop(con, "__contacts_changed", "__solved_region")
    return solved


def _stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
    filled = [f for f in frames if len(f)]
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame) -> None:
    if not len(rows):
        return
    con.register("__rows", pa.Table.from_pandas(rows, preserve_index=False))
    try:
        con.execute(f"INSERT INTO {table} BY NAME FROM __rows")
    finally:
        con.unregister("__rows")


def _unknown_records(con: duckdb.DuckDBPyConnection, decisions: Decisions) -> list[str]:
    """Record keys the decisions name that are not staged (``decisions.unknown_records``
    over the staged ones among them, read in SQL rather than every staged key)."""
    named = sorted(set(decisions.table["record_key_l"]) | set(decisions.table["record_key_r"]))
    if not named:
        return []
    staged = con.execute(
        "SELECT record_key FROM staging.customers WHERE list_contains(?, record_key)", [named]
    ).fetchall()
    return unknown_records(decisions, pd.Index([k for (k,) in staged]))


def _drop(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")
