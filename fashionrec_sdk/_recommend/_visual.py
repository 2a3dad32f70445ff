"""The visual tasks a recommender offers: body profile from a photo, try-on, sketches.

Models are created lazily, on first use, and shared: the pose estimator (vision bundle)
serves both the body estimate and the embedded try-on; the embedded sketch generator
reuses the recommender's text tower.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from typing import TYPE_CHECKING, Literal

from PIL import Image
from pydantic import field_serializer, field_validator

from .._errors import InvalidInputError
from .._images import ImageInput, load_image
from .._records import BodyProfile, Product
from .._tryon import WEARABLE
from .._validation import Record

if TYPE_CHECKING:
    from .._encoders import TextEncoder
    from .._generate import ImageGenerator
    from .._pose import PoseEstimator
    from .._tryon import TryOnBackend

__all__ = ["WEARABLE", "SessionImage", "Visuals", "png_bytes"]


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


class SessionImage(Record):
    """An image a session produced: a try-on of a product, or a generated sketch.

    ``png`` holds the PNG bytes; in JSON (``model_dump_json``, FastAPI responses) it is
    a base64 string, and base64 strings are accepted back.
    """

    kind: Literal["tryon", "generated"]
    caption: str
    product_id: str | None = None
    png: bytes

    @field_validator("png", mode="before")
    @classmethod
    def _from_base64(cls, v: object) -> object:
        if isinstance(v, str):
            try:
                return base64.b64decode(v, validate=True)
            except (ValueError, binascii.Error):
                raise ValueError("png must be PNG bytes or their base64 encoding") from None
        return v

    @field_serializer("png", when_used="json")
    def _to_base64(self, v: bytes) -> str:
        return base64.b64encode(v).decode("ascii")

    def to_image(self) -> Image.Image:
        """Decode :attr:`png` to a PIL image."""
        return Image.open(io.BytesIO(self.png)).convert("RGB")


class Visuals:
    """Lazily created visual models of one recommender (thread-safe creation)."""

    def __init__(
        self,
        text_encoder: TextEncoder,
        *,
        tryon_backend: TryOnBackend | None = None,
        image_generator: ImageGenerator | None = None,
    ) -> None:
        self._text_encoder = text_encoder
        self._tryon = tryon_backend
        self._generator = image_generator
        self._estimator: PoseEstimator | None = None
        self._lock = threading.Lock()

    @property
    def estimator(self) -> PoseEstimator:
        """The process-wide pose estimator of the shipped vision bundle (created once)."""
        with self._lock:
            if self._estimator is None:
                from .._pose import default_estimator

                self._estimator = default_estimator()
            return self._estimator

    @property
    def tryon_backend(self) -> TryOnBackend:
        """The try-on backend given to the recommender, else the embedded simulation."""
        if self._tryon is None:
            from .._tryon import EmbeddedTryOn

            estimator = self.estimator
            with self._lock:
                if self._tryon is None:
                    self._tryon = EmbeddedTryOn(estimator=estimator)
        return self._tryon

    @property
    def image_generator(self) -> ImageGenerator:
        """The generator given to the recommender, else the embedded sketch generator."""
        with self._lock:
            if self._generator is None:
                from .._generate import SketchGenerator

                self._generator = SketchGenerator(text_encoder=self._text_encoder)
            return self._generator

    def body_from_photo(self, image: ImageInput, height_cm: float) -> BodyProfile:
        """The shopper's :class:`BodyProfile` estimated from a full-body photo."""
        return BodyProfile.from_photo(image, height_cm, estimator=self.estimator)

    def tryon(self, person_image: ImageInput, product: Product) -> Image.Image:
        """``product`` shown on the person in ``person_image``."""
        if product.coarse_category not in WEARABLE:
            raise InvalidInputError(
                f"product {product.id!r} is a {product.coarse_category}; try-on places "
                f"{', '.join(WEARABLE)} only",
                field="product",
                product_id=product.id,
            )
        if not product.image:
            raise InvalidInputError(
                f"product {product.id!r} has no image to try on",
                field="product.image",
                product_id=product.id,
            )
        person = load_image(person_image, field="person_image")
        return self.tryon_backend.tryon(person, product)

    def generate(
        self, description: str, *, seed: int | None = None, size: int = 256
    ) -> Image.Image:
        """One image for ``description`` from the recommender's generator."""
        return self.image_generator.generate(description, n=1, seed=seed, size=size)[0]
