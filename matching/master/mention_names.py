"""Mentioned names staged and prepared as records of their own, kept from one sync to the next.

A name mentioned on a record (a parent company, a referrer, a branch's head office) is
scored against the master as a record (``matching.master.mentions``), so it is staged by
the pipeline's staging code and prepared by the matcher's, like an exported row. Staging
is the costly part (pinyin, place phrases: 2.1 s of an 11 s relationships step at 100k
source records after a 1% day, under load), and a day brings few names nobody wrote
before. So the names' rows prepared each on their own (``prepare_uncapped``: a row depends
on its name alone) are kept in ``master.mention_names``, and a sync stages only the names
it has not kept. The values shared by too many names are still capped over all the names
of the sync (``capped_records``), so the prepared names are those a whole preparation
gives, row for row.

A whole build (``custmaster run --full``, a new config or model) stages every name again
and keeps what it staged: a change of the staging code or config reaches every name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.features import prepare_uncapped
from matching.linkage.prepared_table import UNCAPPED_SCHEMA
from sources.staging import stage_records
from warehouse.store import table_exists

#: The mentioned names of the last build, per entity type, staged and prepared each on its
#: own: ``mention_name`` and ``UNCAPPED_COLUMNS`` (``record_key`` null: each build numbers
#: its names).
MENTION_NAMES = "master.mention_names"


class MentionNames:
    """Uncapped prepared rows of mentioned names: those kept by the last build, and those
    staged in this one; :meth:`keep` writes the names this build used."""

    def __init__(self, kept: pa.Table | None = None) -> None:
        self._kept = kept
        self._used: list[pa.Table] = []

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> MentionNames:
        """The names the last build kept (none when it kept none)."""
        if not table_exists(con, *MENTION_NAMES.split(".")):
            return cls()
        return cls(con.sql(f"FROM {MENTION_NAMES}").to_arrow_table())

    def uncapped(self, names: pd.Series, keys: list[str], entity_type: str) -> pa.Table:
        """The rows of ``names`` (distinct) prepared each on its own, in their order, with
        ``keys`` as record keys: kept rows where the last build staged the name, the
        others staged and prepared now."""
        names = pd.Series(names, dtype=object).reset_index(drop=True)
        kept = self._of(entity_type)
        at = pc.index_in(pa.array(names, pa.string()), kept.column("mention_name"))
        known = pc.is_valid(at).to_numpy(zero_copy_only=False)
        rows = pa.concat_tables(
            [
                kept.take(pc.drop_null(at)).select(UNCAPPED_SCHEMA.names).cast(UNCAPPED_SCHEMA),
                _staged(names[~known], entity_type),
            ]
        )
        # back in the order of ``names``: kept rows first, then the staged ones
        order = pd.Series(range(len(names)))
        position = pd.concat([order[known], order[~known]], ignore_index=True)
        rows = rows.take(pa.array(position.argsort().to_numpy()))
        rows = rows.set_column(
            rows.schema.get_field_index("record_key"), "record_key", pa.array(keys, pa.string())
        )
        self._used.append(_as_kept(rows, names))
        return rows

    def kept_rows(self, names: pd.Series | list[str], entity_type: str) -> pa.Table | None:
        """The kept rows of ``names``, in their order, without keeping them for the next
        build (None when one of them was not kept)."""
        kept = self._of(entity_type)
        at = pc.index_in(
            pa.array(pd.Series(names, dtype=object), pa.string()), kept.column("mention_name")
        )
        if at.null_count:
            return None
        return kept.take(at).select(UNCAPPED_SCHEMA.names).cast(UNCAPPED_SCHEMA)

    def carry(self, names: pd.Series, entity_type: str) -> None:
        """Keep the kept rows of ``names`` for the next build, though this one stages and
        scores none of them (nothing of theirs changed)."""
        kept = self._of(entity_type)
        at = pc.index_in(
            pa.array(pd.Series(names, dtype=object), pa.string()), kept.column("mention_name")
        )
        schema = _empty().schema
        self._used.append(kept.take(pc.drop_null(at)).select(schema.names).cast(schema))

    def keep(self, con: duckdb.DuckDBPyConnection) -> None:
        """Keep the names this build used, once per entity type and name (a company's name
        mentioned as parent and as head office is staged alike)."""
        used = pa.concat_tables(self._used) if self._used else _empty()
        con.register("__used_names", used)
        try:
            con.execute(
                f"""CREATE OR REPLACE TABLE {MENTION_NAMES} AS
                    SELECT * FROM __used_names
                    QUALIFY row_number() OVER (PARTITION BY entity_type, mention_name) = 1
                    ORDER BY entity_type, mention_name"""
            )
        finally:
            con.unregister("__used_names")

    def _of(self, entity_type: str) -> pa.Table:
        if self._kept is None:
            return _empty()
        mine = pc.equal(self._kept.column("entity_type"), entity_type)
        return self._kept.filter(mine)


def _staged(names: pd.Series, entity_type: str) -> pa.Table:
    """``names`` staged as records of source ``mention`` and prepared each on its own."""
    mapped = pd.DataFrame(
        {
            "source": "mention",
            "source_record_id": [str(i) for i in range(len(names))],
            "source_file": None,
            "source_row": 0,
            "ingested_at": datetime.now(UTC).replace(tzinfo=None),
            "record_hash": None,
            "entity_type": entity_type,
            "name": names.to_numpy(),
        }
    )
    if mapped.empty:
        return UNCAPPED_SCHEMA.empty_table()
    staged = stage_records(mapped, {"mention": "other"}, date.today())
    return prepare_uncapped(staged, entity_type).cast(UNCAPPED_SCHEMA)


def _as_kept(rows: pa.Table, names: pd.Series) -> pa.Table:
    """Rows of ``master.mention_names``: ``mention_name``, then the uncapped columns (no
    ``record_key``: each build numbers its names)."""
    return pa.table(
        {
            "mention_name": pa.array(names, pa.string()),
            **{c: rows.column(c) for c in UNCAPPED_SCHEMA.names},
        }
    ).set_column(1, "record_key", pa.nulls(rows.num_rows, pa.string()))


def _empty() -> pa.Table:
    return _as_kept(UNCAPPED_SCHEMA.empty_table(), pd.Series([], dtype=object))
