"""Typed records reject bad values with InvalidInputError naming the field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fashionrec_sdk as fr


def product(**kw: object) -> fr.Product:
    base: dict[str, object] = {"id": "sku1", "title": "Red wrap dress", "category": "Dresses"}
    base.update(kw)
    return fr.Product(**base)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price": -1.0}, "price"),
        ({"price": math.nan}, "price"),
        ({"price": math.inf}, "price"),
        ({"id": ""}, "id"),
        ({"id": "   "}, "id"),
        ({"id": "a\nb"}, "id"),
        ({"title": ""}, "title"),
        ({"currency": "dollars"}, "currency"),
        ({"gender": "robot"}, "gender"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"sizes": ["S", ""]}, "sizes.1"),
    ],
)
def test_product_rejects_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(fr.InvalidInputError) as info:
        product(**kwargs)
    assert info.value.field == field
    assert field.split(".")[0] in str(info.value)
    assert isinstance(info.value, ValueError)


def test_negative_price_names_price_and_product() -> None:
    with pytest.raises(fr.InvalidInputError, match="price") as info:
        product(price=-5)
    assert info.value.product_id == "sku1"


def test_model_validate_from_dict_raises_typed_error() -> None:
    with pytest.raises(fr.InvalidInputError) as info:
        fr.Product.model_validate({"id": "x", "title": "t", "category": "c", "price": "cheap"})
    assert info.value.field == "price"


def test_product_is_frozen_and_coarse_category() -> None:
    p = product(price=49.9, sizes=["S", "M"])
    assert p.coarse_category == "dress"
    assert p.sizes == ("S", "M")
    with pytest.raises(Exception):
        p.price = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [("waist_cm", 900), ("height_cm", 20), ("bust_cm", math.nan), ("hips_cm", -3)],
)
def test_body_profile_rejects_implausible(field: str, value: float) -> None:
    kw = {"height_cm": 165, "bust_cm": 88, "waist_cm": 70, "hips_cm": 98}
    kw[field] = value
    with pytest.raises(fr.InvalidInputError) as info:
        fr.BodyProfile(**kw)
    assert info.value.field == field


def test_body_labels_follow_rules() -> None:
    body = fr.BodyProfile(height_cm=165, bust_cm=88, waist_cm=70, hips_cm=98)
    assert body.labels == ("pear", "petite", "size_medium")
    declared = fr.BodyProfile(height_cm=180, bust_cm=88, waist_cm=70, hips_cm=98, shape="apple")
    assert declared.labels == ("apple", "tall", "size_medium")
    assert set(body.labels) <= set(fr.PHYSIQUE_LABELS)


@given(st.floats(100, 230), st.floats(50, 200), st.floats(40, 200), st.floats(50, 220))
def test_any_valid_body_gets_three_known_labels(h: float, b: float, w: float, hp: float) -> None:
    labels = fr.BodyProfile(height_cm=h, bust_cm=b, waist_cm=w, hips_cm=hp).labels
    assert len(labels) == 3
    assert set(labels) <= set(fr.PHYSIQUE_LABELS)


def test_filters_validate_range_and_accept() -> None:
    with pytest.raises(fr.InvalidInputError, match="min_price"):
        fr.Filters(min_price=100, max_price=50)
    f = fr.Filters(max_price=60, in_stock=True, categories=["dress"], exclude_colors=["black"])
    assert f.accepts(product(price=50, color="red"))
    assert not f.accepts(product(price=70, color="red"))
    assert not f.accepts(product(price=50, color="black"))
    assert not f.accepts(product(price=50, in_stock=False))
    assert not f.accepts(product(price=None))
    assert not fr.Filters(exclude_ids=frozenset({"sku1"})).accepts(product())
    assert fr.Filters(attributes={"fabric": "silk"}).accepts(product(attributes={"fabric": "Silk"}))
    assert not fr.Filters(sizes=["XL"]).accepts(product(sizes=["S"]))
    assert fr.Filters(gender="women").accepts(product(gender="unisex"))
    assert not fr.Filters(gender="men").accepts(product(gender="women"))
    assert not fr.Filters(brands=["Acme"]).accepts(product())


def test_user_profile_history_accepts_ids_and_events() -> None:
    user = fr.UserProfile(history=["a", {"product_id": "b", "weight": 2.0}])
    assert [e.product_id for e in user.history] == ["a", "b"]
    assert user.history[1].weight == 2.0
    with pytest.raises(fr.InvalidInputError) as info:
        fr.UserProfile(history=[{"product_id": "a", "weight": -1}])
    assert info.value.field is not None and "weight" in info.value.field


@pytest.mark.parametrize(
    ("category", "title", "expected"),
    [
        ("Women > Knitwear > Cardigans", "", "outerwear"),
        ("Shoes", "", "shoes"),
        ("ankle boots", "", "shoes"),
        ("Jeans", "", "bottom"),
        ("misc", "gold hoop earrings", "jewellery"),
        ("misc", "leather tote bag", "bag"),
        ("T-Shirts", "", "top"),
        ("Jumpsuits", "", "dress"),
        ("stuff", "thing", "accessory"),
    ],
)
def test_coarse_category(category: str, title: str, expected: str) -> None:
    assert fr.coarse_category(category, title) == expected
