"""Outfit compatibility evaluation: AUC, fill-in-the-blank, and the baselines.

Pure functions over a *scorer*: any callable that maps a batch of outfits (tuples of
item indices) to one score per outfit, higher = more compatible. The training stage
scores with the outfit encoder; the SDK's offline evaluation can pass its own scorer.

* :func:`compatibility_auc`: ROC AUC of positives vs negatives (ties count half).
* :func:`make_fitb_questions` / :func:`fitb_accuracy`: one blank per outfit, the true
  item against distractors of the same category drawn from a given (held-out) pool; a
  tie between the best candidates gives fractional credit (the expected accuracy of a
  random tie-break), so a constant scorer gets exactly ``1 / n_candidates``.
* Baselines: :func:`random_scorer`, :func:`cosine_scorer` (mean pairwise cosine of the
  item vectors) and :class:`CooccurrencePrior` (mean pairwise category log-odds of
  appearing in a positive rather than a negative training outfit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fashionrec_sdk._errors import InvalidInputError

__all__ = [
    "CooccurrencePrior",
    "FitbQuestion",
    "Scorer",
    "compatibility_auc",
    "cosine_scorer",
    "fitb_accuracy",
    "make_fitb_questions",
    "random_scorer",
    "roc_auc",
]

Outfit = tuple[int, ...]
Scorer = Callable[[Sequence[Outfit]], np.ndarray]
"""``outfits -> (len(outfits),)`` float scores, higher = more compatible."""

_TIE = 1e-6


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties = 1/2).

    Raises:
        InvalidInputError: either side is empty.
    """
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        raise InvalidInputError("AUC needs at least one positive and one negative", field="scores")
    scores = np.concatenate([pos, neg])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over runs of equal scores.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u / (len(pos) * len(neg)))


def compatibility_auc(
    score: Scorer, positives: Sequence[Outfit], negatives: Sequence[Outfit]
) -> float:
    """ROC AUC of ``score`` separating ``positives`` from ``negatives``."""
    return roc_auc(score(positives), score(negatives))


@dataclass(frozen=True)
class FitbQuestion:
    """One fill-in-the-blank question.

    ``context`` is the outfit without the blank, ``position`` where the blank was,
    ``candidates`` the item indices to choose from, ``answer`` the index of the true
    item in ``candidates``.
    """

    context: Outfit
    position: int
    candidates: Outfit
    answer: int

    def filled(self, k: int) -> Outfit:
        """The outfit with candidate ``k`` put in the blank."""
        return (*self.context[: self.position], self.candidates[k], *self.context[self.position :])


def make_fitb_questions(
    outfits: Sequence[Outfit],
    categories: np.ndarray,
    pool: np.ndarray,
    rng: np.random.Generator,
    n_candidates: int = 4,
) -> list[FitbQuestion]:
    """One question per outfit of at least two items: a random blank, ``n_candidates - 1``
    distinct distractors of the blank's category from ``pool`` (never an item of the
    outfit). Outfits whose category has too few pool items are skipped.
    """
    if n_candidates < 2:
        raise InvalidInputError("n_candidates must be at least 2", field="n_candidates")
    pool = np.unique(np.asarray(pool, dtype=np.int64))
    by_cat = {int(c): pool[categories[pool] == c] for c in np.unique(categories[pool])}
    questions: list[FitbQuestion] = []
    for outfit in outfits:
        if len(outfit) < 2:
            continue
        pos = int(rng.integers(len(outfit)))
        true = outfit[pos]
        cands = by_cat.get(int(categories[true]), np.zeros(0, dtype=np.int64))
        cands = cands[~np.isin(cands, outfit)]
        if len(cands) < n_candidates - 1:
            continue
        options = [true, *(int(x) for x in rng.choice(cands, size=n_candidates - 1, replace=False))]
        perm = rng.permutation(n_candidates)
        questions.append(
            FitbQuestion(
                context=tuple(outfit[:pos]) + tuple(outfit[pos + 1 :]),
                position=pos,
                candidates=tuple(options[i] for i in perm),
                answer=int(np.flatnonzero(perm == 0)[0]),
            )
        )
    return questions


