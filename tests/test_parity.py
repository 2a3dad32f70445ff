"""torch vs onnxruntime parity (max abs diff <= 1e-4 at batch 1, 7 and 64) for every
registered model class, through the pipeline's own exporter; plus a meta-test that no
registered model lacks one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from export import make_fixture_bundle as fixture
from export.onnx_export import PARITY_BATCHES, check_parity, export_module
from export.specs import REGISTERED_MODELS, export_specs
from fashionrec_sdk._physique import PHYSIQUE_LABELS

TORCH_MODELS = ("image_encoder", "outfit_encoder", "physique_gcn", "feedback_composer")


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_parity_at_batch_1_7_64(name: str, tmp_path: Path) -> None:
    modules = fixture.build_modules()
    outfit_dim = int(modules["outfit_encoder"].out_dim)  # type: ignore[arg-type]
    spec = export_specs(fixture.DIM, outfit_dim, len(PHYSIQUE_LABELS), fixture.IMAGE.size)[name]
    module = modules[name]
    path = export_module(
        module, fixture.example_inputs(name, 2, outfit_dim), spec, tmp_path / f"{name}.onnx"
    )
    report = check_parity(module, path, spec, lambda b: fixture.example_inputs(name, b, outfit_dim))
    assert set(report) == set(PARITY_BATCHES) == {1, 7, 64}
    assert max(report.values()) <= 1e-4


def test_text_tower_parity(tmp_path: Path) -> None:
    """optimum-onnx export of a BERT text tower == transformers in torch (token states)."""
    import numpy as np
    import onnxruntime as ort
    from transformers import BertModel

    from export.text_tower import export_text_encoder

    tok = tmp_path / "tok.json"
    fixture._tokenizer(tok)
    fixture._tiny_bert(tmp_path / "bert", tok)
    onnx_path, _ = export_text_encoder(tmp_path / "bert", tmp_path)
    model = BertModel.from_pretrained(tmp_path / "bert").eval()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch in PARITY_BATCHES:
        g = torch.Generator().manual_seed(batch)
        ids = torch.randint(5, len(fixture.VOCAB), (batch, 9), generator=g)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            ref = model(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
        feeds = {
            "input_ids": ids.numpy(),
            "attention_mask": mask.numpy(),
            "token_type_ids": np.zeros_like(ids.numpy()),
        }
        got = sess.run(["last_hidden_state"], feeds)[0]
        assert got.shape == ref.shape
        assert float(np.abs(got - ref).max()) <= 1e-4


def test_every_registered_model_has_a_parity_test() -> None:
    tested = set(TORCH_MODELS) | {"text_encoder"}
    assert set(REGISTERED_MODELS) <= tested, set(REGISTERED_MODELS) - tested
