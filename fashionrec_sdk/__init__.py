"""fashionrec-sdk: embedded, physique-aware fashion recommendation.

Models (text/image towers, FCN outfit encoder, ML-GCN physique model, feedback
composer) run from an ONNX model bundle; catalogs live in embedded HNSW indexes.
Nothing is fetched from the network at run time except image URLs you pass in.
"""

from ._bundle import ModelBundle
from ._catalog import Catalog, Hit, IngestIssue, IngestReport
from ._categories import COARSE_CATEGORIES, coarse_category
from ._encoders import ImageEncoder, TextEncoder
from ._errors import (
    ArtifactIntegrityError,
    FashionRecError,
    IncompatibleArtifactError,
    InvalidInputError,
    MissingDependencyError,
    ProviderUnavailableError,
    RemoteFetchError,
)
from ._fetch import FetchConfig, Fetcher
from ._manifest import BundleManifest
from ._parser import Constraints, parse_request
from ._physique import PHYSIQUE_LABELS
from ._recommend import (
    OpenAIChatReply,
    RankingWeights,
    Recommender,
    ReplyBackend,
    Round,
    Session,
    SessionReply,
)
from ._records import (
    BodyProfile,
    Filters,
    HistoryEvent,
    Product,
    Recommendation,
    UserProfile,
)
from ._stylist import PhysiqueFit, Stylist

__version__ = "0.1.0"

__all__ = [
    "COARSE_CATEGORIES",
    "PHYSIQUE_LABELS",
    "ArtifactIntegrityError",
    "BodyProfile",
    "BundleManifest",
    "Catalog",
    "Constraints",
    "FashionRecError",
    "FetchConfig",
    "Fetcher",
    "Filters",
    "HistoryEvent",
    "Hit",
    "ImageEncoder",
    "IncompatibleArtifactError",
    "IngestIssue",
    "IngestReport",
    "InvalidInputError",
    "MissingDependencyError",
    "ModelBundle",
    "OpenAIChatReply",
    "PhysiqueFit",
    "Product",
    "ProviderUnavailableError",
    "RankingWeights",
    "Recommendation",
    "Recommender",
    "RemoteFetchError",
    "ReplyBackend",
    "Round",
    "Session",
    "SessionReply",
    "Stylist",
    "TextEncoder",
    "UserProfile",
    "__version__",
    "coarse_category",
    "parse_request",
]
