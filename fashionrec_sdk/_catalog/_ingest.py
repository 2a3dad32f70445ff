"""Turn a feed into stored items: validate, fetch images, encode in batches, apply.

A record that fails validation is reported (with its line or position and the
reason) and skipped; an item whose image cannot be fetched, decoded or encoded is
stored from its text alone and flagged. Nothing already stored is touched by a bad
record. Records are processed ``batch_size`` at a time: each batch is validated,
encoded *outside* the catalog lock, then applied under the write lock in one step,
so readers see every batch completely or not at all.

Image bytes given inline (``Product.image = b"..."``) are encoded and dropped: the
stored product has ``image=None`` and the entry keeps the bytes' sha256.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .._encoders import ImageEncoder, TextEncoder
from .._errors import InvalidInputError, RemoteFetchError
from .._fetch import Fetcher
from .._images import load_image
from .._records import Product
from ._feeds import FeedInput, RawRecord, read_feed
from ._progress import Progress, progress_enabled
from ._store import Entry
from ._types import IngestIssue, IngestReport

__all__ = ["Encoded", "IngestContext", "run_ingest"]

logger = logging.getLogger("fashionrec_sdk")

_NO_IMAGE_ENCODER = "the model bundle has no image encoder; stored from text only"


@dataclass
class Encoded:
    """One batch ready to be applied to the store."""

    entries: list[Entry]
    text: np.ndarray
    image: np.ndarray | None


@dataclass
class IngestContext:
    """What an ingest needs from its catalog (all callables, created lazily)."""

    dim: int
    text_encoder: Callable[[], TextEncoder]
    image_encoder: Callable[[], ImageEncoder | None]
    fetcher: Callable[[], Fetcher]
    lookup: Callable[[Sequence[str]], dict[str, Entry]]
    stored_vectors: Callable[[Sequence[str]], dict[str, tuple[np.ndarray, np.ndarray | None]]]
    apply: Callable[[Encoded], list[bool]]


@dataclass
class _Seen:
    status: str  # "added" | "updated" | "unchanged"
    has_image: bool
    line: int | None
    index: int | None


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _validate(rec: RawRecord) -> Product | IngestIssue:
    if rec.data is None:
        return IngestIssue(
            kind="invalid",
            reason=rec.error or "unreadable record",
            product_id=rec.product_id,
            line=rec.line,
            index=rec.index,
        )
    if isinstance(rec.data, Product):
        product = rec.data
    else:
        data: Mapping[str, Any] = rec.data
        try:
            product = Product.model_validate(dict(data))
        except (InvalidInputError, ValueError, TypeError) as err:
            pid = getattr(err, "product_id", None)
            if pid is None and isinstance(data.get("id"), str):
                pid = data["id"]
            return IngestIssue(
                kind="invalid", reason=str(err), product_id=pid, line=rec.line, index=rec.index
            )
    image = product.image
    if isinstance(image, str) and rec.base_dir is not None and not _is_url(image):
        path = Path(image).expanduser()
        if not path.is_absolute():
            product = product.model_copy(update={"image": str(rec.base_dir / path)})
    return product


def _batches(records: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    batch: list[RawRecord] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _decode_images(
    products: Sequence[Product], fetcher: Fetcher, background: tuple[int, int, int]
) -> list[Image.Image | str]:
    """Fetch (concurrently) and decode each product's image; a str is an error reason."""
    urls = [p.image for p in products if isinstance(p.image, str) and _is_url(p.image)]
    fetched = dict(zip(urls, fetcher.fetch_many(urls), strict=True)) if urls else {}
    out: list[Image.Image | str] = []
    for p in products:
        source: Any = p.image
        if isinstance(source, str) and _is_url(source):
            got = fetched[source]
            if isinstance(got, RemoteFetchError):
                out.append(f"image fetch failed: {got}")
                continue
            source = got
        try:
            out.append(load_image(source, background=background, field="image"))
        except (InvalidInputError, RemoteFetchError, OSError) as err:
            out.append(f"image unusable: {err}")
    return out


def _encode_images(
    products: Sequence[Product], encoder: ImageEncoder | None, fetcher: Fetcher
) -> list[np.ndarray | str]:
    """Per product: its image vector, or the reason it has none."""
    if encoder is None:
        return [_NO_IMAGE_ENCODER] * len(products)
    results: list[np.ndarray | str] = []
    chunk = max(encoder.batch_size, fetcher.config.concurrency, 8)
    for start in range(0, len(products), chunk):
        part = products[start : start + chunk]
        decoded = _decode_images(part, fetcher, encoder.spec.background)
        good = [i for i, d in enumerate(decoded) if not isinstance(d, str)]
        vectors: dict[int, np.ndarray | str] = {}
        try:
            if good:
                batch = encoder.encode([decoded[i] for i in good])
                vectors = {i: batch[j] for j, i in enumerate(good)}
        except InvalidInputError:
            for i in good:
                try:
                    vectors[i] = encoder.encode(decoded[i])
                except InvalidInputError as err:
                    vectors[i] = f"image encoder rejected the image: {err}"
        for i, d in enumerate(decoded):
            results.append(d if isinstance(d, str) else vectors[i])
    return results


def _unchanged(product: Product, image_sha: str | None, stored: Entry | None) -> bool:
    """True when re-encoding ``product`` would reproduce ``stored`` exactly."""
    if stored is None:
        return False
    if product.image is None:
        return stored.image_sha256 is None and stored.product == product
    if image_sha is not None:
        bare = product.model_copy(update={"image": None})
        return stored.image_sha256 == image_sha and stored.has_image and stored.product == bare
    return False  # a path or URL may now point at a different picture


