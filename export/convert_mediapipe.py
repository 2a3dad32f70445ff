"""Convert MediaPipe's BlazePose and selfie-segmentation ``.tflite`` models to ONNX.

Runs only in the separate conversion environment (never a package dependency)::

    python3 -m venv /work/convert-env
    /work/convert-env/bin/pip install mediapipe==0.10.21 tensorflow-cpu tf2onnx \
        ai-edge-litert onnx onnxruntime "numpy<2"
    /work/convert-env/bin/python -m export.convert_mediapipe --out export/work/vision

Source: the ``.tflite`` files inside the ``mediapipe==0.10.21`` wheel (Apache-2.0), the
last release that carries them: ``pose_detection``, ``pose_landmark_full`` and the
general (square, 256x256) ``selfie_segmentation`` (the wheel also has a 144x256
"landscape" variant, which is not used).

Known conversion problems and their fixes:

* ``pose_detection`` keeps its weights as sparse float16 tensors behind ``DENSIFY`` ops,
  which tf2onnx cannot read. The TFLite interpreter (default XNNPACK delegate off, all
  tensors preserved) densifies them on the first ``invoke``; those dense values are
  written back into the flatbuffer as constant buffers and the ``DENSIFY`` ops removed
  before conversion.
* ``selfie_segmentation`` uses MediaPipe's custom ``Convolution2DTransposeBias`` op,
  which tf2onnx keeps as an unknown node; it is replaced by a standard ``ConvTranspose``
  (stride 2, kernel 2x2, padding SAME) between NHWC<->NCHW transposes.

Parity: each ONNX model is run with onnxruntime and the original ``.tflite`` with
ai-edge-litert on real photos (``tests/fixtures/photos/*``; each photo resized to the
model's input size) and the maximum absolute difference of every output is recorded in
``conversion.json`` next to the models. A model whose difference exceeds
``TOLERANCE`` makes the run fail.

TensorFlow, tf2onnx, mediapipe and ai-edge-litert are imported inside functions so the
module stays importable (lint, type checks) in the main environment.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SOURCES", "TOLERANCE", "ModelSource", "convert_all", "main"]

MEDIAPIPE_VERSION = "0.10.21"
OPSET = 17
#: Accepted max |onnx - tflite| relative to the output's scale: ``diff <= TOLERANCE *
#: max(1, max|tflite|)`` (boxes and landmarks are in input pixels, masks are logits).
TOLERANCE = 1e-3


@dataclass(frozen=True)
class ModelSource:
    """One model to convert: where it is in the wheel, and the ONNX tensor names."""

    tflite: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_range: tuple[float, float]
    description: str


SOURCES: dict[str, ModelSource] = {
    "pose_detector": ModelSource(
        tflite="modules/pose_detection/pose_detection.tflite",
        inputs=("image",),
        outputs=("boxes", "scores"),
        input_range=(-1.0, 1.0),
        description=(
            "BlazePose person detector: letterboxed 224x224 RGB NHWC in [-1, 1] -> 2254 SSD "
            "anchors x (box dx, dy, w, h + 4 keypoints) and score logits"
        ),
    ),
    "pose_landmarks": ModelSource(
        tflite="modules/pose_landmark/pose_landmark_full.tflite",
        inputs=("image",),
        outputs=("landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks"),
        input_range=(0.0, 1.0),
        description=(
            "BlazePose GHUM 3D (full): rotated 256x256 RGB NHWC crop in [0, 1] -> 39 landmarks "
            "x (x, y, z, visibility, presence) in crop pixels, pose presence, 256x256 "
            "segmentation logits, heatmaps, world landmarks"
        ),
    ),
    "person_segmentation": ModelSource(
        tflite="modules/selfie_segmentation/selfie_segmentation.tflite",
        inputs=("image",),
        outputs=("mask",),
        input_range=(0.0, 1.0),
        description=(
            "MediaPipe selfie segmentation (general, 256x256): RGB NHWC in [0, 1] -> "
            "person probability 256x256"
        ),
    ),
}


def mediapipe_dir() -> Path:
    """Directory of the installed ``mediapipe`` package (must be version 0.10.21)."""
    import mediapipe

    version = getattr(mediapipe, "__version__", "?")
    if version != MEDIAPIPE_VERSION:
        raise SystemExit(f"need mediapipe=={MEDIAPIPE_VERSION}, found {version}")
    return Path(mediapipe.__file__).resolve().parent


def _interpreter(path: Path, *, delegates: bool, preserve: bool = False) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs: dict[str, Any] = {"experimental_preserve_all_tensors": preserve}
    if not delegates:
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_path=str(path), **kwargs)
    interp.allocate_tensors()
    return interp


def densify(src: Path, dst: Path) -> int:
    """Write ``src`` with every ``DENSIFY`` op replaced by its dense constant output.

    Returns the number of ops replaced.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(src))
    if not any(
        max(c.builtinCode, c.deprecatedBuiltinCode) == schema.BuiltinOperator.DENSIFY
        for c in model.operatorCodes
    ):
        dst.write_bytes(src.read_bytes())
        return 0
    interp = _interpreter(src, delegates=False, preserve=True)
    ops = [op for op in interp._get_ops_details() if op["op_name"] == "DENSIFY"]
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
    interp.invoke()
    dense = {
        int(op["outputs"][0]): np.array(interp.get_tensor(int(op["outputs"][0]))) for op in ops
    }

    graph = model.subgraphs[0]
    codes = model.operatorCodes

    def builtin(op: Any) -> int:
        code = codes[op.opcodeIndex]
        return int(max(code.builtinCode, code.deprecatedBuiltinCode))

    kept = []
    for op in graph.operators:
        if builtin(op) == schema.BuiltinOperator.DENSIFY:
            out = int(op.outputs[0])
            values = dense[out]
            tensor = graph.tensors[out]
            buf = schema.BufferT()
            buf.data = np.frombuffer(values.tobytes(), dtype=np.uint8).copy()
            model.buffers.append(buf)
            tensor.buffer = len(model.buffers) - 1
            # the (now unused) sparse input keeps a buffer that matches its shape
            sparse_in = graph.tensors[int(op.inputs[0])]
            sparse_in.sparsity = None
            sparse_in.buffer = tensor.buffer
        else:
            kept.append(op)
    graph.operators = kept
    flatbuffer_utils.write_model(model, str(dst))
    return len(ops)


