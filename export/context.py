"""Shared state of one pipeline run: paths, seed, smoke flag and a cached text embedder."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fashionrec_sdk._manifest import Provenance

from .onnx_export import ExportSpec

__all__ = ["Context", "StageResult", "log"]

log = logging.getLogger("export")


@dataclass
class StageResult:
    """What a training stage hands to the bundle writer.

    ``module`` is the trained torch model (eval mode), exported with ``spec`` and
    parity-checked with ``make_inputs(batch)``. ``metrics`` are held-out figures (with
    the baselines measured in the same run, prefixed ``baseline_``).
    """

    name: str
    module: nn.Module
    spec: ExportSpec
    make_inputs: Callable[[int], tuple[torch.Tensor, ...]]
    metrics: dict[str, float]
    provenance: list[Provenance] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """One run of the pipeline.

    Attributes:
        data: the real data folder (``../shared/data``).
        work: cache/checkpoint folder; finished stages are reused from here.
        smoke: run every stage for real on a small subset (minutes, for CI).
        embed_fn: text -> unit vectors, the *runtime* encoder over the exported text
            tower, so training features are exactly what the SDK computes.
        embed_id: identity of that tower (its bundle sha256), part of the cache key.
    """

    data: Path
    work: Path
    smoke: bool
    seed: int
    dim: int
    embed_fn: Callable[[list[str]], np.ndarray]
    embed_id: str = "text"
    results: dict[str, StageResult] = field(default_factory=dict)

    def embed(self, texts: Sequence[str], *, tag: str) -> np.ndarray:
        """Unit vectors of ``texts`` ``(N, dim)``, cached on disk under ``work/emb``."""
        texts = list(texts)
        # The key covers the texts and the text tower, so a new tower never reuses vectors.
        key = hashlib.sha256(json.dumps([self.embed_id, texts]).encode()).hexdigest()[:16]
        path = self.work / "emb" / f"{tag}-{key}.npy"
        if path.exists():
            return np.load(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = 2048
        for start in range(0, len(texts), step):
            vecs[start : start + step] = self.embed_fn(texts[start : start + step])
            if len(texts) > step:
                log.info(
                    "  embedded %d/%d %s texts", min(start + step, len(texts)), len(texts), tag
                )
        np.save(path, vecs)
        log.info("embedded %d %s texts in %.1fs", len(texts), tag, time.time() - t0)
        return vecs

    def stage_dir(self, name: str) -> Path:
        d = self.work / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng(self.seed + salt)
