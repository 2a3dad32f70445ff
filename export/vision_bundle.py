"""Assemble the vision model bundle (pose, segmentation and, when present, sketches).

Runs in the main environment, after ``export.convert_mediapipe`` (conversion env)::

    .venv/bin/python -m export.vision_bundle --work export/work/vision \\
        --out fashionrec_sdk/models/vision

Reads from ``--work``: ``pose_detector.onnx``, ``pose_landmarks.onnx``,
``person_segmentation.onnx`` and ``conversion.json`` (written by
``export.convert_mediapipe``) and, optionally, ``sketch_generator.onnx`` with
``sketch_generator.json`` (``inputs``, ``outputs``, ``metrics``, ``provenance``, and
optionally ``description``, ``opset``, ``trained_on``). Writes a bundle in the same
``fashionrec-bundle`` format (version 1) as the default bundle, named
``fashionrec-vision``; every model is checked to load in onnxruntime and to match the
I/O recorded in the manifest before the bundle is swapped into place.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fashionrec_sdk._manifest import BundleManifest, Provenance, TensorSpec

from .bundle_writer import write_bundle
from .onnx_export import ExportSpec

__all__ = ["POSE_MODELS", "build_vision_bundle", "main"]

POSE_MODELS = ("pose_detector", "pose_landmarks", "person_segmentation")
BUNDLE_NAME = "fashionrec-vision"
EMBEDDING_DIM = 384

MEDIAPIPE = Provenance(
    name="MediaPipe BlazePose GHUM 3D (full), BlazePose detector, selfie segmentation",
    source="PyPI mediapipe==0.10.21 (.tflite files in the wheel), converted to ONNX by "
    "export/convert_mediapipe.py",
    licence="Apache-2.0",
    used_for="pose_detector, pose_landmarks, person_segmentation (weights unchanged)",
)


def _tensor(spec: dict[str, Any]) -> TensorSpec:
    return TensorSpec(name=spec["name"], dtype=spec["dtype"], shape=tuple(spec["shape"]))


def _check_io(path: Path, spec: ExportSpec) -> None:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got_in = [(i.name, tuple(i.shape)) for i in sess.get_inputs()]
    got_out = [(o.name, tuple(o.shape)) for o in sess.get_outputs()]
    want_in = [(t.name, tuple(t.shape)) for t in spec.inputs]
    want_out = [(t.name, tuple(t.shape)) for t in spec.outputs]
    if got_in != want_in or got_out != want_out:
        raise SystemExit(
            f"{path}: I/O {got_in} -> {got_out} does not match the recorded {want_in} -> {want_out}"
        )


def _pose_specs(work: Path) -> tuple[dict[str, ExportSpec], dict[str, dict[str, float]]]:
    path = work / "conversion.json"
    if not path.is_file():
        raise SystemExit(f"{path} missing: run export.convert_mediapipe first")
    report = json.loads(path.read_text())
    specs: dict[str, ExportSpec] = {}
    metrics: dict[str, dict[str, float]] = {}
    for name in POSE_MODELS:
        entry = report["models"][name]
        specs[name] = ExportSpec(
            name=name,
            inputs=tuple(_tensor(t) for t in entry["inputs"]),
            outputs=tuple(_tensor(t) for t in entry["outputs"]),
            opset=int(report["converter"]["opset"]),
            atol=float(report["tolerance"]),
            description=entry["description"],
            trained_on=("MediaPipe (Google) training data; weights unchanged",),
        )
        metrics[name] = {
            f"parity_max_abs_diff_{out}": float(v["max_abs_diff"])
            for out, v in entry["parity"].items()
        }
    return specs, metrics


def _sketch_spec(
    work: Path,
) -> tuple[ExportSpec, dict[str, float], tuple[Provenance, ...]] | None:
    onnx_path, meta_path = work / "sketch_generator.onnx", work / "sketch_generator.json"
    if not onnx_path.is_file():
        return None
    if not meta_path.is_file():
        raise SystemExit(f"{onnx_path} has no {meta_path.name} (inputs/outputs/provenance)")
    meta = json.loads(meta_path.read_text())
    spec = ExportSpec(
        name="sketch_generator",
        inputs=tuple(_tensor(t) for t in meta["inputs"]),
        outputs=tuple(_tensor(t) for t in meta["outputs"]),
        opset=int(meta.get("opset", 17)),
        description=str(meta.get("description", "text-conditioned sketch generator")),
        trained_on=tuple(meta.get("trained_on", ())),
    )
    metrics = {str(k): float(v) for k, v in meta.get("metrics", {}).items()}
    provenance = tuple(Provenance(**p) for p in meta.get("provenance", ()))
    return spec, metrics, provenance


def build_vision_bundle(work: Path, out: Path, *, version: str) -> BundleManifest:
    """Write the vision bundle from the converted models in ``work`` to ``out``."""
    specs, metrics = _pose_specs(work)
    provenance: list[Provenance] = [MEDIAPIPE]
    notes = (
        "Pose and person segmentation: MediaPipe BlazePose (full) and selfie segmentation "
        "(mediapipe 0.10.21, Apache-2.0) converted to ONNX by export/convert_mediapipe.py; "
        "parity vs ai-edge-litert in metrics. Runtime: fashionrec_sdk._pose.PoseEstimator."
    )
    files: dict[str, Path] = {}
    sketch = _sketch_spec(work)
    if sketch is not None:
        files["sketch_generator.json"] = work / "sketch_generator.json"
        spec, sketch_metrics, sketch_prov = sketch
        specs["sketch_generator"] = spec
        metrics["sketch_generator"] = sketch_metrics
        provenance += [p for p in sketch_prov if p not in provenance]
        notes += " Sketch generator: see its provenance and metrics."
    models: dict[str, tuple[Path, ExportSpec, str]] = {}
    for name, spec in specs.items():
        path = work / f"{name}.onnx"
        if not path.is_file():
            raise SystemExit(f"{path} missing")
        _check_io(path, spec)
        models[name] = (path, spec, "none")
    return write_bundle(
        out,
        models=models,
        files=files,
        name=BUNDLE_NAME,
        version=version,
        embedding_dim=EMBEDDING_DIM,
        metrics=metrics,
        provenance=tuple(provenance),
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Assemble the fashionrec-vision bundle.")
    parser.add_argument("--work", type=Path, default=Path("export/work/vision"))
    parser.add_argument("--out", type=Path, default=Path("fashionrec_sdk/models/vision"))
    parser.add_argument("--version", default="2026.11.1")
    args = parser.parse_args(argv)
    manifest = build_vision_bundle(args.work, args.out, version=args.version)
    size = sum(e.bytes for e in manifest.models.values())
    print(f"wrote {args.out}: {sorted(manifest.models)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
