"""Image stage helpers: idx reader, runtime-identical preprocessing, zero-shot scoring.

Hermetic: tiny handmade idx files in ``tmp_path``; no Fashion-MNIST, no weights.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from export.stages.fmnist import (
    CLASS_NAMES,
    HELDOUT_TEMPLATES,
    TRAIN_TEMPLATES,
    caption_set,
    load_split,
    read_idx,
    stratified_subset,
    to_pixels,
)
from export.stages.image import IMAGE_SIZE, preprocessing_spec
from export.stages.image_train import (
    class_prototypes,
    contrastive_loss,
    zero_shot_accuracy,
    zero_shot_predict,
)
from fashionrec_sdk._errors import ArtifactIntegrityError, MissingDependencyError
from fashionrec_sdk._images import load_image, preprocess
from fashionrec_sdk._manifest import ImagePreprocessing


def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}[arr.dtype]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.tobytes()


def test_read_idx_images_gzip_and_raw(tmp_path: Path) -> None:
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    gz = tmp_path / "imgs-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(_idx_bytes(images)))
    raw = tmp_path / "imgs-idx3-ubyte"
    raw.write_bytes(_idx_bytes(images))
    for path in (gz, raw):
        out = read_idx(path)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, images)


def test_read_idx_big_endian_ints(tmp_path: Path) -> None:
    values = np.array([1, -2, 70000], dtype=">i4")
    path = tmp_path / "ints.idx"
    path.write_bytes(_idx_bytes(values))
    np.testing.assert_array_equal(read_idx(path), [1, -2, 70000])


@pytest.mark.parametrize(
    "payload",
    [
        b"\x01\x00\x08\x01\x00\x00\x00\x01\x00",  # bad magic
        b"\x00\x00\x42\x01\x00\x00\x00\x01\x00",  # unknown dtype
        b"\x00\x00\x08\x02\x00\x00\x00\x02",  # truncated header
        b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02",  # short payload
    ],
)
def test_read_idx_rejects_malformed(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(payload)
    with pytest.raises(ArtifactIntegrityError):
        read_idx(path)


def test_load_split_from_handmade_folder(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3], dtype=np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(labels)))
    split = load_split("test", tmp_path)
    np.testing.assert_array_equal(split.images, images)
    assert split.labels.tolist() == [0, 9, 3, 3]
    with pytest.raises(ArtifactIntegrityError):
        load_split("train", tmp_path)  # files missing


def test_load_split_missing_folder_names_the_apt_package(tmp_path: Path) -> None:
    with pytest.raises(MissingDependencyError, match="apt-get install dataset-fashion-mnist"):
        load_split("train", tmp_path / "nope")


def test_stratified_subset_balanced_and_seeded() -> None:
    labels = np.repeat(np.arange(10), 50)
    a = stratified_subset(labels, 100, np.random.default_rng(3))
    b = stratified_subset(labels, 100, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert np.bincount(labels[a]).tolist() == [10] * 10
    assert len(np.unique(a)) == 100


def test_shipped_preprocessing_matches_runtime_path() -> None:
    spec = preprocessing_spec()
    assert spec.size == spec.resize == IMAGE_SIZE
    img = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    px = to_pixels(img, spec)
    assert px.shape == (3, IMAGE_SIZE, IMAGE_SIZE) and px.dtype == np.float32
    # exactly what the runtime computes for the same (inverted) picture
    from PIL import Image

    expected = preprocess(load_image(Image.fromarray(255 - img)), spec)
    np.testing.assert_array_equal(px, expected)
    # TF-Lite normalisation: pixels land in [-1, 1]; greyscale -> equal channels
    assert px.min() >= -1.0 - 1e-6 and px.max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(px[0], px[2])


def test_inversion_gives_white_background() -> None:
    spec = ImagePreprocessing(size=16, resize=16, mean=(0.0,) * 3, std=(1.0,) * 3)
    blank = np.zeros((28, 28), dtype=np.uint8)  # Fashion-MNIST background is black
    assert np.allclose(to_pixels(blank, spec), 1.0)
    assert np.allclose(to_pixels(blank, spec, invert=False), 0.0)
    padded = to_pixels(blank, spec, pad=4, flip=True)
    assert padded.shape == (3, 16, 16) and np.allclose(padded, 1.0)


def test_caption_sets_cover_every_class_and_differ() -> None:
    texts, labels = caption_set(TRAIN_TEMPLATES)
    held, held_labels = caption_set(HELDOUT_TEMPLATES)
    assert set(labels.tolist()) == set(range(len(CLASS_NAMES)))
    assert set(held_labels.tolist()) == set(range(len(CLASS_NAMES)))
    assert not set(texts) & set(held)
    assert "a photo of a dress" in texts
    assert "product photo of an ankle boot" in texts


def test_zero_shot_scorer_on_toy_vectors() -> None:
    captions = np.array([[1, 0, 0], [1, 0.2, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    cap_labels = np.array([0, 0, 1, 2])
    protos = class_prototypes(captions, cap_labels, 3)
    np.testing.assert_allclose(np.linalg.norm(protos, axis=1), 1.0, rtol=1e-6)
    images = np.array([[0.9, 0.1, 0], [0, 0.2, 0.9], [0.1, 0.9, 0.2]], dtype=np.float32)
    assert zero_shot_predict(images, protos).tolist() == [0, 2, 1]
    assert zero_shot_accuracy(images, np.array([0, 2, 0]), protos) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="class 3"):
        class_prototypes(captions, cap_labels, 4)


def test_contrastive_loss_prefers_aligned_vectors() -> None:
    caps = torch.eye(3)
    cap_labels = torch.tensor([0, 1, 2])
    labels = torch.tensor([0, 1, 2, 0])
    aligned = torch.eye(3)[labels]
    wrong = torch.eye(3)[(labels + 1) % 3]
    scale = torch.tensor(10.0)
    good = contrastive_loss(aligned, labels, caps, cap_labels, scale)
    bad = contrastive_loss(wrong, labels, caps, cap_labels, scale)
    assert float(good) < 0.01 < float(bad)
