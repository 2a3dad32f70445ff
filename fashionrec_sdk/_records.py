"""Typed public records: products, filters, bodies, users and recommendations."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ._categories import coarse_category
from ._physique import BodyShape, physique_labels
from ._validation import Record

if TYPE_CHECKING:
    from ._images import ImageInput
    from ._pose import PoseSource

__all__ = [
    "BodyProfile",
    "Filters",
    "HistoryEvent",
    "Product",
    "Recommendation",
    "UserProfile",
]

ProductId = Annotated[str, Field(min_length=1, max_length=256)]
Gender = Literal["women", "men", "unisex", "kids"]


def _finite(value: float | None, name: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    return value


class Product(Record):
    """One sellable item of a shop's catalog.

    ``image`` is a local path, an ``http(s)://`` URL or the encoded image bytes.
    ``category`` is free text ("Women > Knitwear > Cardigans"); :attr:`coarse_category`
    maps it to the fixed set the models and indexes use.
    """

    id: ProductId
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    category: Annotated[str, Field(min_length=1, max_length=300)]
    price: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    color: Annotated[str, Field(max_length=100)] | None = None
    brand: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=20_000)] = ""
    image: str | bytes | None = None
    sizes: tuple[Annotated[str, Field(min_length=1, max_length=40)], ...] = ()
    in_stock: bool = True
    gender: Gender | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id_has_no_control_chars(cls, v: str) -> str:
        if not v.strip() or any(ord(ch) < 32 for ch in v):
            raise ValueError("id must be non-blank and contain no control characters")
        return v

    @field_validator("price")
    @classmethod
    def _price_finite(cls, v: float | None) -> float | None:
        return _finite(v, "price")

    @property
    def coarse_category(self) -> str:
        """The fixed category used by the models and per-category indexes."""
        return coarse_category(self.category, self.title)

    def text(self) -> str:
        """The text the text encoder sees for this product.

        Title (+ colour when the title does not name it) + the start of the description,
        like the texts the models were trained on (titles; "name. description" for ViBE).
        The category is not included: it reaches the models as the coarse category id.
        """
        parts = [self.title]
        if self.color and self.color.lower() not in self.title.lower():
            parts.append(self.color)
        if self.description:
            parts.append(self.description[:300])
        return ". ".join(parts)


class Filters(Record):
    """Business filters applied to every candidate before it can be returned."""

    categories: tuple[str, ...] | None = None
    min_price: Annotated[float, Field(ge=0)] | None = None
    max_price: Annotated[float, Field(ge=0)] | None = None
    in_stock: bool | None = None
    sizes: tuple[str, ...] | None = None
    gender: Gender | None = None
    brands: tuple[str, ...] | None = None
    colors: tuple[str, ...] | None = None
    exclude_colors: tuple[str, ...] | None = None
    attributes: dict[str, str] | None = None
    exclude_ids: frozenset[str] = frozenset()

    @field_validator("min_price", "max_price")
    @classmethod
    def _prices_finite(cls, v: float | None) -> float | None:
        return _finite(v, "price bound")

    @model_validator(mode="after")
    def _range_ordered(self) -> Filters:
        lo, hi = self.min_price, self.max_price
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("min_price must not exceed max_price")
        return self

    def accepts(self, product: Product) -> bool:
        """True when ``product`` passes every filter."""
        if product.id in self.exclude_ids:
            return False
        if self.categories is not None:
            wanted = {c.lower() for c in self.categories}
            if product.coarse_category not in wanted and product.category.lower() not in wanted:
                return False
        if self.min_price is not None and (product.price is None or product.price < self.min_price):
            return False
        if self.max_price is not None and (product.price is None or product.price > self.max_price):
            return False
        if self.in_stock is not None and product.in_stock != self.in_stock:
            return False
        if self.sizes is not None and not set(self.sizes) & set(product.sizes):
            return False
        if self.gender is not None and product.gender not in (self.gender, "unisex", None):
            return False
        if self.brands is not None and (
            product.brand is None or product.brand.lower() not in {b.lower() for b in self.brands}
        ):
            return False
        color = (product.color or "").lower()
        # A colour asked for may be named in the colour field or in the title.
        named = f"{color} {product.title.lower()}"
        if self.colors is not None and not any(c.lower() in named for c in self.colors):
            return False
        if self.exclude_colors is not None and any(
            c.lower() in color or c.lower() in product.title.lower() for c in self.exclude_colors
        ):
            return False
        if self.attributes:
            for key, value in self.attributes.items():
                if product.attributes.get(key, "").lower() != value.lower():
                    return False
        return True


class BodyProfile(Record):
    """A shopper's body measurements in centimetres (and optional weight in kg).

    :attr:`labels` derives the personal-feature labels of the physique model (body
    shape, height band, size band) with the rules in ``docs/MODEL_CARD.md``.
    :meth:`from_photo` estimates one from a full-body photo and the height.
    """

    height_cm: Annotated[float, Field(ge=100, le=230)]
    bust_cm: Annotated[float, Field(ge=50, le=200)]
    waist_cm: Annotated[float, Field(ge=40, le=200)]
    hips_cm: Annotated[float, Field(ge=50, le=220)]
    weight_kg: Annotated[float, Field(ge=25, le=350)] | None = None
    shape: BodyShape | None = None
    #: In [0, 1]; set when the measurements were estimated from a photo.
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None

    @classmethod
    def from_photo(
        cls,
        image: ImageInput,
        height_cm: float,
        *,
        estimator: PoseSource | None = None,
    ) -> BodyProfile:
        """Estimate the measurements from a full-body, front-facing photo and the height.

        ``height_cm`` (100 to 230) sets the scale. See
        ``docs/how-to/body-from-photo.md`` for the photo requirements, the method and
        its measured error; :func:`fashionrec_sdk._body_photo.body_from_photo` returns
        the widths, warnings and confidence parts too.

        Raises:
            InvalidInputError: ``field="height_cm"`` for a bad height, ``field="image"``
                when the photo cannot be measured (the message says why).
        """
        from ._body_photo import body_from_photo

        return body_from_photo(image, height_cm, estimator=estimator).profile

    @field_validator("height_cm", "bust_cm", "waist_cm", "hips_cm", "weight_kg")
    @classmethod
    def _finite_measure(cls, v: float | None) -> float | None:
        return _finite(v, "measurement")

    @property
    def labels(self) -> tuple[str, ...]:
        """Body shape (declared or derived), height band and size band."""
        return physique_labels(
            self.height_cm, self.bust_cm, self.waist_cm, self.hips_cm, shape=self.shape
        )

    @property
    def body_shape(self) -> str:
        """The declared shape, or the one derived from the measurements."""
        return self.labels[0]


class HistoryEvent(Record):
    """One interaction of a user with a product (view, purchase, ...)."""

    product_id: ProductId
    timestamp: datetime | None = None
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0


class UserProfile(Record):
    """What the shop knows of a user: history, body and explicit likes/dislikes.

    ``history`` accepts plain product ids or :class:`HistoryEvent` records, oldest
    first; later events count more (see the recommender's recency decay).
    """

    user_id: str | None = None
    history: tuple[HistoryEvent, ...] = ()
    body: BodyProfile | None = None
    liked: tuple[ProductId, ...] = ()
    disliked: tuple[ProductId, ...] = ()

    @field_validator("history", mode="before")
    @classmethod
    def _ids_to_events(cls, v: Any) -> Any:
        if isinstance(v, list | tuple):
            return tuple({"product_id": e} if isinstance(e, str) else e for e in v)
        return v


class Recommendation(Record):
    """One ranked result: the product, its final score, the score's parts and reasons."""

    product: Product
    score: float
    components: dict[str, float] = Field(default_factory=dict)
    reasons: tuple[str, ...] = ()
