"""Load and verify a model bundle (a directory with ``manifest.json`` + ONNX files)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._errors import ArtifactIntegrityError, IncompatibleArtifactError, InvalidInputError
from ._integrity import check_file, read_json, sha256_file
from ._manifest import BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, BundleManifest, FileEntry
from ._onnx import Providers, create_session
from ._paths import resolve_bundle_dir

__all__ = ["ModelBundle", "sha256_file"]


def _read_manifest(directory: Path) -> tuple[BundleManifest, str]:
    path = directory / "manifest.json"
    if not directory.is_dir():
        raise ArtifactIntegrityError(
            f"model bundle directory not found: {directory}", path=directory
        )
    if not path.is_file():
        raise ArtifactIntegrityError(f"model bundle has no manifest.json: {path}", path=path)
    data, raw = read_json(path, what="bundle manifest")
    if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
        raise IncompatibleArtifactError(
            f"{path} is not a fashionrec model bundle manifest "
            f"(expected format {BUNDLE_FORMAT!r}, found {data.get('format') if isinstance(data, dict) else None!r})",
            path=path,
            expected=BUNDLE_FORMAT,
            found=data.get("format") if isinstance(data, dict) else None,
        )
    version = data.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise IncompatibleArtifactError(
            f"model bundle {directory} has format_version {version!r}; this fashionrec-sdk "
            f"reads format_version {BUNDLE_FORMAT_VERSION}. Upgrade the SDK or re-export the bundle.",
            path=path,
            expected=BUNDLE_FORMAT_VERSION,
            found=version,
        )
    try:
        manifest = BundleManifest.model_validate(data)
    except ValidationError as err:
        raise ArtifactIntegrityError(f"manifest {path} is malformed: {err}", path=path) from err
    return manifest, hashlib.sha256(raw).hexdigest()


def _verify(directory: Path, name: str, entry: FileEntry) -> Path:
    target = (directory / entry.file).resolve()
    if directory.resolve() not in target.parents:
        raise ArtifactIntegrityError(
            f"bundle entry {name!r} points outside the bundle: {entry.file}", path=target
        )
    return check_file(target, entry.bytes, entry.sha256, what=f"bundle file for {name!r}")


class ModelBundle:
    """A verified model bundle. Sessions are created lazily, once, and reused.

    Use :meth:`load`; the constructor is internal.
    """

    def __init__(
        self,
        directory: Path,
        manifest: BundleManifest,
        manifest_sha256: str,
        files: dict[str, Path],
        *,
        providers: Providers = "auto",
        threads: int | None = None,
    ) -> None:
        self.path = directory
        self.manifest = manifest
        self.sha256 = manifest_sha256
        self._files = files
        self.providers: Providers = providers
        self.threads = threads
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        providers: Providers = "auto",
        threads: int | None = None,
    ) -> ModelBundle:
        """Load a bundle, verifying format version, every file's size and SHA-256.

        Args:
            path: bundle directory; ``None`` resolves ``$FASHIONREC_HOME/bundle`` and
                then the bundle shipped inside the package.
            providers: ONNX Runtime providers (``"auto"``, ``"cpu"``, ``"cuda"``).
            threads: intra-op threads per session (``None``: all usable cores, max 8).

        Raises:
            ArtifactIntegrityError: a file is missing, truncated or altered.
            IncompatibleArtifactError: the manifest has an unknown format version.
        """
        directory = resolve_bundle_dir(path)
        manifest, digest = _read_manifest(directory)
        files: dict[str, Path] = {}
        for name, entry in manifest.models.items():
            files[name] = _verify(directory, name, entry)
        for name, file_entry in manifest.files.items():
            files[name] = _verify(directory, name, file_entry)
        tok = manifest.text.tokenizer
        if "text_encoder" in manifest.models and tok not in manifest.files:
            raise ArtifactIntegrityError(
                f"bundle {directory} has a text encoder but no verified tokenizer file {tok!r}",
                path=directory,
            )
        return cls(directory, manifest, digest, files, providers=providers, threads=threads)

    @property
    def embedding_dim(self) -> int:
        """Dimension of every item/text/image vector of this bundle."""
        return self.manifest.embedding_dim

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(self.manifest.models)

    def has(self, model: str) -> bool:
        return model in self.manifest.models

    def file(self, name: str) -> Path:
        """Path of a verified model or auxiliary file."""
        try:
            return self._files[name]
        except KeyError:
            raise InvalidInputError(
                f"bundle {self.path} has no file {name!r}; it has {sorted(self._files)}",
                field="name",
            ) from None

    def session(self, model: str) -> Any:
        """The (cached) ``InferenceSession`` of ``model``."""
        if model not in self.manifest.models:
            raise IncompatibleArtifactError(
                f"bundle {self.path} has no model {model!r}; it has {sorted(self.manifest.models)}",
                path=self.path,
                expected=model,
                found=sorted(self.manifest.models),
            )
        with self._lock:
            session = self._sessions.get(model)
            if session is None:
                session = create_session(
                    self._files[model], providers=self.providers, threads=self.threads, model=model
                )
                self._sessions[model] = session
        return session

    def active_providers(self) -> dict[str, list[str]]:
        """Providers each already-created session really runs on."""
        return {name: list(s.get_providers()) for name, s in self._sessions.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self.manifest.models)

    def __repr__(self) -> str:
        return (
            f"ModelBundle(name={self.manifest.name!r}, version={self.manifest.version!r}, "
            f"dim={self.embedding_dim}, models={list(self.manifest.models)}, path={str(self.path)!r})"
        )
