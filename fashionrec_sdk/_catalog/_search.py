"""Filtered top-k search: HNSW with over-fetch, then an exact scan as the last resort.

Guarantee: when at least ``k`` live items pass the filters, exactly ``k`` come back;
every returned item passes :meth:`Filters.accepts`.

Strategy, per query:

1. The filter columns (price, stock, category, gender, brand, excluded ids) give the
   set of slots that *may* pass, in one vectorised pass. Its size bounds the share
   ``s`` of the index that passes.
2. If that set is small an exact scan of it is cheaper than a graph search: score
   the set's fused vectors, keep the best that pass. "Small" is
   ``max(EXACT_MIN, 2 * sqrt(k * live))``: a scan costs about one vector per
   candidate ``m``, an over-fetching graph search about ``k / s = k * live / m``
   candidates, and the two meet near ``m = sqrt(k * live)``; the factor 2 leans
   towards the scan, which is exact and needs no second round.
3. Otherwise search the HNSW index for ``1.5 * k / s + 10`` candidates, drop those
   that fail, and if fewer than ``k`` pass, ask again for more: ``1.5 * k / r + 10``
   with ``r`` the pass rate just observed, at least twice the last request
   (hnswlib searches with ``max(ef, k)``, so this also grows ``ef``); at most
   :data:`MAX_ROUNDS` rounds, and only while the request stays below
   ``max(live / FETCH_SHARE, 8 * EXACT_MIN)`` candidates (a graph search much larger
   costs about as much as scanning everything).
4. If the rounds still come back short, scan the passing set exactly. At 1M items a
   scan with a Python-level filter (colours, sizes, attributes) costs ~1-2 s, which is
   why rare filters get more graph rounds first.

``benchmarks/catalog_scale.py`` reports how often each path runs and its latency for
filters of different selectivity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .._records import Filters
from ._store import VectorStore, needs_python_check

__all__ = ["EXACT_MIN", "FETCH_SHARE", "MAX_ROUNDS", "SearchTrace", "exact_limit", "search_slots"]

#: Filtered sets at most this large are always scanned exactly.
EXACT_MIN = 512
#: Over-fetch rounds before the exact fallback.
MAX_ROUNDS = 6
#: Graph searches ask for at most ``live / FETCH_SHARE`` candidates before the scan.
FETCH_SHARE = 32
_SCAN_CHUNK = 65_536

Path_ = Literal["empty", "hnsw", "exact"]


@dataclass
class SearchTrace:
    """How a query was answered (for benchmarks and tests)."""

    path: Path_ = "empty"
    rounds: int = 0
    fetched: list[int] = field(default_factory=list)


def exact_limit(k: int, live: int) -> int:
    """Largest filtered set that is scanned exactly instead of searched (see above)."""
    return max(EXACT_MIN, int(2 * math.sqrt(k * live)))


def _exact(
    store: VectorStore,
    query: np.ndarray,
    k: int,
    candidates: np.ndarray,
    filters: Filters | None,
    python_check: bool,
) -> tuple[np.ndarray, np.ndarray]:
    scores = np.empty(len(candidates), dtype=np.float32)
    for start in range(0, len(candidates), _SCAN_CHUNK):
        part = candidates[start : start + _SCAN_CHUNK]
        scores[start : start + len(part)] = store.scores(part, query)
    if not python_check or filters is None:
        if len(candidates) > k:
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(candidates))
        order = top[np.argsort(-scores[top], kind="stable")]
        return candidates[order], scores[order]
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order.tolist():
        entry = store.entries[int(candidates[i])]
        if entry is not None and filters.accepts(entry.product):
            keep.append(i)
            if len(keep) == k:
                break
    idx = np.array(keep, dtype=np.int64)
    return candidates[idx], scores[idx]


def search_slots(
    store: VectorStore,
    query: np.ndarray,
    k: int,
    filters: Filters | None = None,
    category: str | None = None,
    *,
    trace: SearchTrace | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` slots and cosine scores for a unit ``query``, best first."""
    trace = trace if trace is not None else SearchTrace()
    if category is None and filters is not None and filters.categories is not None:
        named = {c.lower() for c in filters.categories}
        if len(named) == 1 and named <= set(store.CATEGORIES):
            category = named.pop()  # one coarse category: use its own, smaller index
    index = store.index_for(category)
    if index is None or index.live == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    python_check = needs_python_check(filters)
    if filters is None:
        trace.path, trace.rounds = "hnsw", 1
        trace.fetched.append(min(k, index.live))
        found = index.search(query, k)
        if found is not None:
            return found
        mask = store.column_mask(None, category)
        trace.path = "exact"
        return _exact(store, query, k, np.flatnonzero(mask), None, False)

    mask = store.column_mask(filters, category)
    candidates = np.flatnonzero(mask)
    if not len(candidates):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    if len(candidates) <= max(exact_limit(k, index.live), 8 * k):
        trace.path = "exact"
        return _exact(store, query, k, candidates, filters, python_check)
    share = len(candidates) / index.live
    fetch = min(index.live, math.ceil(k / share * 1.5) + 10)
    trace.path = "hnsw"
    limit = max(index.live // FETCH_SHARE, 8 * EXACT_MIN, fetch)
    for _ in range(MAX_ROUNDS):
        trace.rounds += 1
        trace.fetched.append(fetch)
        found = index.search(query, fetch)
        if found is None:
            break
        labels, scores = found
        keep = mask[labels]
        if python_check and filters is not None:
            for j in np.flatnonzero(keep).tolist():
                entry = store.entries[int(labels[j])]
                keep[j] = entry is not None and filters.accepts(entry.product)
        hits = np.flatnonzero(keep)
        if len(hits) >= k or fetch >= index.live:
            hits = hits[:k]
            return labels[hits], scores[hits]
        rate = len(hits) / max(len(labels), 1)
        wanted = math.ceil(1.5 * k / rate) + 10 if rate > 0 else 4 * fetch
        fetch = min(index.live, max(2 * fetch, wanted))
        if fetch > limit:
            break
    trace.path = "exact"
    return _exact(store, query, k, candidates, filters, python_check)
