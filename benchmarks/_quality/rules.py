"""Task 5: business-rule compliance of every recommendation call on the demo catalog.

Catalog: the demo's sample products (``export.sample_catalog.build_sample_products``:
real Maryland Polyvore and ViBE items with illustrative prices, stock and sizes),
through ``Catalog.build``; ``--quick`` takes fewer of them. For every filter of
:data:`GRID` and every call (``search``, ``similar``, ``complete_outfit``,
``for_user``, ``alternatives``, ``k = 10``, seeded anchors, users and outfits), each
returned product must pass ``filters.accepts`` with the call's implied exclusions
added (the anchor, the history, the outfit's items). Reported: the share of returned
products that pass (must be 100 %), duplicates within one answer, and how often fewer
than ``k`` came back although at least ``k`` catalog products were eligible (passing
the filters, not excluded, and in the categories the call serves).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from export.sample_catalog import build_sample_products
from fashionrec_sdk._recommend._recommender import _CORE_DRESS, _CORE_SEPARATES, OUTFIT_SLOTS

from .common import Run

__all__ = ["GRID", "evaluate_rules", "outfit_slots"]

K = 10
QUICK_SIZE = {"polyvore": 120, "vibe_each": 20}
FEEDBACK = "something a bit more casual"
SEARCHES = ("a light summer dress", "black leather ankle boots")

#: Named filter settings; the last one lets nothing through.
GRID: dict[str, fr.Filters] = {
    "none": fr.Filters(),
    "max_price 50": fr.Filters(max_price=50),
    "price 40-120": fr.Filters(min_price=40, max_price=120),
    "in_stock": fr.Filters(in_stock=True),
    "size M": fr.Filters(sizes=("M",)),
    "category top": fr.Filters(categories=("top",)),
    "categories shoes+bag": fr.Filters(categories=("shoes", "bag")),
    "exclude black": fr.Filters(exclude_colors=("black",)),
    "colors blue/red": fr.Filters(colors=("blue", "red")),
    "combined": fr.Filters(
        max_price=100, in_stock=True, sizes=("S", "M"), exclude_colors=("black", "white")
    ),
    "nothing passes": fr.Filters(min_price=1_000_000),
}


def outfit_slots(have: set[str], filters: fr.Filters) -> set[str]:
    """The categories ``complete_outfit`` fills for an outfit with categories ``have``
    (mirrors the recommender's rule: a dress look or a separates look, or the filter's
    categories)."""
    if filters.categories:
        wanted = {c.lower() for c in filters.categories}
        return {c for c in OUTFIT_SLOTS if c in wanted and c not in have}
    core = _CORE_DRESS if "dress" in have else _CORE_SEPARATES
    return {c for c in core if c not in have and not ({"top", "bottom"} & have and c == "dress")}


@dataclass
class _Tally:
    calls: int = 0
    returned: int = 0
    passing: int = 0
    duplicates: int = 0
    short: int = 0
    short_checked: int = 0
    examples: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "returned": self.returned,
            "pass_pct": round(100.0 * self.passing / self.returned, 3) if self.returned else None,
            "calls_with_duplicates": self.duplicates,
            "calls_fewer_than_k_when_k_eligible": self.short,
            "calls_with_k_eligible": self.short_checked,
            "violations": self.examples[:5],
        }


@dataclass
class _Setup:
    products: list[fr.Product]
    anchors: list[fr.Product]
    outfit_anchors: list[fr.Product]
    users: list[list[str]]
    outfits: list[list[fr.Product]]


def _setup(products: list[fr.Product], rng: np.random.Generator) -> _Setup:
    def pick(cat: str, n: int) -> list[fr.Product]:
        pool = [p for p in products if p.coarse_category == cat]
        return [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)]

    anchors = [products[i] for i in rng.choice(len(products), size=3, replace=False)]
    users = [
        [products[i].id for i in rng.choice(len(products), size=3, replace=False)] for _ in range(2)
    ]
    tops, bottoms, shoes = pick("top", 2), pick("bottom", 2), pick("shoes", 2)
    outfits = [list(o) for o in zip(tops, bottoms, shoes, strict=False)]
    return _Setup(products, anchors, pick("top", 1) + pick("dress", 1), users, outfits)


def _check(
    tally: _Tally,
    label: str,
    results: Sequence[fr.Recommendation],
    filters: fr.Filters,
    products: Sequence[fr.Product],
    categories: set[str] | None = None,
) -> None:
    """Tally one answer: ``filters`` hold the call's exclusions too; ``categories`` are
    the ones the call serves (``None``: all)."""
    tally.calls += 1
    tally.returned += len(results)
    for r in results:
        if filters.accepts(r.product):
            tally.passing += 1
        elif len(tally.examples) < 5:
            tally.examples.append(f"{label}: {r.product.id}")
    ids = [r.product.id for r in results]
    tally.duplicates += len(set(ids)) != len(ids)
    n_eligible = sum(
        1
        for p in products
        if filters.accepts(p) and (categories is None or p.coarse_category in categories)
    )
    if n_eligible >= K:
        tally.short_checked += 1
        tally.short += len(results) < K


def _excluding(f: fr.Filters, ids: Iterable[str]) -> fr.Filters:
    return f.model_copy(update={"exclude_ids": f.exclude_ids | frozenset(ids)})


def _run_grid(rec: fr.Recommender, s: _Setup) -> dict[str, _Tally]:
    calls = ("search", "similar", "complete_outfit", "for_user", "alternatives")
    t = {m: _Tally() for m in calls}
    ps = s.products
    for name, f in GRID.items():
        for text in SEARCHES:
            _check(t["search"], f"{name}/search", rec.search(text, k=K, filters=f), f, ps)
        for a in s.anchors:
            recs = rec.similar(a.id, k=K, filters=f)
            _check(t["similar"], f"{name}/similar", recs, _excluding(f, [a.id]), ps)
        for a in s.outfit_anchors:
            recs = rec.complete_outfit([a.id], k=K, filters=f)
            slots = outfit_slots({a.coarse_category}, f)
            _check(t["complete_outfit"], f"{name}/complete", recs, _excluding(f, [a.id]), ps, slots)
        for history in s.users:
            recs = rec.for_user(fr.UserProfile(history=history), k=K, filters=f)
            _check(t["for_user"], f"{name}/for_user", recs, _excluding(f, history), ps)
        for outfit in s.outfits:
            ids = [p.id for p in outfit]
            recs = rec.alternatives(ids, replace=ids[0], feedback=FEEDBACK, k=K, filters=f)
            same = {outfit[0].coarse_category}
            _check(t["alternatives"], f"{name}/alternatives", recs, _excluding(f, ids), ps, same)
    return t


def evaluate_rules(run: Run) -> dict[str, Any]:
    """Filter compliance and short answers per call over :data:`GRID`."""
    sizes = QUICK_SIZE if run.quick else {}
    raw = build_sample_products(run.data, **sizes)
    catalog = fr.Catalog.build(raw, bundle=run.bundle, show_progress=False)
    products = list(catalog)
    parsed = fr.parse_request(FEEDBACK)
    if parsed.colors or parsed.categories or parsed.max_price is not None:
        raise RuntimeError(f"the rules feedback {FEEDBACK!r} must carry no hard constraint")
    tallies = _run_grid(fr.Recommender(catalog), _setup(products, run.rng(410)))
    per_call = {m: t.report() for m, t in tallies.items()}
    returned = sum(t.returned for t in tallies.values())
    passing = sum(t.passing for t in tallies.values())
    return {
        "per_call": per_call,
        "pass_pct": round(100.0 * passing / returned, 3) if returned else None,
        "returned": returned,
        "filters": list(GRID),
        "catalog_size": len(catalog),
        "k": K,
    }