def _rename(model: Any, old: str, new: str) -> None:
    graph = model.graph
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def replace_transpose_conv(model: Any) -> int:
    """Replace ``Convolution2DTransposeBias`` nodes by NCHW ``ConvTranspose`` nodes."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    count = 0
    new_nodes = []
    for node in graph.node:
        if "Convolution2DTransposeBias" not in node.op_type:
            new_nodes.append(node)
            continue
        x, w_name, b_name = node.input[0], node.input[1], node.input[2]
        w = numpy_helper.to_array(inits[w_name])  # TFLite OHWI
        b = numpy_helper.to_array(inits[b_name])
        if w.ndim != 4 or w.shape[1:3] != (2, 2):
            raise SystemExit(f"unexpected transpose-conv weight shape {w.shape}")
        w_onnx = np.ascontiguousarray(w.transpose(3, 0, 1, 2)).astype(np.float32)  # IOHW
        tag = f"tconv{count}"
        graph.initializer.append(numpy_helper.from_array(w_onnx, f"{tag}_w"))
        graph.initializer.append(numpy_helper.from_array(b.astype(np.float32), f"{tag}_b"))
        new_nodes += [
            helper.make_node("Transpose", [x], [f"{tag}_nchw"], perm=[0, 3, 1, 2]),
            helper.make_node(
                "ConvTranspose",
                [f"{tag}_nchw", f"{tag}_w", f"{tag}_b"],
                [f"{tag}_out"],
                kernel_shape=[2, 2],
                strides=[2, 2],
                auto_pad="SAME_UPPER",
                name=tag,
            ),
            helper.make_node("Transpose", [f"{tag}_out"], [node.output[0]], perm=[0, 2, 3, 1]),
        ]
        count += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return count


def store_fp16(model: Any, min_size: int = 1024) -> int:
    """Store fp32 weights that are exactly fp16 values (the originals are fp16) as fp16.

    Each such initializer becomes an fp16 initializer + ``Cast`` to float32, which
    onnxruntime folds into a constant when it loads the model: the file is about half the
    size and the numbers computed are bit-identical. Returns the count converted.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    count = 0
    kept = []
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        arr = numpy_helper.to_array(init)
        half = arr.astype(np.float16)
        if arr.size < min_size or not np.array_equal(half.astype(np.float32), arr):
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(half, f"{init.name}__fp16"))
        casts.append(
            helper.make_node("Cast", [f"{init.name}__fp16"], [init.name], to=TensorProto.FLOAT)
        )
        count += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def convert(name: str, src: Path, out_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Convert one model; returns the ONNX path and conversion notes."""
    import onnx
    import tf2onnx

    spec = SOURCES[name]
    notes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / src.name
        notes["densified_ops"] = densify(src, clean)
        model, _ = tf2onnx.convert.from_tflite(str(clean), opset=OPSET)
    notes["replaced_transpose_convs"] = replace_transpose_conv(model)
    notes["fp16_stored_weights"] = store_fp16(model)
    leftovers = sorted({n.op_type for n in model.graph.node if n.domain not in ("", "ai.onnx")})
    if leftovers:
        raise SystemExit(f"{name}: non-standard ops left after conversion: {leftovers}")
    for old, new in zip([i.name for i in model.graph.input], spec.inputs, strict=True):
        _rename(model, old, new)
    for old, new in zip([o.name for o in model.graph.output], spec.outputs, strict=True):
        _rename(model, old, new)
    model.producer_name = "fashionrec export.convert_mediapipe"
    model.doc_string = f"{spec.description}. From mediapipe=={MEDIAPIPE_VERSION} (Apache-2.0)."
    onnx.checker.check_model(model)
    dst = out_dir / f"{name}.onnx"
    onnx.save(model, str(dst))
    return dst, notes


def _photo_inputs(
    photos: list[Path], shape: tuple[int, ...], lo: float, hi: float
) -> list[np.ndarray]:
    from PIL import Image

    _, height, width, _ = shape
    arrays = []
    for path in photos:
        img = Image.open(path).convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0 * (hi - lo) + lo
        arrays.append(arr[None].astype(np.float32))
    return arrays


def parity(
    name: str, tflite: Path, onnx_path: Path, photos: list[Path]
) -> dict[str, dict[str, float]]:
    """Per output: max |onnx - tflite| and max |tflite| over ``photos`` (litert = reference)."""
    import onnxruntime as ort

    spec = SOURCES[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    interp = _interpreter(tflite, delegates=True)
    inp = interp.get_input_details()[0]
    outs = interp.get_output_details()
    worst = {o: {"max_abs_diff": 0.0, "max_abs_ref": 0.0} for o in spec.outputs}
    for arr in _photo_inputs(photos, tuple(inp["shape"]), *spec.input_range):
        interp.set_tensor(inp["index"], arr)
        interp.invoke()
        ref = [interp.get_tensor(o["index"]) for o in outs]
        got = sess.run(list(spec.outputs), {spec.inputs[0]: arr})
        for out_name, r, g in zip(spec.outputs, ref, got, strict=True):
            if r.shape != g.shape:
                raise SystemExit(f"{name}.{out_name}: shape {g.shape} != tflite {r.shape}")
            w = worst[out_name]
            w["max_abs_diff"] = max(w["max_abs_diff"], float(np.max(np.abs(r - g))))
            w["max_abs_ref"] = max(w["max_abs_ref"], float(np.max(np.abs(r))))
            if out_name == "segmentation":  # logits up to ~2e3: compare probabilities too
                pr, pg = (1.0 / (1.0 + np.exp(-np.clip(v, -60, 60))) for v in (r, g))
                w["max_abs_diff_prob"] = max(
                    w.get("max_abs_diff_prob", 0.0), float(np.max(np.abs(pr - pg)))
                )
    return worst


def convert_all(out_dir: Path, photos: list[Path]) -> dict[str, Any]:
    """Convert every model in :data:`SOURCES` into ``out_dir`` and check parity."""
    import onnx
    import onnxruntime
    import tf2onnx

    root = mediapipe_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "source": f"mediapipe=={MEDIAPIPE_VERSION} wheel (PyPI)",
        "licence": "Apache-2.0",
        "converter": {
            "tf2onnx": tf2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "opset": OPSET,
        },
        "parity_reference": "ai-edge-litert (XNNPACK delegate on)",
        "parity_inputs": [p.name for p in photos],
        "tolerance": TOLERANCE,
        "models": {},
    }
    failed = []
    for name, spec in SOURCES.items():
        src = root / spec.tflite
        dst, notes = convert(name, src, out_dir)
        diffs = parity(name, src, dst, photos)
        model = onnx.load(str(dst))
        report["models"][name] = {
            "tflite": spec.tflite,
            "tflite_bytes": src.stat().st_size,
            "onnx_bytes": dst.stat().st_size,
            "inputs": _specs(model.graph.input),
            "outputs": _specs(model.graph.output),
            "description": spec.description,
            "parity": diffs,
            **notes,
        }
        print(f"{name}: {dst} max|diff| {diffs}", flush=True)
        if any(d["max_abs_diff"] > TOLERANCE * max(1.0, d["max_abs_ref"]) for d in diffs.values()):
            failed.append(name)
    (out_dir / "conversion.json").write_text(json.dumps(report, indent=2) + "\n")
    if failed:
        raise SystemExit(f"parity above {TOLERANCE} for {failed}")
    return report


def _specs(values: Any) -> list[dict[str, Any]]:
    from onnx import TensorProto

    names = {TensorProto.FLOAT: "float32", TensorProto.INT64: "int64"}
    specs = []
    for v in values:
        t = v.type.tensor_type
        dims = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "n") for d in t.shape.dim
        ]
        specs.append(
            {"name": v.name, "dtype": names.get(t.elem_type, str(t.elem_type)), "shape": dims}
        )
    return specs


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("export/work/vision"))
    parser.add_argument(
        "--photos",
        type=Path,
        nargs="*",
        default=sorted(Path("tests/fixtures/photos").glob("*.jpg")),
        help="real photos used as parity inputs",
    )
    args = parser.parse_args(argv)
    if not args.photos:
        parser.error("no parity photos found; pass --photos")
    convert_all(args.out, list(args.photos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