def fitb_accuracy(score: Scorer, questions: Sequence[FitbQuestion]) -> float:
    """Mean (tie-split) accuracy of picking the true item by the best outfit score.

    Raises:
        InvalidInputError: no questions, or questions with different candidate counts.
    """
    if not questions:
        raise InvalidInputError("no FITB questions", field="questions")
    n = len(questions[0].candidates)
    if any(len(q.candidates) != n for q in questions):
        raise InvalidInputError(
            "every question needs the same number of candidates", field="questions"
        )
    filled = [q.filled(k) for q in questions for k in range(n)]
    scores = np.asarray(score(filled), dtype=np.float64).reshape(len(questions), n)
    best = scores >= scores.max(axis=1, keepdims=True) - _TIE
    answers = np.array([q.answer for q in questions])
    hit = best[np.arange(len(questions)), answers]
    return float(np.mean(hit / best.sum(axis=1)))


def random_scorer(seed: int) -> Scorer:
    """A scorer of seeded uniform noise (the chance baseline)."""
    rng = np.random.default_rng(seed)

    def score(outfits: Sequence[Outfit]) -> np.ndarray:
        return rng.random(len(outfits))

    return score


def cosine_scorer(vectors: Callable[[np.ndarray], np.ndarray]) -> Scorer:
    """Mean pairwise cosine of the items' unit vectors (``vectors(items) -> (n, D)``)."""

    def score(outfits: Sequence[Outfit]) -> np.ndarray:
        out = np.zeros(len(outfits), dtype=np.float64)
        for i, outfit in enumerate(outfits):
            if len(outfit) < 2:
                continue
            v = vectors(np.asarray(outfit, dtype=np.int64))
            sims = v @ v.T
            n = len(outfit)
            out[i] = (sims.sum() - np.trace(sims)) / (n * (n - 1))
        return out

    return score


class CooccurrencePrior:
    """Pairwise category log-odds of appearing together in a positive vs a negative outfit.

    ``keys[item]`` is the item's category key; ``lo(a, b) = log((P(a,b) + a) / (N(a,b) + a))``
    with ``P``/``N`` pair counts normalised by the pair totals of the positive/negative
    training outfits and add-``alpha`` smoothing. An outfit scores the mean over its pairs.
    """

    def __init__(
        self,
        keys: np.ndarray,
        positives: Sequence[Outfit],
        negatives: Sequence[Outfit],
        alpha: float = 1.0,
    ) -> None:
        self.keys = np.asarray(keys, dtype=np.int64)
        k = int(self.keys.max()) + 1
        pos = self._counts(positives, k)
        neg = self._counts(negatives, k)
        pos_p = (pos + alpha) / (pos.sum() + alpha * k * k)
        neg_p = (neg + alpha) / (neg.sum() + alpha * k * k)
        self.log_odds = np.log(pos_p) - np.log(neg_p)

    def _counts(self, outfits: Sequence[Outfit], k: int) -> np.ndarray:
        counts = np.zeros((k, k), dtype=np.float64)
        for outfit in outfits:
            ks = self.keys[np.asarray(outfit, dtype=np.int64)]
            a, b = np.triu_indices(len(ks), 1)
            np.add.at(counts, (ks[a], ks[b]), 1.0)
            np.add.at(counts, (ks[b], ks[a]), 1.0)
        return counts

    def __call__(self, outfits: Sequence[Outfit]) -> np.ndarray:
        out = np.zeros(len(outfits), dtype=np.float64)
        for i, outfit in enumerate(outfits):
            ks = self.keys[np.asarray(outfit, dtype=np.int64)]
            a, b = np.triu_indices(len(ks), 1)
            if len(a):
                out[i] = self.log_odds[ks[a], ks[b]].mean()
        return out
