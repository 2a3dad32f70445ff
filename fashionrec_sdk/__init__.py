"""fashionrec-sdk: embedded, physique-aware fashion recommendation.

Models (text/image towers, FCN outfit encoder, ML-GCN physique model, feedback
composer) run from an ONNX model bundle; catalogs live in embedded HNSW indexes.
Nothing is fetched from the network at run time except image URLs you pass in.
"""

from ._body_photo import BodyEstimate, body_from_photo
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
from ._generate import (
    ImageGenerator,
    RemoteImageConfig,
    RemoteImageGenerator,
    SketchGenerator,
    generate_image,
)
from ._manifest import BundleManifest
from ._parser import Constraints, parse_request
from ._physique import PHYSIQUE_LABELS
from ._pose import Pose, PoseEstimator
from ._recommend import (
    OpenAIChatReply,
    RankingWeights,
    Recommender,
    ReplyBackend,
    Round,
    Session,
    SessionImage,
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
from ._tryon import EmbeddedTryOn, TryOnBackend, tryon
from ._tryon_remote import RemoteTryOn

__version__ = "0.1.0"

__all__ = [
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
]
