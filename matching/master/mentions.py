"""Names mentioned on records (a parent company, a referrer), resolved to golden customers.

A dealer writes the parent company by hand ("信创办公设备股份有限公司"), a regional office the
name of whoever referred a customer. Exact string lookup would miss every variant, so the
distinct mentioned names are staged as records of their own, by the pipeline's staging
code, and scored against the master's records with the entity type's saved model, in one
blocked prediction (it scales like the nightly prediction). The best-scoring customer at or
above the threshold is the one the name means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from matching.linkage.junk import JunkRules
from matching.linkage.prediction import predict_pairs
from sources.build_staging import STAGED_SCHEMA
from sources.staging import stage_records

MENTION_PREFIX = "mention:"
#: Least match probability at which a mentioned name is taken to mean a customer.
RESOLVE_THRESHOLD = 0.5


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
    distinct = pd.Series(names.dropna().unique(), dtype=object)
    if distinct.empty or records.empty:
        return pd.DataFrame(columns=["name", "customer_id", "probability"])
    mapped = pd.DataFrame(
        {
            "source": "mention",
            "source_record_id": [str(i) for i in range(len(distinct))],
            "source_file": None,
            "source_row": 0,
            "ingested_at": datetime.now(UTC).replace(tzinfo=None),
            "record_hash": None,
            "entity_type": entity_type,
            "name": distinct,
        }
    )
    mentions = stage_records(mapped, {"mention": "other"}, date.today())
    both = pa.concat_tables(
        [
            pa.Table.from_pandas(
                frame[list(STAGED_SCHEMA.names)], schema=STAGED_SCHEMA, preserve_index=False
            )
            for frame in (records, mentions)
        ]
    ).to_pandas()
    pairs = predict_pairs(both, model, threshold, entity_type=entity_type, junk=junk)
    is_mention_l = pairs["record_key_l"].str.startswith(MENTION_PREFIX)
    is_mention_r = pairs["record_key_r"].str.startswith(MENTION_PREFIX)
    across = pairs[is_mention_l ^ is_mention_r]
    mention = across["record_key_l"].where(is_mention_l[across.index], across["record_key_r"])
    record = across["record_key_r"].where(is_mention_l[across.index], across["record_key_l"])
    customer_of = records.set_index("record_key")["customer_id"]
    found = pd.DataFrame(
        {
            "name": mention.str.removeprefix(MENTION_PREFIX).astype(int).map(distinct),
            "customer_id": record.map(customer_of),
            "probability": across["match_probability"],
        }
    )
    found = found.sort_values(["probability", "customer_id"], ascending=[False, True])
    return found.drop_duplicates("name").reset_index(drop=True)
