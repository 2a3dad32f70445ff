"""search_vector: filters always honoured, k results whenever k items pass, scores are
cosines of the returned vectors; get/len/contains/iteration/upsert/delete."""

from __future__ import annotations

import random

import numpy as np
import pytest

import fashionrec_sdk as fr
from fashionrec_sdk._catalog import Catalog, Hit
from fashionrec_sdk._catalog._search import SearchTrace
from fashionrec_sdk._catalog._store import needs_python_check
from fashionrec_sdk._catalog._synthetic import synthetic_products

from ._catalog_util import synthetic_catalog

N = 3000


@pytest.fixture(scope="module")
def catalog() -> tuple[Catalog, np.ndarray]:
    return synthetic_catalog(N, dim=32, seed=3)


def _random_filters(rng: random.Random) -> fr.Filters:
    kw: dict[str, object] = {}
    if rng.random() < 0.4:
        kw["categories"] = tuple(rng.sample(fr.COARSE_CATEGORIES, rng.randint(1, 3)))
    if rng.random() < 0.3:
        kw["categories"] = ("Dress",) if rng.random() < 0.5 else ("dress", "Bags > Totes")
    if rng.random() < 0.5:
        lo = rng.uniform(0, 80)
        kw["min_price"], kw["max_price"] = lo, lo + rng.uniform(5, 200)
    if rng.random() < 0.4:
        kw["in_stock"] = rng.random() < 0.7
    if rng.random() < 0.3:
        kw["sizes"] = tuple(rng.sample(["XS", "S", "M", "L", "XL"], rng.randint(1, 2)))
    if rng.random() < 0.3:
        kw["gender"] = rng.choice(["women", "men", "kids", "unisex"])
    if rng.random() < 0.4:
        kw["brands"] = tuple(
            rng.sample(["acme", "ZETA", "nova", "unknown-brand"], rng.randint(1, 2))
        )
    if rng.random() < 0.2:
        kw["colors"] = (rng.choice(["red", "blue", "black"]),)
    if rng.random() < 0.2:
        kw["exclude_colors"] = (rng.choice(["red", "blue"]),)
    if rng.random() < 0.3:
        kw["attributes"] = {"fit": rng.choice(["slim", "regular", "loose"])}
    if rng.random() < 0.3:
        kw["exclude_ids"] = frozenset(f"sku{rng.randrange(N)}" for _ in range(50))
    return fr.Filters(**kw)  # type: ignore[arg-type]


def test_filters_always_honoured_and_k_returned(catalog: tuple[Catalog, np.ndarray]) -> None:
    cat, vectors = catalog
    rng = random.Random(7)
    products = list(cat)
    paths: dict[str, int] = {}
    recalls = []
    for trial in range(120):
        flt = _random_filters(rng)
        k = rng.choice([1, 5, 10, 40])
        query = vectors[rng.randrange(N)] + 0.3 * np.random.default_rng(trial).standard_normal(32)
        trace = SearchTrace()
        hits = cat.search_vector(query, k, filters=flt, _trace=trace)
        paths[trace.path] = paths.get(trace.path, 0) + 1
        passing = [p.id for p in products if flt.accepts(p)]
        assert len(hits) == min(k, len(passing)), (flt, k, trace)
        assert all(flt.accepts(h.product) for h in hits)
        assert len({h.product.id for h in hits}) == len(hits)
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        unit = query / np.linalg.norm(query)
        for h in hits:
            assert h.score == pytest.approx(float(h.vector @ unit), abs=1e-4)
        if passing:
            exact = cat.vectors(passing) @ unit
            top = {passing[i] for i in np.argsort(-exact)[: len(hits)]}
            recalls.append(len(top & {h.product.id for h in hits}) / len(hits))
            if trace.path == "exact":
                assert top == {h.product.id for h in hits}
    assert paths.get("hnsw", 0) > 10 and paths.get("exact", 0) > 10, paths
    assert float(np.mean(recalls)) >= 0.97


def test_overfetch_rounds_then_exact_fallback(catalog: tuple[Catalog, np.ndarray]) -> None:
    cat, vectors = catalog
    # The columns cannot see attributes, sizes or a colour outside the parser's
    # vocabulary ("ed" matches the "red" items): the graph search over-fetches.
    flt = fr.Filters(colors=("ed",), attributes={"fit": "slim"}, sizes=("XL",))
    passing = {p.id for p in cat if flt.accepts(p)}
    assert 10 <= len(passing) < 0.05 * N
    trace = SearchTrace()
    hits = cat.search_vector(vectors[0], 10, filters=flt, _trace=trace)
    assert len(hits) == 10 and {h.product.id for h in hits} <= passing
    assert trace.rounds >= 2 and trace.fetched == sorted(trace.fetched)


