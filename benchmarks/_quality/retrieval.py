"""Tasks 1b and 2 on a catalog of held-out Maryland Polyvore test items.

Catalog: ``Catalog.build`` of the Maryland *test* products of task 1a (the items of the
scored test outfits, their negatives and their FITB distractors; with the full run,
every test item), one product per distinct (title, coarse category). No training item
is in it and no training outfit is queried.

* **Complete the look** (1b): for each scored test outfit, one item whose coarse
  category occurs once in the outfit is removed (seeded choice); the rest asks
  ``Recommender.complete_outfit(rest, k=10, filters=Filters(categories=[that
  category]))``. Hit@10 / NDCG@10 of the removed product, next to ``search_vector``
  with the outfit's normalised mean vector in that category, and the exact chance
  rate ``10 / (items of the category)``.
* **Personalisation** (2): each scored test outfit is a user; a seeded item is left
  out (the target) and the others, in outfit order, are the history.
  ``Recommender.for_user(UserProfile(history=...), k=10)`` ranks the whole catalog
  (history excluded); recall@10 and NDCG@10 of the target, next to ``search_vector``
  with the normalised mean history vector (history excluded) and chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import fashionrec_sdk as fr
from fashionrec_sdk._categories import COARSE_CATEGORIES

from .common import Run, summarize
from .metrics import hit_at_k, ndcg_at_k, random_hit_rate, random_ndcg, rank_of
from .outfits import OutfitSet

__all__ = ["K", "Scores", "build_catalog", "evaluate_complete_the_look", "evaluate_personalization"]

K = 10


def build_catalog(run: Run, s: OutfitSet) -> fr.Catalog:
    """The in-memory catalog of the set's products; their stored text vectors are
    copied into ``s.table.vectors`` (task 1a scores with them)."""
    catalog = fr.Catalog.build(s.table.products, bundle=run.bundle, show_progress=False)
    s.table.vectors = catalog.text_vectors([p.id for p in s.table.products])
    return catalog


class Scores:
    """Per-query hit@K and NDCG@K of each method, summarised as mean ± se."""

    def __init__(self) -> None:
        self.hit: dict[str, list[float]] = {}
        self.ndcg: dict[str, list[float]] = {}

    def add_ranked(self, method: str, target: str, ranked: list[str]) -> None:
        """Record where ``target`` is in the ids ``ranked`` by ``method``."""
        rank = rank_of(target, ranked)
        self.hit.setdefault(method, []).append(hit_at_k(rank, K))
        self.ndcg.setdefault(method, []).append(ndcg_at_k(rank, K))

    def add_expected(self, method: str, n: int) -> None:
        """Record the chance expectation for one query among ``n`` eligible items."""
        self.hit.setdefault(method, []).append(random_hit_rate(K, n))
        self.ndcg.setdefault(method, []).append(random_ndcg(K, n))

    def report(self) -> dict[str, Any]:
        return {
            m: {f"hit@{K}": summarize(self.hit[m]), f"ndcg@{K}": summarize(self.ndcg[m])}
            for m in self.hit
        }


def _mean_vector(catalog: fr.Catalog, ids: list[str]) -> np.ndarray:
    v = catalog.vectors(ids).mean(axis=0)
    out: np.ndarray = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def evaluate_complete_the_look(
    run: Run, s: OutfitSet, catalog: fr.Catalog, rec: fr.Recommender
) -> dict[str, Any]:
    """Hit@10 of the removed item: ``complete_outfit`` vs mean-vector search vs chance."""
    rng = run.rng(402)
    per_cat = {c: 0 for c in COARSE_CATEGORIES}
    for p in s.table.products:
        per_cat[p.coarse_category] += 1
    scores = Scores()
    skipped = 0
    for outfit in s.pos:
        prods = [s.table.products[p] for p in s.table.pids(outfit)]
        cats = [p.coarse_category for p in prods]
        ok = [i for i, c in enumerate(cats) if cats.count(c) == 1]
        if len(prods) < 2 or not ok or len({p.id for p in prods}) != len(prods):
            skipped += 1
            continue
        t = ok[int(rng.integers(len(ok)))]
        target, cat = prods[t], cats[t]
        rest = [p.id for i, p in enumerate(prods) if i != t]
        filters = fr.Filters(categories=(cat,))
        recs = rec.complete_outfit(rest, k=K, filters=filters)
        scores.add_ranked("sdk_complete_outfit", target.id, [r.product.id for r in recs])
        hits = catalog.search_vector(
            _mean_vector(catalog, rest),
            K,
            filters=filters.model_copy(update={"exclude_ids": frozenset(rest)}),
            category=cat,
        )
        scores.add_ranked("baseline_mean_vector", target.id, [h.product.id for h in hits])
        scores.add_expected("baseline_random", per_cat[cat])
    return {
        "methods": scores.report(),
        "n_queries": len(s.pos) - skipped,
        "n_skipped": skipped,
        "catalog_size": len(catalog),
        "k": K,
    }


def evaluate_personalization(
    run: Run, s: OutfitSet, catalog: fr.Catalog, rec: fr.Recommender
) -> dict[str, Any]:
    """Leave-one-out over outfits-as-users: ``for_user`` vs mean-history search vs chance."""
    rng = run.rng(403)
    scores = Scores()
    skipped = 0
    for n, outfit in enumerate(s.pos):
        ids = list(dict.fromkeys(s.table.products[p].id for p in s.table.pids(outfit)))
        if len(ids) < 2:
            skipped += 1
            continue
        t = int(rng.integers(len(ids)))
        target, history = ids[t], ids[:t] + ids[t + 1 :]
        user = fr.UserProfile(user_id=f"outfit-{n}", history=history)
        recs = rec.for_user(user, k=K)
        scores.add_ranked("sdk_for_user", target, [r.product.id for r in recs])
        hits = catalog.search_vector(
            _mean_vector(catalog, history), K, filters=fr.Filters(exclude_ids=frozenset(history))
        )
        scores.add_ranked("baseline_mean_history", target, [h.product.id for h in hits])
        scores.add_expected("baseline_random", len(catalog) - len(history))
    return {
        "methods": scores.report(),
        "n_users": len(s.pos) - skipped,
        "n_skipped": skipped,
        "catalog_size": len(catalog),
        "k": K,
    }
