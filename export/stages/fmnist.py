"""Fashion-MNIST: idx reader, class captions and the exact runtime preprocessing.

The data comes from the Debian package ``dataset-fashion-mnist`` (Xiao, Rasul & Vollgraf
2017, Zalando Research, MIT), installed under :data:`FMNIST_DIR`: 60,000 train and
10,000 test (``t10k``) greyscale 28x28 garment images in 10 classes.

Fashion-MNIST was made from Zalando product photos (garment on a white background) by
trimming, resizing, converting to greyscale and *negating* the pixels, so garments are
light on black. :func:`to_pixels` undoes the negation by default, giving dark garments
on white: the polarity of the catalogue photos the runtime sees (and of the alpha
background the runtime composites onto). Every image then goes through
:func:`fashionrec_sdk._images.load_image` and :func:`~fashionrec_sdk._images.preprocess`
with the shipped :class:`~fashionrec_sdk._manifest.ImagePreprocessing`, the functions the
runtime ``ImageEncoder`` uses, so training and runtime inputs are computed identically.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fashionrec_sdk._errors import ArtifactIntegrityError, MissingDependencyError
from fashionrec_sdk._images import load_image, preprocess
from fashionrec_sdk._manifest import ImagePreprocessing

__all__ = [
    "CLASS_NAMES",
    "FMNIST_DIR",
    "FashionMnist",
    "caption_set",
    "load_split",
    "read_idx",
    "stratified_subset",
    "to_pixels",
]

FMNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Official label order of Fashion-MNIST.
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: Per class: (noun phrase with article, bare noun) for each synonym used in captions.
_CLASS_PHRASES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("a t-shirt", "t-shirt"), ("a top", "top")),
    (("a pair of trousers", "trousers"), ("a pair of pants", "pants")),
    (("a pullover", "pullover"), ("a sweater", "sweater")),
    (("a dress", "dress"),),
    (("a coat", "coat"), ("a jacket", "jacket")),
    (("a sandal", "sandal"), ("a pair of sandals", "sandals")),
    (("a shirt", "shirt"), ("a button-down shirt", "button-down shirt")),
    (("a sneaker", "sneaker"), ("a pair of sneakers", "sneakers")),
    (("a bag", "bag"), ("a handbag", "handbag")),
    (("an ankle boot", "ankle boot"), ("a pair of ankle boots", "ankle boots")),
)

#: Caption templates the projection is trained against ({np}: noun phrase, {n}: noun).
TRAIN_TEMPLATES = (
    "a photo of {np}",
    "{np}",
    "product photo of {np}",
    "{n}",
    "a black and white photo of {np}",
    "{np} on a white background",
)

#: Templates never seen in training: zero-shot accuracy with these checks phrasing.
HELDOUT_TEMPLATES = (
    "an image of {np}",
    "shop this {n}",
    "catalogue picture of {np}",
)

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (raw or gzip-compressed) -> array of its declared dtype and shape.

    Raises :class:`ArtifactIntegrityError` on a bad magic number, an unknown element type
    or a payload whose size does not match the header.
    """
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ArtifactIntegrityError(f"{path}: corrupt gzip stream: {err}", path=path) from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ArtifactIntegrityError(f"{path}: not an idx file (bad magic number)", path=path)
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ArtifactIntegrityError(f"{path}: unknown idx element type 0x{code:02x}", path=path)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ArtifactIntegrityError(f"{path}: truncated idx header", path=path)
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ArtifactIntegrityError(
            f"{path}: idx payload is {len(raw) - header} bytes, header {shape} needs {expected}",
            path=path,
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


@dataclass(frozen=True)
class FashionMnist:
    """One split: ``images (N, 28, 28) uint8`` (as stored: light garment on black) and
    ``labels (N,) int64`` (indices into :data:`CLASS_NAMES`)."""

    images: np.ndarray
    labels: np.ndarray


def load_split(split: str, root: Path = FMNIST_DIR) -> FashionMnist:
    """Load ``"train"`` (60,000) or ``"test"`` (``t10k``, 10,000) from ``root``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise MissingDependencyError(
            f"Fashion-MNIST not found at {root}: install it with "
            "`sudo apt-get install dataset-fashion-mnist`",
            package="dataset-fashion-mnist",
        )
    prefix = "train" if split == "train" else "t10k"
    img_path = root / f"{prefix}-images-idx3-ubyte.gz"
    lab_path = root / f"{prefix}-labels-idx1-ubyte.gz"
    for p in (img_path, lab_path):
        if not p.is_file():
            raise ArtifactIntegrityError(
                f"{p} is missing: reinstall with `sudo apt-get install --reinstall "
                "dataset-fashion-mnist`",
                path=p,
            )
    images = read_idx(img_path)
    labels = read_idx(lab_path).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ArtifactIntegrityError(
            f"{root}: {split} images {images.shape} do not match labels {labels.shape}", path=root
        )
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASS_NAMES)):
        raise ArtifactIntegrityError(f"{lab_path}: labels outside 0..9", path=lab_path)
    return FashionMnist(images=images.astype(np.uint8, copy=False), labels=labels)


def stratified_subset(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``n`` items, as equal per class as possible, drawn with ``rng``."""
    classes = np.unique(labels)
    per = np.full(len(classes), n // len(classes))
    per[: n % len(classes)] += 1
    picked: list[np.ndarray] = []
    for c, k in zip(classes, per, strict=True):
        pool = np.flatnonzero(labels == c)
        picked.append(rng.choice(pool, size=min(int(k), len(pool)), replace=False))
    return np.sort(np.concatenate(picked))


def to_pixels(
    image: np.ndarray,
    spec: ImagePreprocessing,
    *,
    invert: bool = True,
    flip: bool = False,
    pad: int = 0,
) -> np.ndarray:
    """One 28x28 uint8 image -> the model input ``(3, spec.size, spec.size)`` float32.

    ``invert`` restores dark-on-white polarity; ``flip`` mirrors horizontally and
    ``pad`` adds a white border of that many pixels (training views only). The result is
    ``preprocess(load_image(...), spec)``: the runtime path.
    """
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale image, got shape {arr.shape}")
    pil = Image.fromarray(255 - arr if invert else arr)
    if flip:
        pil = ImageOps.mirror(pil)
    if pad > 0:
        pil = ImageOps.expand(pil, border=pad, fill=255 if invert else 0)
    return preprocess(load_image(pil, background=spec.background), spec)


def caption_set(templates: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """All captions ``templates x synonyms`` for the 10 classes, and each caption's class."""
    texts: list[str] = []
    labels: list[int] = []
    for label, phrases in enumerate(_CLASS_PHRASES):
        for template in templates:
            for np_, noun in phrases:
                texts.append(template.format(np=np_, n=noun))
                labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)
