"""A thin, typed wrapper over one hnswlib index keyed by catalog slot.

Labels are catalog *slots* (small ints). A slot's element is created once and then
reused: deleting marks it deleted (``mark_deleted``); giving the slot to a new item
calls ``add_items`` with the same label, which hnswlib turns into an in-place update
that also clears the deleted mark. hnswlib's own ``replace_deleted`` is not used: it
hands a freed element to an arbitrary new label and, combined with labels that are
reused, can remap the label of a live element.

The wrapper is not thread-safe on its own; the catalog's reader-writer lock guards
every call. ``ef`` changes only under the catalog's write lock (when the index grows
or shrinks past a size step, see :func:`search_ef`); a search that needs more
candidates asks for a larger ``k`` (hnswlib searches with ``max(ef, k)``), so concurrent
queries never race on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .._errors import ArtifactIntegrityError
from ._hnswfile import inspect_hnsw_file

__all__ = ["DEFAULT_PARAMS", "AnnIndex", "IndexParams", "search_ef"]

_ABSENT, _LIVE, _DELETED = 0, 1, 2


@dataclass(frozen=True)
class IndexParams:
    """HNSW parameters.

    Chosen with ``python -m benchmarks.catalog_scale --n 100000`` (384-d vectors shaped
    like text-tower embeddings): recall@10 against exact search was 0.984 at ef=32,
    0.998 at ef=64 and 0.9998 at ef=96 (M=16, ef_construction=200). ef=96 keeps a
    margin for larger catalogs; filtered searches ask for more than ``ef`` anyway.
    ``tests/test_catalog_recall.py`` holds the default to recall@10 >= 0.98.

    Attributes:
        m: graph degree (``M``); level 0 keeps ``2 * m`` links.
        ef_construction: candidate list size while inserting.
        ef: candidate list size while searching (at least ``k``).
        seed: random seed of the level generator (builds are reproducible).
    """

    m: int = 16
    ef_construction: int = 200
    ef: int = 96
    seed: int = 100


DEFAULT_PARAMS = IndexParams()

#: Indexes up to this many live elements search with ``IndexParams.ef`` itself.
_EF_BASE_SIZE = 150_000
_EF_MAX = 512


def search_ef(live: int, floor: int) -> int:
    """The search ``ef`` of an index with ``live`` elements: ``floor`` up to 150k items,
    then growing with the square root of the size, at most 512.

    Measured on 1M synthetic items shaped like title embeddings
    (``python -m benchmarks.latency --sizes 1000000 --threads 1 --skip-extras``):
    recall@10 0.962 at ef 96, 0.973 at 128, 0.988 at 256 (1.7 ms/query) and 0.993 at
    512; at 100k, 0.9998 at ef 96. At 1M this gives ef 248.
    """
    grown = round(floor * math.sqrt(max(live, 1) / _EF_BASE_SIZE))
    return max(floor, min(_EF_MAX, grown))


class AnnIndex:
    """Inner-product HNSW index over unit vectors; scores are cosine similarities."""

    def __init__(
        self,
        dim: int,
        params: IndexParams = DEFAULT_PARAMS,
        capacity: int = 1024,
        *,
        _load_from: Path | None = None,
    ) -> None:
        self.dim = dim
        self.params = params
        self._index = hnswlib.Index(space="ip", dim=dim)
        if _load_from is None:
            self._index.init_index(
                max_elements=max(16, capacity),
                M=params.m,
                ef_construction=params.ef_construction,
                random_seed=params.seed,
            )
        else:
            self._index.load_index(str(_load_from), max_elements=max(16, capacity))
        self.ef = params.ef
        self._index.set_ef(self.ef)
        self._state = np.zeros(max(16, capacity), dtype=np.int8)
        self._elements = 0
        self.live = 0

    @property
    def elements(self) -> int:
        """Number of elements in the graph (live + deleted)."""
        return self._elements

    def _grow_state(self, top_label: int) -> None:
        if top_label >= len(self._state):
            new = np.zeros(max(top_label + 1, 2 * len(self._state)), dtype=np.int8)
            new[: len(self._state)] = self._state
            self._state = new

    def add(self, labels: np.ndarray, vectors: np.ndarray, *, threads: int = -1) -> None:
        """Insert or replace the vectors of ``labels`` (``(n,)`` int, ``(n, dim)`` float32)."""
        if not len(labels):
            return
        labels = np.asarray(labels, dtype=np.int64)
        self._grow_state(int(labels.max()))
        state = self._state[labels]
        new = int((state == _ABSENT).sum())
        needed = self._elements + new
        capacity = self._index.get_max_elements()
        if needed > capacity:
            self._index.resize_index(max(needed, int(capacity * 1.5) + 16))
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index.add_items(data, labels, num_threads=1 if len(labels) < 64 else threads)
        self._elements = needed
        self.live += int((state != _LIVE).sum())
        self._state[labels] = _LIVE
        self._update_ef()

    def _update_ef(self) -> None:
        ef = search_ef(self.live, self.params.ef)
        if ef != self.ef:
            self.ef = ef
            self._index.set_ef(ef)

    def remove(self, labels: np.ndarray) -> None:
        """Mark ``labels`` deleted; labels that are absent or already deleted are skipped."""
        for label in np.asarray(labels, dtype=np.int64).tolist():
            if label < len(self._state) and self._state[label] == _LIVE:
                self._index.mark_deleted(label)
                self._state[label] = _DELETED
                self.live -= 1
        self._update_ef()

    def contains(self, label: int) -> bool:
        return label < len(self._state) and bool(self._state[label] == _LIVE)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Top-``k`` labels and cosine scores for one unit ``query``, best first.

        ``k`` is clipped to the live count. Returns ``None`` when hnswlib cannot
        return ``k`` results (possible with many deleted elements); callers then
        fall back to an exact scan.
        """
        k = min(k, self.live)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        try:
            labels, distances = self._index.knn_query(query[None, :], k=k, num_threads=1)
        except RuntimeError:
            return None
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (hnswlib's binary format)."""
        self._index.save_index(str(path))

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        dim: int,
        params: IndexParams,
        elements: int,
        live_labels: np.ndarray,
        max_label: int,
    ) -> AnnIndex:
        """Check ``path`` structurally, then load it.

        ``live_labels`` are the slots the catalog manifest says are live in this
        index; the file must hold exactly one element per label, every label below
        ``max_label``, live exactly for those, or :class:`ArtifactIntegrityError` is raised.
        """
        info = inspect_hnsw_file(
            path, dim=dim, m=params.m, ef_construction=params.ef_construction, count=elements
        )
        live = np.zeros(info.count, dtype=bool)
        if info.count and int(info.labels.max()) >= max_label:
            raise ArtifactIntegrityError(
                f"index file {path} has a label past the catalog's {max_label} slots", path=path
            )
        if info.count:
            if len(np.unique(info.labels)) != info.count:
                raise ArtifactIntegrityError(f"index file {path} repeats a label", path=path)
            order = np.argsort(info.labels)
            live = ~info.deleted[order]
            sorted_labels = info.labels[order]
        else:
            sorted_labels = info.labels
        expected = np.sort(np.asarray(live_labels, dtype=np.uint64))
        if not np.array_equal(sorted_labels[live], expected):
            raise ArtifactIntegrityError(
                f"index file {path} does not hold the live items the manifest lists", path=path
            )
        self = cls(dim, params, capacity=info.count, _load_from=path if info.count else None)
        if info.count:
            top = int(sorted_labels[-1])
            self._grow_state(top)
            self._state[sorted_labels.astype(np.int64)] = np.where(live, _LIVE, _DELETED)
        self._elements = info.count
        self.live = int(live.sum())
        self._update_ef()
        return self
