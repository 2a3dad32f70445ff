"""Read product feeds: Python iterables, JSONL, JSON and CSV files.

Each record comes out with where it came from (file line or iterable position) so a
bad one can be reported precisely while the rest of the feed is ingested.

CSV conventions (one product per row, a header row naming :class:`Product` fields):

* empty cells mean "not given" (the field's default applies);
* ``sizes``: sizes separated by ``|`` (``S|M|L``);
* ``attributes``: a JSON object (``{"fabric": "silk"}``) or ``key=value`` pairs
  separated by ``;`` (``fabric=silk;fit=slim``); columns named ``attributes.KEY``
  add one attribute each;
* ``in_stock``: ``true/false``, ``yes/no``, ``1/0``;
* ``image``: a path (relative paths are relative to the CSV file) or an http(s) URL.

Unknown columns or a missing ``id``/``title``/``category`` column raise
:class:`InvalidInputError` before anything is ingested. JSONL/JSON records are
objects with :class:`Product` fields; in any file, relative image paths are resolved
against the file's directory.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from .._errors import InvalidInputError
from .._records import Product

__all__ = ["FeedInput", "RawRecord", "parse_attributes", "read_feed"]

FeedInput: TypeAlias = "str | os.PathLike[str] | Iterable[Product | Mapping[str, Any]]"

_PRODUCT_FIELDS = frozenset(Product.model_fields)
_REQUIRED = ("id", "title", "category")


@dataclass(frozen=True)
class RawRecord:
    """One record of a feed before validation.

    ``data`` is ``None`` when the record could not even be parsed (``error`` says why).
    """

    data: Product | Mapping[str, Any] | None
    line: int | None = None
    index: int | None = None
    error: str | None = None
    base_dir: Path | None = None
    product_id: str | None = None


def parse_attributes(text: str) -> dict[str, str]:
    """``'{"a": "b"}'`` or ``'a=b;c=d'`` -> ``{"a": "b", "c": "d"}``."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("attributes JSON must be an object")
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"attribute {part.strip()!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def _feed_path(source: str | os.PathLike[str]) -> Path:
    path = Path(source).expanduser()
    if not path.is_file():
        raise InvalidInputError(f"feed file not found: {path}", field="products")
    return path


def read_feed(source: FeedInput) -> tuple[Iterator[RawRecord], int | None]:
    """Records of ``source`` and their number when it is known up front.

    ``source`` is an iterable of :class:`Product` or dicts, or the path of a
    ``.jsonl``/``.ndjson``, ``.json`` or ``.csv`` file.
    """
    if isinstance(source, str | os.PathLike):
        path = _feed_path(source)
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            return _jsonl(path), None
        if suffix == ".json":
            return _json(path)
        if suffix == ".csv":
            return _csv(path), None
        raise InvalidInputError(
            f"feed {path}: unknown file type {suffix!r}; use .jsonl, .json or .csv",
            field="products",
        )
    if isinstance(source, Product | Mapping):
        source = [source]
    if isinstance(source, bytes | bytearray):
        raise InvalidInputError(
            "products must be records or a file path, not bytes", field="products"
        )
    try:
        iterator = iter(source)
    except TypeError:
        raise InvalidInputError(
            f"products must be an iterable of Product/dict or a feed path, got {type(source).__name__}",
            field="products",
        ) from None
    total = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
    return _iterable(iterator), total


def _iterable(items: Iterator[Any]) -> Iterator[RawRecord]:
    for index, item in enumerate(items):
        if isinstance(item, Product | Mapping):
            yield RawRecord(item, index=index)
        else:
            yield RawRecord(
                None, index=index, error=f"expected a Product or dict, got {type(item).__name__}"
            )


def _jsonl(path: Path) -> Iterator[RawRecord]:
    base = path.parent
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                yield RawRecord(None, line=number, error=f"invalid JSON: {err}", base_dir=base)
                continue
            if isinstance(value, dict):
                yield RawRecord(value, line=number, base_dir=base)
            else:
                yield RawRecord(
                    None, line=number, error=f"expected a JSON object, got {type(value).__name__}"
                )


def _json(path: Path) -> tuple[Iterator[RawRecord], int | None]:
    try:
        value = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInputError(f"feed {path} is not valid JSON: {err}", field="products") from err
    if isinstance(value, dict) and isinstance(value.get("products"), list):
        value = value["products"]
    if not isinstance(value, list):
        raise InvalidInputError(
            f'feed {path} must hold a JSON array of products (or {{"products": [...]}})',
            field="products",
        )
    base = path.parent

    def records() -> Iterator[RawRecord]:
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield RawRecord(item, index=index, base_dir=base)
            else:
                yield RawRecord(
                    None, index=index, error=f"expected a JSON object, got {type(item).__name__}"
                )

    return records(), len(value)


def _csv_row(row: dict[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for column, cell in row.items():
        if cell is None or not cell.strip():
            continue
        if column == "sizes":
            out["sizes"] = [s.strip() for s in cell.split("|") if s.strip()]
        elif column == "attributes":
            try:
                attributes.update(parse_attributes(cell))
            except (ValueError, json.JSONDecodeError) as err:
                raise ValueError(f"field 'attributes': {err}") from err
        elif column.startswith("attributes."):
            attributes[column.removeprefix("attributes.")] = cell.strip()
        else:
            out[column] = cell
    if attributes:
        out["attributes"] = attributes
    return out


def _csv(path: Path) -> Iterator[RawRecord]:
    base = path.parent
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        unknown = [
            c for c in header if c not in _PRODUCT_FIELDS and not c.startswith("attributes.")
        ]
        missing = [c for c in _REQUIRED if c not in header]
        if unknown or missing:
            raise InvalidInputError(
                f"feed {path}: unknown column(s) {unknown}, missing column(s) {missing}; "
                f"columns are Product fields {sorted(_PRODUCT_FIELDS)} or attributes.KEY",
                field="products",
            )
        last_line = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as err:
                yield RawRecord(None, line=last_line + 1, error=f"unreadable CSV row: {err}")
                if isinstance(err, UnicodeDecodeError) or reader.line_num == last_line:
                    return  # the reader cannot move past this point
                last_line = reader.line_num
                continue
            line = last_line + 1
            last_line = reader.line_num
            if None in row:
                yield RawRecord(
                    None, line=line, error="more cells than header columns", base_dir=base
                )
                continue
            try:
                yield RawRecord(_csv_row(row), line=line, base_dir=base)
            except ValueError as err:
                pid = (row.get("id") or "").strip() or None
                yield RawRecord(None, line=line, error=str(err), base_dir=base, product_id=pid)
