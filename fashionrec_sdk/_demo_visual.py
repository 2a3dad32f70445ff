"""The demo's visual part: body from a photo, try-on, "show it on me", sketches."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ._body_photo import body_from_photo
from ._errors import InvalidInputError
from ._lookbook import LookbookSection
from ._recommend import Recommender
from ._recommend._visual import WEARABLE, png_bytes
from ._records import Product, UserProfile

__all__ = ["run_visual_demo"]

#: Height given with the demo photo (the person in it is not measured; any plausible value).
DEMO_HEIGHT_CM = 178.0


def _photo_png(photo: Path) -> bytes:
    from ._images import load_image

    return png_bytes(load_image(photo, field="photo"))


def run_visual_demo(
    rec: Recommender,
    products: Iterable[Product],
    photo: Path | None,
    query: Path | None,
    sections: list[LookbookSection],
) -> None:
    """Append the visual sections to ``sections`` (prints what it does).

    ``photo``: a shopper's photo (body estimate, try-on); ``query``: a garment image
    to start the "show it on me" session from.
    """
    if photo is not None:
        print(f"\n=== Body profile from a photo\nphoto: {photo.name}, height {DEMO_HEIGHT_CM:g} cm")
        try:
            est = body_from_photo(photo, DEMO_HEIGHT_CM, estimator=rec.visuals.estimator)
            body = est.profile
            note = (
                f"estimated: bust {body.bust_cm:.0f} / waist {body.waist_cm:.0f} / hips "
                f"{body.hips_cm:.0f} cm -> {', '.join(body.labels)}; confidence "
                f"{est.confidence:.2f} (a session uses estimates from 0.4); "
                f"warnings: {'; '.join(est.warnings) or 'none'}"
            )
        except InvalidInputError as err:
            note = f"refused: {err}"
        print(f"  {note}")
        sections.append(
            LookbookSection(
                title="Body profile from a photo",
                request=f"BodyProfile.from_photo({photo.name}, height_cm={DEMO_HEIGHT_CM:g})",
                note=note,
                pictures=[(photo.name, _photo_png(photo))],
            )
        )
        garments = [p for p in products if p.image and p.coarse_category in WEARABLE]
        pictures = []
        for product in garments[::2][:4]:
            t0 = time.perf_counter()
            try:
                img = rec.tryon(photo, product.id)
            except InvalidInputError as err:  # e.g. trousers on a half-body photo
                print(f"  try-on of {product.title}: not possible ({err})")
                continue
            ms = (time.perf_counter() - t0) * 1e3
            print(f"  try-on of {product.title}: {ms:.0f} ms")
            pictures.append((f"{product.title} ({ms:.0f} ms)", png_bytes(img)))
        if pictures:
            sections.append(
                LookbookSection(
                    title="Virtual try-on",
                    request=f"rec.tryon({photo.name}, product) for products with a photo",
                    pictures=pictures,
                    note="The embedded try-on is a 2D warp of the product photo onto the body "
                    "(pose landmarks + person mask), not a diffusion try-on model.",
                )
            )
        if query is not None and garments:
            session = rec.session(UserProfile())
            first = session.ask("a dress like this", image=query)
            reply = session.ask("show it on me", image=photo)
            print(
                f"\n=== Session: “a dress like this”, then “show it on me”\nassistant: {reply.text}"
            )
            sections.append(
                LookbookSection(
                    title="Session: “a dress like this” (image), then “show it on me” (photo)",
                    request=f"query image {query.name}; shopper's photo {photo.name}",
                    recommendations=list(first)[:4],
                    say=reply.text,
                    pictures=[(im.caption, im.png) for im in reply.images],
                )
            )
    prompts = ["a red summer dress", "black leather ankle boots", "a navy wool coat"]
    pictures = []
    for i, text in enumerate(prompts):
        img = rec.generate_image(text, seed=i)
        pictures.append((f"“{text}”", png_bytes(img)))
    print(f"\n=== Generated sketches\n  {len(pictures)} images for {prompts}")
    sections.append(
        LookbookSection(
            title="Generated sketches",
            request="rec.generate_image(description): the embedded text-conditioned sketch generator",
            note="Trained on Fashion-MNIST (28x28 grey garments), upscaled and tinted with the "
            "colour named: a sketch generator, not a product photographer.",
            pictures=pictures,
        )
    )
