"""Multi-round sessions: ask, refine, like/dislike, undo; serialisable for stateless backends."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from .._body_photo import check_height
from .._errors import InvalidInputError
from .._images import load_image
from .._parser import Constraints, parse_request, picture_subject
from .._records import Filters, Recommendation, UserProfile
from .._validation import Record
from ._reply import ReplyBackend, template_reply
from ._visual import WEARABLE, SessionImage, png_bytes

if TYPE_CHECKING:
    from PIL import Image

    from ._recommender import Recommender

__all__ = ["Round", "Session", "SessionReply"]

logger = logging.getLogger("fashionrec_sdk")
_FORMAT = "fashionrec-session"
#: A body estimated from a photo below this confidence is reported, not applied.
MIN_BODY_CONFIDENCE = 0.4
_VERSION = 1


class Round(Record):
    """One request and what it returned."""

    kind: str
    text: str
    constraints: Constraints
    results: tuple[str, ...] = ()


class SessionReply(Record):
    """The answer to ``ask``/``refine``: recommendations, parsed constraints, assistant text."""

    text: str
    constraints: Constraints
    recommendations: tuple[Recommendation, ...] = ()
    round: int = Field(ge=0)
    #: Try-on renders ("show it on me") and generated sketches ("draw a ...").
    images: tuple[SessionImage, ...] = ()

    def __iter__(self) -> Iterator[Recommendation]:  # type: ignore[override]
        return iter(self.recommendations)

    def __len__(self) -> int:
        return len(self.recommendations)

    def __getitem__(self, i: int) -> Recommendation:
        return self.recommendations[i]


def _asks_for_more(c: Constraints) -> bool:
    """True when a try-on request also asks for something ("try on a red dress")."""
    return bool(
        c.text or c.categories or c.colors or c.occasions or c.styles or c.max_price or c.min_price
    )


def _only_names_items(c: Constraints) -> bool:
    """True when a try-on request only points at shown items ("it", "the trousers")."""
    return not (
        c.colors or c.occasions or c.styles or c.max_price or c.min_price or c.exclude_colors
    ) and (not c.text or bool(c.categories))


def _noted(reply: SessionReply, notes: list[str]) -> SessionReply:
    if not notes:
        return reply
    return reply.model_copy(update={"text": " ".join([*notes, reply.text]).strip()})


def _combine(current: Constraints, new: Constraints, last_prices: list[float]) -> Constraints:
    """A refinement on top of the current constraints (explicit values win, lists merge)."""
    data = current.model_dump()
    if new.text:
        data["text"] = (current.text + " " + new.text).strip() if not new.categories else new.text
    for key in ("categories", "colors", "sizes", "occasions"):
        if getattr(new, key):
            data[key] = getattr(new, key)
    data["exclude_colors"] = tuple(dict.fromkeys((*current.exclude_colors, *new.exclude_colors)))
    data["colors"] = tuple(c for c in data["colors"] if c not in data["exclude_colors"])
    styles = [s for s in current.styles if s not in new.avoid_styles] + list(new.styles)
    data["styles"] = tuple(dict.fromkeys(styles))
    data["avoid_styles"] = tuple(dict.fromkeys((*current.avoid_styles, *new.avoid_styles)))
    if new.max_price is not None:
        data["max_price"] = new.max_price
    if new.min_price is not None:
        data["min_price"] = new.min_price
    if new.cheaper and last_prices:
        data["max_price"] = round(float(np.median(last_prices)) * 0.8, 2)
        if data["min_price"] is not None and data["min_price"] > data["max_price"]:
            data["min_price"] = None
    if new.pricier and last_prices:
        data["min_price"] = round(float(np.median(last_prices)) * 1.2, 2)
        if data["max_price"] is not None and data["max_price"] < data["min_price"]:
            data["max_price"] = None
    if new.gender:
        data["gender"] = new.gender
    data["cheaper"] = data["pricier"] = False
    return Constraints.model_validate(data)


class Session:
    """A conversation with the recommender, FashionM3-style.

    ``ask`` starts a new request, ``refine`` adds feedback on top ("cheaper, no
    black"), ``undo`` drops the last refinement, ``like``/``dislike`` steer later
    rounds. ``to_json()``/``Session.from_json()`` keep it in a cookie or a database;
    a restored session continues exactly as the original would.
    """

    def __init__(
        self, recommender: Recommender | None, *, user: UserProfile | None = None, k: int = 6
    ) -> None:
        self.recommender = recommender
        self.user = user or UserProfile()
        self.k = k
        self.rounds: list[Round] = []
        self._stack: list[Constraints] = []
        self._liked: list[str] = []
        self._disliked: list[str] = []
        self._image_vector: list[float] | None = None

    # -- state ------------------------------------------------------------------------
    @property
    def history(self) -> list[Round]:
        """Every round so far (ask, refine, undo), oldest first."""
        return list(self.rounds)

    @property
    def constraints(self) -> Constraints | None:
        return self._stack[-1] if self._stack else None

    def like(self, product_id: str) -> None:
        """Steer later rounds towards this product (counts twice a viewed item)."""
        self._mark(product_id, self._liked, self._disliked)

    def dislike(self, product_id: str) -> None:
        """Never show this product again in this session, and steer away from it."""
        self._mark(product_id, self._disliked, self._liked)

    def _mark(self, product_id: str, add_to: list[str], remove_from: list[str]) -> None:
        if product_id not in self._require().catalog:
            raise InvalidInputError(
                f"product {product_id!r} is not in the catalog",
                field="product_id",
                product_id=product_id,
            )
        add_to.append(product_id)
        if product_id in remove_from:
            remove_from.remove(product_id)

    def _require(self) -> Recommender:
        if self.recommender is None:
            raise InvalidInputError(
                "this session is not attached to a recommender: use Session.from_json(data, recommender=rec)",
                field="recommender",
            )
        return self.recommender

    # -- rounds -----------------------------------------------------------------------
    def ask(self, text: str, image: Any = None, *, height_cm: float | None = None) -> SessionReply:
        """Start a new request ("an outfit for a job interview under $200").

        ``image`` is a query image ("something like this") unless the request is a
        try-on ("show it on me", "put the trousers on me", "try on a red dress"): then
        it is the shopper's photo, and the item meant (the last liked or first shown
        wearable, of the category named if any) is rendered on it (``reply.images``).
        With ``height_cm`` the image is the shopper's full-body photo: a confident body
        estimate makes the session physique-aware (a body profile the shop gave is never
        replaced). "Draw a ..." / "show me a picture of ..." adds a generated image.
        Problems with the photo become a note in ``reply.text``; bad arguments raise.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("text must be a non-empty string", field="text")
        rec = self._require()
        if height_cm is not None:
            if image is None:
                raise InvalidInputError(
                    "height_cm goes with a full-body photo: pass image=photo too",
                    field="height_cm",
                )
            height_cm = check_height(height_cm)
        c = parse_request(text)
        person = None
        if image is not None and (c.show == "on_me" or height_cm is not None):
            person = load_image(image, field="image")
        notes: list[str] = []
        if person is not None and height_cm is not None:
            notes.append(self._body_from(person, height_cm))
        if c.show == "on_me":
            return self._ask_tryon(text, c, person, notes)
        self._image_vector = None
        if image is not None and person is None:
            self._image_vector = [float(x) for x in rec.stylist.image_encoder.encode(image)]
        self._stack = [c.model_copy(update={"show": None})]
        reply = self._run("ask", text)
        if c.show == "picture":
            description = picture_subject(text) or c.query_text() or text
            img = rec.generate_image(description, seed=len(self.rounds))
            picture = SessionImage(
                kind="generated", caption=f"a sketch of “{description}”", png=png_bytes(img)
            )
            reply = reply.model_copy(update={"images": (picture,)})
        return _noted(reply, notes)

    def _ask_tryon(
        self, text: str, c: Constraints, person: Image.Image | None, notes: list[str]
    ) -> SessionReply:
        rec = self._require()
        shown = self.rounds[-1].results if self.rounds else ()
        last = [p for p in (rec.catalog.get(i) for i in shown) if p is not None]
        pointed = [p for p in last if p.coarse_category in c.categories] if c.categories else last
        if person is None:
            if not _asks_for_more(c):
                raise InvalidInputError(
                    "a photo of you is needed to show it on you: ask(text, image=photo)",
                    field="image",
                )
            notes.append("Send a photo of yourself to see it on you.")
        if person is not None and pointed and _only_names_items(c):
            reply = self._repeat("tryon", text)  # "show it on me", "put the trousers on me"
        elif _asks_for_more(c):
            self._image_vector = None
            self._stack = [c.model_copy(update={"show": None})]
            reply = self._run("ask", text)
        else:
            raise InvalidInputError(
                "nothing has been shown yet: ask for something first, or say what to try on "
                "(“try on a red dress”)",
                field="text",
            )
        if person is None:
            return _noted(reply, notes)
        return self._with_tryon(reply, person, c, notes)

    def _body_from(self, person: Image.Image, height_cm: float) -> str:
        """Estimate the shopper's body from the photo; a note for the reply either way."""
        rec = self._require()
        fallback = (
            "your saved body profile still applies"
            if self.user.body is not None
            else "results are not physique-aware"
        )
        try:
            body = rec.body_from_photo(person, height_cm)
        except InvalidInputError as err:
            return f"I could not measure you from this photo ({err}); {fallback}."
        confidence = body.confidence if body.confidence is not None else 0.0
        shape = body.body_shape.replace("_", " ")
        if confidence < MIN_BODY_CONFIDENCE:
            return (
                f"My estimate from this photo ({shape} shape) is too uncertain to use "
                f"(confidence {confidence:.2f} < {MIN_BODY_CONFIDENCE}); {fallback}."
            )
        if self.user.body is not None and self.user.body.confidence is None:
            return f"From your photo: {shape} shape; your measured body profile is kept."
        self.user = self.user.model_copy(update={"body": body})
        return (
            f"From your photo: {shape} shape (confidence {confidence:.2f}); "
            "results take it into account."
        )

    def _repeat(self, kind: str, text: str) -> SessionReply:
        """The last round's results again, as a round of its own (try-on of shown items)."""
        rec = self._require()
        last = self.rounds[-1]
        recs = []
        for pid in last.results:
            product = rec.catalog.get(pid)
            if product is not None:
                recs.append(Recommendation(product=product, score=0.0, reasons=("shown before",)))
        self.rounds.append(
            Round(kind=kind, text=text, constraints=last.constraints, results=last.results)
        )
        return SessionReply(
            text="",
            constraints=last.constraints,
            recommendations=tuple(recs),
            round=len(self.rounds) - 1,
        )

    def _with_tryon(
        self, reply: SessionReply, person: Image.Image, c: Constraints, notes: list[str]
    ) -> SessionReply:
        rec = self._require()
        wanted = set(c.categories) or set(WEARABLE)
        shown = [
            r.product
            for r in reply.recommendations
            if r.product.coarse_category in WEARABLE
            and r.product.coarse_category in wanted
            and r.product.image
        ]
        if not shown:
            text = (
                "None of these items can be shown on a photo (a top, dress, jacket or "
                "bottom with a product image is needed)."
            )
            return _noted(reply.model_copy(update={"text": text}), notes)
        liked = [pid for pid in reversed(self._liked) if any(p.id == pid for p in shown)]
        product = next(p for p in shown if p.id == liked[0]) if liked else shown[0]
        try:
            img = rec.tryon(person, product)
        except InvalidInputError as err:
            text = f"I could not show {product.title} on your photo: {err}"
            return _noted(reply.model_copy(update={"text": text}), notes)
        shot = SessionImage(
            kind="tryon",
            caption=f"{product.title} on you",
            product_id=product.id,
            png=png_bytes(img),
        )
        text = f"Here is {product.title} on you (a 2D simulation)."
        return _noted(reply.model_copy(update={"images": (shot,), "text": text}), notes)

    def refine(self, feedback: str) -> SessionReply:
        """Refine the current request ("cheaper", "no black", "in blue", "shoes instead")."""
        if not isinstance(feedback, str) or not feedback.strip():
            raise InvalidInputError("feedback must be a non-empty string", field="feedback")
        if not self._stack:
            return self.ask(feedback)
        rec = self._require()
        last = self.rounds[-1].results if self.rounds else ()
        shown = [rec.catalog.get(i) for i in last]
        prices = [p.price for p in shown if p is not None and p.price is not None]
        self._stack.append(_combine(self._stack[-1], parse_request(feedback), prices))
        return self._run("refine", feedback)

    def undo(self) -> SessionReply:
        """Drop the last refinement and show the previous round's request again."""
        if len(self._stack) < 2:
            raise InvalidInputError("nothing to undo", field="undo")
        self._stack.pop()
        return self._run("undo", "undo")

    def _run(self, kind: str, text: str) -> SessionReply:
        rec = self._require()
        c = self._stack[-1]
        user = self.user.model_copy(
            update={
                "liked": tuple(dict.fromkeys((*self.user.liked, *self._liked))),
                "disliked": tuple(dict.fromkeys((*self.user.disliked, *self._disliked))),
            }
        )
        recs = self._recommend(rec, c, user)
        draft = template_reply(
            text if kind == "ask" else self.rounds[0].text if self.rounds else text,
            c,
            recs,
            refined=kind != "ask",
        )
        reply_text = draft
        backend: ReplyBackend | None = rec.reply_backend
        if backend is not None and recs:
            try:
                reply_text = backend.phrase(text, draft, recs)
            except Exception as err:  # any backend failure falls back to the template
                logger.warning("reply backend failed (%s); using the template", err)
        self.rounds.append(
            Round(kind=kind, text=text, constraints=c, results=tuple(r.product.id for r in recs))
        )
        return SessionReply(
            text=reply_text, constraints=c, recommendations=tuple(recs), round=len(self.rounds) - 1
        )

    def _recommend(
        self, rec: Recommender, c: Constraints, user: UserProfile
    ) -> list[Recommendation]:
        from ._recommender import _merge_filters

        f = _merge_filters(Filters(exclude_ids=frozenset(user.disliked)), c)
        query = c.query_text() or "wardrobe essentials"
        # "matches …" names what was asked for; limits have reasons of their own.
        label = " ".join((*c.occasions, *c.styles, c.text)).strip() or None
        if self._image_vector is not None or c.categories:
            image_vec = (
                None if self._image_vector is None else np.asarray(self._image_vector, np.float32)
            )
            return rec._ranked_for_query(
                query, user, f, self.k, image_vector=image_vec, label=label
            )
        return rec._look(query, user, f, self.k, label=label)

    # -- persistence ------------------------------------------------------------------
    def to_json(self) -> str:
        """Everything needed to continue this session elsewhere (no images, no vectors of the catalog)."""
        return json.dumps(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "k": self.k,
                "user": self.user.model_dump(mode="json"),
                "rounds": [r.model_dump(mode="json") for r in self.rounds],
                "stack": [c.model_dump(mode="json") for c in self._stack],
                "liked": self._liked,
                "disliked": self._disliked,
                "image_vector": self._image_vector,
            }
        )

    @classmethod
    def from_json(cls, data: str | bytes, recommender: Recommender | None = None) -> Session:
        """Restore a session saved with :meth:`to_json` (attach a recommender to continue)."""
        try:
            obj = json.loads(data)
        except (ValueError, TypeError) as err:
            raise InvalidInputError(
                f"session data is not valid JSON: {err}", field="data"
            ) from None
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise InvalidInputError("not a fashionrec session", field="format")
        if obj.get("version") != _VERSION:
            raise InvalidInputError(
                f"unsupported session version {obj.get('version')!r}", field="version"
            )
        s = cls(recommender, user=UserProfile.model_validate(obj["user"]), k=int(obj["k"]))
        s.rounds = [Round.model_validate(r) for r in obj["rounds"]]
        s._stack = [Constraints.model_validate(c) for c in obj["stack"]]
        s._liked = [str(x) for x in obj["liked"]]
        s._disliked = [str(x) for x in obj["disliked"]]
        vec = obj.get("image_vector")
        s._image_vector = None if vec is None else [float(x) for x in vec]
        return s
