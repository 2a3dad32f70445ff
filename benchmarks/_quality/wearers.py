"""Task 2b: ViBE fashion models as users of a catalog of held-out garments.

Catalog and split: the held-out garments of the physique stage's split (a) (see
:mod:`.physique`; none of them trained the shipped physique model). Every person of
``model.json`` who wore at least two of them is a user: one worn garment is left out
(seeded), the others are the history. ``Recommender.for_user`` ranks the catalog
(history excluded) with the person's ``BodyProfile`` and, as an ablation, without it;
baselines in the same run: ``search_vector`` with the normalised mean history vector
and chance. Metrics: hit@10 and NDCG@10 of the left-out garment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import fashionrec_sdk as fr

from .common import Run
from .physique import Prepared
from .retrieval import K, Scores

__all__ = ["evaluate_wearers"]


def evaluate_wearers(run: Run, prep: Prepared) -> dict[str, Any]:
    """Leave-one-out over people's worn held-out garments: ``for_user`` with/without body."""
    rng = run.rng(407)
    catalog = prep.catalog
    rec = fr.Recommender(catalog)
    scores = Scores()
    n_users = 0
    for name, body in prep.bodies.items():
        worn = [p.id for p, g in zip(prep.products, prep.test, strict=True) if name in g.wearers]
        if len(worn) < 2:
            continue
        n_users += 1
        t = int(rng.integers(len(worn)))
        target, history = worn[t], worn[:t] + worn[t + 1 :]
        for method, user in (
            ("sdk_for_user_with_body", fr.UserProfile(user_id=name, history=history, body=body)),
            ("sdk_for_user_no_body", fr.UserProfile(user_id=name, history=history)),
        ):
            scores.add_ranked(method, target, [r.product.id for r in rec.for_user(user, k=K)])
        v = catalog.vectors(history).mean(axis=0)
        hits = catalog.search_vector(
            v / max(float(np.linalg.norm(v)), 1e-12),
            K,
            filters=fr.Filters(exclude_ids=frozenset(history)),
        )
        scores.add_ranked("baseline_mean_history", target, [h.product.id for h in hits])
        scores.add_expected("baseline_random", len(catalog) - len(history))
    return {"methods": scores.report(), "n_users": n_users, "catalog_size": len(catalog), "k": K}
