"""Task 1a: outfit compatibility (AUC) and fill-in-the-blank on held-out Polyvore outfits.

Split rule (exactly the outfit stage's, :mod:`export.stages.outfit`): the data sets are
loaded with the stage's loaders and seeds (``load_polyvore_outfits`` with
``default_rng(seed + 301)``, ``load_maryland`` with ``default_rng(seed + 302)``, no
limits: the full pipeline's configuration), so the test outfits, their negatives and
the FITB questions (``make_fitb_questions`` over the test outfits with distractors from
the test items that occur in no training outfit, ``default_rng(seed + 7)``) are the
ones the stage reported. Only test outfits are scored; training outfits feed the
co-occurrence prior baseline, as in the stage. ``--quick`` scores a seeded subset of
the test outfits (their aligned negatives and their FITB questions).

Each item becomes a ``Product`` (title = Maryland title or Polyvore fine-category name,
category = its coarse category), one per distinct (title, category). The SDK scores
outfits with ``Stylist.score_outfits`` on the products' ``Stylist.text_vectors``
(Maryland: the vectors the catalog stored, ``Catalog.text_vectors``) in the data's item
order, as a caller would pass them; a diagnostic row sorts the items by coarse category
first (the order the outfit encoder was trained with). Baselines in the same run:
random scores, mean pairwise cosine of the same text vectors, and the stage's category
co-occurrence prior (training positives vs resampled training negatives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from export.stages.outfit_eval import (
    CooccurrencePrior,
    FitbQuestion,
    Scorer,
    compatibility_auc,
    cosine_scorer,
    fitb_accuracy,
    make_fitb_questions,
    random_scorer,
)
from export.stages.polyvore import Outfit, OutfitData, load_maryland, load_polyvore_outfits
from fashionrec_sdk._categories import COARSE_CATEGORIES

from .common import Run, encode_products, sample

__all__ = [
    "OutfitSet",
    "ProductTable",
    "evaluate_compatibility",
    "load_outfit_sets",
    "sdk_scorer",
]

QUICK_OUTFITS = {"po": 600, "md": 60}
_BATCH = 256


@dataclass
class ProductTable:
    """Items of one data set as SDK products, one per distinct (text, coarse category)."""

    prefix: str
    data: OutfitData
    products: list[fr.Product] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    item_product: dict[int, int] = field(default_factory=dict)
    vectors: np.ndarray | None = None
    _keys: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, items: Sequence[int]) -> None:
        """Make products for the item indices ``items`` (known ones are skipped)."""
        table = self.data.items
        for i in items:
            if i in self.item_product:
                continue
            cat = int(table.categories[i])
            key = (table.texts[int(table.text_ids[i])], cat)
            pid = self._keys.get(key)
            if pid is None:
                pid = len(self.products)
                self._keys[key] = pid
                self.products.append(
                    fr.Product(
                        id=f"{self.prefix}-{pid}", title=key[0], category=COARSE_CATEGORIES[cat]
                    )
                )
                self.category.append(cat)
            self.item_product[int(i)] = pid

    def pids(self, outfit: Outfit) -> list[int]:
        return [self.item_product[i] for i in outfit]

    def item_vectors(self, items: np.ndarray) -> np.ndarray:
        if self.vectors is None:
            raise RuntimeError("product vectors are not set")
        out: np.ndarray = self.vectors[[self.item_product[int(i)] for i in items]]
        return out


@dataclass
class OutfitSet:
    """The scored part of one data set's test split (all of it, or the quick subset)."""

    data: OutfitData
    pos: list[Outfit]
    neg: dict[str, list[Outfit]]
    questions: list[FitbQuestion]
    table: ProductTable
    n_test_total: int


