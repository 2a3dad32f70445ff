"""Scoring weights, score fusion, diversity (MMR) and human-readable reasons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field

from .._records import Filters, Product
from .._validation import Record

__all__ = ["RankingWeights", "filter_reasons", "mmr", "short_name"]


class RankingWeights(Record):
    """How the score components are combined (all documented in docs/concepts).

    ``final = relevance * r + compatibility * (c - 0.5) + physique * (p - 0.5)
    + personalization * u``, where ``r`` and ``u`` are cosines (query / taste vector vs
    item vector), ``c`` the outfit encoder's compatibility probability and ``p`` the
    physique fit (0.5 = neutral). ``diversity`` is the MMR trade-off: each next result
    maximises ``(1 - diversity) * final - diversity * max cosine to the results above``.
    """

    relevance: float = Field(default=1.0, ge=0, le=10)
    compatibility: float = Field(default=0.8, ge=0, le=10)
    physique: float = Field(default=0.5, ge=0, le=10)
    personalization: float = Field(default=0.5, ge=0, le=10)
    diversity: float = Field(default=0.25, ge=0, lt=1)
    near_duplicate: float = Field(default=0.97, gt=0, le=1)
    recency_half_life: float = Field(default=8.0, gt=0, le=10_000)

    def combine(self, components: dict[str, float]) -> float:
        return (
            self.relevance * components.get("relevance", 0.0)
            + self.compatibility * (components.get("compatibility", 0.5) - 0.5)
            + self.physique * (components.get("physique", 0.5) - 0.5)
            + self.personalization * components.get("personalization", 0.0)
        )


def mmr(
    scores: np.ndarray, vectors: np.ndarray, k: int, diversity: float, near_duplicate: float
) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` diverse high scorers, in order.

    Items with cosine >= ``near_duplicate`` to an already chosen item are skipped
    unless nothing else is left.
    """
    n = len(scores)
    if n == 0 or k <= 0:
        return []
    sims = vectors @ vectors.T
    chosen: list[int] = []
    max_sim = np.full(n, -1.0, dtype=np.float64)
    available = np.ones(n, dtype=bool)
    while len(chosen) < min(k, n):
        value = (1 - diversity) * scores - diversity * np.maximum(max_sim, 0)
        value = np.where(available, value, -np.inf)
        dup = available & (max_sim >= near_duplicate)
        if (available & ~dup).any():
            value = np.where(dup, -np.inf, value)
        i = int(np.argmax(value))
        chosen.append(i)
        available[i] = False
        max_sim = np.maximum(max_sim, sims[i])
    return chosen


def short_name(product: Product, words: int = 5) -> str:
    """A short lower-case name for reasons: "navy wool blazer"."""
    title = product.title.strip()
    parts = title.split()
    text = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def filter_reasons(product: Product, filters: Filters | None) -> list[str]:
    """Reasons stating which of the shopper's limits the product satisfies."""
    if filters is None:
        return []
    out: list[str] = []
    if filters.max_price is not None and product.price is not None:
        out.append(
            f"under your {product.currency if product.currency != 'USD' else '$'}{filters.max_price:g} limit"
        )
    elif filters.min_price is not None and product.price is not None:
        out.append(f"above {filters.min_price:g} as asked")
    if filters.colors and product.color:
        out.append(f"in {product.color.lower()}")
    if filters.exclude_colors:
        out.append("no " + "/".join(filters.exclude_colors))
    if filters.sizes:
        have = [s for s in filters.sizes if s in product.sizes]
        if have:
            out.append(f"available in size {have[0]}")
    if filters.in_stock:
        out.append("in stock")
    return out


def join_names(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
