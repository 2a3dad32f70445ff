"""The demo: build the sample catalog, run every task, print results, write a lookbook."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ._bundle import ModelBundle
from ._catalog import Catalog
from ._demo_visual import run_visual_demo
from ._lookbook import LookbookSection, write_lookbook
from ._recommend import Recommender, Session
from ._records import BodyProfile, Filters, Product, Recommendation, UserProfile

__all__ = ["run_demo"]


def _show(
    title: str,
    request: str,
    recs: Sequence[Recommendation],
    sections: list[LookbookSection],
    **kw: object,
) -> None:
    print(f"\n=== {title}\n{request}")
    say = kw.get("say")
    if isinstance(say, str) and say:
        print(f"assistant: {say}")
    for i, r in enumerate(recs, 1):
        price = f"${r.product.price:,.2f}" if r.product.price is not None else "-"
        print(
            f"  {i}. {r.product.title[:58]:58s} {r.product.coarse_category:9s} {price:>9s}  score {r.score:.3f}"
        )
        print(f"     {'; '.join(r.reasons)}")
    sections.append(LookbookSection(title=title, request=request, recommendations=list(recs), **kw))  # type: ignore[arg-type]


def _first(catalog: Catalog, category: str, word: str = "") -> Product:
    for p in catalog:
        if p.coarse_category == category and word in p.title.lower() and p.in_stock:
            return p
    for p in catalog:
        if p.coarse_category == category:
            return p
    raise LookupError(category)


def run_demo(
    products: Path,
    out: Path,
    *,
    bundle: str | None = None,
    images: Path | None = None,
    photo: Path | None = None,
) -> Path:
    """Run every task on the sample catalog; returns the lookbook path."""
    t0 = time.perf_counter()
    loaded = ModelBundle.load(bundle)
    m = loaded.manifest
    print(f"model bundle: {m.name} {m.version} ({loaded.path})")
    catalog = Catalog.build(products, path=out / "sample.frcat", bundle=loaded, overwrite=True)
    print(
        f"catalog: {len(catalog)} products ingested in {time.perf_counter() - t0:.1f}s; {catalog.last_report}"
    )
    rec = Recommender(catalog)
    sections: list[LookbookSection] = []
    body = BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98)

    _show(
        "Search",
        "text: “red summer dress”, under $120, in stock",
        rec.search("red summer dress", k=6, filters=Filters(max_price=120, in_stock=True)),
        sections,
    )
    query_images = sorted(images.glob("*.png")) if images and images.is_dir() else []
    for img in query_images[:2]:
        _show(
            "Search by image",
            f"image: {img.name} (a real Fashion-MNIST photo)",
            rec.search(image=img, k=6),
            sections,
            anchors=[Product(id=img.stem, title=img.stem, category="query image", image=str(img))],
        )
    top = _first(catalog, "top", "shirt")
    bottom = _first(catalog, "bottom", "jean")
    _show(
        "Similar items",
        f"similar to “{top.title}”",
        rec.similar(top.id, k=6),
        sections,
        anchors=[top],
    )
    _show(
        "Complete the look",
        f"complete “{top.title}” + “{bottom.title}”, in stock",
        rec.complete_outfit([top.id, bottom.id], k=8, filters=Filters(in_stock=True)),
        sections,
        anchors=[top, bottom],
    )
    _show(
        "Complete the look, physique-aware",
        f"same outfit for a body of {body.labels}",
        rec.complete_outfit([top.id, bottom.id], k=8, filters=Filters(in_stock=True), body=body),
        sections,
        anchors=[top, bottom],
    )
    dress_ids = [p.id for p in catalog if p.coarse_category == "dress"][:4]
    user = UserProfile(history=dress_ids, body=body)
    _show(
        "For you",
        "history: 4 dresses viewed; body profile given; query “wedding guest”",
        rec.for_user(user, query="wedding guest", k=6),
        sections,
    )
    _show(
        "For you, cold start",
        "no history, body profile only",
        rec.for_user(UserProfile(body=body), k=6),
        sections,
    )
    shoes = _first(catalog, "shoes")
    outfit = [top.id, bottom.id, shoes.id]
    _show(
        "Alternatives",
        f"replace “{top.title}” in the outfit: “less formal, in blue”",
        rec.alternatives(outfit, replace=top.id, feedback="less formal, in blue", k=6),
        sections,
        anchors=[top, bottom, shoes],
    )
    fit = rec.physique_fit([top.id, bottom.id], body)
    score = rec.score_outfit(outfit)
    print(
        f"\n=== Physique fit of top + bottom for {body.labels}: overall {fit.overall:.3f}; {', '.join(fit.reasons) or '-'}"
    )
    print(f"=== Compatibility of the outfit: {score:.3f}")
    sections.append(
        LookbookSection(
            title="Physique fit and compatibility",
            request=f"{top.title} + {bottom.title}",
            note=f"physique fit {fit.overall:.3f} for {', '.join(body.labels)} "
            f"({'; '.join(fit.reasons) or 'neutral'}); outfit compatibility {score:.3f}",
            anchors=[top, bottom],
        )
    )
    session = rec.session(UserProfile(body=body))
    turns = [
        "an outfit for a job interview under $200",
        "cheaper, no black",
        "show me shoes",
        "in red",
    ]
    for i, text in enumerate(turns):
        reply = session.ask(text) if i == 0 else session.refine(text)
        if i == 1 and len(reply):
            session.like(reply[0].product.id)
        _show(f"Session round {i + 1}", f"shopper: “{text}”", list(reply), sections, say=reply.text)
    restored = Session.from_json(session.to_json(), recommender=rec)
    reply = restored.undo()
    _show(
        "Session restored from JSON, then undo",
        "undo the last refinement",
        list(reply),
        sections,
        say=reply.text,
    )
    dresses = [p for p in query_images if "dress" in p.name]
    run_visual_demo(rec, catalog, photo, dresses[0] if dresses else None, sections)
    path = write_lookbook(
        out / "lookbook.html",
        sections,
        title="fashionrec-sdk lookbook",
        subtitle=f"{len(catalog)} real products · bundle {m.name} {m.version}",
    )
    print(f"\nlookbook written to {path} ({time.perf_counter() - t0:.1f}s in all)")
    return path
