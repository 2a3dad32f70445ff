"""Checkpoints of finished training stages, keyed by everything that decides their result.

A stage's key names its code version, the seed, the smoke flag and fingerprints of its
frozen inputs (the text tower, an upstream module). A checkpoint whose key differs is
ignored and overwritten, so a rebuilt text tower or outfit encoder retrains the stage.
Text-vector caches are tagged with the text tower's fingerprint for the same reason
(``Context.embed`` keys its cache by the texts only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["embedder_fingerprint", "load_checkpoint", "module_fingerprint", "save_checkpoint"]

_PROBE = ["a black wrap dress with long sleeves", "is shorter and more colourful"]


def embedder_fingerprint(
    embed_fn: Callable[[list[str]], np.ndarray], embed_id: str | None = None
) -> str:
    """Short hash naming the text tower.

    ``embed_id`` (``Context.embed_id``, the tower bundle's sha256) is used when set to a
    real id. Otherwise the hash is taken from the tower's vectors for two fixed probe
    texts, coarsely (16 components each, 2 decimals): run-to-run float noise must not
    change it, while a different tower (even fp32 vs int8) does.
    """
    if embed_id and embed_id != "text":
        return hashlib.sha256(embed_id.encode()).hexdigest()[:12]
    vecs = np.asarray(embed_fn(list(_PROBE)), dtype=np.float64)[:, :16]
    return hashlib.sha256((np.round(vecs, 2) + 0.0).tobytes()).hexdigest()[:12]


def module_fingerprint(module: nn.Module) -> str:
    """Short hash of a module's parameters and buffers."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def load_checkpoint(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The saved ``{"state_dict", "metrics"}`` when ``path`` exists with this exact key."""
    if not path.exists():
        return None
    saved: dict[str, Any] = torch.load(path, weights_only=True)
    if saved.get("key") != json.dumps(key, sort_keys=True):
        return None
    return saved


def save_checkpoint(
    path: Path, key: dict[str, Any], state_dict: dict[str, torch.Tensor], metrics: dict[str, float]
) -> None:
    """Write atomically (temp file + rename), with a readable ``metrics.json`` beside it."""
    tmp = path.with_suffix(".tmp")
    payload = {"key": json.dumps(key, sort_keys=True), "state_dict": state_dict, "metrics": metrics}
    torch.save(payload, tmp)
    tmp.replace(path)
    (path.parent / "metrics.json").write_text(json.dumps(metrics, indent=2))
