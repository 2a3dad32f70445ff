"""The catalog layer: products + vectors + HNSW indexes, persisted atomically.

Modules by concern: ``_feeds`` (JSONL/JSON/CSV/iterable input), ``_ingest``
(validation, image fetching, batched encoding, :class:`IngestReport`), ``_store``
(slot-addressed vectors and filter columns), ``_index`` / ``_hnswfile`` (hnswlib
wrapper and its file checker), ``_search`` (filtered top-k), ``_persist`` (atomic
save/verified open), ``_lock`` (reader-writer lock), ``_catalog`` (the public class).
"""

from ._catalog import Catalog
from ._types import Hit, IngestIssue, IngestReport

__all__ = ["Catalog", "Hit", "IngestIssue", "IngestReport"]
