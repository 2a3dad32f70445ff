"""Products, their vectors and the HNSW indexes, addressed by slot.

Every stored item occupies one *slot*: a row of the float16 text/image matrices, an
entry of the filter columns and the label of its element in the global index and in
the index of its coarse category. A deleted item's slot goes to a free list and is
given to the next new item (its index elements are updated in place).

Vectors: the text vector ``t`` and, when the item has an image, the image vector
``i`` (both unit length) are stored as float16 (half the memory and disk of float32;
``benchmarks/catalog_scale.py`` measures that exact search on float16 rows agrees
with float32). The indexes hold the *fused* vector::

    v = normalize(t + w * i)        (v = t for text-only items)

with ``w = image_weight`` (default 0.5): text stays the dominant signal (titles,
categories and colours are what shoppers filter and search by), the image adds what
the text omits (pattern, cut, shade). The fused vector is recomputed from the stored
float16 rows, so every path (HNSW, exact scan, :meth:`fused`) sees the same numbers.

Not thread-safe by itself: the catalog's reader-writer lock guards every call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .._categories import COARSE_CATEGORIES
from .._parser import COLORS
from .._records import Filters, Product
from ._index import DEFAULT_PARAMS, AnnIndex, IndexParams

__all__ = ["DEFAULT_IMAGE_WEIGHT", "Entry", "VectorStore", "fuse", "needs_python_check"]

DEFAULT_IMAGE_WEIGHT = 0.5

_CATEGORY_CODE = {c: i for i, c in enumerate(COARSE_CATEGORIES)}
_GENDER_CODE = {"women": 0, "men": 1, "unisex": 2, "kids": 3}
_NO_CODE = -1


@dataclass(frozen=True)
class Entry:
    """A stored item: the product, its coarse category and where its image came from.

    ``image_sha256`` is set when the image was given as bytes: the bytes are encoded
    and then dropped (``product.image`` is ``None``), the digest tells which image the
    stored vector came from.
    """

    product: Product
    category: str
    has_image: bool
    image_sha256: str | None = None


def _unnormalized(
    text: np.ndarray, image: np.ndarray | None, has_image: np.ndarray, weight: float
) -> np.ndarray:
    out = np.array(text, dtype=np.float32)
    if image is not None and bool(has_image.any()):
        out[has_image] += np.float32(weight) * np.asarray(image[has_image], dtype=np.float32)
    return out


def fuse(
    text: np.ndarray, image: np.ndarray | None, has_image: np.ndarray, weight: float
) -> np.ndarray:
    """Fused item vectors ``(n, D)`` float32 from float16/32 text and image rows."""
    out = _unnormalized(text, image, has_image, weight)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.maximum(norm, np.float32(1e-12))
    return out


def _grow(array: np.ndarray, size: int, fill: float | int | bool = 0) -> np.ndarray:
    if size <= len(array):
        return array
    new_shape = (max(size, 2 * len(array), 64), *array.shape[1:])
    new = np.full(new_shape, fill, dtype=array.dtype)
    new[: len(array)] = array
    return new


class VectorStore:
    """Slot-addressed products + vectors + one global and per-category HNSW indexes."""

    CATEGORIES = COARSE_CATEGORIES

    def __init__(
        self,
        dim: int,
        *,
        image_weight: float = DEFAULT_IMAGE_WEIGHT,
        params: IndexParams = DEFAULT_PARAMS,
    ) -> None:
        self.dim = dim
        self.image_weight = image_weight
        self.params = params
        self.entries: list[Entry | None] = []
        self.slot_of: dict[str, int] = {}
        self._free: list[int] = []
        self.text = np.zeros((0, dim), dtype=np.float16)
        self.image: np.ndarray | None = None
        self.has_image = np.zeros(0, dtype=bool)
        self.live = np.zeros(0, dtype=bool)
        self._norm = np.ones(0, dtype=np.float32)  # |t + w i| before normalisation
        self._price = np.zeros(0, dtype=np.float64)
        self._in_stock = np.zeros(0, dtype=bool)
        self._category = np.zeros(0, dtype=np.int8)
        self._gender = np.zeros(0, dtype=np.int8)
        self._brand = np.zeros(0, dtype=np.int32)
        self._colors = np.zeros(0, dtype=np.uint64)  # bit i: COLORS[i] named (colour or title)
        self._brand_codes: dict[str, int] = {}
        self.index_all = AnnIndex(dim, params)
        self.index_by_category: dict[str, AnnIndex] = {}

    # -- reading ---------------------------------------------------------------------

    @property
    def slots(self) -> int:
        """High-water mark of used slots (live + free)."""
        return len(self.entries)

    def __len__(self) -> int:
        return len(self.slot_of)

    def get(self, product_id: str) -> Entry | None:
        slot = self.slot_of.get(product_id)
        return None if slot is None else self.entries[slot]

    def iter_entries(self) -> Iterator[Entry]:
        for entry in self.entries:
            if entry is not None:
                yield entry

    def fused(self, slots: np.ndarray) -> np.ndarray:
        """Fused item vectors of ``slots`` (``(n, D)`` float32, unit length)."""
        image = None if self.image is None else self.image[slots]
        return fuse(self.text[slots], image, self.has_image[slots], self.image_weight)

    def scores(self, slots: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Cosine of the unit ``query`` with the fused vectors of ``slots`` (exact scan)."""
        out: np.ndarray = np.asarray(self.text[slots], dtype=np.float32) @ query
        if self.image is not None:
            has = self.has_image[slots]
            if bool(has.any()):
                rows = np.asarray(self.image[slots[has]], dtype=np.float32)
                out[has] += np.float32(self.image_weight) * (rows @ query)
        out /= self._norm[slots]
        return out

    def _compute_norms(self, slots: np.ndarray) -> None:
        image = None if self.image is None else self.image[slots]
        raw = _unnormalized(self.text[slots], image, self.has_image[slots], self.image_weight)
        self._norm[slots] = np.maximum(np.linalg.norm(raw, axis=1), np.float32(1e-12))

    def text_rows(self, slots: np.ndarray) -> np.ndarray:
        return np.asarray(self.text[slots], dtype=np.float32)

    def image_rows(self, slots: np.ndarray) -> np.ndarray:
        """Image vectors of ``slots``; zero rows for text-only items."""
        if self.image is None:
            return np.zeros((len(slots), self.dim), dtype=np.float32)
        return np.asarray(self.image[slots], dtype=np.float32)

    def index_for(self, category: str | None) -> AnnIndex | None:
        if category is None:
            return self.index_all
        return self.index_by_category.get(category)

    # -- filters ---------------------------------------------------------------------

    def column_mask(self, filters: Filters | None, category: str | None) -> np.ndarray:
        """Slots that are live and pass every filter the columns can decide.

        A superset of the slots :meth:`Filters.accepts` passes; exact when
        :func:`needs_python_check` is false.
        """
        n = self.slots
        mask = self.live[:n].copy()
        if category is not None:
            mask &= self._category[:n] == _CATEGORY_CODE.get(category, _NO_CODE)
        if filters is None:
            return mask
        if filters.categories is not None and _all_coarse(filters.categories):
            codes = [_CATEGORY_CODE[c.lower()] for c in filters.categories]
            mask &= np.isin(self._category[:n], codes)
        price = self._price[:n]
        if filters.min_price is not None:
            mask &= price >= filters.min_price  # NaN (no price) compares False
        if filters.max_price is not None:
            mask &= price <= filters.max_price
        if filters.in_stock is not None:
            mask &= self._in_stock[:n] == filters.in_stock
        if filters.gender is not None:
            g = self._gender[:n]
            mask &= (
                (g == _GENDER_CODE[filters.gender])
                | (g == _GENDER_CODE["unisex"])
                | (g == _NO_CODE)
            )
        if filters.brands is not None:
            codes = [
                self._brand_codes[b.lower()]
                for b in filters.brands
                if b.lower() in self._brand_codes
            ]
            mask &= np.isin(self._brand[:n], codes)
        if filters.colors is not None and _all_known_colors(filters.colors):
            wanted = np.uint64(sum(_COLOR_BIT[c.lower()] for c in filters.colors))
            mask &= (self._colors[:n] & wanted) != 0
        if filters.exclude_colors is not None and _all_known_colors(filters.exclude_colors):
            banned = np.uint64(sum(_COLOR_BIT[c.lower()] for c in filters.exclude_colors))
            mask &= (self._colors[:n] & banned) == 0
        for product_id in filters.exclude_ids:
            slot = self.slot_of.get(product_id)
            if slot is not None:
                mask[slot] = False
        return mask

    # -- writing ---------------------------------------------------------------------

    def _ensure_capacity(self, size: int) -> None:
        self.text = _grow(self.text, size)
        if self.image is not None:
            self.image = _grow(self.image, size)
        self.has_image = _grow(self.has_image, size, False)
        self.live = _grow(self.live, size, False)
        self._norm = _grow(self._norm, size, 1.0)
        self._price = _grow(self._price, size, np.nan)
        self._in_stock = _grow(self._in_stock, size, False)
        self._category = _grow(self._category, size, _NO_CODE)
        self._gender = _grow(self._gender, size, _NO_CODE)
        self._brand = _grow(self._brand, size, _NO_CODE)
        self._colors = _grow(self._colors, size, 0)

    def _take_slot(self, product_id: str) -> int:
        slot = self.slot_of.get(product_id)
        if slot is not None:
            return slot
        if self._free:
            return self._free.pop()
        self.entries.append(None)
        self._ensure_capacity(len(self.entries))
        return len(self.entries) - 1

    def _set_columns(self, slot: int, entry: Entry) -> None:
        p = entry.product
        self._price[slot] = np.nan if p.price is None else p.price
        self._in_stock[slot] = p.in_stock
        self._category[slot] = _CATEGORY_CODE.get(entry.category, _NO_CODE)
        self._gender[slot] = _NO_CODE if p.gender is None else _GENDER_CODE[p.gender]
        self._colors[slot] = color_bits(p)
        if p.brand is None:
            self._brand[slot] = _NO_CODE
        else:
            self._brand[slot] = self._brand_codes.setdefault(
                p.brand.lower(), len(self._brand_codes)
            )

    def put(
        self,
        entries: Sequence[Entry],
        text: np.ndarray,
        image: np.ndarray | None = None,
    ) -> list[bool]:
        """Store ``entries`` with their vectors; returns, per entry, whether it was new.

        ``text`` is ``(n, D)``; ``image`` is ``(n, D)`` with rows only meaningful where
        ``entry.has_image``. Ids must be unique within the call.
        """
        n = len(entries)
        if not n:
            return []
        text16 = np.asarray(text).astype(np.float16)
        has_image = np.array([e.has_image for e in entries], dtype=bool)
        image16 = np.zeros_like(text16)
        if image is not None and has_image.any():
            image16[has_image] = np.asarray(image)[has_image].astype(np.float16)
        if has_image.any() and self.image is None:
            self.image = np.zeros(self.text.shape, dtype=np.float16)
        was_new: list[bool] = []
        slots = np.empty(n, dtype=np.int64)
        reindex = np.ones(n, dtype=bool)
        old_category: dict[int, str] = {}
        for row, entry in enumerate(entries):
            pid = entry.product.id
            previous = self.get(pid)
            was_new.append(previous is None)
            slot = self._take_slot(pid)
            if previous is not None:
                if previous.category != entry.category:
                    old_category[slot] = previous.category
                else:
                    # Same vectors, same category (a price or stock change): the
                    # indexes already hold this item; skip hnswlib's costly update.
                    reindex[row] = not self._same_vectors(slot, text16[row], image16[row], entry)
            slots[row] = slot
            self.entries[slot] = entry
            self.slot_of[pid] = slot
            self._set_columns(slot, entry)
        self.text[slots] = text16
        if self.image is not None:
            self.image[slots] = image16
        self.has_image[slots] = has_image
        self.live[slots] = True
        self._compute_norms(slots)
        for slot, category in old_category.items():
            self.index_by_category[category].remove(np.array([slot]))
        if not reindex.any():
            return was_new
        slots, fused = slots[reindex], self.fused(slots[reindex])
        self.index_all.add(slots, fused)
        categories = np.array([e.category for e, r in zip(entries, reindex, strict=True) if r])
        for category in np.unique(categories).tolist():
            rows = categories == category
            index = self.index_by_category.get(category)
            if index is None:
                index = self.index_by_category[category] = AnnIndex(self.dim, self.params)
            index.add(slots[rows], fused[rows])
        return was_new

    def _same_vectors(self, slot: int, text: np.ndarray, image: np.ndarray, entry: Entry) -> bool:
        if bool(self.has_image[slot]) != entry.has_image:
            return False
        if not np.array_equal(self.text[slot], text):
            return False
        return not entry.has_image or (
            self.image is not None and np.array_equal(self.image[slot], image)
        )

    def remove(self, product_ids: Sequence[str]) -> int:
        """Delete ``product_ids`` (unknown ids are ignored); returns how many were stored."""
        removed = 0
        for pid in product_ids:
            slot = self.slot_of.pop(pid, None)
            if slot is None:
                continue
            entry = self.entries[slot]
            self.entries[slot] = None
            self.live[slot] = False
            self.has_image[slot] = False
            label = np.array([slot])
            self.index_all.remove(label)
            if entry is not None and entry.category in self.index_by_category:
                self.index_by_category[entry.category].remove(label)
            self._free.append(slot)
            removed += 1
        return removed

    def restore(
        self,
        entries: list[Entry | None],
        text: np.ndarray,
        image: np.ndarray | None,
        index_all: AnnIndex,
        index_by_category: dict[str, AnnIndex],
    ) -> None:
        """Install state read from disk (already validated by the persistence layer)."""
        n = len(entries)
        self.entries = entries
        self.slot_of = {e.product.id: s for s, e in enumerate(entries) if e is not None}
        self._free = [s for s in range(n - 1, -1, -1) if entries[s] is None]
        self.text = text
        self.image = image
        self.has_image = np.zeros(n, dtype=bool)
        self.live = np.zeros(n, dtype=bool)
        self._norm = np.ones(n, dtype=np.float32)
        self._price = np.full(n, np.nan)
        self._in_stock = np.zeros(n, dtype=bool)
        self._category = np.full(n, _NO_CODE, dtype=np.int8)
        self._gender = np.full(n, _NO_CODE, dtype=np.int8)
        self._brand = np.full(n, _NO_CODE, dtype=np.int32)
        self._colors = np.zeros(n, dtype=np.uint64)
        for slot, entry in enumerate(entries):
            if entry is not None:
                self.live[slot] = True
                self.has_image[slot] = entry.has_image
                self._set_columns(slot, entry)
        for start in range(0, n, 65_536):
            self._compute_norms(np.arange(start, min(n, start + 65_536)))
        self.index_all = index_all
        self.index_by_category = index_by_category


#: One bit per colour word of the request parser (single words, no spaces).
_COLOR_BIT: dict[str, int] = {c: 1 << i for i, c in enumerate(COLORS)}


def color_bits(product: Product) -> int:
    """Bits of the colour words named in ``product``'s colour field or title, with the
    same substring rule as :meth:`Filters.accepts`."""
    named = f"{(product.color or '').lower()} {product.title.lower()}"
    return sum(bit for c, bit in _COLOR_BIT.items() if c in named)


def _all_known_colors(colors: Sequence[str]) -> bool:
    return all(c.lower() in _COLOR_BIT for c in colors)


def _all_coarse(categories: Sequence[str]) -> bool:
    return all(c.lower() in _CATEGORY_CODE for c in categories)


def needs_python_check(filters: Filters | None) -> bool:
    """True when ``filters`` has a condition the columns of :class:`VectorStore` miss."""
    if filters is None:
        return False
    if filters.categories is not None and not _all_coarse(filters.categories):
        return True
    return bool(
        filters.sizes is not None
        or (filters.colors is not None and not _all_known_colors(filters.colors))
        or (filters.exclude_colors is not None and not _all_known_colors(filters.exclude_colors))
        or filters.attributes
    )
