"""Catalog directories: atomic, generation-numbered saves and verified opens.

Layout of a catalog directory::

    manifest.json                  names the current generation's files, with sha256
    products-000007.jsonl          one line per stored item (slot, product, image flag)
    text-000007.npy                (slots, D) float16 text vectors
    image-000007.npy               (slots, D) float16 image vectors (absent if none)
    index-all-000007.hnsw          hnswlib index over every item
    index-dress-000007.hnsw        one per coarse category present
    .lock                          advisory lock (flock) between processes

Save protocol (a process killed at any instant leaves the old or the new state):

1. take the exclusive lock; delete files of ours the current manifest does not name
   (leftovers of an interrupted save);
2. write every file of generation ``g + 1`` under its own name, fsync each, fsync the
   directory; nothing refers to them yet, so the old state is untouched;
3. write ``manifest.json.tmp`` (with the size and sha256 of every new file and a
   checksum of itself), fsync it, ``os.replace`` it onto ``manifest.json`` (the atomic
   switch), fsync the directory;
4. delete the old generation's files, fsync the directory.

Open verifies, before any file is parsed or handed to hnswlib: the manifest's own
checksum, format name and version, that every file name is one of ours, and every
file's size and sha256. Index files are then bounds-checked structurally
(:mod:`._hnswfile`), so even a file crafted to match a crafted manifest raises
:class:`ArtifactIntegrityError` instead of crashing the interpreter. Readers hold the
shared lock while reading, so a concurrent save in another process cannot delete the
generation they are reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._categories import COARSE_CATEGORIES
from .._errors import ArtifactIntegrityError, IncompatibleArtifactError, InvalidInputError
from .._integrity import check_file, read_json, sha256_file
from .._records import Product
from ._index import AnnIndex, IndexParams
from ._store import Entry, VectorStore

try:  # pragma: no cover - POSIX only
    import fcntl
except ImportError:  # pragma: no cover - Windows: no inter-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CATALOG_FORMAT",
    "CATALOG_FORMAT_VERSION",
    "MANIFEST",
    "BundleRef",
    "CatalogManifest",
    "LoadedCatalog",
    "load_catalog",
    "read_manifest",
    "save_catalog",
]

CATALOG_FORMAT = "fashionrec-catalog"
CATALOG_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_LOCK = ".lock"
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024
_OUR_FILE = re.compile(r"^(products|text|image|index-[a-z]+)-(\d{6,})\.(jsonl|npy|hnsw)$")
_OUR_TEMP = re.compile(r"^manifest\.json\.tmp$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRecord(_Frozen):
    """A file of the catalog with its size and SHA-256."""

    file: str = Field(pattern=_OUR_FILE.pattern)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class BundleRef(_Frozen):
    """Which model bundle made the vectors (a catalog refuses any other)."""

    sha256: str
    name: str
    version: str
    embedding_dim: int = Field(ge=1, le=8192)


class IndexInfo(_Frozen):
    """HNSW parameters and the element count of each index file."""

    library: Literal["hnswlib"] = "hnswlib"
    space: Literal["ip"] = "ip"
    m: int = Field(ge=2, le=256)
    ef_construction: int = Field(ge=1, le=100_000)
    ef: int = Field(ge=1, le=100_000)
    seed: int
    elements: dict[str, int]


class Counts(_Frozen):
    items: int = Field(ge=0)
    slots: int = Field(ge=0)
    with_image: int = Field(ge=0)
    by_category: dict[str, int]


class CatalogManifest(_Frozen):
    """``manifest.json`` of a catalog directory (format version 1)."""

    format: Literal["fashionrec-catalog"]
    format_version: int
    generation: int = Field(ge=1)
    created: str
    bundle: BundleRef
    dim: int = Field(ge=1, le=8192)
    vector_dtype: Literal["float16"] = "float16"
    image_weight: float = Field(ge=0, le=100)
    fusion: str = "normalize(text + image_weight * image); the text vector when no image"
    counts: Counts
    index: IndexInfo
    files: dict[str, FileRecord]
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _checksum(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- locking and fsync ------------------------------------------------------------------


@contextlib.contextmanager
def _dir_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """flock ``directory/.lock``; a read-only directory is read without a lock."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- reading ----------------------------------------------------------------------------