def run_ingest(
    source: FeedInput,
    ctx: IngestContext,
    *,
    batch_size: int = 256,
    show_progress: bool | None = None,
    label: str = "ingest",
) -> IngestReport:
    """Ingest ``source`` through ``ctx``; see the module docstring."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(
            f"batch_size must be a positive int, got {batch_size!r}", field="batch_size"
        )
    start = time.monotonic()
    records, total = read_feed(source)
    progress = Progress(label, total=total, enabled=progress_enabled(show_progress))
    issues: list[IngestIssue] = []
    seen: dict[str, _Seen] = {}
    n_read = 0
    n_unchanged_again = 0
    for raw_batch in _batches(records, batch_size):
        n_read += len(raw_batch)
        batch: dict[str, tuple[Product, RawRecord]] = {}
        for rec in raw_batch:
            checked = _validate(rec)
            if isinstance(checked, IngestIssue):
                issues.append(checked)
                continue
            pid = checked.id
            earlier = batch.get(pid)
            if earlier is not None:
                issues.append(_duplicate(pid, earlier[1].line, earlier[1].index, rec))
            elif pid in seen:
                issues.append(_duplicate(pid, seen[pid].line, seen[pid].index, rec))
            batch[pid] = (checked, rec)
        if not batch:
            progress.update(n_read, len(issues))
            continue
        stored = ctx.lookup(list(batch))
        to_encode: list[tuple[Product, RawRecord, str | None]] = []
        for pid, (product, rec) in batch.items():
            sha = (
                hashlib.sha256(product.image).hexdigest()
                if isinstance(product.image, bytes)
                else None
            )
            entry = stored.get(pid)
            if _unchanged(product, sha, entry):
                if pid in seen:
                    n_unchanged_again += 1
                else:
                    seen[pid] = _Seen(
                        "unchanged", bool(entry and entry.has_image), rec.line, rec.index
                    )
                continue
            to_encode.append((product, rec, sha))
        if to_encode:
            encoded, image_issues = _encode_batch(to_encode, ctx, stored)
            issues.extend(image_issues)
            was_new = ctx.apply(encoded)
            for (product, rec, _), new, entry in zip(
                to_encode, was_new, encoded.entries, strict=True
            ):
                previous = seen.get(product.id)
                status = "added" if new else "updated"
                if previous is not None and previous.status == "added":
                    status = "added"
                seen[product.id] = _Seen(status, entry.has_image, rec.line, rec.index)
        progress.update(n_read, len(issues))
    progress.close()
    statuses = [s.status for s in seen.values()]
    report = IngestReport(
        seen=n_read,
        added=statuses.count("added"),
        updated=statuses.count("updated"),
        unchanged=statuses.count("unchanged"),
        with_image=sum(1 for s in seen.values() if s.has_image),
        issues=tuple(issues),
        seconds=round(time.monotonic() - start, 3),
    )
    log = logger.warning if report.failed or report.text_only else logger.info
    log("catalog %s: %s", label, report.summary())
    return report


def _duplicate(pid: str, line: int | None, index: int | None, later: RawRecord) -> IngestIssue:
    where = f"line {later.line}" if later.line is not None else f"item {later.index}"
    return IngestIssue(
        kind="duplicate",
        reason=f"id {pid!r} appears again at {where}; the later record replaces this one",
        product_id=pid,
        line=line,
        index=index,
    )


def _encode_batch(
    items: list[tuple[Product, RawRecord, str | None]],
    ctx: IngestContext,
    stored: dict[str, Entry],
) -> tuple[Encoded, list[IngestIssue]]:
    """Vectors for ``items``; stored vectors are reused where the input is unchanged.

    A new version whose text is the same (a price or stock change) keeps its text
    vector; inline image bytes with the same sha256 keep their image vector. Image
    paths and URLs are always fetched again (the picture behind them may differ).
    """
    products = [p for p, _, _ in items]
    known = ctx.stored_vectors([p.id for p in products if p.id in stored])
    text = np.zeros((len(products), ctx.dim), dtype=np.float32)
    image_matrix = np.zeros_like(text)
    has_image = np.zeros(len(products), dtype=bool)
    fresh_text: list[int] = []
    fresh_image: list[int] = []
    for i, (product, _, sha) in enumerate(items):
        entry, vectors = stored.get(product.id), known.get(product.id)
        same_text = (
            entry is not None and vectors is not None and entry.product.text() == product.text()
        )
        if same_text and vectors is not None:
            text[i] = vectors[0]
        else:
            fresh_text.append(i)
        if product.image is None:
            continue
        same_bytes = sha is not None and entry is not None and entry.image_sha256 == sha
        if same_bytes and vectors is not None and vectors[1] is not None:
            image_matrix[i], has_image[i] = vectors[1], True
            continue
        fresh_image.append(i)
    if fresh_text:
        text[fresh_text] = ctx.text_encoder().encode([products[i].text() for i in fresh_text])
    issues: list[IngestIssue] = []
    if fresh_image:
        vectors_or_errors = _encode_images(
            [products[i] for i in fresh_image], ctx.image_encoder(), ctx.fetcher()
        )
        for i, result in zip(fresh_image, vectors_or_errors, strict=True):
            if isinstance(result, str):
                rec = items[i][1]
                issues.append(
                    IngestIssue(
                        kind="image_failed",
                        reason=result,
                        product_id=products[i].id,
                        line=rec.line,
                        index=rec.index,
                    )
                )
            else:
                image_matrix[i] = result
                has_image[i] = True
    entries = []
    for i, (product, _, sha) in enumerate(items):
        if sha is not None:
            product = product.model_copy(update={"image": None})
        entries.append(Entry(product, product.coarse_category, bool(has_image[i]), sha))
    return Encoded(entries, text, image_matrix if has_image.any() else None), issues
