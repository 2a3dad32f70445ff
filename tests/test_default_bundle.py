"""The bundle shipped inside the package: integrity, size, contract and sanity on real text."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fashionrec_sdk as fr
from fashionrec_sdk._paths import SHIPPED_BUNDLE

pytestmark = pytest.mark.skipif(
    not (SHIPPED_BUNDLE / "manifest.json").is_file(), reason="no shipped bundle (run `make models`)"
)


@pytest.fixture(scope="module")
def shipped() -> fr.ModelBundle:
    return fr.ModelBundle.load(SHIPPED_BUNDLE, providers="cpu", threads=1)


def test_shipped_bundle_is_complete_small_and_documented(shipped: fr.ModelBundle) -> None:
    from export.specs import REGISTERED_MODELS

    assert set(shipped.model_names) == set(REGISTERED_MODELS)
    size = sum(p.stat().st_size for p in SHIPPED_BUNDLE.iterdir())
    assert size <= 60 * 1024 * 1024, f"bundle is {size / 1e6:.1f} MB"
    m = shipped.manifest
    assert m.embedding_dim == 384 and m.physique_labels == fr.PHYSIQUE_LABELS
    assert m.categories == fr.COARSE_CATEGORIES
    for model in REGISTERED_MODELS:
        if model != "text_encoder":
            assert m.metrics[model].get("parity_max_abs_diff", 1.0) <= 1e-4, model
    assert {p.name for p in m.provenance} and all(p.licence for p in m.provenance)
    assert "SMOKE" not in m.notes


def test_runtime_pooling_matches_sentence_transformers_recipe(shipped: fr.ModelBundle) -> None:
    """TextEncoder (int8 ONNX + numpy mean pooling) ~ MiniLM in torch + mean pooling + L2."""
    from tokenizers import Tokenizer
    from transformers import BertModel

    from export.text_tower import minilm_dir

    model = BertModel.from_pretrained(minilm_dir()).eval()
    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tok.no_padding()
    texts = ["a red summer dress", "black leather ankle boots", "navy wool blazer for the office"]
    got = fr.TextEncoder(shipped).encode(texts)
    for text, vec in zip(texts, got, strict=True):
        ids = torch.tensor([tok.encode(text).ids])
        with torch.no_grad():
            states = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        ref = torch.nn.functional.normalize(states.mean(dim=1), dim=1)[0].numpy()
        assert float(vec @ ref) >= 0.97  # int8 per-channel vs fp32


def test_text_search_sanity(shipped: fr.ModelBundle) -> None:
    titles = [
        "red silk slip dress",
        "black leather ankle boots",
        "gold hoop earrings",
        "blue denim jeans",
    ]
    vecs = fr.TextEncoder(shipped).encode(titles)
    queries = fr.TextEncoder(shipped).encode(["a red dress", "boots", "earrings", "jeans"])
    assert list(np.argmax(queries @ vecs.T, axis=1)) == [0, 1, 2, 3]


def test_image_tower_places_images_near_their_text(shipped: fr.ModelBundle) -> None:
    """A real Fashion-MNIST test sneaker lands nearer 'sneaker' than 'dress' or 'bag'."""
    from export.stages.fmnist import CLASS_NAMES, load_split

    try:
        test = load_split("test")
    except fr.FashionRecError:
        pytest.skip("Fashion-MNIST not installed (make sys-deps)")
    from PIL import Image

    text = fr.TextEncoder(shipped).encode(
        ["a photo of a sneaker", "a photo of a dress", "a photo of a bag"]
    )
    image = fr.ImageEncoder(shipped)
    hits = 0
    idx = np.flatnonzero(test.labels == CLASS_NAMES.index("Sneaker"))[:20]
    for i in idx:
        v = image.encode(Image.fromarray(255 - test.images[i]))
        hits += int(np.argmax(text @ v) == 0)
    assert hits >= 15  # zero-shot accuracy on this class is ~0.94 in the model card


def test_stylist_on_real_products(shipped: fr.ModelBundle) -> None:
    st = fr.Stylist(shipped)
    outfit = [
        fr.Product(id="a", title="white cotton shirt", category="Shirts"),
        fr.Product(id="b", title="slim blue denim jeans", category="Jeans"),
        fr.Product(id="c", title="white leather sneakers", category="Shoes"),
    ]
    assert 0 <= st.score_outfit(outfit) <= 1
    body = fr.BodyProfile(height_cm=170, bust_cm=90, waist_cm=68, hips_cm=96)
    fit = st.physique_fit(outfit[:2], body)
    assert 0 <= fit.overall <= 1
    assert fit.lift["apple"] == 0.5  # no training evidence: reported as neutral