def load_outfit_sets(data_dir: Path, run: Run) -> dict[str, OutfitSet]:
    """Both data sets with the outfit stage's seeds; products made for the scored items.

    A thin wrapper of the stage's private ``_load_data`` (which also embeds texts
    through a pipeline ``Context``): same loaders, same seeds, full configuration.
    """
    po = load_polyvore_outfits(data_dir / "polyvore_outfits", run.rng(301), {})
    md = load_maryland(data_dir / "polyvore_maryland", run.rng(302), {})
    sets = {}
    for data in (po, md):
        split_pos, split_neg = (
            (data.test_pos, data.test_neg)
            if run.split == "test"
            else (data.valid_pos, data.valid_neg)
        )
        held_out = np.setdiff1d(data.pool(run.split), data.pool("train"))
        questions = make_fitb_questions(split_pos, data.items.categories, held_out, run.rng(7))
        limit = QUICK_OUTFITS[data.name] if run.quick else None
        keep = sample(len(split_pos), limit, run.rng(401))
        pos = [split_pos[i] for i in keep]
        neg = {"auc": [split_neg[i] for i in keep]}
        if data.test_neg_resampled and run.split == "test":
            neg["auc_resampled"] = [data.test_neg_resampled[i] for i in keep]
        if limit is not None:
            wanted = set(pos)
            questions = [q for q in questions if q.filled(q.answer) in wanted]
        table = ProductTable(data.name, data)
        for outfit in [*pos, *(o for ns in neg.values() for o in ns)]:
            table.add(outfit)
        for q in questions:
            table.add([*q.context, *q.candidates])
        sets[data.name] = OutfitSet(data, pos, neg, questions, table, len(split_pos))
    return sets


def sdk_scorer(
    stylist: fr.Stylist, table: ProductTable, *, sort_by_category: bool = False
) -> Scorer:
    """Outfits of item indices -> ``Stylist.score_outfits`` probabilities.

    ``sort_by_category`` feeds the items stably sorted by coarse category id (the order
    the outfit encoder was trained with); otherwise the data's order is kept.
    """
    if table.vectors is None:
        raise RuntimeError("product vectors are not set")
    vectors = table.vectors

    def score(outfits: Sequence[Outfit]) -> np.ndarray:
        out = np.zeros(len(outfits), dtype=np.float64)
        for start in range(0, len(outfits), _BATCH):
            chunk = outfits[start : start + _BATCH]
            prods: list[list[fr.Product]] = []
            vecs: list[np.ndarray] = []
            for outfit in chunk:
                pids = table.pids(outfit)
                if sort_by_category:
                    pids = sorted(pids, key=lambda p: table.category[p])
                prods.append([table.products[p] for p in pids])
                vecs.append(vectors[pids])
            out[start : start + len(chunk)] = stylist.score_outfits(prods, vecs)
        return out

    return score


def _metrics(score: Scorer, s: OutfitSet) -> dict[str, float]:
    out = {key: compatibility_auc(score, s.pos, neg) for key, neg in s.neg.items()}
    out["fitb"] = fitb_accuracy(score, s.questions)
    return {k: round(float(v), 4) for k, v in out.items()}


def evaluate_compatibility(run: Run, sets: dict[str, OutfitSet]) -> dict[str, Any]:
    """AUC and FITB of the SDK and the baselines on each data set's scored test outfits.

    Every ``OutfitSet.table`` must have its ``vectors`` (the caller fills them: the
    Maryland ones from the catalog, the others with :func:`encode_products`).
    """
    result: dict[str, Any] = {}
    for name, s in sets.items():
        if s.table.vectors is None:
            s.table.vectors = encode_products(run.stylist, s.table.products)
        data = s.data
        methods: dict[str, Scorer] = {
            "sdk": sdk_scorer(run.stylist, s.table),
            "sdk_sorted_by_category": sdk_scorer(run.stylist, s.table, sort_by_category=True),
            "baseline_random": random_scorer(run.seed + 11),
            "baseline_cosine": cosine_scorer(s.table.item_vectors),
            "baseline_cooccurrence": CooccurrencePrior(data.items.fine, data.train, data.train_neg),
        }
        result[name] = {
            "methods": {m: _metrics(fn, s) for m, fn in methods.items()},
            "n_pairs": len(s.pos),
            "n_test_outfits_total": s.n_test_total,
            "n_fitb_questions": len(s.questions),
            "fitb_candidates": len(s.questions[0].candidates) if s.questions else 0,
            "n_products": len(s.table.products),
        }
    return result
