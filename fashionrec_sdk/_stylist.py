"""The models alone, no catalog: embed products, score outfits, judge physique fit.

:class:`Stylist` wraps the bundle's five models behind product-level calls. It is
what :class:`Recommender` builds on, and it works on ``Product`` records that are in
no catalog.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import Field

from ._bundle import ModelBundle
from ._encoders import ImageEncoder, TextEncoder, l2_normalize
from ._errors import InvalidInputError
from ._fetch import Fetcher
from ._onnx import Providers, run_session
from ._records import BodyProfile, Product
from ._validation import Record

__all__ = ["IMAGE_WEIGHT", "PhysiqueFit", "Stylist", "as_products", "fuse_vectors"]

#: Weight of the image vector when fusing it with the text vector of an item.
IMAGE_WEIGHT = 0.5

#: A physique label whose training base rate is below this (or above 1 - this) has too
#: little evidence to score: it is reported as neutral.
MIN_PRIOR = 0.02

ProductLike = Product | Mapping[str, Any]


def fuse_vectors(
    text: np.ndarray, image: np.ndarray | None, weight: float = IMAGE_WEIGHT
) -> np.ndarray:
    """Item vector = normalize(text + weight * image); the text vector alone without image."""
    if image is None:
        return l2_normalize(text)
    return l2_normalize(text + np.float32(weight) * image)


def as_products(
    items: ProductLike | Sequence[ProductLike], *, field: str = "items"
) -> list[Product]:
    """Coerce one or many products/dicts to ``Product``; errors name the position."""
    seq: Sequence[ProductLike] = [items] if isinstance(items, Product | Mapping) else items
    if isinstance(seq, str | bytes):
        raise InvalidInputError(f"{field} must be Product records, got a string", field=field)
    out: list[Product] = []
    for i, item in enumerate(seq):
        if isinstance(item, Product):
            out.append(item)
        elif isinstance(item, Mapping):
            try:
                out.append(Product.model_validate(dict(item)))
            except InvalidInputError as err:
                raise InvalidInputError(
                    f"{field}[{i}]: {err}",
                    field=f"{field}[{i}].{err.field}",
                    product_id=err.product_id,
                ) from None
        else:
            raise InvalidInputError(
                f"{field}[{i}] must be a Product or a dict, got {type(item).__name__}",
                field=f"{field}[{i}]",
            )
    return out


class PhysiqueFit(Record):
    """How well an outfit suits a body, from the ML-GCN physique model.

    ``labels`` holds every label's probability that the outfit suits people with that
    label; ``lift`` the same relative to the label's base rate in training (0.5 means
    "as likely as for any garment", higher suits better). ``overall`` is the mean lift of
    the body's own labels.
    """

    overall: float = Field(ge=0, le=1)
    body_labels: tuple[str, ...]
    labels: dict[str, float]
    lift: dict[str, float]
    reasons: tuple[str, ...] = ()


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


_LABEL_PHRASES = {
    "hourglass": "an hourglass figure",
    "pear": "a pear shape",
    "inverted_triangle": "an inverted-triangle shape",
    "apple": "an apple shape",
    "rectangle": "a rectangle shape",
    "petite": "a petite frame",
    "average_height": "average height",
    "tall": "a tall frame",
    "size_small": "a smaller size",
    "size_medium": "a medium size",
    "size_large": "a larger size",
}


class Stylist:
    """Product-level access to the models of a bundle.

    Args:
        bundle: a :class:`ModelBundle`, a bundle directory, or ``None`` for the default
            (``$FASHIONREC_HOME/bundle``, else the bundle shipped in the package).
        providers: ONNX Runtime providers: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        threads: intra-op threads per model.
        fetcher: used for image URLs (default: a :class:`Fetcher` with default limits).
    """

    def __init__(
        self,
        bundle: ModelBundle | str | os.PathLike[str] | None = None,
        *,
        providers: Providers = "auto",
        threads: int | None = None,
        fetcher: Fetcher | None = None,
    ) -> None:
        if isinstance(bundle, ModelBundle):
            self.bundle = bundle
        else:
            self.bundle = ModelBundle.load(bundle, providers=providers, threads=threads)
        self.text_encoder = TextEncoder(self.bundle)
        self._fetcher = fetcher
        self._image_encoder: ImageEncoder | None = None
        self._lock = threading.Lock()
        m = self.bundle.manifest
        self.categories: tuple[str, ...] = m.categories
        self.labels: tuple[str, ...] = m.physique_labels
        gcn_metrics = m.metrics.get("physique_gcn", {})
        self.label_priors = {
            lab: float(gcn_metrics.get(f"prior_{lab}", 0.5)) for lab in self.labels
        }
        self._prior_logits = np.array(
            [_logit(self.label_priors[lab]) for lab in self.labels], np.float32
        )
        #: Labels the physique model has evidence for (base rate not ~0 or ~1 in
        #: training); the others (e.g. a body shape absent from the training people)
        #: are reported as neutral and left out of the overall score.
        self.trusted_labels = frozenset(
            lab for lab, p in self.label_priors.items() if MIN_PRIOR <= p <= 1 - MIN_PRIOR
        )

    @property
    def image_encoder(self) -> ImageEncoder:
        with self._lock:
            if self._image_encoder is None:
                self._image_encoder = ImageEncoder(self.bundle, fetcher=self._fetcher)
            return self._image_encoder

    @property
    def dim(self) -> int:
        return self.bundle.embedding_dim

    # -- vectors ---------------------------------------------------------------------
    def text_vectors(self, products: ProductLike | Sequence[ProductLike]) -> np.ndarray:
        """Text-tower vectors ``(N, D)`` of the products' text (title, colour, category...)."""
        items = as_products(products, field="products")
        return self.text_encoder.encode([p.text() for p in items])

    def embed(
        self, products: ProductLike | Sequence[ProductLike], *, use_images: bool = True
    ) -> np.ndarray:
        """Item vectors ``(N, D)`` (``(D,)`` for one product): text fused with image.

        Products with an ``image`` get ``normalize(text + IMAGE_WEIGHT * image)``; a bad
        image raises :class:`InvalidInputError` naming the product (the catalog's ingest
        instead falls back to text and reports it).
        """
        single = isinstance(products, Product | Mapping)
        items = as_products(products, field="products")
        vecs = self.text_encoder.encode([p.text() for p in items])
        if use_images:
            for i, p in enumerate(items):
                if p.image is not None:
                    try:
                        img = self.image_encoder.encode(p.image)
                    except InvalidInputError as err:
                        raise InvalidInputError(
                            f"product {p.id!r}: {err}", field="image", product_id=p.id
                        ) from err
                    vecs[i] = fuse_vectors(vecs[i], img)
        return vecs[0] if single else vecs

    def category_ids(self, products: Sequence[Product]) -> np.ndarray:
        ids = [
            self.categories.index(p.coarse_category) if p.coarse_category in self.categories else 0
            for p in products
        ]
        return np.asarray(ids, dtype=np.int64)

    # -- outfits ---------------------------------------------------------------------
    def _outfit_batch(
        self, outfits: Sequence[Sequence[Product]], vectors: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the outfit encoder -> (outfit vectors (B, H), compatibility logits (B,))."""
        if not outfits:
            raise InvalidInputError("no outfit given", field="outfits")
        longest = max(len(o) for o in outfits)
        if longest == 0:
            raise InvalidInputError("an outfit needs at least one item", field="items")
        b = len(outfits)
        item_vecs = np.zeros((b, longest, self.dim), np.float32)
        mask = np.zeros((b, longest), np.float32)
        cats = np.zeros((b, longest), np.int64)
        for row, outfit in enumerate(outfits):
            if not outfit:
                raise InvalidInputError(f"outfit {row} has no items", field=f"outfits[{row}]")
            vecs = vectors[row] if vectors is not None else self.text_vectors(list(outfit))
            ids = self.category_ids(outfit)
            # The outfit encoder was trained on items sorted by coarse category (stable).
            order = np.argsort(ids, kind="stable")
            item_vecs[row, : len(outfit)] = np.asarray(vecs)[order]
            mask[row, : len(outfit)] = 1.0
            cats[row, : len(outfit)] = ids[order]
        outfit_vec, logits = run_session(
            self.bundle.session("outfit_encoder"),
            {"item_vectors": item_vecs, "item_mask": mask, "categories": cats},
            ["outfit_vector", "compatibility"],
            model="outfit_encoder",
        )
        return outfit_vec, logits

    def score_outfit(self, products: Sequence[ProductLike]) -> float:
        """Compatibility probability (0..1) of the products worn together."""
        items = as_products(products, field="products")
        return float(self.score_outfits([items])[0])

    def score_outfits(
        self, outfits: Sequence[Sequence[Product]], vectors: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Compatibility probabilities ``(B,)`` of several outfits in one model call.

        ``vectors`` optionally gives each outfit's precomputed text vectors ``(T_i, D)``.
        """
        _, logits = self._outfit_batch(outfits, vectors)
        return _sigmoid(logits.astype(np.float64)).astype(np.float32)

    # -- physique --------------------------------------------------------------------
    def label_probabilities(
        self, outfits: Sequence[Sequence[Product]], vectors: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Per-label probabilities ``(B, L)`` that each outfit suits people with the label."""
        outfit_vec, _ = self._outfit_batch(outfits, vectors)
        return self._label_probs(outfit_vec)

    def score_and_label_outfits(
        self, outfits: Sequence[Sequence[Product]], vectors: Sequence[np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`score_outfits` and :meth:`label_probabilities` of the same outfits with
        one run of the outfit encoder."""
        outfit_vec, logits = self._outfit_batch(outfits, vectors)
        compat = _sigmoid(logits.astype(np.float64)).astype(np.float32)
        return compat, self._label_probs(outfit_vec)

    def _label_probs(self, outfit_vec: np.ndarray) -> np.ndarray:
        (logits,) = run_session(
            self.bundle.session("physique_gcn"),
            {"outfit_vector": outfit_vec.astype(np.float32)},
            ["label_logits"],
            model="physique_gcn",
        )
        return _sigmoid(logits.astype(np.float64)).astype(np.float32)

    def physique_scores(self, probs: np.ndarray, body: BodyProfile) -> np.ndarray:
        """Overall fit ``(B,)`` in [0, 1] (0.5 = neutral) of label probabilities for ``body``."""
        idx = [self.labels.index(lab) for lab in body.labels if lab in self.trusted_labels]
        if not idx:
            return np.full(probs.shape[0], 0.5, np.float32)
        logit = np.log(np.clip(probs[:, idx], 1e-6, 1 - 1e-6)) - np.log(
            np.clip(1 - probs[:, idx], 1e-6, 1)
        )
        lifted = _sigmoid(logit - self._prior_logits[idx])
        out: np.ndarray = lifted.mean(axis=1).astype(np.float32)
        return out

    def physique_fit(self, products: Sequence[ProductLike], body: BodyProfile) -> PhysiqueFit:
        """Per-label scores and an overall score of how the outfit suits ``body``."""
        if not isinstance(body, BodyProfile):
            raise InvalidInputError(
                f"body must be a BodyProfile, got {type(body).__name__}", field="body"
            )
        items = as_products(products, field="products")
        probs = self.label_probabilities([items])
        overall = float(self.physique_scores(probs, body)[0])
        labels = {lab: float(probs[0, i]) for i, lab in enumerate(self.labels)}
        lift = {
            lab: float(_sigmoid(np.array(_logit(labels[lab]) - self._prior_logits[i])))
            if lab in self.trusted_labels
            else 0.5
            for i, lab in enumerate(self.labels)
        }
        reasons = []
        for lab in body.labels:
            if lab in self.trusted_labels:
                phrase = _LABEL_PHRASES.get(lab, lab.replace("_", " "))
                if lift[lab] >= 0.55:
                    reasons.append(f"suits {phrase}")
                elif lift[lab] <= 0.45:
                    reasons.append(f"less typical for {phrase}")
        return PhysiqueFit(
            overall=overall,
            body_labels=body.labels,
            labels=labels,
            lift=lift,
            reasons=tuple(reasons),
        )

    # -- feedback --------------------------------------------------------------------
    def compose(self, item_vectors: np.ndarray, feedback: str | Sequence[str]) -> np.ndarray:
        """Target query vectors ``(N, D)`` for reference items + natural-language feedback."""
        items = np.atleast_2d(np.asarray(item_vectors, np.float32))
        texts = [feedback] * len(items) if isinstance(feedback, str) else list(feedback)
        if len(texts) != len(items):
            raise InvalidInputError("one feedback text per item vector is needed", field="feedback")
        fb = self.text_encoder.encode(texts)
        (q,) = run_session(
            self.bundle.session("feedback_composer"),
            {"item_vector": items, "feedback_vector": fb},
            ["query_vector"],
            model="feedback_composer",
        )
        return l2_normalize(q)
