"""Views of warehouse tables that several layers read, written once.

- ``CURRENT_XREF``: which customer each source record belongs to now (the open row of
  ``master.customer_xref`` per record). Relationships, roles, marts, quality checks and the
  duplicate check all read this one query, so they cannot disagree on "current".
- ``MODELS_IN_USE``: the model version per entity type this run predicted with
  (``matching.models``, written by the training step).
"""

from __future__ import annotations

#: Current source record → customer, as the master layer keeps it (a parenthesised query).
CURRENT_XREF = "(SELECT record_key, customer_id FROM master.customer_xref WHERE valid_to IS NULL)"

#: The model versions this run's training step chose: one row per entity type.
MODELS_IN_USE = "(SELECT entity_type, version, model, path, trained, records FROM matching.models)"
