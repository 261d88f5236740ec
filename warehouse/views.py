"""Views of warehouse tables that several layers read, written once.

- ``CURRENT_XREF``: which customer each source record belongs to now (the open row of
  ``master.customer_xref`` per record). Relationships, roles, marts, quality checks and the
  duplicate check all read this one query, so they cannot disagree on "current".
- ``CURRENT_RECORDS``: every current source record as staged, with its ``customer_id``: the
  records the duplicate check indexes and a customer's page lists.
- ``MODELS_IN_USE``: the model version per entity type this run predicted with
  (``matching.models``, written by the training step).
"""

from __future__ import annotations

#: Current source record → customer, as the master layer keeps it (a parenthesised query).
CURRENT_XREF = "(SELECT record_key, customer_id FROM master.customer_xref WHERE valid_to IS NULL)"

#: Current source records (staged columns) with the customer each belongs to now.
CURRENT_RECORDS = (
    f"(SELECT s.*, x.customer_id FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key))"
)

#: The model versions this run's training step chose: one row per entity type.
MODELS_IN_USE = "(SELECT entity_type, version, model, path, trained, records FROM matching.models)"
