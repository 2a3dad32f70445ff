"""Seeded group hold-outs shared by the training stages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["group_holdout"]


def group_holdout(
    groups: Sequence[str], fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(keep, held_out)``: a random ``fraction`` of the distinct groups is held out.

    Rows of one group always land on the same side. At least one group is held out when
    there are two or more groups.
    """
    unique = sorted(set(groups))
    n_out = max(1, round(fraction * len(unique))) if len(unique) > 1 else 0
    out = set(rng.permutation(unique)[:n_out].tolist())
    held = np.array([i for i, g in enumerate(groups) if g in out], dtype=np.int64)
    keep = np.array([i for i, g in enumerate(groups) if g not in out], dtype=np.int64)
    return keep, held
