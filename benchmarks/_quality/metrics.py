"""Pure ranking metrics for the offline evaluation (numpy only, no models, no data).

Every retrieval task here has exactly one relevant item per query (the removed item,
the left-out item, the caption's target), so the metrics take the 1-based rank of that
item in a returned list (``None`` when it is absent):

* :func:`hit_at_k`: 1 when the item is in the top ``k``.
* :func:`ndcg_at_k`: ``1 / log2(rank + 1)`` inside the top ``k`` (the ideal DCG of one
  relevant item is 1).
* :func:`random_hit_rate` / :func:`random_ndcg`: the exact expectation of the same
  metrics for ``k`` items drawn uniformly from ``n`` eligible ones (the chance baseline).
* :func:`mean_se`: mean and standard error, reported next to every rate.
* :func:`per_group_auc`: ROC AUC per group (e.g. per person) with both positives and
  negatives (the caller averages).
* :func:`label_lift`: the physique "lift" of label probabilities against their priors,
  ``sigmoid(logit(p) - logit(prior))``, the transform ``Stylist.physique_scores`` applies.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from export.stages.outfit_eval import roc_auc
from fashionrec_sdk._errors import InvalidInputError

__all__ = [
    "hit_at_k",
    "label_lift",
    "mean_se",
    "ndcg_at_k",
    "per_group_auc",
    "random_hit_rate",
    "random_ndcg",
    "rank_of",
]


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k must be a positive int, got {k!r}", field="k")
    return k


def rank_of(target: Hashable, ranked: Sequence[Hashable]) -> int | None:
    """1-based position of ``target`` in ``ranked``, or ``None`` when absent."""
    for i, item in enumerate(ranked, start=1):
        if item == target:
            return i
    return None


def hit_at_k(rank: int | None, k: int) -> float:
    """1.0 when the relevant item's ``rank`` is within the top ``k``, else 0.0."""
    _check_k(k)
    return 1.0 if rank is not None and 1 <= rank <= k else 0.0


def ndcg_at_k(rank: int | None, k: int) -> float:
    """NDCG@k of one relevant item at ``rank``: ``1 / log2(rank + 1)`` if ``rank <= k``."""
    _check_k(k)
    if rank is None or not 1 <= rank <= k:
        return 0.0
    return 1.0 / math.log2(rank + 1)


def random_hit_rate(k: int, n: int) -> float:
    """Expected hit@k of ``k`` uniform draws (without replacement) among ``n`` items."""
    _check_k(k)
    if n < 1:
        raise InvalidInputError(f"n must be >= 1, got {n}", field="n")
    return min(1.0, k / n)


def random_ndcg(k: int, n: int) -> float:
    """Expected NDCG@k when the relevant item sits at a uniform rank among ``n`` items."""
    _check_k(k)
    if n < 1:
        raise InvalidInputError(f"n must be >= 1, got {n}", field="n")
    return sum(1.0 / math.log2(r + 1) for r in range(1, min(k, n) + 1)) / n


def mean_se(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean (``nan`` for no values; se 0 for one)."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return float("nan"), float("nan")
    if a.size == 1:
        return float(a[0]), 0.0
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def per_group_auc(
    scores: np.ndarray, labels: np.ndarray, groups: Sequence[Hashable]
) -> dict[Hashable, float]:
    """ROC AUC (ties count half) of each group that has both a positive and a negative.

    Raises:
        InvalidInputError: the three inputs differ in length or ``labels`` is not 0/1.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if not (len(s) == len(y) == len(groups)):
        raise InvalidInputError(
            f"{len(s)} scores, {len(y)} labels and {len(groups)} groups differ", field="groups"
        )
    if not np.isin(y, (0, 1)).all():
        raise InvalidInputError("labels must be 0/1", field="labels")
    by_group: dict[Hashable, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out: dict[Hashable, float] = {}
    for g, rows in by_group.items():
        idx = np.asarray(rows)
        pos, neg = s[idx][y[idx] == 1], s[idx][y[idx] == 0]
        if len(pos) and len(neg):
            out[g] = roc_auc(pos, neg)
    return out


def label_lift(probs: np.ndarray, priors: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """``sigmoid(logit(probs) - logit(priors))`` elementwise (0.5 = as likely as the prior).

    ``probs`` ``(N, L)`` and ``priors`` ``(L,)`` are clipped to ``[eps, 1 - eps]`` first.
    """
    p = np.clip(np.asarray(probs, dtype=np.float64), eps, 1 - eps)
    q = np.clip(np.asarray(priors, dtype=np.float64), eps, 1 - eps)
    logit = np.log(p / (1 - p)) - np.log(q / (1 - q))
    out: np.ndarray = 1.0 / (1.0 + np.exp(-logit))
    return out
