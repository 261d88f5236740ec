"""Matching: from staged records to customers.

- ``matching.linkage``: record linkage with Splink (features, blocking, training,
  prediction, clustering with steward decisions, the review queue, evaluation);
- ``matching.master``: persistent customer IDs, xref history, survivorship,
  relationships and roles, the master build;
- ``matching.duplicate_check``: "does this customer already exist?" for one new record,
  the engine behind ``custmaster check``.
"""
