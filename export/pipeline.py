"""The model pipeline: prepare data, train, export, check parity, write the bundle.

    python -m export.pipeline --data ../shared/data --work export/work/full \
        --out fashionrec_sdk/models/default [--smoke] [--only STAGE ...]

Stages (each checkpoints under ``--work`` and is skipped when already finished, so an
interrupted run resumes where it stopped):

1. ``text``: all-MiniLM-L6-v2 -> ONNX (optimum-onnx), int8 vs fp32 decided on real text.
2. ``image``: EfficientNet-Lite0 + projection trained on Fashion-MNIST image/caption pairs.
3. ``outfit``: FCN outfit encoder + compatibility head on Polyvore (Maryland + Outfits).
4. ``physique``: ML-GCN over ViBE body-shape/height/size labels.
5. ``composer``: feedback composer on FashionIQ captions + multi-turn attributes.
6. ``bundle``: export every model, parity at batch 1/7/64, manifest with metrics.

``--smoke`` runs every stage for real on a small subset (a few minutes) and is part of
``make test``; its metrics are not meaningful.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from fashionrec_sdk._categories import COARSE_CATEGORIES
from fashionrec_sdk._manifest import ImagePreprocessing, Provenance, TextPreprocessing
from fashionrec_sdk._physique import PHYSIQUE_LABELS

from .bundle_writer import write_bundle
from .context import Context, StageResult, log
from .onnx_export import check_parity, export_module
from .stages import composer, image, outfit, physique
from .stages.text import PROVENANCE as TEXT_PROVENANCE
from .stages.text import build_text_tower

__all__ = ["STAGES", "main", "run"]

STAGES = ("image", "outfit", "physique", "composer")
BUNDLE_VERSION = "2026.11.1"


def run(
    data: Path, work: Path, out: Path, *, smoke: bool, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Run every stage and write the bundle to ``out``; returns the metrics."""
    t0 = time.time()
    if not data.is_dir():
        raise SystemExit(f"data folder not found: {data} (expected ../shared/data)")
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    text = build_text_tower(data, work / "text", smoke)
    ctx = Context(
        data=data, work=work, smoke=smoke, seed=seed, dim=384, embed_fn=text.encoder.encode
    )
    runners = {
        "image": image.run,
        "outfit": outfit.run,
        "physique": physique.run,
        "composer": composer.run,
    }
    for name in STAGES:
        s0 = time.time()
        log.info("== stage %s%s", name, " (smoke)" if smoke else "")
        ctx.results[name] = runners[name](ctx)
        log.info(
            "== stage %s done in %.0fs: %s", name, time.time() - s0, _fmt(ctx.results[name].metrics)
        )
    metrics = {"text_encoder": text.metrics}
    metrics.update({r.name: r.metrics for r in ctx.results.values()})
    _write(ctx, text, out, metrics)
    log.info("bundle written to %s in %.0fs total", out, time.time() - t0)
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())


def _write(ctx: Context, text: object, out: Path, metrics: dict[str, dict[str, float]]) -> None:
    from .stages.text import TextTower

    assert isinstance(text, TextTower)
    export_dir = ctx.work / "onnx"
    models: dict[str, tuple[Path, object, str]] = {}
    from .specs import export_specs

    outfit_res: StageResult = ctx.results["outfit"]
    specs = export_specs(
        ctx.dim,
        int(outfit_res.module.out_dim),  # type: ignore[arg-type]
        len(PHYSIQUE_LABELS),
        int(ctx.results["image"].extra["image_size"]),
    )
    models["text_encoder"] = (text.onnx_path, specs["text_encoder"], text.quantization)
    provenance: list[Provenance] = [TEXT_PROVENANCE]
    for res in ctx.results.values():
        spec = res.spec if res.spec.name == res.name else specs[res.name]
        path = export_module(res.module, res.make_inputs(2), spec, export_dir / f"{res.name}.onnx")
        parity = check_parity(res.module, path, spec, res.make_inputs)
        res.metrics["parity_max_abs_diff"] = max(parity.values())
        quant = str(res.extra.get("quantization", "none"))
        if "onnx_path" in res.extra:  # a stage that chose its own (e.g. int8) variant
            path = Path(res.extra["onnx_path"])
        models[res.name] = (path, spec, quant)
        provenance.extend(p for p in res.provenance if p not in provenance)
    image_spec: ImagePreprocessing = ctx.results["image"].extra["preprocessing"]
    write_bundle(
        out,
        models=models,  # type: ignore[arg-type]
        files={"tokenizer.json": text.tokenizer},
        name="default",
        version=BUNDLE_VERSION + ("-smoke" if ctx.smoke else ""),
        embedding_dim=ctx.dim,
        text=TextPreprocessing(max_length=128),
        image=image_spec,
        categories=COARSE_CATEGORIES,
        physique_labels=PHYSIQUE_LABELS,
        metrics=metrics,
        provenance=tuple(provenance),
        notes="Trained by export/pipeline.py on ../shared/data; see docs/MODEL_CARD.md."
        + (" SMOKE RUN: metrics are not meaningful." if ctx.smoke else ""),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, default=Path("export/work/full"))
    parser.add_argument("--out", type=Path, default=Path("fashionrec_sdk/models/default"))
    parser.add_argument("--smoke", action="store_true", help="small real subset, minutes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    run(args.data, args.work, args.out, smoke=args.smoke, seed=args.seed)


if __name__ == "__main__":
    main()
