"""The versioned ``manifest.json`` schema of a model bundle (format version 1)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_FORMAT_VERSION",
    "MODEL_NAMES",
    "BundleManifest",
    "FileEntry",
    "ImagePreprocessing",
    "ModelEntry",
    "Provenance",
    "TensorSpec",
    "TextPreprocessing",
]

BUNDLE_FORMAT = "fashionrec-bundle"
BUNDLE_FORMAT_VERSION = 1

#: Every model a complete bundle carries, with the role it plays.
MODEL_NAMES: dict[str, str] = {
    "text_encoder": "text tower: token ids -> token states (mean-pooled, L2-normalised)",
    "image_encoder": "image tower: pixels -> vector in the text tower's space",
    "outfit_encoder": "FCN: item vectors + categories -> outfit vector + compatibility logit",
    "physique_gcn": "ML-GCN: outfit vector -> one logit per physique label",
    "feedback_composer": "(item vector, feedback text vector) -> target query vector",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TensorSpec(_Frozen):
    """Name, element type and shape (ints, or strings for dynamic axes) of a tensor."""

    name: str
    dtype: Literal["float32", "int64", "int32", "float16"]
    shape: tuple[int | str, ...]


class FileEntry(_Frozen):
    """A file of the bundle with its size and SHA-256."""

    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0)


class ModelEntry(FileEntry):
    """One ONNX model of the bundle."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int = Field(ge=7)
    quantization: Literal["none", "int8", "float16"] = "none"
    description: str = ""
    trained_on: tuple[str, ...] = ()


class TextPreprocessing(_Frozen):
    """How text becomes the text encoder's inputs and how its outputs become a vector."""

    tokenizer: str = "tokenizer.json"
    max_length: int = Field(default=128, ge=8, le=4096)
    pooling: Literal["mean", "none"] = "mean"
    normalize: bool = True


class ImagePreprocessing(_Frozen):
    """Resize shorter side to ``resize``, center-crop ``size``, scale to [0,1], normalise."""

    size: int = Field(ge=8, le=1024)
    resize: int = Field(ge=8, le=2048)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: Literal["bilinear", "bicubic"] = "bilinear"
    background: tuple[int, int, int] = (255, 255, 255)


class Provenance(_Frozen):
    """A data set or pretrained weight file a shipped model was made from."""

    name: str
    source: str
    licence: str
    used_for: str


class BundleManifest(_Frozen):
    """Everything a runtime needs to know about a bundle, and how it was made."""

    format: Literal["fashionrec-bundle"]
    format_version: int
    name: str
    version: str
    created: str
    embedding_dim: int = Field(ge=2, le=8192)
    models: dict[str, ModelEntry]
    files: dict[str, FileEntry] = Field(default_factory=dict)
    text: TextPreprocessing = TextPreprocessing()
    image: ImagePreprocessing | None = None
    categories: tuple[str, ...] = ()
    physique_labels: tuple[str, ...] = ()
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    provenance: tuple[Provenance, ...] = ()
    notes: str = ""
