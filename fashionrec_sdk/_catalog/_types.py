"""Records the catalog returns: ingest reports and search hits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._records import Product
from .._validation import Record

__all__ = ["Hit", "IngestIssue", "IngestReport", "IssueKind"]

IssueKind = Literal["invalid", "image_failed", "duplicate"]


class IngestIssue(Record):
    """One problem met while ingesting a feed.

    Attributes:
        kind: ``"invalid"`` (the record was rejected, nothing of it was stored),
            ``"image_failed"`` (the item was stored from its text only) or
            ``"duplicate"`` (a later record of the same batch with the same id
            replaced this one).
        product_id: the record's id, when it has a readable one.
        line: 1-based line of the record in a JSONL/CSV/JSON feed file.
        index: 0-based position of the record in a Python iterable.
        reason: what went wrong, naming the field.
    """

    kind: IssueKind
    reason: str
    product_id: str | None = None
    line: int | None = None
    index: int | None = None

    def where(self) -> str:
        """``"line 12"``, ``"item 3"`` or ``"id 'sku1'"``, for messages."""
        if self.line is not None:
            return f"line {self.line}"
        if self.index is not None:
            return f"item {self.index}"
        return f"id {self.product_id!r}"


class IngestReport(Record):
    """The outcome of :meth:`Catalog.build` or :meth:`Catalog.upsert`.

    Attributes:
        seen: records read from the input.
        added: new ids stored.
        updated: existing ids replaced by a new version.
        unchanged: records identical to the stored version (not re-encoded).
        with_image: stored items that have an image vector.
        issues: every rejected record, failed image and in-batch duplicate.
        seconds: wall-clock time of the ingest.
    """

    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    with_image: int = 0
    issues: tuple[IngestIssue, ...] = ()
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[IngestIssue, ...]:
        """Records that were rejected (nothing of them was stored)."""
        return tuple(i for i in self.issues if i.kind == "invalid")

    @property
    def text_only(self) -> tuple[IngestIssue, ...]:
        """Items stored without an image vector because their image failed."""
        return tuple(i for i in self.issues if i.kind == "image_failed")

    @property
    def stored(self) -> int:
        """Records now in the catalog from this ingest (added + updated + unchanged)."""
        return self.added + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        """True when no record was rejected and no image failed."""
        return not self.failed and not self.text_only

    def summary(self) -> str:
        """One line for logs: counts and the first few problems."""
        parts = [
            f"{self.seen} read",
            f"{self.added} added",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{len(self.failed)} rejected",
            f"{len(self.text_only)} text-only (image failed)",
        ]
        text = ", ".join(parts) + f" in {self.seconds:.1f}s"
        for issue in self.issues[:3]:
            text += f"; {issue.where()}: {issue.reason}"
        if len(self.issues) > 3:
            text += f"; ... {len(self.issues) - 3} more"
        return text

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, eq=False)
class Hit:
    """One search result.

    Attributes:
        product: the stored product (the version current when the query ran).
        score: cosine similarity between the query and :attr:`vector`.
        vector: the item vector the index holds (``(D,)`` float32, unit length):
            ``normalize(text + w * image)``, or the text vector for text-only items.
        text_vector: the item's text vector (``(D,)`` float32).
        image_vector: its image vector, or ``None`` for text-only items.
    """

    product: Product
    score: float
    vector: np.ndarray
    text_vector: np.ndarray
    image_vector: np.ndarray | None = None

    @property
    def id(self) -> str:
        return self.product.id

    def __repr__(self) -> str:
        return f"Hit(id={self.product.id!r}, score={self.score:.4f})"
