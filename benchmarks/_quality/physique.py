"""Task 3: does the physique model rank what a person wore above what they did not?

Split rule: the shipped physique model is the one of the physique stage's split (a)
(:mod:`export.stages.physique`): ViBE garments grouped by product, a seeded 20% of the
products held out (``group_holdout(..., TEST_FRACTION, default_rng(seed + 101))``,
after the stage's 200-garment subset when the bundle is a smoke bundle). Only those
held-out garments are scored here, so no garment the shipped model was trained on is
evaluated. The stage's leave-people-out folds (split (b)) train a separate model per
fold, which the bundle does not ship; with the shipped model, people cannot be held out
(the model has no per-person parameters: it maps a garment to the body labels of its
wearers, and a person enters only through those labels).

For every person of ``model.json`` who wore a held-out garment: their ``BodyProfile``
(measurements from ``model.json``), positives = held-out garments they wore, negatives
= held-out garments of the same kinds (dress/top) they did not. The SDK's score is
``Stylist.physique_fit([garment], body).overall`` (computed in batch as
``physique_scores(label_probabilities(...), body)``, checked against
``physique_fit`` on a few pairs; the garments' text vectors are the ones a
``Catalog.build`` of them stores, shared with :mod:`.wearers`); the metric is ROC AUC per person, averaged over
people. Baselines in the same run: the label prior (a constant, AUC 0.5 by ties) and
the stage's kNN (mean labels of the 10 most similar training garments by text vector,
turned into the same lift-over-prior score). ``--quick`` and the kNN's training set
use seeded subsets (text encoding of long descriptions dominates the run time).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from export.stages.physique import KNN_K, SMOKE_GARMENTS, TEST_FRACTION, knn_scores, targets
from export.stages.splits import group_holdout
from export.stages.vibe import KINDS, Garment, extract_vibe, load_garments, load_people
from export.stages.vibe import product_name as vibe_product_name
from fashionrec_sdk._errors import InvalidInputError

from .common import Run, encode_products, sample, summarize
from .metrics import label_lift, per_group_auc

__all__ = ["Prepared", "evaluate_physique", "garment_product", "load_split", "prepare"]

QUICK_TEST = 80
KNN_TRAIN = {True: 150, False: 600}  # quick -> training garments used by the kNN
_CHECK_PAIRS = 3


def garment_product(g: Garment) -> fr.Product:
    """A ViBE garment as a product: name (+ colour) as title, kind as category, the rest
    of its text as description."""
    title = vibe_product_name(g.garment_id.split("/", 1)[1])
    description = g.text[len(title) :].lstrip(". ") if g.text.startswith(title) else g.text
    return fr.Product(
        id=g.garment_id,
        title=title,
        category=KINDS[g.kind],
        description=description,
    )


def load_split(run: Run) -> tuple[list[Garment], np.ndarray, np.ndarray, dict[str, Any]]:
    """``(garments, train_idx, test_idx, people)`` of the physique stage's split (a).

    A thin wrapper of the stage's private ``_load_data`` + split code (same archive
    reader, same smoke subset and seed salts).
    """
    with tempfile.TemporaryDirectory(prefix="quality-vibe-") as tmp:
        dataset = extract_vibe(run.data / "vibe.tar.gz", Path(tmp))
        people = load_people(dataset / "humans" / "model.json")
        garments = load_garments(dataset, people)
    if run.smoke:
        order = run.rng(11).permutation(len(garments))[:SMOKE_GARMENTS]
        garments = [garments[i] for i in sorted(order)]
    train_idx, test_idx = group_holdout([g.product for g in garments], TEST_FRACTION, run.rng(101))
    return garments, train_idx, test_idx, dict(people)


def _bodies(people: dict[str, Any], names: set[str]) -> dict[str, fr.BodyProfile]:
    out = {}
    for name in sorted(names):
        m = people.get(name)
        if m is None:
            continue
        try:
            out[name] = fr.BodyProfile(
                height_cm=m.height, bust_cm=m.bust, waist_cm=m.waist, hips_cm=m.hips
            )
        except InvalidInputError:  # measurements outside the SDK's accepted ranges
            continue
    return out


@dataclass
class Prepared:
    """The held-out garments as products in a catalog, the people who wore them, and
    the training garments (labels for the prior, a subset for the kNN)."""

    garments: list[Garment]
    train_idx: np.ndarray
    knn_idx: np.ndarray
    test: list[Garment]
    products: list[fr.Product]
    catalog: fr.Catalog
    vectors: np.ndarray  # text vectors of ``products`` as the catalog stores them
    bodies: dict[str, fr.BodyProfile]
    n_test_total: int


def prepare(run: Run) -> Prepared:
    """Load the split, sample (``--quick``), build the catalog of held-out garments."""
    garments, train_idx, test_idx, people = load_split(run)
    n_test_total = len(test_idx)
    test_idx = test_idx[sample(len(test_idx), QUICK_TEST if run.quick else None, run.rng(404))]
    knn_idx = train_idx[sample(len(train_idx), KNN_TRAIN[run.quick], run.rng(405))]
    test = [garments[i] for i in test_idx]
    products = [garment_product(g) for g in test]
    catalog = fr.Catalog.build(products, bundle=run.bundle, show_progress=False)
    return Prepared(
        garments=garments,
        train_idx=train_idx,
        knn_idx=knn_idx,
        test=test,
        products=products,
        catalog=catalog,
        vectors=catalog.text_vectors([p.id for p in products]),
        bodies=_bodies(people, {w for g in test for w in g.wearers}),
        n_test_total=n_test_total,
    )


def evaluate_physique(run: Run, prep: Prepared) -> dict[str, Any]:
    """Per-person AUC of ``physique_fit`` vs the label prior and the kNN baseline."""
    stylist = run.stylist
    test, products, vecs = prep.test, prep.products, prep.vectors
    probs = stylist.label_probabilities([[p] for p in products], [v[None, :] for v in vecs])
    labels = list(stylist.labels)
    prior = targets([prep.garments[i] for i in prep.train_idx], labels).mean(axis=0)
    knn_train = [prep.garments[i] for i in prep.knn_idx]
    knn_vecs = encode_products(stylist, [garment_product(g) for g in knn_train])
    knn = knn_scores(knn_vecs, targets(knn_train, labels), vecs, KNN_K)
    knn_lift = label_lift(knn, prior)
    rows: dict[str, list[float]] = {"sdk": [], "baseline_prior": [], "baseline_knn": []}
    y: list[int] = []
    groups: list[str] = []
    check: list[float] = []
    for name, body in prep.bodies.items():
        kinds = {g.kind for g in test if name in g.wearers}
        cand = [i for i, g in enumerate(test) if g.kind in kinds]
        label_idx = [labels.index(lab) for lab in body.labels if lab in labels]
        sdk = stylist.physique_scores(probs[cand], body)
        if len(check) < _CHECK_PAIRS and cand:  # the batch path equals physique_fit
            fit = stylist.physique_fit([products[cand[0]]], body).overall
            check.append(abs(fit - float(sdk[0])))
        rows["sdk"].extend(sdk.tolist())
        rows["baseline_prior"].extend([float(prior[label_idx].mean())] * len(cand))
        rows["baseline_knn"].extend(knn_lift[cand][:, label_idx].mean(axis=1).tolist())
        y.extend(int(name in test[i].wearers) for i in cand)
        groups.extend([name] * len(cand))
    methods = {}
    n_people = 0
    for method, scores in rows.items():
        aucs = per_group_auc(np.asarray(scores), np.asarray(y), groups)
        n_people = len(aucs)
        methods[method] = {"auc_per_person": summarize(list(aucs.values()))}
    return {
        "methods": methods,
        "n_people": n_people,
        "n_test_garments": len(test),
        "n_test_garments_total": prep.n_test_total,
        "n_knn_train_garments": len(prep.knn_idx),
        "n_positive_pairs": int(sum(y)),
        "n_pairs": len(y),
        "physique_fit_max_abs_diff": round(max(check), 6) if check else None,
    }