def read_manifest(directory: Path) -> CatalogManifest:
    """Read and check ``directory/manifest.json`` (checksum, format, version, schema)."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ArtifactIntegrityError(f"catalog directory not found: {directory}", path=directory)
    if not path.is_file():
        raise ArtifactIntegrityError(f"{directory} is not a catalog: no {MANIFEST}", path=path)
    if path.stat().st_size > _MAX_MANIFEST_BYTES:
        raise ArtifactIntegrityError(f"catalog manifest {path} is implausibly large", path=path)
    data, _raw = read_json(path, what="catalog manifest")
    if not isinstance(data, dict):
        raise ArtifactIntegrityError(f"catalog manifest {path} is not a JSON object", path=path)
    if "checksum" not in data and data.get("format") != CATALOG_FORMAT:
        raise IncompatibleArtifactError(
            f"{path} is not a fashionrec catalog manifest (format {data.get('format')!r})",
            path=path,
            expected=CATALOG_FORMAT,
            found=data.get("format"),
        )
    if data.get("checksum") != _checksum(data):
        raise ArtifactIntegrityError(
            f"catalog manifest {path} fails its checksum (the file was altered)", path=path
        )
    if data.get("format") != CATALOG_FORMAT:
        raise IncompatibleArtifactError(
            f"{path} is not a fashionrec catalog manifest (format {data.get('format')!r})",
            path=path,
            expected=CATALOG_FORMAT,
            found=data.get("format"),
        )
    if data.get("format_version") != CATALOG_FORMAT_VERSION:
        raise IncompatibleArtifactError(
            f"catalog {directory} has format_version {data.get('format_version')!r}; this "
            f"fashionrec-sdk reads format_version {CATALOG_FORMAT_VERSION}",
            path=path,
            expected=CATALOG_FORMAT_VERSION,
            found=data.get("format_version"),
        )
    try:
        return CatalogManifest.model_validate(data)
    except ValidationError as err:
        raise ArtifactIntegrityError(
            f"catalog manifest {path} is malformed: {err}", path=path
        ) from err


def _verified(directory: Path, record: FileRecord) -> Path:
    path = directory / record.file
    check_file(path, record.bytes, record.sha256, what="catalog file")
    return path


def _load_matrix(path: Path, slots: int, dim: int) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ArtifactIntegrityError(
            f"catalog file {path} is not a valid .npy: {err}", path=path
        ) from err
    if array.dtype != np.float16 or array.shape != (slots, dim):
        raise ArtifactIntegrityError(
            f"catalog file {path} holds {array.dtype}{array.shape}, expected float16({slots}, {dim})",
            path=path,
        )
    return np.ascontiguousarray(array)


def _parse_item(line: bytes) -> tuple[int, bool, str | None, Product]:
    data = json.loads(line)
    if not isinstance(data, dict) or set(data) != {"slot", "has_image", "image_sha256", "product"}:
        raise ValueError("expected the keys slot, has_image, image_sha256, product")
    slot, has_image, sha = data["slot"], data["has_image"], data["image_sha256"]
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
        raise ValueError(f"slot {slot!r} is not a non-negative int")
    if not isinstance(has_image, bool):
        raise ValueError("has_image is not a bool")
    if sha is not None and not (isinstance(sha, str) and _SHA256.match(sha)):
        raise ValueError("image_sha256 is not a sha256 hex digest")
    if not isinstance(data["product"], dict):
        raise ValueError("product is not an object")
    return slot, has_image, sha, Product.model_validate(data["product"])


def _load_entries(path: Path, slots: int, items: int) -> list[Entry | None]:
    entries: list[Entry | None] = [None] * slots
    count = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                slot, has_image, sha, product = _parse_item(line)
            except (ValueError, UnicodeDecodeError, InvalidInputError) as err:
                raise ArtifactIntegrityError(
                    f"catalog file {path} line {number} is not a valid item: {err}", path=path
                ) from err
            if slot >= slots or entries[slot] is not None:
                raise ArtifactIntegrityError(
                    f"catalog file {path} line {number}: slot {slot} is out of range or repeated",
                    path=path,
                )
            entries[slot] = Entry(product, product.coarse_category, has_image, sha)
            count += 1
    if count != items:
        raise ArtifactIntegrityError(
            f"catalog file {path} holds {count} items, the manifest says {items}", path=path
        )
    ids = {e.product.id for e in entries if e is not None}
    if len(ids) != count:
        raise ArtifactIntegrityError(f"catalog file {path} repeats a product id", path=path)
    return entries


@dataclass
class LoadedCatalog:
    manifest: CatalogManifest
    store: VectorStore


def load_catalog(directory: Path) -> LoadedCatalog:
    """Open a catalog directory, verifying everything before it is parsed.

    Raises:
        ArtifactIntegrityError: missing, truncated, altered or inconsistent files.
        IncompatibleArtifactError: not a catalog, or an unknown format version.
    """
    with _dir_lock(directory, exclusive=False):
        manifest = read_manifest(directory)
        files = {name: _verified(directory, rec) for name, rec in manifest.files.items()}
        dim, counts, info = manifest.dim, manifest.counts, manifest.index
        if dim != manifest.bundle.embedding_dim:
            raise ArtifactIntegrityError(
                f"catalog manifest {directory / MANIFEST}: dim {dim} != bundle dim "
                f"{manifest.bundle.embedding_dim}",
                path=directory / MANIFEST,
            )
        expected_names = {"products", "text"} | {f"index:{n}" for n in info.elements}
        if counts.with_image:
            expected_names.add("image")
        if set(files) != expected_names:
            raise ArtifactIntegrityError(
                f"catalog manifest lists files {sorted(files)}, expected {sorted(expected_names)}",
                path=directory / MANIFEST,
            )
        entries = _load_entries(files["products"], counts.slots, counts.items)
        text = _load_matrix(files["text"], counts.slots, dim)
        image = _load_matrix(files["image"], counts.slots, dim) if "image" in files else None
        with_image = sum(1 for e in entries if e is not None and e.has_image)
        if with_image != counts.with_image:
            raise ArtifactIntegrityError(
                f"catalog {directory}: {with_image} items have images, the manifest says "
                f"{counts.with_image}",
                path=directory,
            )
        params = IndexParams(
            m=info.m, ef_construction=info.ef_construction, ef=info.ef, seed=info.seed
        )
        by_category: dict[str, list[int]] = {}
        for slot, entry in enumerate(entries):
            if entry is not None:
                by_category.setdefault(entry.category, []).append(slot)
        if {c: len(s) for c, s in by_category.items()} != counts.by_category:
            raise ArtifactIntegrityError(
                f"catalog {directory}: per-category counts differ from the manifest", path=directory
            )
        unknown = set(info.elements) - {"all", *COARSE_CATEGORIES}
        missing = set(by_category) - set(info.elements)
        if unknown or missing or (len(entries) and "all" not in info.elements):
            raise ArtifactIntegrityError(
                f"catalog manifest {directory / MANIFEST}: index list {sorted(info.elements)} "
                f"does not match the items (unknown {sorted(unknown)}, missing {sorted(missing)})",
                path=directory / MANIFEST,
            )
        live = {
            name: np.array(
                [s for s, e in enumerate(entries) if e is not None]
                if name == "all"
                else by_category.get(name, []),
                dtype=np.int64,
            )
            for name in info.elements
        }
        indexes = {
            name: AnnIndex.load(
                files[f"index:{name}"],
                dim=dim,
                params=params,
                elements=info.elements[name],
                live_labels=live[name],
                max_label=counts.slots,
            )
            for name in info.elements
        }
    store = VectorStore(dim, image_weight=manifest.image_weight, params=params)
    index_all = indexes.pop("all", None) or AnnIndex(dim, params)
    store.restore(entries, text, image, index_all, indexes)
    return LoadedCatalog(manifest, store)


# -- writing ----------------------------------------------------------------------------


class _HashingWriter(io.RawIOBase):
    def __init__(self, fh: io.BufferedWriter) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._fh.write(view)
        self.digest.update(view)
        self.size += len(view)
        return len(view)


def _write_file(path: Path, fill: Any) -> tuple[str, int]:
    with open(path, "wb") as fh:
        writer = _HashingWriter(fh)
        fill(writer)
        fh.flush()
        os.fsync(fh.fileno())
    return writer.digest.hexdigest(), writer.size


def _write_products(out: _HashingWriter, store: VectorStore) -> None:
    buffer: list[bytes] = []
    for slot, entry in enumerate(store.entries):
        if entry is None:
            continue
        sha = "null" if entry.image_sha256 is None else f'"{entry.image_sha256}"'
        head = f'{{"slot":{slot},"has_image":{"true" if entry.has_image else "false"},"image_sha256":{sha},"product":'
        buffer.append(head.encode() + entry.product.model_dump_json().encode() + b"}\n")
        if len(buffer) >= 4096:
            out.write(b"".join(buffer))
            buffer.clear()
    out.write(b"".join(buffer))


def _stale_files(directory: Path, keep: set[str]) -> list[Path]:
    return [
        p
        for p in directory.iterdir()
        if p.name not in keep and (_OUR_FILE.match(p.name) or _OUR_TEMP.match(p.name))
    ]


def _current_generation(directory: Path) -> tuple[int, set[str]]:
    try:
        manifest = read_manifest(directory)
    except (ArtifactIntegrityError, IncompatibleArtifactError):
        if (directory / MANIFEST).exists():
            raise
        return 0, set()
    return manifest.generation, {rec.file for rec in manifest.files.values()}


def save_catalog(
    directory: Path, store: VectorStore, bundle: BundleRef, *, min_generation: int = 0
) -> CatalogManifest:
    """Write ``store`` as the next generation of ``directory`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    with _dir_lock(directory, exclusive=True):
        generation, old_files = _current_generation(directory)
        generation = max(generation, min_generation) + 1
        for stale in _stale_files(directory, keep=old_files):
            stale.unlink()
        tag = f"{generation:06d}"
        files: dict[str, FileRecord] = {}

        def record(name: str, filename: str, digest: str, size: int) -> None:
            files[name] = FileRecord(file=filename, sha256=digest, bytes=size)

        name = f"products-{tag}.jsonl"
        record(
            "products",
            name,
            *_write_file(directory / name, lambda out: _write_products(out, store)),
        )
        n = store.slots
        name = f"text-{tag}.npy"
        record(
            "text", name, *_write_file(directory / name, lambda out: np.save(out, store.text[:n]))
        )
        with_image = int(store.has_image[:n].sum())
        if with_image and store.image is not None:
            image = store.image
            name = f"image-{tag}.npy"
            record(
                "image", name, *_write_file(directory / name, lambda out: np.save(out, image[:n]))
            )
        indexes = {"all": store.index_all, **store.index_by_category}
        elements: dict[str, int] = {}
        for index_name, index in indexes.items():
            if not index.elements:
                continue
            name = f"index-{index_name}-{tag}.hnsw"
            index.save(directory / name)
            _fsync_file(directory / name)
            record(
                f"index:{index_name}",
                name,
                sha256_file(directory / name),
                (directory / name).stat().st_size,
            )
            elements[index_name] = index.elements
        _fsync_dir(directory)

        by_category: dict[str, int] = {}
        for entry in store.iter_entries():
            by_category[entry.category] = by_category.get(entry.category, 0) + 1
        params = store.params
        body: dict[str, Any] = {
            "format": CATALOG_FORMAT,
            "format_version": CATALOG_FORMAT_VERSION,
            "generation": generation,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "bundle": bundle.model_dump(mode="json"),
            "dim": store.dim,
            "vector_dtype": "float16",
            "image_weight": store.image_weight,
            "fusion": CatalogManifest.model_fields["fusion"].default,
            "counts": {
                "items": len(store),
                "slots": n,
                "with_image": with_image,
                "by_category": dict(sorted(by_category.items())),
            },
            "index": {
                "library": "hnswlib",
                "space": "ip",
                "m": params.m,
                "ef_construction": params.ef_construction,
                "ef": params.ef,
                "seed": params.seed,
                "elements": elements,
            },
            "files": {k: v.model_dump(mode="json") for k, v in files.items()},
        }
        body["checksum"] = _checksum(body)
        manifest = CatalogManifest.model_validate(body)
        tmp = directory / f"{MANIFEST}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(body, indent=2, sort_keys=True).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / MANIFEST)  # the atomic switch
        _fsync_dir(directory)
        for stale in _stale_files(directory, keep={rec.file for rec in files.values()}):
            stale.unlink()
        _fsync_dir(directory)
    return manifest
