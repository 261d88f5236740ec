"""The ``quality:`` section: floors that warn and tolerances that block a sync."""

from __future__ import annotations

from pydantic import Field

from sources.config.base import Strict


class QualityConfig(Strict):
    """Bounds of the quality gates (``quality/``): floors for rates, which only warn, and the
    tolerances of blocking checks. The defaults pass on the demo."""

    min_valid_phone_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a landline, share valid"
    )
    min_valid_mobile_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a mobile, share valid"
    )
    min_valid_email_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with an e-mail, share valid"
    )
    min_valid_uscc_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a USCC, share valid"
    )
    max_duplicate_key_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of a feed's rows whose key repeats before the raw key check warns "
        "(repeats are quarantined, the first row kept); a feed is also allowed this share of "
        "quarantined rows when it is above max_quarantined_share, so a tolerance set before "
        "repeats were quarantined still holds",
    )
    max_quarantined_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="share of a feed's rows (customer source, orders, interactions, receivables) "
        "that may be quarantined (repeated key, unreadable row, date or amount that does not "
        "parse, …) before the sync blocks; more means a broken export, not a few bad rows. "
        "A single quarantined row never blocks, however small the feed",
    )
    max_row_drop_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="a feed may shrink by this share since the last accepted run; more blocks",
    )
    giant_cluster_size: int = Field(
        default=50, ge=2, description="a cluster with more records blocks the master"
    )
    max_unlinked_share: float = Field(
        default=0.9, ge=0, le=1, description="share of records in no cluster with others (warn)"
    )
    max_review_queue: int = Field(
        default=1000, ge=0, description="pairs waiting for a steward (warn)"
    )
    max_id_churn_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="share of records whose customer_id changed since the last run (warn)",
    )

    def quarantine_limit(self) -> float:
        """The share of a feed's rows that may be quarantined before the sync blocks: the
        larger of ``max_quarantined_share`` and ``max_duplicate_key_share``."""
        return max(self.max_quarantined_share, self.max_duplicate_key_share)
