"""The exception tree of fashionrec-sdk.

Every error the SDK raises on purpose derives from :class:`FashionRecError`::

    FashionRecError
    ├── InvalidInputError          (also ValueError)  bad value from the caller
    ├── ArtifactIntegrityError                        missing, truncated or tampered file
    ├── IncompatibleArtifactError                     wrong format version, dim or bundle
    ├── ProviderUnavailableError                      requested ONNX provider not active
    ├── MissingDependencyError     (also ImportError) optional package not installed
    └── RemoteFetchError                              an http(s) fetch failed

Errors carry context attributes (``field``, ``product_id``, ``path``, ``model``,
``url``) so callers can react without parsing messages.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArtifactIntegrityError",
    "FashionRecError",
    "IncompatibleArtifactError",
    "InvalidInputError",
    "MissingDependencyError",
    "ProviderUnavailableError",
    "RemoteFetchError",
]


class FashionRecError(Exception):
    """Base class of every error raised by fashionrec-sdk."""


class InvalidInputError(FashionRecError, ValueError):
    """A value passed by the caller is invalid.

    Attributes:
        field: dotted name of the offending field (``"price"``, ``"body.waist_cm"``).
        product_id: id of the offending product, when the input was a product record.
    """

    def __init__(
        self, message: str, *, field: str | None = None, product_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.product_id = product_id


class ArtifactIntegrityError(FashionRecError):
    """An artifact on disk (model bundle, catalog) is missing, truncated or altered."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


class IncompatibleArtifactError(FashionRecError):
    """An artifact is intact but cannot be used here (format version, dimension, bundle)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        expected: object = None,
        found: object = None,
    ) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.expected = expected
        self.found = found


class ProviderUnavailableError(FashionRecError):
    """An explicitly requested ONNX Runtime execution provider is not really active."""

    def __init__(self, message: str, *, provider: str, model: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model


class MissingDependencyError(FashionRecError, ImportError):
    """An optional dependency is not installed; the message names the pip command."""

    def __init__(self, message: str, *, package: str) -> None:
        super().__init__(message)
        self.package = package


class RemoteFetchError(FashionRecError):
    """Fetching a caller-supplied URL failed (status, timeout, size, content type)."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code
