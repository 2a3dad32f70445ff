"""Stylist: the models on products that are in no catalog (fixture bundle)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import fashionrec_sdk as fr

TOP = fr.Product(id="t1", title="white cotton shirt", category="Shirts")
JEANS = fr.Product(id="b1", title="blue denim jeans", category="Jeans")
BOOTS = fr.Product(id="s1", title="black leather boots", category="Boots")
BODY = fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98)


@pytest.fixture(scope="module")
def stylist(bundle: fr.ModelBundle) -> fr.Stylist:
    return fr.Stylist(bundle)


def test_embed_shapes(stylist: fr.Stylist) -> None:
    vecs = stylist.embed([TOP, JEANS])
    assert vecs.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert stylist.embed(TOP).shape == (16,)
    with_image = TOP.model_copy(update={"image": _png()})
    assert not np.allclose(stylist.embed(with_image), stylist.embed(TOP))
    np.testing.assert_allclose(
        stylist.embed(with_image, use_images=False), stylist.embed(TOP), atol=1e-6
    )


def _png() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 0, 200)).save(buf, format="PNG")
    return buf.getvalue()


def test_dicts_are_accepted_and_bad_items_named(stylist: fr.Stylist) -> None:
    assert stylist.embed({"id": "x", "title": "red skirt", "category": "skirts"}).shape == (16,)
    with pytest.raises(fr.InvalidInputError, match=r"products\[1\]") as info:
        stylist.embed([TOP, {"id": "x", "title": "t", "category": "c", "price": -1}])
    assert info.value.field == "products[1].price"
    with pytest.raises(fr.InvalidInputError, match=r"products\[0\]"):
        stylist.embed([42])  # type: ignore[list-item]
    bad_image = TOP.model_copy(update={"image": b"junk"})
    with pytest.raises(fr.InvalidInputError, match="'t1'") as err:
        stylist.embed(bad_image)
    assert err.value.product_id == "t1"


def test_score_outfit_is_probability_and_batched_equal(stylist: fr.Stylist) -> None:
    s = stylist.score_outfit([TOP, JEANS, BOOTS])
    assert 0.0 <= s <= 1.0
    batch = stylist.score_outfits([[TOP, JEANS, BOOTS], [TOP, JEANS]])
    assert batch.shape == (2,)
    assert batch[0] == pytest.approx(s, abs=1e-6)
    with pytest.raises(fr.InvalidInputError):
        stylist.score_outfit([])


def test_physique_fit(stylist: fr.Stylist) -> None:
    fit = stylist.physique_fit([TOP, JEANS], BODY)
    assert 0.0 <= fit.overall <= 1.0
    assert fit.body_labels == BODY.labels
    assert set(fit.labels) == set(fr.PHYSIQUE_LABELS)
    assert all(0 <= v <= 1 for v in fit.labels.values())
    with pytest.raises(fr.InvalidInputError, match="body"):
        stylist.physique_fit([TOP], {"height_cm": 1})  # type: ignore[arg-type]


def test_compose_feedback(stylist: fr.Stylist) -> None:
    item = stylist.embed(TOP)
    q = stylist.compose(item, "less formal, in blue")
    assert q.shape == (1, 16)
    np.testing.assert_allclose(np.linalg.norm(q), 1, atol=1e-5)
    with pytest.raises(fr.InvalidInputError, match="feedback"):
        stylist.compose(np.stack([item, item]), ["a"])
