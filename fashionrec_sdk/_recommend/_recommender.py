"""The recommender: FashionM3's tasks joined with FCN's physique awareness.

Every task is a ranking over HNSW candidates from the catalog, re-scored by relevance,
outfit compatibility, physique fit and personalisation (see :class:`RankingWeights`),
diversified with MMR, and explained with short reasons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from .._encoders import l2_normalize
from .._errors import InvalidInputError
from .._parser import Constraints, parse_request
from .._records import BodyProfile, Filters, Product, Recommendation, UserProfile
from .._stylist import PhysiqueFit, Stylist, as_products
from ._ranking import RankingWeights, filter_reasons, join_names, mmr, short_name
from ._visual import Visuals

if TYPE_CHECKING:
    from PIL import Image

    from .._bundle import ModelBundle
    from .._generate import ImageGenerator
    from .._images import ImageInput
    from .._tryon import TryOnBackend
    from ._reply import ReplyBackend
    from ._session import Session

__all__ = ["OUTFIT_SLOTS", "CatalogLike", "Recommender"]

#: The slots a complete look is made of (a dress replaces top + bottom).
OUTFIT_SLOTS: tuple[str, ...] = (
    "top",
    "bottom",
    "dress",
    "outerwear",
    "shoes",
    "bag",
    "jewellery",
    "accessory",
)
_CORE_SEPARATES = ("top", "bottom", "shoes", "bag", "outerwear", "jewellery")
_CORE_DRESS = ("dress", "shoes", "bag", "outerwear", "jewellery")
_COLD_START_QUERY = "classic versatile wardrobe essentials"
#: Added to the relevance of an alternative named in the colour the feedback asks for.
COLOUR_BONUS = 0.2


class _Hit(Protocol):
    @property
    def product(self) -> Product: ...
    @property
    def score(self) -> float: ...
    @property
    def vector(self) -> np.ndarray: ...


class CatalogLike(Protocol):
    """What the recommender needs from a catalog (``fashionrec_sdk.Catalog`` has it)."""

    @property
    def bundle(self) -> ModelBundle: ...
    def __contains__(self, product_id: object) -> bool: ...
    def get(self, product_id: str) -> Product | None: ...
    def vectors(self, ids: Sequence[str]) -> np.ndarray: ...
    def text_vectors(self, ids: Sequence[str]) -> np.ndarray: ...
    def stored_vectors(
        self, products: Sequence[Product], *, kind: Literal["fused", "text"]
    ) -> tuple[list[int], np.ndarray]: ...
    def search_vector(
        self,
        vector: np.ndarray,
        k: int,
        filters: Filters | None = None,
        category: str | None = None,
    ) -> Sequence[_Hit]: ...


ItemRef = str | Product | Mapping[str, Any]

#: complete_outfit: weight of the cosine to the outfit's mean vector next to the
#: compatibility head. Chosen on the Maryland *validation* outfits
#: (``python -m benchmarks.quality --only complete_the_look --split valid``).
_LOOK_RELEVANCE = 2.0
_PER_SLOT_FACTOR = 2


class Recommender:
    """Recommendations over a catalog, with the models of the bundle it was built with.

    Args:
        catalog: a :class:`Catalog` (or anything with its query interface).
        weights: ranking weights; the defaults are documented in docs/concepts.md.
        candidates: candidates fetched per category before re-scoring.
        reply_backend: optional phraser for session replies (see :class:`OpenAIChatReply`).
        tryon_backend: how :meth:`tryon` renders a garment on a shopper's photo
            (default: the embedded 2D simulation; see :class:`RemoteTryOn`).
        image_generator: how :meth:`generate_image` draws a description (default: the
            embedded sketch generator; see :class:`RemoteImageGenerator`).
    """

    def __init__(
        self,
        catalog: CatalogLike,
        *,
        weights: RankingWeights | None = None,
        candidates: int = 40,
        reply_backend: ReplyBackend | None = None,
        tryon_backend: TryOnBackend | None = None,
        image_generator: ImageGenerator | None = None,
    ) -> None:
        if candidates < 1:
            raise InvalidInputError("candidates must be >= 1", field="candidates")
        self.catalog = catalog
        self.stylist = Stylist(catalog.bundle)
        self.weights = weights or RankingWeights()
        self.candidates = candidates
        self.reply_backend = reply_backend
        self.visuals = Visuals(
            self.stylist.text_encoder, tryon_backend=tryon_backend, image_generator=image_generator
        )

    # -- resolving inputs -------------------------------------------------------------
    def _resolve(self, items: ItemRef | Sequence[ItemRef], field: str = "items") -> list[Product]:
        seq: Sequence[ItemRef] = [items] if isinstance(items, str | Product | Mapping) else items
        if not seq:
            raise InvalidInputError(f"{field} must name at least one product", field=field)
        out: list[Product] = []
        for i, it in enumerate(seq):
            if isinstance(it, str):
                found = self.catalog.get(it)
                if found is None:
                    raise InvalidInputError(
                        f"{field}[{i}]: product {it!r} is not in the catalog",
                        field=f"{field}[{i}]",
                        product_id=it,
                    )
                out.append(found)
            else:
                out.extend(as_products([it], field=f"{field}[{i}]"))
        return out

    def _text_vectors(self, products: Sequence[Product]) -> np.ndarray:
        """Text vectors, from the catalog when stored there, else encoded now."""
        return self._vectors(products, "text")

    def _item_vectors(self, products: Sequence[Product]) -> np.ndarray:
        """Fused item vectors, from the catalog when stored there, else encoded now."""
        return self._vectors(products, "fused")

    def _vectors(self, products: Sequence[Product], kind: Literal["fused", "text"]) -> np.ndarray:
        vecs = np.zeros((len(products), self.stylist.dim), np.float32)
        known, stored = self.catalog.stored_vectors(products, kind=kind)
        if known:
            vecs[known] = stored
        if len(known) < len(products):
            seen = set(known)
            unknown = [i for i in range(len(products)) if i not in seen]
            fresh = [products[i] for i in unknown]
            vecs[unknown] = (
                self.stylist.text_vectors(fresh) if kind == "text" else self.stylist.embed(fresh)
            )
        return vecs

    def _outfit_vectors(
        self, context: Sequence[Product], candidates: Sequence[Product]
    ) -> list[np.ndarray]:
        """Text vectors ``(len(context) + 1, D)`` of each outfit ``[*context, candidate]``."""
        ctx = (
            self._text_vectors(context) if context else np.zeros((0, self.stylist.dim), np.float32)
        )
        cand = self._text_vectors(candidates)
        return [np.vstack([ctx, cand[i : i + 1]]) for i in range(len(candidates))]

    def _compat_and_physique(
        self, context: Sequence[Product], candidates: Sequence[Product], body: BodyProfile | None
    ) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """Compatibility of each candidate worn with ``context``, and its physique score and
        reasons, with one run of the outfit encoder."""
        outfits = [[*context, c] for c in candidates]
        vecs = self._outfit_vectors(context, candidates)
        if body is None:
            compat = self.stylist.score_outfits(outfits, vecs)
            return (compat, *self._physique(candidates, None))
        compat, probs = self.stylist.score_and_label_outfits(outfits, vecs)
        return (compat, *self._physique(candidates, body, context, probs=probs))

    @staticmethod
    def _check_k(k: int) -> int:
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
            raise InvalidInputError(f"k must be an int in 1..1000, got {k!r}", field="k")
        return k

    @staticmethod
    def _filters(filters: Filters | Mapping[str, Any] | None) -> Filters | None:
        if filters is None or isinstance(filters, Filters):
            return filters
        if isinstance(filters, Mapping):
            return Filters.model_validate(dict(filters))
        raise InvalidInputError(
            f"filters must be Filters or a dict, got {type(filters).__name__}", field="filters"
        )

    # -- ranking core -----------------------------------------------------------------
    def _finish(
        self,
        products: list[Product],
        vectors: np.ndarray,
        components: list[dict[str, float]],
        reasons: list[list[str]],
        k: int,
        filters: Filters | None,
        *,
        diversify: bool = True,
    ) -> list[Recommendation]:
        scores = np.array([self.weights.combine(c) for c in components], dtype=np.float64)
        if diversify:
            order = mmr(
                scores,
                vectors.astype(np.float64),
                k,
                self.weights.diversity,
                self.weights.near_duplicate,
            )
        else:
            order = list(np.argsort(-scores, kind="stable")[:k])
        out = []
        for i in order:
            why = [*reasons[i], *filter_reasons(products[i], filters)]
            out.append(
                Recommendation(
                    product=products[i],
                    score=float(scores[i]),
                    components={key: round(float(v), 6) for key, v in components[i].items()},
                    reasons=tuple(dict.fromkeys(r for r in why if r)),
                )
            )
        return out

    def _candidates(
        self, query: np.ndarray, n: int, filters: Filters | None, category: str | None = None
    ) -> tuple[list[Product], np.ndarray, np.ndarray]:
        hits = self.catalog.search_vector(
            l2_normalize(query), n, filters=filters, category=category
        )
        products = [h.product for h in hits]
        if not products:
            return [], np.zeros((0, self.stylist.dim), np.float32), np.zeros(0, np.float32)
        return (
            products,
            self.catalog.vectors([p.id for p in products]),
            np.array([h.score for h in hits], np.float32),
        )

    def _physique(
        self,
        products: Sequence[Product],
        body: BodyProfile | None,
        context: Sequence[Product] = (),
        *,
        probs: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[list[str]]]:
        """Physique score per candidate (worn with ``context``) and its reasons.

        ``probs``: the label probabilities of those outfits when the caller already has
        them (from :meth:`Stylist.score_and_label_outfits`).
        """
        if body is None or not products:
            return np.full(len(products), 0.5, np.float32), [[] for _ in products]
        if probs is None:
            ctx = list(context)
            outfits = [[*ctx, p] for p in products]
            probs = self.stylist.label_probabilities(outfits, self._outfit_vectors(ctx, products))
        scores = self.stylist.physique_scores(probs, body)
        shape = body.body_shape
        if shape in self.stylist.trusted_labels:
            phrase = f"flattering for a {shape.replace('_', ' ')} shape"
        else:
            phrase = "suits your height and size"
        reasons = [[phrase] if s >= 0.55 else [] for s in scores]
        return scores, reasons

    # -- tasks ------------------------------------------------------------------------
    def search(
        self,
        text: str | None = None,
        *,
        image: Any = None,
        k: int = 10,
        filters: Filters | Mapping[str, Any] | None = None,
        body: BodyProfile | None = None,
    ) -> list[Recommendation]:
        """Products matching a text and/or an image (path, URL, bytes or PIL image)."""
        k = self._check_k(k)
        f = self._filters(filters)
        if text is None and image is None:
            raise InvalidInputError("search needs text or image", field="text")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise InvalidInputError("text must be a non-empty string", field="text")
        parts = []
        if text is not None:
            parts.append(self.stylist.text_encoder.encode(text))
        if image is not None:
            parts.append(self.stylist.image_encoder.encode(image))
        query = l2_normalize(np.sum(parts, axis=0))
        products, vecs, _ = self._candidates(query, max(k * 3, self.candidates), f)
        rel = vecs @ query
        phys, phys_why = self._physique(products, body)
        label = f"“{text}”" if text else "your photo"
        comps = [
            {"relevance": float(r), "physique": float(p)} for r, p in zip(rel, phys, strict=True)
        ]
        why = [[f"matches {label}", *pw] for pw in phys_why]
        return self._finish(products, vecs, comps, why, k, f)

    def similar(
        self, product_id: str, *, k: int = 10, filters: Filters | Mapping[str, Any] | None = None
    ) -> list[Recommendation]:
        """Products most similar to ``product_id`` (itself excluded)."""
        k = self._check_k(k)
        (anchor,) = self._resolve([product_id], field="product_id")
        f = self._filters(filters) or Filters()
        f = f.model_copy(update={"exclude_ids": f.exclude_ids | {anchor.id}})
        query = self._item_vectors([anchor])[0]
        products, vecs, _ = self._candidates(query, max(k * 3, self.candidates), f)
        rel = vecs @ query
        comps = [{"relevance": float(r)} for r in rel]
        why = [[f"similar to {short_name(anchor)}"] for _ in products]
        return self._finish(products, vecs, comps, why, k, f)

    def _missing_slots(self, items: Sequence[Product], filters: Filters | None) -> list[str]:
        have = {p.coarse_category for p in items}
        core = _CORE_DRESS if "dress" in have else _CORE_SEPARATES
        if filters is not None and filters.categories:
            wanted = [c.lower() for c in filters.categories]
            return [c for c in OUTFIT_SLOTS if c in wanted and c not in have]
        return [
            c for c in core if c not in have and not ({"top", "bottom"} & have and c == "dress")
        ]

    def complete_outfit(
        self,
        items: ItemRef | Sequence[ItemRef],
        *,
        k: int = 10,
        filters: Filters | Mapping[str, Any] | None = None,
        body: BodyProfile | None = None,
        query: np.ndarray | None = None,
    ) -> list[Recommendation]:
        """Items from the missing categories that go with ``items`` (ids or Products).

        Candidates per missing category come from that category's index (query: the
        outfit's mean vector); each is scored as part of
        the outfit by the outfit encoder's compatibility head (and, with ``body``, the
        physique model), and the results are interleaved across categories.
        """
        k = self._check_k(k)
        f = self._filters(filters)
        outfit = self._resolve(items)
        ids = {p.id for p in outfit}
        f = (f or Filters()).model_copy(
            update={"exclude_ids": (f.exclude_ids if f else frozenset()) | ids}
        )
        slots = self._missing_slots(outfit, f)
        if not slots:
            return []
        centre = l2_normalize(self._item_vectors(outfit).mean(axis=0))
        if query is not None:  # a session's request steers the look ("job interview")
            centre = l2_normalize(centre + query)
        per_slot = max(4, min(self.candidates, _PER_SLOT_FACTOR * k // max(1, len(slots)) + 4))
        cands: list[Product] = []
        cand_slot: list[str] = []
        for slot in slots:
            products, _, _ = self._candidates(centre, per_slot, f, category=slot)
            cands.extend(products)
            cand_slot.extend([slot] * len(products))
        if not cands:
            return []
        compat, phys, phys_why = self._compat_and_physique(outfit, cands, body)
        cand_vecs = self._item_vectors(cands)
        rel = cand_vecs @ centre
        anchors = join_names([short_name(p) for p in outfit[:2]])
        rel = _LOOK_RELEVANCE * rel
        if query is not None:  # the request ("job interview") matters as much as the look
            rel = rel + cand_vecs @ l2_normalize(query)
        comps = [
            {"compatibility": float(c), "relevance": float(r), "physique": float(p)}
            for c, r, p in zip(compat, rel, phys, strict=True)
        ]
        why = [
            [
                f"goes with your {anchors}"
                if c >= 0.5
                else f"completes the look with your {anchors}",
                *pw,
            ]
            for c, pw in zip(compat, phys_why, strict=True)
        ]
        ranked = self._finish(cands, cand_vecs, comps, why, len(cands), f, diversify=False)
        # Interleave categories: the best of each missing slot first, then the next...
        by_slot: dict[str, list[Recommendation]] = {s: [] for s in slots}
        slot_of = dict(zip((c.id for c in cands), cand_slot, strict=True))
        for r in ranked:
            by_slot[slot_of[r.product.id]].append(r)
        out: list[Recommendation] = []
        while len(out) < k and any(by_slot.values()):
            for slot in sorted(by_slot, key=lambda s: -(by_slot[s][0].score if by_slot[s] else -9)):
                if by_slot[slot] and len(out) < k:
                    out.append(by_slot[slot].pop(0))
        return out

    def taste_vector(self, user: UserProfile) -> tuple[np.ndarray | None, list[Product]]:
        """Recency-weighted mean of history (+ likes, - dislikes); None without signal."""
        events = [e for e in user.history if e.product_id in self.catalog]
        liked = [i for i in user.liked if i in self.catalog]
        disliked = [i for i in user.disliked if i in self.catalog]
        if not events and not liked:
            return None, []
        n = len(events)
        hl = self.weights.recency_half_life
        weights = [e.weight * 0.5 ** ((n - 1 - i) / hl) for i, e in enumerate(events)]
        ids = [e.product_id for e in events] + liked + disliked
        w = np.array(weights + [2.0] * len(liked) + [-1.0] * len(disliked), np.float32)
        vecs = self.catalog.vectors(ids)
        taste = (w[:, None] * vecs).sum(axis=0)
        if float(np.linalg.norm(taste)) < 1e-6:
            return None, []
        recent_ids = [e.product_id for e in events[::-1][:3]] + liked[:2]
        recent = [p for p in (self.catalog.get(i) for i in recent_ids) if p is not None]
        return l2_normalize(taste), recent

    def for_user(
        self,
        user: UserProfile,
        *,
        query: str | None = None,
        k: int = 10,
        filters: Filters | Mapping[str, Any] | None = None,
    ) -> list[Recommendation]:
        """Personalised picks from the user's history, likes and body, optionally for a query.

        Cold start (no usable history) falls back to the query, or to versatile
        essentials, ranked by physique fit when a body profile is given.
        """
        if not isinstance(user, UserProfile):
            raise InvalidInputError(
                f"user must be a UserProfile, got {type(user).__name__}", field="user"
            )
        k = self._check_k(k)
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise InvalidInputError("query must be a non-empty string", field="query")
        f = self._filters(filters) or Filters()
        text = None
        if query:
            constraints = parse_request(query)
            f = _merge_filters(f, constraints)
            text = constraints.query_text() or query
        return self._ranked_for_query(text, user, f, k, label=query)

    def _ranked_for_query(
        self,
        text: str | None,
        user: UserProfile,
        f: Filters,
        k: int,
        *,
        image_vector: np.ndarray | None = None,
        label: str | None = None,
    ) -> list[Recommendation]:
        """Rank by query relevance + taste + physique (shared by for_user and sessions)."""
        seen = {e.product_id for e in user.history} | set(user.disliked)
        f = f.model_copy(update={"exclude_ids": f.exclude_ids | seen})
        taste, recent = self.taste_vector(user)
        qvec = None if text is None else self.stylist.text_encoder.encode(text)
        if image_vector is not None:
            qvec = image_vector if qvec is None else l2_normalize(qvec + image_vector)
        if qvec is None and taste is None:
            qvec = self.stylist.text_encoder.encode(_COLD_START_QUERY)
        parts = [v for v in (qvec, None if taste is None else 0.7 * taste) if v is not None]
        search_vec = l2_normalize(np.sum(parts, axis=0))
        products, vecs, _ = self._candidates(search_vec, max(4 * k, self.candidates), f)
        rel = vecs @ qvec if qvec is not None else np.zeros(len(products), np.float32)
        pers = vecs @ taste if taste is not None else np.zeros(len(products), np.float32)
        phys, phys_why = self._physique(products, user.body)
        comps = [
            {"relevance": float(r), "personalization": float(u), "physique": float(p)}
            for r, u, p in zip(rel, pers, phys, strict=True)
        ]
        recent_vecs = self.catalog.vectors([r.id for r in recent]) if recent else None
        why: list[list[str]] = []
        for i in range(len(products)):
            reasons = list(phys_why[i])
            if recent_vecs is not None:
                best = recent[int(np.argmax(recent_vecs @ vecs[i]))]
                reasons.insert(0, f"similar to {short_name(best)} you liked or viewed")
            if label or text:
                reasons.insert(0, f"matches “{label or text}”")
            if not reasons:
                reasons.append("a versatile essential to start with")
            why.append(reasons)
        return self._finish(products, vecs, comps, why, k, f)

    def _look(
        self, text: str, user: UserProfile, f: Filters, k: int, *, label: str | None = None
    ) -> list[Recommendation]:
        """A whole outfit for a request: the best-matching garment, then what goes with it."""
        garments = ("top", "dress", "outerwear", "bottom")
        anchor_filters = f.model_copy(update={"categories": f.categories or garments})
        anchors = self._ranked_for_query(text, user, anchor_filters, 3, label=label or text)
        if not anchors:
            return []
        anchor = anchors[0]
        qvec = self.stylist.text_encoder.encode(text)
        rest = self.complete_outfit(
            [anchor.product], k=max(1, k - 1), filters=f, body=user.body, query=qvec
        )
        return [anchor, *rest][:k]

    def alternatives(
        self,
        outfit: Sequence[ItemRef],
        replace: str,
        feedback: str,
        *,
        k: int = 10,
        filters: Filters | Mapping[str, Any] | None = None,
        body: BodyProfile | None = None,
    ) -> list[Recommendation]:
        """Swap ``replace`` for items that follow ``feedback`` and still fit the outfit.

        The feedback composer turns (replaced item, feedback text) into a query vector;
        explicit constraints in the feedback (colours, prices, "cheaper") become filters;
        candidates of the same category are re-scored by compatibility with the rest.
        """
        k = self._check_k(k)
        if not isinstance(feedback, str) or not feedback.strip():
            raise InvalidInputError("feedback must be a non-empty string", field="feedback")
        items = self._resolve(outfit, field="outfit")
        idx = [i for i, p in enumerate(items) if p.id == replace]
        if not idx:
            raise InvalidInputError(
                f"replace={replace!r} is not one of the outfit's items",
                field="replace",
                product_id=replace,
            )
        old = items[idx[0]]
        rest = [p for p in items if p.id != replace]
        constraints = parse_request(feedback)
        f = _merge_filters(
            self._filters(filters) or Filters(),
            constraints,
            reference_price=old.price,
            soft_colors=True,
        )
        f = f.model_copy(update={"exclude_ids": f.exclude_ids | {p.id for p in items}})
        ref_text = self._text_vectors([old])
        query = self.stylist.compose(ref_text, feedback)[0]
        n = max(3 * k, self.candidates)
        products, vecs, _ = self._candidates(query, n, f, category=old.coarse_category)
        if constraints.colors:
            # Items named in the wanted colour first; others (colour unknown) stay eligible.
            hard = f.model_copy(update={"colors": constraints.colors})
            coloured, cvecs, _ = self._candidates(query, n, hard, category=old.coarse_category)
            seen = {p.id for p in coloured}
            keep = [i for i, p in enumerate(products) if p.id not in seen]
            products = coloured + [products[i] for i in keep]
            vecs = np.vstack([cvecs, vecs[keep]]) if len(coloured) else vecs
        if not products:
            return []
        wanted = constraints.colors
        colour_hit = np.array(
            [any(c in f"{p.color or ''} {p.title}".lower() for c in wanted) for p in products]
        )
        rel = vecs @ query + COLOUR_BONUS * colour_hit
        if rest:
            compat, phys, phys_why = self._compat_and_physique(rest, products, body)
        else:
            compat = np.full(len(products), 0.5, np.float32)
            phys, phys_why = self._physique(products, body)
        comps = [
            {"relevance": float(r), "compatibility": float(c), "physique": float(p)}
            for r, c, p in zip(rel, compat, phys, strict=True)
        ]
        anchors = join_names([short_name(p) for p in rest[:2]])
        why = []
        for prod, c, pw in zip(products, compat, phys_why, strict=True):
            reasons = [f"follows “{feedback.strip()}”"]
            named = f"{prod.color or ''} {prod.title}".lower()
            reasons += [f"in {col}" for col in constraints.colors if col in named]
            if rest and c >= 0.5:
                reasons.append(f"still goes with your {anchors}")
            why.append([*reasons, *pw])
        return self._finish(products, vecs, comps, why, k, f)

    def score_outfit(self, items: Sequence[ItemRef]) -> float:
        """Compatibility probability of the items worn together (ids or Products)."""
        products = self._resolve(items)
        return float(self.stylist.score_outfits([products], [self._text_vectors(products)])[0])

    def physique_fit(self, items: Sequence[ItemRef], body: BodyProfile) -> PhysiqueFit:
        """How the outfit suits ``body``: overall score + per-label scores + reasons."""
        return self.stylist.physique_fit(self._resolve(items), body)

    # -- visual tasks -----------------------------------------------------------------
    def body_from_photo(self, image: ImageInput, height_cm: float) -> BodyProfile:
        """Estimate a shopper's :class:`BodyProfile` from a full-body photo and height.

        Raises:
            InvalidInputError: the photo is unusable (no person, several people, body
                cropped, side view...); the message says why.
        """
        return self.visuals.body_from_photo(image, height_cm)

    def tryon(self, person_image: ImageInput, item: ItemRef) -> Image.Image:
        """``item`` (a top, outerwear, dress or bottom with an image) shown on the
        person in ``person_image``, with the recommender's try-on backend."""
        (product,) = self._resolve(item, field="item")
        return self.visuals.tryon(person_image, product)

    def generate_image(
        self, description: str, *, seed: int | None = None, size: int = 256
    ) -> Image.Image:
        """An image of ``description`` ("a red midi dress") from the recommender's image
        generator: the embedded sketch generator draws 28x28 sketches (upscaled); pass
        a :class:`RemoteImageGenerator` for photographic images."""
        return self.visuals.generate(description, seed=seed, size=size)

    def session(self, user: UserProfile | None = None) -> Session:
        """A multi-round conversation (ask, refine, like/dislike, undo, to_json)."""
        from ._session import Session

        return Session(self, user=user)


