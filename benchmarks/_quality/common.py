"""Shared plumbing of the quality tasks: run settings, timing, product text vectors."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import fashionrec_sdk as fr
from fashionrec_sdk._errors import InvalidInputError

__all__ = ["Run", "encode_products", "sample", "summarize"]


@dataclass
class Run:
    """One evaluation run: data folder, loaded bundle, seed, size and timings.

    ``smoke`` is true for a bundle made by ``export.pipeline --smoke``; tasks whose
    training subset differs in smoke runs (the physique split) follow it. ``split`` is
    ``"test"`` for reported figures; ``"valid"`` evaluates the outfit tasks on the
    validation outfits instead, for tuning ranking constants without touching test.
    """

    data: Path
    bundle: fr.ModelBundle
    seed: int
    quick: bool
    split: str = "test"
    stylist: fr.Stylist = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stylist = fr.Stylist(self.bundle)

    @property
    def smoke(self) -> bool:
        return self.bundle.manifest.version.endswith("-smoke")

    def rng(self, salt: int) -> np.random.Generator:
        """A generator seeded with ``seed + salt`` (one salt per use, as the pipeline does)."""
        return np.random.default_rng(self.seed + salt)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 2)


def encode_products(stylist: fr.Stylist, products: Sequence[fr.Product]) -> np.ndarray:
    """``Stylist.text_vectors`` of ``products`` ``(N, D)``, each distinct text encoded once."""
    first: dict[str, int] = {}
    for i, p in enumerate(products):
        first.setdefault(p.text(), i)
    if not first:
        return np.zeros((0, stylist.dim), np.float32)
    reps = list(first.values())
    vecs = stylist.text_vectors([products[i] for i in reps])
    row = {text: r for r, text in enumerate(first)}
    out: np.ndarray = vecs[[row[p.text()] for p in products]]
    return out


def sample(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted seeded subset of ``range(n)`` of size ``limit`` (all when ``limit`` is None)."""
    if limit is not None and limit < 0:
        raise InvalidInputError(f"limit must be >= 0, got {limit}", field="limit")
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def summarize(values: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """``{"mean", "se", "n"}`` of per-query values."""
    from .metrics import mean_se

    m, se = mean_se(values)
    return {"mean": round(m, digits), "se": round(se, digits), "n": len(values)}
