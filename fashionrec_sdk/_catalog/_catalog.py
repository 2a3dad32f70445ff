"""The public :class:`Catalog`: products + vectors + HNSW indexes, persisted atomically."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._bundle import ModelBundle
from .._encoders import ImageEncoder, TextEncoder
from .._errors import IncompatibleArtifactError, InvalidInputError
from .._fetch import FetchConfig, Fetcher
from .._records import Filters, Product
from ._feeds import FeedInput
from ._index import DEFAULT_PARAMS, IndexParams
from ._ingest import Encoded, IngestContext, run_ingest
from ._lock import RWLock
from ._persist import MANIFEST, BundleRef, load_catalog, save_catalog
from ._search import SearchTrace, search_slots
from ._store import DEFAULT_IMAGE_WEIGHT, Entry, VectorStore
from ._types import Hit, IngestReport

__all__ = ["Catalog"]

BundleInput = ModelBundle | str | os.PathLike[str] | None

_INSERT_CHUNK = 256  # items per write-lock hold when only inserting
_REPLACE_CHUNK = 16  # ... when replacing stored items (hnswlib updates are slower)


def _bundle(bundle: BundleInput) -> ModelBundle:
    return bundle if isinstance(bundle, ModelBundle) else ModelBundle.load(bundle)


def _ref(bundle: ModelBundle) -> BundleRef:
    m = bundle.manifest
    return BundleRef(
        sha256=bundle.sha256, name=m.name, version=m.version, embedding_dim=m.embedding_dim
    )


def _ids(ids: str | Iterable[str], field: str = "ids") -> list[str]:
    if isinstance(ids, str):
        return [ids]
    out = list(ids)
    for i, pid in enumerate(out):
        if not isinstance(pid, str):
            raise InvalidInputError(
                f"{field}[{i}] must be a product id (str), got {type(pid).__name__}",
                field=f"{field}[{i}]",
            )
    return out


class Catalog:
    """A shop's products with their vectors and HNSW indexes, stored in a directory.

    Create one with :meth:`build` or :meth:`open`; the constructor is internal.

    Thread safety: any number of threads may call the read methods (:meth:`get`,
    :meth:`search_vector`, :meth:`vectors`, iteration) while one thread calls
    :meth:`upsert`, :meth:`delete` or :meth:`save`. A reader-writer lock makes every
    ingest batch and every delete atomic to readers.
    """

    def __init__(
        self,
        store: VectorStore,
        bundle_ref: BundleRef,
        *,
        bundle: ModelBundle | None = None,
        path: Path | None = None,
        generation: int = 0,
        fetch: FetchConfig | Fetcher | None = None,
    ) -> None:
        self._store = store
        self._bundle_ref = bundle_ref
        self._bundle = bundle
        self.path = path
        self._generation = generation
        self._lock = RWLock()
        # Held by every mutation (per chunk) and by save() for its whole duration:
        # a save excludes writers without making readers wait (readers only take
        # the shared side of the reader-writer lock, which a save never touches).
        self._mutate = threading.Lock()
        self._init_lock = threading.Lock()
        self._fetch = fetch
        self._fetcher: Fetcher | None = fetch if isinstance(fetch, Fetcher) else None
        self._owns_fetcher = False
        self._text_encoder: TextEncoder | None = None
        self._image_encoder: ImageEncoder | None = None
        self.last_report: IngestReport | None = None

    # -- construction ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        products: FeedInput,
        path: str | os.PathLike[str] | None = None,
        *,
        bundle: BundleInput = None,
        show_progress: bool | None = None,
        batch_size: int = 256,
        image_weight: float = DEFAULT_IMAGE_WEIGHT,
        fetch: FetchConfig | Fetcher | None = None,
        overwrite: bool = False,
    ) -> Catalog:
        """Encode ``products`` and index them; save to ``path`` when one is given.

        Args:
            products: :class:`Product` records or dicts, or a ``.jsonl``/``.json``/
                ``.csv`` feed file (see :mod:`fashionrec_sdk._catalog._feeds` for the
                CSV conventions).
            path: catalog directory to write (``None``: in memory until :meth:`save`).
            bundle: the model bundle (or its directory); ``None`` loads the default.
            show_progress: progress on stderr; ``None`` follows the logger level.
            batch_size: records validated, encoded and applied per step.
            image_weight: ``w`` in the fused item vector ``normalize(text + w * image)``.
            fetch: limits (or a ready :class:`Fetcher`) for http(s) image URLs.
            overwrite: replace a catalog already at ``path`` (atomically, on save).

        Bad records and failed images do not stop the build: they are listed in
        :attr:`last_report` (an :class:`IngestReport`).
        """
        if not isinstance(image_weight, int | float) or not 0 <= image_weight <= 100:
            raise InvalidInputError(
                f"image_weight must be in [0, 100], got {image_weight!r}", field="image_weight"
            )
        target = None if path is None else Path(path).expanduser()
        if target is not None and (target / MANIFEST).exists() and not overwrite:
            raise InvalidInputError(
                f"{target} already holds a catalog; open it with Catalog.open() and upsert, "
                "or pass overwrite=True",
                field="path",
            )
        loaded = _bundle(bundle)
        store = VectorStore(loaded.embedding_dim, image_weight=float(image_weight))
        catalog = cls(store, _ref(loaded), bundle=loaded, path=target, fetch=fetch)
        catalog.last_report = catalog._ingest(products, batch_size, show_progress, "build")
        if target is not None:
            catalog.save()
        return catalog

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        bundle: BundleInput = None,
        *,
        fetch: FetchConfig | Fetcher | None = None,
    ) -> Catalog:
        """Open a saved catalog, verifying every file's size and sha256 first.

        Raises:
            ArtifactIntegrityError: a file is missing, truncated, altered or malformed.
            IncompatibleArtifactError: unknown format version, or ``bundle`` is not the
                bundle the catalog was built with (the message names both sha256).
        """
        directory = Path(path).expanduser()
        loaded = _bundle(bundle)
        result = load_catalog(directory)
        ref = result.manifest.bundle
        if ref.sha256 != loaded.sha256:
            raise IncompatibleArtifactError(
                f"catalog {directory} was built with model bundle {ref.name!r} "
                f"(sha256 {ref.sha256}) but was opened with bundle {loaded.manifest.name!r} "
                f"(sha256 {loaded.sha256}); rebuild the catalog with this bundle or open it "
                "with the one it was built with",
                path=directory,
                expected=ref.sha256,
                found=loaded.sha256,
            )
        return cls(
            result.store,
            ref,
            bundle=loaded,
            path=directory,
            generation=result.manifest.generation,
            fetch=fetch,
        )

    @classmethod
    def _from_vectors(
        cls,
        products: Sequence[Product],
        text_vectors: np.ndarray,
        image_vectors: np.ndarray | None = None,
        *,
        bundle_ref: BundleRef,
        params: IndexParams = DEFAULT_PARAMS,
        image_weight: float = DEFAULT_IMAGE_WEIGHT,
        batch_size: int = 50_000,
        bundle: ModelBundle | None = None,
    ) -> Catalog:
        """Internal (benchmarks, tests): a catalog from ready vectors, no encoders.

        ``bundle`` (whose sha256 must be ``bundle_ref``'s) makes the catalog usable by a
        :class:`Recommender` (benchmarks of the real models over synthetic vectors).
        """
        if bundle is not None and bundle.sha256 != bundle_ref.sha256:
            raise IncompatibleArtifactError(
                f"bundle sha256 {bundle.sha256} does not match bundle_ref {bundle_ref.sha256}",
                expected=bundle_ref.sha256,
                found=bundle.sha256,
            )
        store = VectorStore(bundle_ref.embedding_dim, image_weight=image_weight, params=params)
        catalog = cls(store, bundle_ref, bundle=bundle)
        for start in range(0, len(products), batch_size):
            end = start + batch_size
            images = None if image_vectors is None else image_vectors[start:end]
            catalog._upsert_vectors(products[start:end], text_vectors[start:end], images)
        return catalog

    @classmethod
    def _open_vectors(cls, path: str | os.PathLike[str], bundle_ref: BundleRef) -> Catalog:
        """Internal (benchmarks): open a catalog made by :meth:`_from_vectors`."""
        result = load_catalog(Path(path))
        if result.manifest.bundle.sha256 != bundle_ref.sha256:
            raise IncompatibleArtifactError(
                f"catalog {path} was built with bundle sha256 {result.manifest.bundle.sha256}, "
                f"not {bundle_ref.sha256}",
                expected=result.manifest.bundle.sha256,
                found=bundle_ref.sha256,
            )
        return cls(result.store, bundle_ref, path=Path(path), generation=result.manifest.generation)

    # -- models ----------------------------------------------------------------------

    @property
    def bundle(self) -> ModelBundle:
        """The model bundle this catalog's vectors were made with."""
        if self._bundle is None:
            raise IncompatibleArtifactError(
                "this catalog was made from raw vectors and has no model bundle",
                expected=self._bundle_ref.sha256,
            )
        return self._bundle

    @property
    def bundle_sha256(self) -> str:
        """sha256 of the bundle manifest the vectors were made with."""
        return self._bundle_ref.sha256

    @property
    def text_encoder(self) -> TextEncoder:
        """The bundle's text encoder (created on first use)."""
        with self._init_lock:
            if self._text_encoder is None:
                self._text_encoder = TextEncoder(self.bundle)
            return self._text_encoder

    @property
    def image_encoder(self) -> ImageEncoder:
        """The bundle's image encoder (created on first use).

        Raises:
            IncompatibleArtifactError: the bundle has no image encoder.
        """
        with self._init_lock:
            if self._image_encoder is None:
                self._image_encoder = ImageEncoder(self.bundle, fetcher=self._get_fetcher())
            return self._image_encoder

    def _get_fetcher(self) -> Fetcher:
        if self._fetcher is None:
            config = self._fetch if isinstance(self._fetch, FetchConfig) else None
            self._fetcher = Fetcher(config)
            self._owns_fetcher = True
        return self._fetcher

    def _maybe_image_encoder(self) -> ImageEncoder | None:
        if not self.bundle.has("image_encoder") or self.bundle.manifest.image is None:
            return None
        return self.image_encoder

    def close(self) -> None:
        """Close the http client used for image URLs (the catalog stays usable)."""
        with self._init_lock:
            if self._fetcher is not None and self._owns_fetcher:
                self._fetcher.close()
                self._fetcher = None
                self._image_encoder = None

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- properties ------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Dimension of every vector."""
        return self._store.dim

    @property
    def image_weight(self) -> float:
        """``w`` in the fused item vector ``normalize(text + w * image)``."""
        return self._store.image_weight

    @property
    def index_params(self) -> IndexParams:
        return self._store.params

    def categories(self) -> dict[str, int]:
        """Number of items per coarse category."""
        with self._lock.read():
            return {
                name: index.live
                for name, index in sorted(self._store.index_by_category.items())
                if index.live
            }

    # -- writing ---------------------------------------------------------------------

    def _lookup(self, ids: Sequence[str]) -> dict[str, Entry]:
        with self._lock.read():
            found = {pid: self._store.get(pid) for pid in ids}
        return {k: v for k, v in found.items() if v is not None}

    def _stored_vectors(
        self, ids: Sequence[str]
    ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        with self._lock.read():
            found = [(pid, self._store.slot_of.get(pid)) for pid in ids]
            slots = np.array([s for _, s in found if s is not None], dtype=np.int64)
            text = self._store.text_rows(slots)
            image = self._store.image_rows(slots)
            has = self._store.has_image[slots]
        row = 0
        for pid, slot in found:
            if slot is not None:
                out[pid] = (text[row], image[row] if has[row] else None)
                row += 1
        return out

    def _apply(self, batch: Encoded) -> list[bool]:
        """Apply ``batch`` in chunks, each atomic to readers (holding the write lock).

        Replacing the vector of a stored item costs hnswlib ~5x an insertion (it
        repairs the neighbourhood), so chunks with replacements are smaller: readers
        never wait for more than a few dozen graph updates.
        """
        n = len(batch.entries)
        replacing = any(e.product.id in self._store.slot_of for e in batch.entries)
        size = _REPLACE_CHUNK if replacing else _INSERT_CHUNK
        was_new: list[bool] = []
        for start in range(0, n, size):
            end = min(n, start + size)
            image = None if batch.image is None else batch.image[start:end]
            with self._mutate, self._lock.write():
                was_new += self._store.put(batch.entries[start:end], batch.text[start:end], image)
        return was_new

    def _ingest(
        self, products: FeedInput, batch_size: int, show_progress: bool | None, label: str
    ) -> IngestReport:
        ctx = IngestContext(
            dim=self.dim,
            text_encoder=lambda: self.text_encoder,
            image_encoder=self._maybe_image_encoder,
            fetcher=self._get_fetcher,
            lookup=self._lookup,
            stored_vectors=self._stored_vectors,
            apply=self._apply,
        )
        return run_ingest(
            products, ctx, batch_size=batch_size, show_progress=show_progress, label=label
        )

    def upsert(
        self, products: FeedInput, *, show_progress: bool | None = None, batch_size: int = 256
    ) -> IngestReport:
        """Add new products and replace stored ones with the same id.

        Same inputs as :meth:`build`. Changes are in memory until :meth:`save`.
        Returns the :class:`IngestReport` (also kept in :attr:`last_report`).
        """
        report = self._ingest(products, batch_size, show_progress, "upsert")
        self.last_report = report
        return report

    def _upsert_vectors(
        self,
        products: Sequence[Product],
        text_vectors: np.ndarray,
        image_vectors: np.ndarray | None = None,
    ) -> list[bool]:
        """Internal: store products with ready, unit-length vectors (no encoders)."""
        text = np.asarray(text_vectors, dtype=np.float32)
        if text.shape != (len(products), self.dim):
            raise InvalidInputError(
                f"text_vectors must be ({len(products)}, {self.dim}), got {text.shape}",
                field="text_vectors",
            )
        has_image = image_vectors is not None
        entries = [Entry(p, p.coarse_category, has_image) for p in products]
        if len({p.id for p in products}) != len(products):
            raise InvalidInputError("product ids must be unique within one call", field="products")
        image = None if image_vectors is None else np.asarray(image_vectors, dtype=np.float32)
        return self._apply(Encoded(entries, text, image))

    def delete(self, ids: str | Iterable[str]) -> int:
        """Remove products by id; unknown ids are ignored. Returns how many were removed."""
        wanted = _ids(ids)
        with self._mutate, self._lock.write():
            return self._store.remove(wanted)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the catalog to its directory atomically (see :mod:`._persist`).

        A process killed at any instant leaves a directory that opens as either the
        previous save or this one. Writers wait while a save runs; queries do not.
        """
        target = self.path if path is None else Path(path).expanduser()
        if target is None:
            raise InvalidInputError(
                "this catalog has no path yet: pass save(path=...)", field="path"
            )
        with self._mutate:
            manifest = save_catalog(
                target,
                self._store,
                self._bundle_ref,
                min_generation=self._generation if target == self.path else 0,
            )
        self._generation = manifest.generation
        self.path = target

    # -- reading ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, item: object) -> bool:
        pid = item.id if isinstance(item, Product) else item
        if not isinstance(pid, str):
            return False
        with self._lock.read():
            return pid in self._store.slot_of

    def __iter__(self) -> Iterator[Product]:
        """The stored products (a snapshot taken when iteration starts), in slot order."""
        with self._lock.read():
            snapshot = [e.product for e in self._store.iter_entries()]
        return iter(snapshot)

    def ids(self) -> list[str]:
        """The stored product ids (a snapshot), in slot order."""
        with self._lock.read():
            return [e.product.id for e in self._store.iter_entries()]

    def get(self, product_id: str) -> Product | None:
        """The stored product with ``product_id``, or ``None``."""
        with self._lock.read():
            entry = self._store.get(product_id)
        return None if entry is None else entry.product

    def has_image(self, product_id: str) -> bool:
        """True when the stored item has an image vector."""
        with self._lock.read():
            entry = self._store.get(product_id)
        return entry is not None and entry.has_image

    def _slots(self, ids: list[str]) -> np.ndarray:
        slots = np.empty(len(ids), dtype=np.int64)
        for i, pid in enumerate(ids):
            slot = self._store.slot_of.get(pid)
            if slot is None:
                raise InvalidInputError(
                    f"product {pid!r} is not in the catalog", field=f"ids[{i}]", product_id=pid
                )
            slots[i] = slot
        return slots

    def vectors(self, ids: str | Iterable[str]) -> np.ndarray:
        """Fused item vectors (what the indexes hold): ``(n, D)`` float32, unit length.

        Raises:
            InvalidInputError: an id is not in the catalog (the error names it).
        """
        wanted = _ids(ids)
        with self._lock.read():
            return self._store.fused(self._slots(wanted))

    def text_vectors(self, ids: str | Iterable[str]) -> np.ndarray:
        """Text vectors ``(n, D)`` float32 (stored as float16)."""
        wanted = _ids(ids)
        with self._lock.read():
            return self._store.text_rows(self._slots(wanted))

    def stored_vectors(
        self, products: Sequence[Product], *, kind: Literal["fused", "text"]
    ) -> tuple[list[int], np.ndarray]:
        """Positions of ``products`` stored exactly as given, and their vectors.

        ``kind="fused"`` gives what the indexes hold, ``"text"`` the text vectors. A
        product counts as stored only when the catalog holds this very record (a
        changed record must be re-encoded). One read-lock acquisition for the whole
        batch (the recommender's hot path).
        """
        known: list[int] = []
        slots: list[int] = []
        with self._lock.read():
            for i, p in enumerate(products):
                entry = self._store.get(p.id)
                if entry is not None and (entry.product is p or entry.product == p):
                    known.append(i)
                    slots.append(self._store.slot_of[p.id])
            rows = np.asarray(slots, dtype=np.int64)
            vecs = self._store.fused(rows) if kind == "fused" else self._store.text_rows(rows)
        return known, vecs

    def image_vectors(self, ids: str | Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Image vectors ``(n, D)`` float32 (zero rows for text-only items) and the
        ``(n,)`` bool mask of items that have one."""
        wanted = _ids(ids)
        with self._lock.read():
            slots = self._slots(wanted)
            return self._store.image_rows(slots), self._store.has_image[slots].copy()

    def search_vector(
        self,
        vector: np.ndarray | Sequence[float],
        k: int = 10,
        filters: Filters | None = None,
        category: str | None = None,
        *,
        _trace: SearchTrace | None = None,
    ) -> list[Hit]:
        """The ``k`` items closest (cosine) to ``vector`` that pass ``filters``.

        Args:
            vector: ``(D,)`` query in the bundle's space (normalised here).
            k: number of results; exactly ``k`` come back whenever at least ``k``
                items pass the filters.
            filters: business filters; every hit passes :meth:`Filters.accepts`.
            category: a coarse category: search only its index.

        Returns:
            Hits, best first, with the product, the cosine score and the vectors.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidInputError(f"k must be a positive int, got {k!r}", field="k")
        if filters is not None and not isinstance(filters, Filters):
            raise InvalidInputError(
                f"filters must be a Filters record, got {type(filters).__name__}", field="filters"
            )
        if category is not None and category not in VectorStore.CATEGORIES:
            raise InvalidInputError(
                f"category must be one of {list(VectorStore.CATEGORIES)}, got {category!r}",
                field="category",
            )
        query = self._query(vector)
        with self._lock.read():
            slots, scores = search_slots(self._store, query, k, filters, category, trace=_trace)
            if not len(slots):
                return []
            fused = self._store.fused(slots)
            text = self._store.text_rows(slots)
            image = self._store.image_rows(slots)
            for array in (fused, text, image):
                array.flags.writeable = False  # rows handed out are read-only views
            hits = []
            for row, slot in enumerate(slots.tolist()):
                entry = self._store.entries[slot]
                if entry is None:  # pragma: no cover - excluded by the lock
                    continue
                hits.append(
                    Hit(
                        product=entry.product,
                        score=float(scores[row]),
                        vector=fused[row],
                        text_vector=text[row],
                        image_vector=image[row] if entry.has_image else None,
                    )
                )
        return hits

    def _query(self, vector: Any) -> np.ndarray:
        try:
            query = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise InvalidInputError(f"vector must be numeric: {err}", field="vector") from err
        if query.ndim == 2 and query.shape[0] == 1:
            query = query[0]
        if query.shape != (self.dim,):
            raise InvalidInputError(
                f"vector must have shape ({self.dim},), got {query.shape}", field="vector"
            )
        if not np.isfinite(query).all():
            raise InvalidInputError("vector has NaN or infinite values", field="vector")
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            raise InvalidInputError("vector is all zeros", field="vector")
        return np.ascontiguousarray(query / norm, dtype=np.float32)

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else str(self.path)
        return (
            f"Catalog({len(self)} items, dim={self.dim}, bundle={self._bundle_ref.name!r}, {where})"
        )
