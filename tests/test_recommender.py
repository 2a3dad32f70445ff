"""Recommender tasks on a small catalog built with the fixture bundle.

The fixture's vectors are meaningless, so these tests check contracts (types, filters,
k, reasons, errors, determinism), not taste; quality is measured by the offline
evaluation on real data (benchmarks/quality.py).
"""

from __future__ import annotations

import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog
from fashionrec_sdk._recommend import Recommender

from ._products import sample_products

BODY = fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98)


@pytest.fixture(scope="module")
def rec(bundle: fr.ModelBundle) -> Recommender:
    return Recommender(Catalog.build(sample_products(), bundle=bundle, show_progress=False))


def _check(recs: list[fr.Recommendation], k: int, filters: fr.Filters | None = None) -> None:
    assert 0 < len(recs) <= k
    assert len({r.product.id for r in recs}) == len(recs)
    for r in recs:
        assert isinstance(r, fr.Recommendation)
        assert r.reasons, r
        assert r.components
        if filters is not None:
            assert filters.accepts(r.product), (r.product, filters)


def test_search_text_with_filters(rec: Recommender) -> None:
    f = fr.Filters(max_price=150, in_stock=True)
    recs = rec.search("red summer dress", k=5, filters=f)
    _check(recs, 5, f)
    assert len(recs) == 5
    assert any("under your" in x for x in recs[0].reasons)


def test_search_image(rec: Recommender) -> None:
    from PIL import Image

    recs = rec.search(image=Image.new("RGB", (40, 40), (200, 0, 0)), k=4)
    _check(recs, 4)


def test_similar_excludes_itself(rec: Recommender) -> None:
    recs = rec.similar("top-0", k=6)
    _check(recs, 6)
    assert "top-0" not in {r.product.id for r in recs}


def test_complete_outfit_returns_missing_categories(rec: Recommender) -> None:
    f = fr.Filters(in_stock=True)
    recs = rec.complete_outfit(["top-0", "bot-0"], k=8, filters=f, body=BODY)
    _check(recs, 8, f)
    cats = {r.product.coarse_category for r in recs}
    assert cats.isdisjoint({"top", "bottom", "dress"})
    assert len(cats) >= 3  # interleaved across the missing slots
    assert all("compatibility" in r.components and "physique" in r.components for r in recs)


def test_complete_outfit_accepts_products_outside_the_catalog(rec: Recommender) -> None:
    outside = fr.Product(id="new-1", title="lilac linen shirt", category="Shirts", price=40)
    recs = rec.complete_outfit([outside], k=5, filters=fr.Filters(categories=["shoes"]))
    _check(recs, 5)
    assert {r.product.coarse_category for r in recs} == {"shoes"}


def test_for_user_history_cold_start_and_body_only(rec: Recommender) -> None:
    user = fr.UserProfile(
        history=["dre-0", "dre-2", "top-3"], liked=["sho-2"], disliked=["dre-1"], body=BODY
    )
    recs = rec.for_user(user, query="wedding guest", k=5)
    _check(recs, 5)
    ids = {r.product.id for r in recs}
    assert ids.isdisjoint({"dre-0", "dre-2", "top-3", "dre-1"})
    assert all("personalization" in r.components for r in recs)
    _check(rec.for_user(fr.UserProfile(), k=5), 5)  # cold start, nothing known
    _check(rec.for_user(fr.UserProfile(body=BODY), k=5), 5)  # body only


def test_alternatives_follow_feedback_and_category(rec: Recommender) -> None:
    recs = rec.alternatives(
        ["top-0", "bot-1", "sho-0"], replace="top-0", feedback="less formal, in blue", k=5
    )
    _check(recs, 5)
    for r in recs:
        assert r.product.coarse_category == "top"
        assert r.product.id not in {"top-0", "bot-1", "sho-0"}
        # A wanted colour is soft in alternatives (the composer steers towards it), and
        # the reason says so when it matches.
        assert ("in blue" in r.reasons) == ("blue" in f"{r.product.color} {r.product.title}")
    no_black = rec.alternatives(["top-0", "bot-1"], replace="top-0", feedback="no black", k=5)
    assert all("black" not in f"{r.product.color} {r.product.title}" for r in no_black)
    cheaper = rec.alternatives(["top-0", "bot-1"], replace="top-0", feedback="cheaper", k=3)
    old_price = rec.catalog.get("top-0").price  # type: ignore[union-attr]
    assert all(r.product.price is not None and r.product.price < old_price for r in cheaper)  # type: ignore[operator]


def test_score_and_physique(rec: Recommender) -> None:
    assert 0 <= rec.score_outfit(["top-0", "bot-0", "sho-0"]) <= 1
    fit = rec.physique_fit(["dre-0"], BODY)
    assert 0 <= fit.overall <= 1 and fit.body_labels == BODY.labels


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda r: r.search("", k=3), "text"),
        (lambda r: r.search(None), "text"),
        (lambda r: r.search("x", k=0), "k"),
        (lambda r: r.search("x", k=True), "k"),
        (lambda r: r.similar("nope"), "product_id[0]"),
        (lambda r: r.complete_outfit([]), "items"),
        (lambda r: r.complete_outfit(["top-0", "missing"]), "items[1]"),
        (lambda r: r.alternatives(["top-0"], replace="bot-0", feedback="x"), "replace"),
        (lambda r: r.alternatives(["top-0"], replace="top-0", feedback=" "), "feedback"),
        (lambda r: r.for_user("alice"), "user"),
        (lambda r: r.search("x", filters={"max_price": -1}), "max_price"),
        (lambda r: r.search("x", filters=3), "filters"),
    ],
)
def test_bad_input_is_typed(rec: Recommender, call: object, field: str) -> None:
    with pytest.raises(fr.InvalidInputError) as info:
        call(rec)  # type: ignore[operator]
    assert info.value.field == field


def test_results_are_diverse(rec: Recommender) -> None:
    recs = rec.search("dress", k=8)
    import numpy as np

    vecs = rec.catalog.vectors([r.product.id for r in recs])
    sims = vecs @ vecs.T
    assert (sims[np.triu_indices(len(recs), 1)] < 0.999).all()


def test_deterministic(rec: Recommender) -> None:
    a = rec.complete_outfit(["top-1"], k=6)
    b = rec.complete_outfit(["top-1"], k=6)
    assert [r.product.id for r in a] == [r.product.id for r in b]
