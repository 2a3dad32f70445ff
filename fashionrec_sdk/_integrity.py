"""File integrity checks shared by model bundles and catalogs: size, then SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ._errors import ArtifactIntegrityError

__all__ = ["check_file", "read_json", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_file(path: Path, expected_bytes: int, expected_sha256: str, *, what: str) -> Path:
    """Raise :class:`ArtifactIntegrityError` unless ``path`` has the recorded size and hash.

    The size is checked first (cheap, and catches truncation); ``what`` names the file
    in messages ("bundle file", "catalog file").
    """
    if not path.is_file():
        raise ArtifactIntegrityError(f"{what} is missing: {path}", path=path)
    size = path.stat().st_size
    if size != expected_bytes:
        raise ArtifactIntegrityError(
            f"{what} {path} has {size} bytes, the manifest says {expected_bytes} "
            "(truncated or replaced)",
            path=path,
        )
    digest = sha256_file(path)
    if digest != expected_sha256:
        raise ArtifactIntegrityError(
            f"{what} {path} has sha256 {digest}, the manifest says {expected_sha256} "
            "(the file was altered)",
            path=path,
        )
    return path


def read_json(path: Path, *, what: str) -> tuple[Any, bytes]:
    """Parse a JSON manifest -> ``(data, raw bytes)``; bad bytes raise ArtifactIntegrityError."""
    raw = path.read_bytes()
    try:
        return json.loads(raw), raw
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactIntegrityError(f"{what} {path} is not valid JSON: {err}", path=path) from err
