"""Export torch modules to ONNX, check parity with onnxruntime, quantize.

Each exported model is declared by an :class:`ExportSpec` (inputs with dynamic axes,
outputs, opset, tolerance); :func:`check_parity` runs torch and onnxruntime side by
side at several batch sizes and fails on a shape mismatch or a tolerance breach.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from fashionrec_sdk._manifest import TensorSpec

__all__ = [
    "PARITY_BATCHES",
    "ExportSpec",
    "ParityError",
    "check_parity",
    "export_module",
    "quantize_int8",
]

PARITY_BATCHES = (1, 7, 64)

InputFactory = Callable[[int], tuple[torch.Tensor, ...]]


class ParityError(AssertionError):
    """torch and onnxruntime disagree on shape or beyond tolerance."""


@dataclass(frozen=True)
class ExportSpec:
    """How one model is exported: I/O names, dynamic axes, opset and parity tolerance."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int = 17
    atol: float = 1e-4
    description: str = ""
    trained_on: tuple[str, ...] = field(default_factory=tuple)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        axes: dict[str, dict[int, str]] = {}
        for t in (*self.inputs, *self.outputs):
            dyn = {i: d for i, d in enumerate(t.shape) if isinstance(d, str)}
            if dyn:
                axes[t.name] = dyn
        return axes


def export_module(
    module: torch.nn.Module, example: tuple[torch.Tensor, ...], spec: ExportSpec, path: Path
) -> Path:
    """Export ``module`` (in eval mode) to ``path`` with a dynamic batch axis."""
    module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=[t.name for t in spec.inputs],
            output_names=[t.name for t in spec.outputs],
            dynamic_axes=spec.dynamic_axes(),
            opset_version=spec.opset,
            do_constant_folding=True,
            dynamo=False,
        )
    return path


def check_parity(
    module: torch.nn.Module,
    onnx_path: Path,
    spec: ExportSpec,
    make_inputs: InputFactory,
    batches: tuple[int, ...] = PARITY_BATCHES,
    atol: float | None = None,
) -> dict[int, float]:
    """Max abs difference torch vs onnxruntime per batch size; raises :class:`ParityError`."""
    tol = spec.atol if atol is None else atol
    module.eval()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    report: dict[int, float] = {}
    for b in batches:
        inputs = make_inputs(b)
        with torch.no_grad():
            ref = module(*inputs)
        refs = ref if isinstance(ref, tuple) else (ref,)
        feeds = {t.name: x.numpy() for t, x in zip(spec.inputs, inputs, strict=True)}
        outs = sess.run([t.name for t in spec.outputs], feeds)
        worst = 0.0
        for t, r, o in zip(spec.outputs, refs, outs, strict=True):
            r_np = r.numpy()
            if r_np.shape != o.shape:
                raise ParityError(
                    f"{spec.name}.{t.name} batch {b}: torch {r_np.shape} vs onnx {o.shape}"
                )
            if o.shape[0] != b:
                raise ParityError(f"{spec.name}.{t.name}: batch axis {o.shape[0]} != {b}")
            worst = max(worst, float(np.abs(r_np - o).max()) if o.size else 0.0)
        if worst > tol:
            raise ParityError(f"{spec.name} batch {b}: max abs diff {worst:.2e} > {tol:.0e}")
        report[b] = worst
    return report


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantization, per output channel (activations stay float).

    Per-channel scales matter: on all-MiniLM-L6-v2 per-tensor int8 gives a mean cosine
    to fp32 of 0.962 (min 0.85) on fashion text, per-channel 0.991 (min 0.977).
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs every skipped node
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    return dst