def test_column_mask_matches_accepts(catalog: tuple[Catalog, np.ndarray]) -> None:
    cat, _ = catalog
    store = cat._store
    rng = random.Random(11)
    for _ in range(150):
        flt = _random_filters(rng)
        mask = store.column_mask(flt, None)
        truth = np.array([e is not None and flt.accepts(e.product) for e in store.entries])
        assert not (truth & ~mask).any()  # never drops a passing item
        if not needs_python_check(flt):
            assert (truth == mask).all()


def test_category_argument_and_errors(catalog: tuple[Catalog, np.ndarray]) -> None:
    cat, vectors = catalog
    hits = cat.search_vector(vectors[5], 20, category="shoes")
    assert len(hits) == 20 and {h.product.coarse_category for h in hits} == {"shoes"}
    with pytest.raises(fr.InvalidInputError, match="category"):
        cat.search_vector(vectors[5], 5, category="Shoes > Boots")
    for bad in (np.zeros(32), np.full(32, np.nan), np.ones(31), "abc"):
        with pytest.raises(fr.InvalidInputError):
            cat.search_vector(bad, 5)  # type: ignore[arg-type]
    for k in (0, -1, 2.5, True):
        with pytest.raises(fr.InvalidInputError, match="k"):
            cat.search_vector(vectors[0], k)  # type: ignore[arg-type]
    with pytest.raises(fr.InvalidInputError, match="filters"):
        cat.search_vector(vectors[0], 5, filters={"in_stock": True})  # type: ignore[arg-type]
    with pytest.raises(fr.InvalidInputError) as err:
        cat.vectors(["sku1", "nope"])
    assert err.value.product_id == "nope" and err.value.field == "ids[1]"


def test_hits_carry_read_only_vectors(catalog: tuple[Catalog, np.ndarray]) -> None:
    cat, vectors = catalog
    (hit,) = cat.search_vector(vectors[42], 1)
    assert isinstance(hit, Hit) and hit.id == "sku42" and hit.score == pytest.approx(1.0, abs=2e-3)
    np.testing.assert_allclose(hit.vector, cat.vectors(["sku42"])[0])
    np.testing.assert_allclose(hit.text_vector, cat.text_vectors("sku42")[0])
    assert hit.image_vector is None and not hit.vector.flags.writeable
    assert "sku42" in repr(hit)


def test_mapping_protocol_and_delete_reuses_slots() -> None:
    cat, vectors = synthetic_catalog(200, dim=16, seed=1)
    assert len(cat) == 200 and "sku3" in cat and "nope" not in cat and 3 not in cat
    assert [p.id for p in cat][:3] == ["sku0", "sku1", "sku2"] == cat.ids()[:3]
    first = cat.get("sku3")
    assert first is not None and first in cat
    assert cat.delete(["sku3", "sku4", "missing"]) == 2 and cat.delete("sku3") == 0
    assert len(cat) == 198 and cat.get("sku3") is None
    hits = cat.search_vector(vectors[3], 200)
    assert len(hits) == 198 and "sku3" not in {h.id for h in hits}
    fresh = synthetic_products(2, seed=9, prefix="new")
    cat._upsert_vectors(fresh, vectors[:2])
    assert cat._store.slots == 200  # the two freed slots were reused
    assert len(cat.search_vector(vectors[0], 500)) == 200
    # a new version of an existing id replaces the old one (same slot, new vector)
    slot = cat._store.slot_of["sku10"]
    cat._upsert_vectors(
        [first.model_copy(update={"id": "sku10", "category": "bag"})], vectors[11:12]
    )
    assert cat._store.slot_of["sku10"] == slot and len(cat) == 200
    np.testing.assert_allclose(cat.text_vectors(["sku10"]), vectors[11:12], atol=2e-3)
    assert [h.id for h in cat.search_vector(vectors[11], 2, category="bag")][:1] in (
        ["sku10"],
        ["sku11"],
    )
    cat.delete(cat.ids())
    assert len(cat) == 0 and cat.search_vector(vectors[0], 5) == []


def test_exactly_k_with_few_passing_and_many_deleted() -> None:
    cat, vectors = synthetic_catalog(1500, dim=16, seed=2)
    cat.delete([f"sku{i}" for i in range(0, 1500, 3)] + [f"sku{i}" for i in range(1, 1500, 3)])
    assert len(cat) == 500
    for k in (1, 10, 499, 500, 800):
        hits = cat.search_vector(vectors[2], k)
        assert len(hits) == min(k, 500)
    flt = fr.Filters(in_stock=True)
    want = sum(1 for p in cat if flt.accepts(p))
    assert len(cat.search_vector(vectors[2], 1000, filters=flt)) == want
