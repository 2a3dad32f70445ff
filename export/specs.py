"""The ONNX I/O contract of every model of a bundle (what the runtime relies on)."""

from __future__ import annotations

from fashionrec_sdk._manifest import TensorSpec

from .onnx_export import ExportSpec

__all__ = ["REGISTERED_MODELS", "export_specs"]

#: Every model a bundle carries; a meta-test checks each has a parity test.
REGISTERED_MODELS = (
    "text_encoder",
    "image_encoder",
    "outfit_encoder",
    "physique_gcn",
    "feedback_composer",
)


def export_specs(
    dim: int, outfit_dim: int, n_labels: int, image_size: int
) -> dict[str, ExportSpec]:
    """Specs for a bundle of embedding dim ``dim``."""
    f32, i64 = "float32", "int64"
    return {
        "text_encoder": ExportSpec(
            name="text_encoder",
            inputs=tuple(
                TensorSpec(name=n, dtype=i64, shape=("batch", "sequence"))
                for n in ("input_ids", "attention_mask", "token_type_ids")
            ),
            outputs=(
                TensorSpec(name="last_hidden_state", dtype=f32, shape=("batch", "sequence", dim)),
            ),
            opset=17,
            atol=1e-4,
            description="text tower (all-MiniLM-L6-v2 transformer); mean pooling + L2 in the runtime",
        ),
        "image_encoder": ExportSpec(
            name="image_encoder",
            inputs=(
                TensorSpec(
                    name="pixel_values", dtype=f32, shape=("batch", 3, image_size, image_size)
                ),
            ),
            outputs=(TensorSpec(name="image_embedding", dtype=f32, shape=("batch", dim)),),
            description="image tower: CNN backbone + projection into the text space, unit length",
        ),
        "outfit_encoder": ExportSpec(
            name="outfit_encoder",
            inputs=(
                TensorSpec(name="item_vectors", dtype=f32, shape=("batch", "items", dim)),
                TensorSpec(name="item_mask", dtype=f32, shape=("batch", "items")),
                TensorSpec(name="categories", dtype=i64, shape=("batch", "items")),
            ),
            outputs=(
                TensorSpec(name="outfit_vector", dtype=f32, shape=("batch", outfit_dim)),
                TensorSpec(name="compatibility", dtype=f32, shape=("batch",)),
            ),
            description="FCN outfit encoder (multi-size 1-D convolutions) + compatibility logit",
        ),
        "physique_gcn": ExportSpec(
            name="physique_gcn",
            inputs=(TensorSpec(name="outfit_vector", dtype=f32, shape=("batch", outfit_dim)),),
            outputs=(TensorSpec(name="label_logits", dtype=f32, shape=("batch", n_labels)),),
            description="ML-GCN: label-graph convolutions -> per-label classifiers on the outfit vector",
        ),
        "feedback_composer": ExportSpec(
            name="feedback_composer",
            inputs=(
                TensorSpec(name="item_vector", dtype=f32, shape=("batch", dim)),
                TensorSpec(name="feedback_vector", dtype=f32, shape=("batch", dim)),
            ),
            outputs=(TensorSpec(name="query_vector", dtype=f32, shape=("batch", dim)),),
            description="(reference item, feedback text) -> target query vector (gated residual)",
        ),
    }
