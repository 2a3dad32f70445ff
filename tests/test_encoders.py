"""Text and image encoders: shapes, normalisation, batching, and parity with torch."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import fashionrec_sdk as fr
from export import make_fixture_bundle as fixture
from fashionrec_sdk._images import load_image, preprocess


def test_text_single_and_batch(bundle: fr.ModelBundle) -> None:
    enc = fr.TextEncoder(bundle, batch_size=2)
    texts = ["red dress", "a black leather jacket with silver zips", "jeans", "", "navy blazer"]
    many = enc.encode(texts)
    assert many.shape == (5, 16) and many.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-5)
    one = enc.encode("jeans")
    assert one.shape == (16,)
    # Batching and length-sorting must not change results or order.
    np.testing.assert_allclose(one, many[2], atol=1e-5)
    np.testing.assert_allclose(enc.encode(texts, batch_size=64), many, atol=1e-5)
    assert enc.encode([]).shape == (0, 16)


def test_text_rejects_non_strings(bundle: fr.ModelBundle) -> None:
    enc = fr.TextEncoder(bundle)
    with pytest.raises(fr.InvalidInputError, match=r"texts\[1\]"):
        enc.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(fr.InvalidInputError, match="batch_size"):
        enc.encode(["ok"], batch_size=0)


def test_text_matches_torch_reference(bundle: fr.ModelBundle, tmp_path: Path) -> None:
    """Runtime tokenisation + mean pooling == transformers BertModel + mean pooling."""
    from tokenizers import Tokenizer
    from transformers import BertModel

    tok_path = tmp_path / "tok.json"
    fixture._tokenizer(tok_path)
    fixture._tiny_bert(tmp_path / "bert", tok_path)
    model = BertModel.from_pretrained(tmp_path / "bert").eval()
    tok = Tokenizer.from_file(str(tok_path))
    texts = ["a red summer dress", "black boots"]
    enc = fr.TextEncoder(bundle)
    got = enc.encode(texts)
    for text, vec in zip(texts, got, strict=True):
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            states = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        ref = torch.nn.functional.normalize(states.mean(dim=1), dim=1)[0].numpy()
        np.testing.assert_allclose(vec, ref, atol=1e-4)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_image_inputs_of_every_kind(bundle: fr.ModelBundle, tmp_path: Path) -> None:
    enc = fr.ImageEncoder(bundle)
    rgb = Image.new("RGB", (40, 60), (200, 30, 30))
    path = tmp_path / "x.png"
    rgb.save(path)
    inputs: list[object] = [rgb, _png(rgb), path, str(path)]
    vecs = enc.encode(inputs)  # type: ignore[arg-type]
    assert vecs.shape == (4, 16)
    np.testing.assert_allclose(vecs, np.repeat(vecs[:1], 4, axis=0), atol=1e-5)
    assert enc.encode(rgb).shape == (16,)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "L", "1", "I;16", "I", "F"])
def test_image_modes_are_converted(bundle: fr.ModelBundle, mode: str) -> None:
    enc = fr.ImageEncoder(bundle)
    img = Image.new("RGB", (33, 21), (10, 120, 240)).convert(mode)
    vec = enc.encode(img)
    assert vec.shape == (16,) and np.isfinite(vec).all()


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 20, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(buf.getvalue())
    assert out.size == (20, 40)  # rotated
    arr = np.asarray(out)
    assert arr[:10].mean() > 200  # white half is now on top


def test_transparent_pixels_become_background() -> None:
    img = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    out = np.asarray(load_image(img))
    assert (out == 255).all()


def test_truncated_and_garbage_images(bundle: fr.ModelBundle, tmp_path: Path) -> None:
    enc = fr.ImageEncoder(bundle)
    data = _png(Image.effect_noise((64, 64), 40).convert("RGB"))
    with pytest.raises(fr.InvalidInputError, match="truncated|corrupt"):
        enc.encode(data[: len(data) // 2])
    with pytest.raises(fr.InvalidInputError, match="not a recognised image"):
        enc.encode(b"definitely not an image")
    with pytest.raises(fr.InvalidInputError, match="empty"):
        enc.encode(b"")
    with pytest.raises(fr.InvalidInputError, match="no such image"):
        enc.encode(tmp_path / "missing.png")
    with pytest.raises(fr.InvalidInputError, match=r"images\[1\]"):
        enc.encode([Image.new("RGB", (9, 9)), b"junk"])
    with pytest.raises(fr.InvalidInputError, match="expected a path"):
        enc.encode(12)  # type: ignore[arg-type]


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    # A tiny PNG that claims 10,000 x 10,000 pixels (header only matters).
    big = Image.new("1", (10_000, 10_000))
    buf = io.BytesIO()
    big.save(buf, format="PNG", optimize=True)
    with pytest.raises(fr.InvalidInputError, match="pixel limit|too large"):
        load_image(buf.getvalue())


def test_image_encoder_matches_torch_tower(bundle: fr.ModelBundle) -> None:
    """Runtime preprocessing + ONNX == the torch tower fed the same shared preprocess()."""
    torch_tower = fixture.build_modules()["image_encoder"]
    spec = bundle.manifest.image
    assert spec is not None
    img = Image.effect_noise((50, 70), 60).convert("RGB")
    pixels = preprocess(load_image(img), spec)
    assert pixels.shape == (3, spec.size, spec.size) and pixels.dtype == np.float32
    with torch.no_grad():
        ref = torch_tower(torch.from_numpy(pixels[None]))[0].numpy()
    np.testing.assert_allclose(fr.ImageEncoder(bundle).encode(img), ref, atol=1e-4)


def test_preprocess_is_center_crop_of_shorter_side(bundle: fr.ModelBundle) -> None:
    spec = bundle.manifest.image
    assert spec is not None
    img = Image.new("RGB", (200, 100), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 50, 100))  # left quarter black -> cropped away
    arr = preprocess(img, spec)
    white = (1.0 - spec.mean[0]) / spec.std[0]
    np.testing.assert_allclose(arr, white, atol=1e-5)
