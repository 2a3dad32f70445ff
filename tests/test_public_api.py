"""The public surface is exactly what ``__all__`` says, and every name resolves."""

from __future__ import annotations

import importlib
from pathlib import Path

import fashionrec_sdk as fr

EXPECTED = {
    "COARSE_CATEGORIES",
    "PHYSIQUE_LABELS",
    "ArtifactIntegrityError",
    "BodyEstimate",
    "BodyProfile",
    "BundleManifest",
    "Catalog",
    "Constraints",
    "EmbeddedTryOn",
    "FashionRecError",
    "FetchConfig",
    "Fetcher",
    "Filters",
    "HistoryEvent",
    "Hit",
    "ImageEncoder",
    "ImageGenerator",
    "IncompatibleArtifactError",
    "IngestIssue",
    "IngestReport",
    "InvalidInputError",
    "MissingDependencyError",
    "ModelBundle",
    "OpenAIChatReply",
    "PhysiqueFit",
    "Pose",
    "PoseEstimator",
    "Product",
    "ProviderUnavailableError",
    "RankingWeights",
    "Recommendation",
    "Recommender",
    "RemoteFetchError",
    "RemoteImageConfig",
    "RemoteImageGenerator",
    "RemoteTryOn",
    "ReplyBackend",
    "Round",
    "Session",
    "SessionImage",
    "SessionReply",
    "SketchGenerator",
    "Stylist",
    "TextEncoder",
    "TryOnBackend",
    "UserProfile",
    "__version__",
    "body_from_photo",
    "coarse_category",
    "generate_image",
    "parse_request",
    "tryon",
}


def test_all_is_exactly_the_public_set() -> None:
    assert set(fr.__all__) == EXPECTED
    assert len(fr.__all__) == len(set(fr.__all__))


def test_every_exported_name_resolves() -> None:
    for name in fr.__all__:
        assert getattr(fr, name) is not None


def test_public_names_not_leaking_private_modules() -> None:
    public = {n for n in dir(fr) if not n.startswith("_")}
    # Submodules are private (_errors, _records, ...); only __all__ names are public.
    assert public <= EXPECTED | {"models"}


def test_py_typed_marker_is_shipped() -> None:
    pkg = Path(importlib.import_module("fashionrec_sdk").__file__ or "").parent
    assert (pkg / "py.typed").is_file()
    assert (pkg / "py.typed").read_text() == ""


def test_error_tree() -> None:
    for cls in (
        fr.InvalidInputError,
        fr.ArtifactIntegrityError,
        fr.IncompatibleArtifactError,
        fr.ProviderUnavailableError,
        fr.MissingDependencyError,
        fr.RemoteFetchError,
    ):
        assert issubclass(cls, fr.FashionRecError)
    assert issubclass(fr.InvalidInputError, ValueError)
    assert issubclass(fr.MissingDependencyError, ImportError)