def _merge_filters(
    base: Filters,
    c: Constraints,
    *,
    reference_price: float | None = None,
    soft_colors: bool = False,
) -> Filters:
    """Add a request's explicit constraints to ``base`` (the stricter bound wins).

    With ``soft_colors`` a wanted colour is not a hard filter (the feedback composer
    already steers towards it): products whose colour is unknown stay eligible.
    """
    update: dict[str, Any] = {}
    max_price = c.max_price
    if c.cheaper and reference_price is not None:
        max_price = min(x for x in (max_price, reference_price * 0.9) if x is not None)
    if max_price is not None:
        update["max_price"] = (
            max_price if base.max_price is None else min(base.max_price, max_price)
        )
    min_price = c.min_price
    if c.pricier and reference_price is not None:
        min_price = max(x for x in (min_price, reference_price * 1.1) if x is not None)
    if min_price is not None:
        update["min_price"] = (
            min_price if base.min_price is None else max(base.min_price, min_price)
        )
    if (
        update.get("min_price") is not None
        and update.get("max_price") is not None
        and update["min_price"] > update["max_price"]
    ):
        update["min_price"] = None
    if c.colors and not soft_colors:
        update["colors"] = c.colors
    if c.exclude_colors:
        update["exclude_colors"] = tuple(
            dict.fromkeys((*(base.exclude_colors or ()), *c.exclude_colors))
        )
    if c.categories:
        update["categories"] = c.categories
    if c.sizes:
        update["sizes"] = c.sizes
    if c.gender:
        update["gender"] = c.gender
    return base.model_copy(update=update) if update else base
