"""Evaluation metrics shared by the physique and composer stages (numpy only).

* :func:`average_precision` and :func:`roc_auc` score one label; ties in the scores are
  handled exactly (AP over distinct thresholds as scikit-learn does it, AUC with average
  ranks), so a constant score gives AP = positive rate and AUC = 0.5.
* :func:`multilabel_scores`: macro mAP over the labels that have both positives and
  negatives in the test set, plus per-label AP and AUC.
* :func:`recall_at_k`: retrieval recall@k where items with the same score share their
  rank (expected recall under a random tie break), and each query may exclude one item
  from the gallery (its own reference item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fashionrec_sdk._errors import InvalidInputError

__all__ = [
    "MultilabelScores",
    "average_precision",
    "multilabel_scores",
    "recall_at_k",
    "roc_auc",
]


def _check_binary(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InvalidInputError(f"y_true {y.shape} and score {s.shape} differ", field="score")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InvalidInputError("y_true must be 0/1", field="y_true")
    return y, s


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve, summed over distinct score thresholds.

    Returns NaN when there is no positive.
    """
    y, s = _check_binary(y_true, score)
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    # Last index of each block of equal scores: one threshold per distinct value.
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    gains = np.diff(np.r_[0.0, recall])
    return float((gains * precision).sum())


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney U with average ranks); NaN without both classes."""
    y, s = _check_binary(y_true, score)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="stable")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    start = 0
    while start < len(s):
        end = start
        while end + 1 < len(s) and sorted_s[end + 1] == sorted_s[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class MultilabelScores:
    """Macro mAP and per-label AP/AUC (labels without both classes are left out)."""

    mean_ap: float
    ap: dict[str, float]
    auc: dict[str, float]


def multilabel_scores(
    targets: np.ndarray, scores: np.ndarray, labels: Sequence[str]
) -> MultilabelScores:
    """Score ``scores (N, L)`` against 0/1 ``targets (N, L)``.

    Only labels with at least one positive and one negative among the ``N`` rows count
    towards the macro mean; the others are absent from ``ap`` and ``auc``.
    """
    t = np.asarray(targets)
    s = np.asarray(scores)
    if t.ndim != 2 or t.shape != s.shape or t.shape[1] != len(labels):
        raise InvalidInputError(
            f"targets {t.shape}, scores {s.shape} and {len(labels)} labels do not match",
            field="scores",
        )
    ap: dict[str, float] = {}
    auc: dict[str, float] = {}
    for j, name in enumerate(labels):
        pos = t[:, j].sum()
        if 0 < pos < len(t):
            ap[name] = average_precision(t[:, j], s[:, j])
            auc[name] = roc_auc(t[:, j], s[:, j])
    mean_ap = float(np.mean(list(ap.values()))) if ap else float("nan")
    return MultilabelScores(mean_ap=mean_ap, ap=ap, auc=auc)


def recall_at_k(
    scores: np.ndarray,
    target: np.ndarray,
    ks: Sequence[int],
    exclude: np.ndarray | None = None,
) -> dict[int, float]:
    """Mean recall@k of ``scores (Q, G)`` where query ``q``'s answer is ``target[q]``.

    ``exclude[q]`` (a gallery index, or -1 for none) is removed from query ``q``'s
    gallery. Items scoring exactly as the target share its rank: with ``g`` items above
    and ``t`` items tied (target included), recall@k is ``clip((k - g) / t, 0, 1)``, the
    expectation under a random tie break.
    """
    s = np.array(scores, dtype=np.float64, copy=True)
    tgt = np.asarray(target, dtype=np.int64)
    if s.ndim != 2 or tgt.shape != (s.shape[0],):
        raise InvalidInputError(f"scores {s.shape} and target {tgt.shape} do not match")
    if ((tgt < 0) | (tgt >= s.shape[1])).any():
        raise InvalidInputError("target index outside the gallery", field="target")
    rows = np.arange(len(tgt))
    if exclude is not None:
        exc = np.asarray(exclude, dtype=np.int64)
        if (exc == tgt).any():
            raise InvalidInputError("a query excludes its own target", field="exclude")
        keep = exc >= 0
        s[rows[keep], exc[keep]] = -np.inf
    target_score = s[rows, tgt][:, None]
    above = (s > target_score).sum(axis=1)
    tied = (s == target_score).sum(axis=1)
    return {k: float(np.clip((k - above) / tied, 0.0, 1.0).mean()) for k in ks}
